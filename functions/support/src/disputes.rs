//! `/support/disputes/...`: members open disputes on their purchases; the
//! business's staff or an admin decide them once.

use krug_core::{
    support::disputes::{self, DisputeEnv},
    wallet::WalletSettings,
};
use krug_spin_adapter::{json_response, parse_json, ApiError, Ctx, Req};
use spin_sdk::http::Response;

use crate::{body, tickets};

fn with_env<T>(
    ctx: &Ctx,
    f: impl FnOnce(&DisputeEnv<'_>) -> Result<T, ApiError>,
) -> Result<T, ApiError> {
    let settings = tickets::settings(ctx)?;
    let wallet = WalletSettings::from_variables(ctx.variables()).map_err(ApiError::internal)?;
    f(&DisputeEnv {
        sql: ctx.sql(),
        clock: ctx.clock(),
        random: ctx.random(),
        settings: &settings,
        wallet: &wallet,
        request_id: Some(ctx.request_id()),
    })
}

/// `POST /support/disputes` → 201.
pub fn open(ctx: &Ctx, req: &Req) -> Result<Response, ApiError> {
    let who = tickets::caller(ctx, req)?;
    let b: body::NewDispute = parse_json(req)?;
    let new = disputes::NewDispute {
        purchase_id: b.purchase_id,
        reason: b.reason,
        requested: b.requested,
        amount: b.amount,
    };
    with_env(ctx, |env| {
        json_response(201, &disputes::open(env, &who, &new)?)
    })
}

/// `GET /support/disputes/{id}`.
pub fn get(ctx: &Ctx, req: &Req, id: &str) -> Result<Response, ApiError> {
    let who = tickets::caller(ctx, req)?;
    json_response(200, &disputes::get(ctx.sql(), &who, id)?)
}

/// `POST /support/disputes/{id}/decision` → 200; a second one is 409.
pub fn decide(ctx: &Ctx, req: &Req, id: &str) -> Result<Response, ApiError> {
    let who = tickets::staff_caller(ctx, req, false)?;
    let b: body::Decision = parse_json(req)?;
    let d = disputes::Decision {
        decision: b.decision,
        points: b.points,
        note: b.note,
    };
    with_env(ctx, |env| {
        json_response(200, &disputes::decide(env, &who, id, &d)?)
    })
}
