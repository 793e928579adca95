//! `/admin/promos` and `/admin/banners`: admins manage all, a business's
//! owner manages their own; network-wide promos are admin-only.

use krug_core::{
    auth::Need,
    auth::{Principal, StaffRole},
    promo::{
        banners::{self, RawBanner},
        coupons::{self, RawCrossPromo},
        input::RawPromo,
        store::{self, Manager},
    },
    types::Id,
};
use krug_spin_adapter::{json_response, parse_json, principal, require, ApiError, Ctx, Req};
use serde_json::{Map, Value};
use spin_sdk::http::Response;

use crate::checkout::env;

// Admins, or the owner of a business.
fn manager(ctx: &Ctx, req: &Req) -> Result<Manager, ApiError> {
    let p = principal(ctx, req)?;
    match p {
        Principal::Member { member_id, .. } if p.is_admin() => Ok(Manager::Admin { id: member_id }),
        Principal::Member {
            member_id,
            business: Some((business_id, StaffRole::Owner)),
            ..
        } => Ok(Manager::Owner {
            id: member_id,
            business_id,
        }),
        _ => Err(ApiError::forbidden(
            "FORBIDDEN",
            "promos and banners are managed by admins and business owners",
        )),
    }
}

fn path_id(raw: &str, what: &str) -> Result<String, ApiError> {
    Id::parse(raw, "id").map(|i| i.to_text()).map_err(|_| {
        ApiError::not_found(
            &format!("{what}_NOT_FOUND"),
            format!("no such {}", what.to_lowercase()),
        )
    })
}

// A PATCH body: an object (a `Map` refuses anything else with 422).
fn object(req: &Req) -> Result<Map<String, Value>, ApiError> {
    parse_json(req)
}

/// `POST /admin/promos` → 201.
pub fn create_promo(ctx: &Ctx, req: &Req) -> Result<Response, ApiError> {
    let who = manager(ctx, req)?;
    let raw: RawPromo = parse_json(req)?;
    json_response(201, &store::create(&env(ctx), &who, &raw)?)
}

/// `GET /admin/promos`.
pub fn list_promos(ctx: &Ctx, req: &Req) -> Result<Response, ApiError> {
    let who = manager(ctx, req)?;
    let (limit, cursor) = req.page()?;
    json_response(200, &store::list(&env(ctx), &who, limit, cursor.as_ref())?)
}

/// `GET /admin/promos/{id}`.
pub fn get_promo(ctx: &Ctx, req: &Req, raw_id: &str) -> Result<Response, ApiError> {
    let who = manager(ctx, req)?;
    let id = path_id(raw_id, "PROMO")?;
    json_response(200, &store::read(&env(ctx), &who, &id)?)
}

/// `PATCH /admin/promos/{id}`.
pub fn patch_promo(ctx: &Ctx, req: &Req, raw_id: &str) -> Result<Response, ApiError> {
    let who = manager(ctx, req)?;
    let id = path_id(raw_id, "PROMO")?;
    let changes = object(req)?;
    json_response(200, &store::patch(&env(ctx), &who, &id, &changes)?)
}

/// `POST /admin/banners` → 201.
pub fn create_banner(ctx: &Ctx, req: &Req) -> Result<Response, ApiError> {
    let who = manager(ctx, req)?;
    let raw: RawBanner = parse_json(req)?;
    json_response(201, &banners::create(&env(ctx), &who, &raw)?)
}

/// `GET /admin/banners`.
pub fn list_banners(ctx: &Ctx, req: &Req) -> Result<Response, ApiError> {
    let who = manager(ctx, req)?;
    let (limit, cursor) = req.page()?;
    json_response(
        200,
        &banners::list(&env(ctx), &who, limit, cursor.as_ref())?,
    )
}

/// `GET /admin/banners/{id}`.
pub fn get_banner(ctx: &Ctx, req: &Req, raw_id: &str) -> Result<Response, ApiError> {
    let who = manager(ctx, req)?;
    let id = path_id(raw_id, "BANNER")?;
    json_response(200, &banners::read(&env(ctx), &who, &id)?)
}

/// `PATCH /admin/banners/{id}`.
pub fn patch_banner(ctx: &Ctx, req: &Req, raw_id: &str) -> Result<Response, ApiError> {
    let who = manager(ctx, req)?;
    let id = path_id(raw_id, "BANNER")?;
    let changes = object(req)?;
    json_response(200, &banners::patch(&env(ctx), &who, &id, &changes)?)
}

/// `POST /admin/cross-promos` (admins) → 201.
pub fn create_cross_promo(ctx: &Ctx, req: &Req) -> Result<Response, ApiError> {
    let p = require(ctx, req, &Need::Admin)?;
    let raw: RawCrossPromo = parse_json(req)?;
    let admin = p.member_id().unwrap_or_default().to_string();
    let created = coupons::create_campaign(
        ctx.sql(),
        ctx.clock(),
        ctx.random(),
        &admin,
        Some(ctx.request_id()),
        &raw,
    )?;
    json_response(201, &created)
}

/// `GET /admin/cross-promos` (admins).
pub fn list_cross_promos(ctx: &Ctx, req: &Req) -> Result<Response, ApiError> {
    require(ctx, req, &Need::Admin)?;
    let (limit, cursor) = req.page()?;
    let page =
        coupons::list_campaigns(ctx.sql(), limit, cursor.as_ref()).map_err(ApiError::from)?;
    json_response(200, &page)
}
