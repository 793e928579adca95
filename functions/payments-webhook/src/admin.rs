//! `/api/v1/admin/commission-rates` (admins): commission rates per business
//! with effective dates.

use krug_core::{auth::Need, payments::commission};
use krug_spin_adapter::{json_response, parse_json, require, ApiError, Ctx, Req};
use spin_sdk::http::Response;

/// `POST /admin/commission-rates {business_id, rate_bp, effective_from}` → 201.
pub fn set_rate(ctx: &Ctx, req: &Req) -> Result<Response, ApiError> {
    let p = require(ctx, req, &Need::Admin)?;
    let raw: commission::RawRate = parse_json(req)?;
    let created = commission::set_rate(
        ctx.sql(),
        ctx.clock(),
        ctx.random(),
        p.member_id().unwrap_or_default(),
        Some(ctx.request_id()),
        &raw,
    )?;
    json_response(201, &created)
}

/// `GET /admin/commission-rates?business_id=` (admins): newest first.
pub fn list(ctx: &Ctx, req: &Req) -> Result<Response, ApiError> {
    require(ctx, req, &Need::Admin)?;
    let (limit, cursor) = req.page()?;
    let business = req.query_param("business_id");
    let page = commission::list_rates(ctx.sql(), business.as_deref(), limit, cursor.as_ref())
        .map_err(ApiError::from)?;
    json_response(200, &page)
}
