//! `/checkout/...` and `/banners`: the member's checkout, and the till's
//! commit.

use krug_core::{
    auth::{self, Need, Principal},
    promo::{
        banners,
        checkout::{self, Checkout, RawCheckout},
        store::PromoEnv,
    },
    types::Id,
    wallet::{ledger::Actor, member, WalletSettings},
};
use krug_spin_adapter::{
    json_response, no_content, parse_json, principal, require, ApiError, Ctx, Req,
};
use serde_json::json;
use spin_sdk::http::Response;

/// The promo ports of this request.
pub fn env(ctx: &Ctx) -> PromoEnv<'_> {
    PromoEnv {
        sql: ctx.sql(),
        clock: ctx.clock(),
        random: ctx.random(),
        request_id: Some(ctx.request_id()),
    }
}

fn member_id(ctx: &Ctx, req: &Req) -> Result<String, ApiError> {
    match require(ctx, req, &Need::Member)? {
        Principal::Member { member_id, .. } => Ok(member_id),
        Principal::ApiKey { .. } => Err(ApiError::forbidden("FORBIDDEN", "not allowed")),
    }
}

// Ids in paths are UUIDs; anything else names nothing.
fn path_id(raw: &str) -> Result<String, ApiError> {
    Id::parse(raw, "id")
        .map(|i| i.to_text())
        .map_err(|_| ApiError::not_found("RESERVATION_NOT_FOUND", "no such reservation"))
}

fn ip(req: &Req) -> String {
    req.client_ip().unwrap_or_else(|| "unknown".into())
}

/// `POST /checkout/quote` (a member).
pub fn quote(ctx: &Ctx, req: &Req) -> Result<Response, ApiError> {
    let member = member_id(ctx, req)?;
    let raw: RawCheckout = parse_json(req)?;
    if raw.order_ref.is_some() {
        return Err(ApiError::invalid_field(
            "INVALID_FIELD",
            "order_ref",
            "order_ref belongs to reservations",
        ));
    }
    let c = Checkout::parse(&raw)?;
    json_response(200, &checkout::quote(&env(ctx), &member, &ip(req), &c)?)
}

/// `POST /checkout/reservations` (a member) → 201.
pub fn reserve(ctx: &Ctx, req: &Req) -> Result<Response, ApiError> {
    let member = member_id(ctx, req)?;
    let raw: RawCheckout = parse_json(req)?;
    let c = Checkout::parse(&raw)?;
    json_response(201, &checkout::reserve(&env(ctx), &member, &ip(req), &c)?)
}

/// `GET /checkout/reservations/{id}` (the member who made it).
pub fn read(ctx: &Ctx, req: &Req, raw_id: &str) -> Result<Response, ApiError> {
    let member = member_id(ctx, req)?;
    let id = path_id(raw_id)?;
    json_response(200, &checkout::read(&env(ctx), &member, &id)?)
}

/// `DELETE /checkout/reservations/{id}` (the member who made it) → 204.
pub fn release(ctx: &Ctx, req: &Req, raw_id: &str) -> Result<Response, ApiError> {
    let member = member_id(ctx, req)?;
    let id = path_id(raw_id)?;
    checkout::release(&env(ctx), &member, &id)?;
    Ok(no_content())
}

/// `POST /checkout/reservations/{id}/commit` (the business's staff or API
/// key): a sale paid at the till.
pub fn commit(ctx: &Ctx, req: &Req, raw_id: &str) -> Result<Response, ApiError> {
    let p = principal(ctx, req)?;
    let Some(business_id) = p.business_id().map(str::to_string) else {
        return Err(ApiError::forbidden(
            "FORBIDDEN",
            "commit is for a business's staff or its API key",
        ));
    };
    auth::authorize(
        &p,
        &Need::StaffOrApiKey {
            business_id: business_id.clone(),
        },
    )?;
    let id = path_id(raw_id)?;
    let actor = match &p {
        Principal::ApiKey { key_id, .. } => Actor {
            role: "api_key",
            id: Some(key_id.clone()),
        },
        Principal::Member { member_id, .. } => Actor {
            role: "staff",
            id: Some(member_id.clone()),
        },
    };
    let settings = WalletSettings::from_variables(ctx.variables()).map_err(ApiError::internal)?;
    let done = checkout::commit(&env(ctx), &settings, &business_id, &actor, &id)?;
    if let Some(purchase) = done["purchase_id"].as_str() {
        krug_spin_adapter::settle_referral(ctx, purchase);
    }
    json_response(200, &done)
}

/// `GET /banners?placement=home|category:<slug>` (a member).
pub fn banners(ctx: &Ctx, req: &Req) -> Result<Response, ApiError> {
    let member = member_id(ctx, req)?;
    let placement = req
        .query_param("placement")
        .unwrap_or_else(|| "home".into());
    let tier = member::by_id(ctx.sql(), &member)
        .map_err(ApiError::from)?
        .map_or(krug_core::wallet::Tier::Insider, |m| m.tier);
    let items = banners::for_member(ctx.sql(), &placement, tier, ctx.clock().now())?;
    json_response(200, &json!({ "items": items, "next_cursor": null }))
}
