//! `/flags` (the caller's evaluated flags) and `/admin/flags` (admins read
//! and change the rules).

use krug_core::{
    auth::Need,
    flags::{self, Changer, RawFlag},
};
use krug_spin_adapter::{json_response, parse_json, principal, require, ApiError, Ctx, Req};
use serde_json::json;
use spin_sdk::http::Response;

/// `GET /flags`: `{flags: {name: bool}}` for the caller (anonymous without
/// a bearer; a bearer that does not resolve is 401).
pub fn mine(ctx: &Ctx, req: &Req) -> Result<Response, ApiError> {
    let caller = match req.header("authorization") {
        Some(_) => Some(principal(ctx, req)?),
        None => None,
    };
    let snapshot = flags::snapshot(ctx.kv(), ctx.sql())?;
    let subject = caller
        .as_ref()
        .map(|p| p.flag_subject())
        .unwrap_or_default();
    json_response(
        200,
        &json!({ "flags": flags::evaluated(&snapshot, &subject) }),
    )
}

/// `GET /admin/flags` (admins): every flag's rule and what it switches.
pub fn list(ctx: &Ctx, req: &Req) -> Result<Response, ApiError> {
    require(ctx, req, &Need::Admin)?;
    let snapshot = flags::load(ctx.sql())?;
    let items: Vec<_> = snapshot
        .flags
        .iter()
        .map(|f| {
            let about = flags::FLAGS
                .iter()
                .find(|(n, _)| *n == f.name)
                .map_or("", |(_, d)| *d);
            let mut v = json!(f);
            v["description"] = json!(about);
            v
        })
        .collect();
    json_response(200, &json!({ "items": items, "next_cursor": null }))
}

/// `PUT /admin/flags/{name}` (admins) → the stored rule.
pub fn put(ctx: &Ctx, req: &Req, name: &str) -> Result<Response, ApiError> {
    let p = require(ctx, req, &Need::Admin)?;
    let name = flags::known(name)?;
    let raw: RawFlag = parse_json(req)?;
    let by = Changer {
        admin_id: p.member_id().unwrap_or_default(),
        request_id: Some(ctx.request_id()),
    };
    let stored = flags::put(
        ctx.sql(),
        ctx.kv(),
        ctx.clock(),
        ctx.random(),
        by,
        name,
        &raw,
    )?;
    json_response(200, &stored)
}
