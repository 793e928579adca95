//! Handlers: authorize first (manager, owner or admin as the report needs),
//! then parse the period, call core, map.

use krug_core::{
    analytics::{club, export, metrics, reports, AnalyticsError, Period},
    auth::{Need, StaffRole},
    crypto::constant_time_eq,
    pagination::{parse_limit, Cursor},
    types::Id,
};
use krug_spin_adapter::{json_response, require, ApiError, Ctx, Req, Streamed};
use spin_sdk::http::Response;

/// Staff of `raw_id` with at least `role`, or an admin; the id checked.
fn staff(ctx: &Ctx, req: &Req, raw_id: &str, role: StaffRole) -> Result<String, ApiError> {
    // Authenticate before looking at the id, so a missing token is 401
    // whatever the path holds; the caller is resolved once.
    let caller = krug_spin_adapter::principal(ctx, req)?;
    let id = Id::parse(raw_id, "id")
        .map(|i| i.to_text())
        .map_err(|_| ApiError::from(AnalyticsError::BusinessNotFound))?;
    krug_core::auth::authorize(
        &caller,
        &Need::Staff {
            business_id: id.clone(),
            min_role: role,
        },
    )?;
    Ok(id)
}

fn period(ctx: &Ctx, req: &Req) -> Result<Period, ApiError> {
    let (from, to) = (req.query_param("from"), req.query_param("to"));
    Period::parse(from.as_deref(), to.as_deref(), ctx.clock().now())
        .map_err(|e| ApiError::from(AnalyticsError::from(e)))
}

/// `GET .../overview` (manager).
pub fn overview(ctx: &Ctx, req: &Req, raw_id: &str) -> Result<Response, ApiError> {
    let id = staff(ctx, req, raw_id, StaffRole::Manager)?;
    let p = period(ctx, req)?;
    json_response(200, &reports::overview(ctx.sql(), &id, p)?)
}

/// `GET .../customer-sources` (owner).
pub fn sources(ctx: &Ctx, req: &Req, raw_id: &str) -> Result<Response, ApiError> {
    let id = staff(ctx, req, raw_id, StaffRole::Owner)?;
    let p = period(ctx, req)?;
    json_response(200, &reports::sources(ctx.sql(), &id, p)?)
}

/// `GET .../customer-destinations` (owner).
pub fn destinations(ctx: &Ctx, req: &Req, raw_id: &str) -> Result<Response, ApiError> {
    let id = staff(ctx, req, raw_id, StaffRole::Owner)?;
    let p = period(ctx, req)?;
    json_response(200, &reports::destinations(ctx.sql(), &id, p)?)
}

/// `GET .../win-win-chains` (owner).
pub fn chains(ctx: &Ctx, req: &Req, raw_id: &str) -> Result<Response, ApiError> {
    let id = staff(ctx, req, raw_id, StaffRole::Owner)?;
    json_response(200, &reports::chains(ctx.sql(), &id)?)
}

/// `GET .../rfm-segments` (manager).
pub fn rfm(ctx: &Ctx, req: &Req, raw_id: &str) -> Result<Response, ApiError> {
    let id = staff(ctx, req, raw_id, StaffRole::Manager)?;
    json_response(200, &reports::rfm(ctx.sql(), &id)?)
}

/// `GET .../churn-risk?limit=` (manager).
pub fn churn(ctx: &Ctx, req: &Req, raw_id: &str) -> Result<Response, ApiError> {
    let id = staff(ctx, req, raw_id, StaffRole::Manager)?;
    let limit = parse_limit(req.query_param("limit").as_deref())
        .map_err(|e| ApiError::from(AnalyticsError::from(e)))?;
    json_response(
        200,
        &reports::churn_risk(ctx.sql(), &id, ctx.clock().now(), limit)?,
    )
}

/// `GET /analytics/club` (admin).
pub fn club(ctx: &Ctx, req: &Req) -> Result<Response, ApiError> {
    require(ctx, req, &Need::Admin)?;
    let p = period(ctx, req)?;
    json_response(200, &club::dashboard(ctx.sql(), p, ctx.clock().now())?)
}

/// `GET .../export?format=csv` (owner): streamed page by page.
pub fn export<'c>(
    ctx: &'c Ctx,
    req: &'c Req,
    raw_id: &str,
) -> Result<krug_spin_adapter::Outcome<'c>, ApiError> {
    let id = staff(ctx, req, raw_id, StaffRole::Owner)?;
    match req.query_param("format").as_deref() {
        None | Some("csv") => {}
        Some(_) => {
            return Err(ApiError::from(AnalyticsError::from(
                krug_core::error::InvalidValue::new(
                    "INVALID_FIELD",
                    "format",
                    "the only export format is csv",
                ),
            )))
        }
    }
    let p = period(ctx, req)?;
    let (_, medical) = krug_core::analytics::business_info(ctx.sql(), &id)?;
    let mut header = Some(export::header());
    let mut cursor: Option<Cursor> = None;
    let mut done = false;
    let filename = format!(
        "attachment; filename=\"purchases-{}-{}.csv\"",
        p.from_day(),
        p.to_day()
    );
    Ok(krug_spin_adapter::Outcome::Stream(Streamed {
        content_type: "text/csv; charset=utf-8",
        headers: vec![("content-disposition".to_string(), filename)],
        next: Box::new(move || {
            if let Some(h) = header.take() {
                return Ok(Some(h.into_bytes()));
            }
            if done {
                return Ok(None);
            }
            let (chunk, next) = export::page(
                ctx.sql(),
                &id,
                medical,
                p,
                cursor.as_ref(),
                export::PAGE_ROWS,
            )
            .map_err(|e| ApiError::from(AnalyticsError::from(e)))?;
            done = next.is_none();
            cursor = next;
            Ok(if chunk.is_empty() {
                None
            } else {
                Some(chunk.into_bytes())
            })
        }),
    }))
}

/// `GET /metrics`: bearer `metrics_token`, compared in constant time; the
/// route answers 404 while the token is not set.
pub fn metrics(ctx: &Ctx, req: &Req) -> Result<Response, ApiError> {
    let expected = ctx.variables().get("metrics_token").unwrap_or_default();
    if expected.is_empty() {
        return Err(ApiError::not_found(
            "NOT_FOUND",
            "metrics are disabled (metrics_token is not set)",
        ));
    }
    let presented = req.bearer_token().unwrap_or_default();
    if !constant_time_eq(presented.as_bytes(), expected.as_bytes()) {
        return Err(ApiError::unauthorized(
            "UNAUTHORIZED",
            "send Authorization: Bearer <metrics_token>",
        ));
    }
    let body = metrics::render(ctx.sql()).map_err(|e| ApiError::from(AnalyticsError::from(e)))?;
    Ok(Response::builder()
        .status(200)
        .header("content-type", metrics::CONTENT_TYPE)
        .body(body.into_bytes())
        .build())
}
