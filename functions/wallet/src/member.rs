//! `/wallet/...`: the logged-in member's own card, QR code, balance, ledger
//! and coupons. Reads only.

use krug_core::{
    auth::{Need, Principal},
    wallet::{qr, queries},
};
use krug_spin_adapter::{json_response, require, ApiError, Ctx, Req};
use qrcode::{render::svg, EcLevel, QrCode};
use serde_json::json;
use spin_sdk::http::Response;

use crate::pos::qr_key;

// The member behind an access token; API keys have no wallet.
fn member_id(ctx: &Ctx, req: &Req) -> Result<String, ApiError> {
    match require(ctx, req, &Need::Member)? {
        Principal::Member { member_id, .. } => Ok(member_id),
        Principal::ApiKey { .. } => Err(ApiError::forbidden("FORBIDDEN", "not allowed")),
    }
}

/// `GET /wallet`: card, tier, balance, expiring points, tier progress, badges.
pub fn summary(ctx: &Ctx, req: &Req) -> Result<Response, ApiError> {
    let id = member_id(ctx, req)?;
    json_response(200, &queries::summary(ctx.sql(), &id, ctx.clock().now())?)
}

/// `GET /wallet/qr`: a fresh signed token (accepted for 60 s) and its QR code
/// as SVG. Issuing writes nothing: the token carries its own time and MAC.
pub fn qr(ctx: &Ctx, req: &Req) -> Result<Response, ApiError> {
    let id = member_id(ctx, req)?;
    let issued = qr::issue(&qr_key(ctx)?, &id, ctx.clock().now(), ctx.random())
        .map_err(|e| ApiError::internal(format!("issuing a QR token: {e}")))?;
    let code = QrCode::with_error_correction_level(issued.token.as_bytes(), EcLevel::M)
        .map_err(|e| ApiError::internal(format!("rendering the QR code: {e}")))?;
    let svg = code
        .render::<svg::Color<'_>>()
        .min_dimensions(240, 240)
        .quiet_zone(true)
        .build();
    let body = json!({
        "token": issued.token,
        "expires_at": krug_core::db::ts(issued.expires_at),
        "svg": svg,
    });
    // A token must never be served from a cache after it rotates.
    Ok(Response::builder()
        .status(200)
        .header("content-type", "application/json; charset=utf-8")
        .header("cache-control", "no-store")
        .body(body.to_string())
        .build())
}

/// `GET /wallet/ledger?limit&cursor`: entries, newest first.
pub fn ledger(ctx: &Ctx, req: &Req) -> Result<Response, ApiError> {
    let id = member_id(ctx, req)?;
    let (limit, cursor) = req.page()?;
    let page =
        queries::ledger_page(ctx.sql(), &id, limit, cursor.as_ref()).map_err(ApiError::from)?;
    json_response(200, &page)
}

/// `GET /wallet/coupons?limit&cursor`: coupons issued to the member.
pub fn coupons(ctx: &Ctx, req: &Req) -> Result<Response, ApiError> {
    let id = member_id(ctx, req)?;
    let (limit, cursor) = req.page()?;
    let page = queries::coupons_page(ctx.sql(), &id, ctx.clock().now(), limit, cursor.as_ref())
        .map_err(ApiError::from)?;
    json_response(200, &page)
}

/// `GET /wallet/purchases?limit&cursor`: the member's purchases, newest
/// first, with their lines and whether a review can still be written.
pub fn purchases(ctx: &Ctx, req: &Req) -> Result<Response, ApiError> {
    let id = member_id(ctx, req)?;
    let (limit, cursor) = req.page()?;
    let page = krug_core::reviews::purchases::page(
        ctx.sql(),
        &id,
        ctx.clock().now(),
        limit,
        cursor.as_ref(),
    )
    .map_err(ApiError::from)?;
    json_response(200, &page)
}

/// `POST /wallet/coupons/{id}/activate` → `{activation_code, valid_until}`.
pub fn activate_coupon(ctx: &Ctx, req: &Req, raw_id: &str) -> Result<Response, ApiError> {
    let id = member_id(ctx, req)?;
    let coupon = krug_core::types::Id::parse(raw_id, "id")
        .map(|i| i.to_text())
        .map_err(|_| ApiError::not_found("COUPON_NOT_FOUND", "no such coupon"))?;
    let done = krug_core::promo::coupons::activate(
        ctx.sql(),
        ctx.clock().now(),
        ctx.random(),
        &id,
        &coupon,
    )?;
    json_response(200, &done)
}
