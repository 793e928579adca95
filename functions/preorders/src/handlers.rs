//! Handlers: authorize first, then parse, call core, map.

use krug_core::{
    auth::{Need, Principal, StaffRole},
    preorders::{
        admin::{self, Manager},
        orders::{self, RawOrder, RawUpgrade},
        rules::{RawItem, RawItemPatch, RawTier},
        PreorderEnv, PreorderError, FLAG,
    },
    types::Id,
    wallet::WalletSettings,
};
use krug_spin_adapter::{json_response, parse_json, require, require_feature, ApiError, Ctx, Req};
use spin_sdk::http::Response;

fn env(ctx: &Ctx) -> PreorderEnv<'_> {
    PreorderEnv {
        sql: ctx.sql(),
        clock: ctx.clock(),
        random: ctx.random(),
    }
}

// The member behind an access token, with the `preorders` flag on for
// them; API keys place no preorders.
fn member(ctx: &Ctx, req: &Req) -> Result<String, ApiError> {
    let p = require(ctx, req, &Need::Member)?;
    require_feature(ctx, FLAG, Some(&p))?;
    Ok(p.member_id().unwrap_or_default().to_string())
}

// An admin or the owner of a business (checked before the body; the
// business named is checked by core).
fn manager(ctx: &Ctx, req: &Req) -> Result<Manager, ApiError> {
    let p = require(ctx, req, &Need::Member)?;
    let owner_of = match &p {
        Principal::Member {
            business: Some((b, StaffRole::Owner)),
            ..
        } => Some(b.clone()),
        _ => None,
    };
    let m = Manager {
        admin: p.is_admin(),
        owner_of,
    };
    if !m.may_manage_any() {
        return Err(ApiError::forbidden(
            "FORBIDDEN",
            "preorder items are managed by the business's owner or an admin",
        ));
    }
    Ok(m)
}

fn path_id(raw: &str) -> Result<String, ApiError> {
    Id::parse(raw, "id")
        .map(|i| i.to_text())
        .map_err(|_| ApiError::from(PreorderError::NotFound))
}

/// `POST /admin/preorder-items` → 201.
pub fn create_item(ctx: &Ctx, req: &Req) -> Result<Response, ApiError> {
    let who = manager(ctx, req)?;
    let body: RawItem = parse_json(req)?;
    json_response(201, &admin::create_item(&env(ctx), &who, &body)?)
}

/// `PATCH /admin/preorder-items/{id}` → 200.
pub fn patch_item(ctx: &Ctx, req: &Req, raw_id: &str) -> Result<Response, ApiError> {
    let who = manager(ctx, req)?;
    let body: RawItemPatch = parse_json(req)?;
    let id = path_id(raw_id)?;
    json_response(200, &admin::patch_item(&env(ctx), &who, &id, &body)?)
}

/// `POST /admin/preorder-items/{id}/tiers` → 201.
pub fn add_tier(ctx: &Ctx, req: &Req, raw_id: &str) -> Result<Response, ApiError> {
    let who = manager(ctx, req)?;
    let body: RawTier = parse_json(req)?;
    let id = path_id(raw_id)?;
    json_response(201, &admin::add_tier(&env(ctx), &who, &id, &body)?)
}

/// `GET /admin/preorder-items/{id}/analytics`.
pub fn analytics(ctx: &Ctx, req: &Req, raw_id: &str) -> Result<Response, ApiError> {
    let who = manager(ctx, req)?;
    let id = path_id(raw_id)?;
    json_response(200, &admin::analytics(&env(ctx), &who, &id)?)
}

/// `GET /preorders/items?limit&cursor`.
pub fn list_items(ctx: &Ctx, req: &Req) -> Result<Response, ApiError> {
    member(ctx, req)?;
    let (limit, cursor) = req.page()?;
    json_response(200, &orders::list_items(&env(ctx), limit, cursor.as_ref())?)
}

/// `GET /preorders?limit&cursor`: the caller's own preorders.
pub fn list_mine(ctx: &Ctx, req: &Req) -> Result<Response, ApiError> {
    let m = member(ctx, req)?;
    let (limit, cursor) = req.page()?;
    json_response(
        200,
        &orders::list_mine(&env(ctx), &m, limit, cursor.as_ref())?,
    )
}

/// `GET /preorders/items/{id}`.
pub fn read_item(ctx: &Ctx, req: &Req, raw_id: &str) -> Result<Response, ApiError> {
    member(ctx, req)?;
    let id = path_id(raw_id)?;
    json_response(200, &orders::read_item(&env(ctx), &id)?)
}

/// `POST /preorders {tier_id, points?}` → 201.
pub fn place(ctx: &Ctx, req: &Req) -> Result<Response, ApiError> {
    let m = member(ctx, req)?;
    let body: RawOrder = parse_json(req)?;
    json_response(201, &orders::place(&env(ctx), &m, &body)?)
}

/// `GET /preorders/{id}` for its member.
pub fn read(ctx: &Ctx, req: &Req, raw_id: &str) -> Result<Response, ApiError> {
    let m = member(ctx, req)?;
    let id = path_id(raw_id)?;
    json_response(200, &orders::read(&env(ctx), &m, &id)?)
}

/// `POST /preorders/{id}/upgrade {tier_id}` → 201.
pub fn upgrade(ctx: &Ctx, req: &Req, raw_id: &str) -> Result<Response, ApiError> {
    let m = member(ctx, req)?;
    let body: RawUpgrade = parse_json(req)?;
    let id = path_id(raw_id)?;
    json_response(201, &orders::upgrade(&env(ctx), &m, &id, &body)?)
}

/// `POST /preorders/{id}/cancel` (no body) → 200 with the refund.
pub fn cancel(ctx: &Ctx, req: &Req, raw_id: &str) -> Result<Response, ApiError> {
    let m = member(ctx, req)?;
    let id = path_id(raw_id)?;
    let settings = WalletSettings::from_variables(ctx.variables()).map_err(ApiError::internal)?;
    json_response(200, &orders::cancel(&env(ctx), &m, &id, settings.ttl_days)?)
}
