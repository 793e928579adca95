//! Handlers: authorize first, then parse, call core, map.

use krug_core::{
    auth::{Need, Principal},
    referral::{
        reads::{self, Filter},
        rules::{self, ReferralEnv},
        ReferralError, ReferralSettings,
    },
    types::Id,
};
use krug_spin_adapter::{json_response, require, require_feature, ApiError, Ctx, Req};
use spin_sdk::http::Response;

const FLAG: &str = "referral";

fn settings(ctx: &Ctx) -> Result<ReferralSettings, ApiError> {
    ReferralSettings::from_variables(ctx.variables()).map_err(ApiError::internal)
}

/// `GET /referrals/me` → `{code, link, invited, converted, rewarded, pending_rewards}`.
pub fn me(ctx: &Ctx, req: &Req) -> Result<Response, ApiError> {
    let p = require(ctx, req, &Need::Member)?;
    let Principal::Member { member_id, .. } = &p else {
        return Err(ApiError::forbidden(
            "FORBIDDEN",
            "the referral program is for members",
        ));
    };
    require_feature(ctx, FLAG, Some(&p))?;
    let me = reads::me(ctx.sql(), &settings(ctx)?, member_id)?;
    json_response(200, &me)
}

fn filter(req: &Req) -> Result<Filter, ApiError> {
    let q = |name: &str| req.query_param(name);
    let (state, from, to, referrer) = (q("state"), q("from"), q("to"), q("referrer"));
    Ok(Filter::parse(
        state.as_deref(),
        from.as_deref(),
        to.as_deref(),
        referrer.as_deref(),
    )?)
}

/// `GET /admin/referrals?state=&from=&to=&referrer=&limit=&cursor=` →
/// `{items, next_cursor, totals}`.
pub fn list(ctx: &Ctx, req: &Req) -> Result<Response, ApiError> {
    require(ctx, req, &Need::Admin)?;
    let f = filter(req)?;
    let (limit, cursor) = req.page()?;
    let listed = reads::list(ctx.sql(), &f, cursor.as_ref(), limit)?;
    json_response(200, &listed)
}

/// `GET /admin/referrals/export.csv` (same filters) → `text/csv`.
pub fn export(ctx: &Ctx, req: &Req) -> Result<Response, ApiError> {
    require(ctx, req, &Need::Admin)?;
    let f = filter(req)?;
    let csv = reads::export_csv(ctx.sql(), &f)?;
    Ok(Response::builder()
        .status(200)
        .header("content-type", "text/csv; charset=utf-8")
        .header(
            "content-disposition",
            "attachment; filename=\"referrals.csv\"",
        )
        .body(csv.into_bytes())
        .build())
}

/// `POST /admin/referrals/{id}/payout` → the paid referral.
pub fn payout(ctx: &Ctx, req: &Req, raw_id: &str) -> Result<Response, ApiError> {
    let p = require(ctx, req, &Need::Admin)?;
    let id = Id::parse(raw_id, "id")
        .map(|i| i.to_text())
        .map_err(|_| ApiError::from(ReferralError::NotFound))?;
    let settings = settings(ctx)?;
    let env = ReferralEnv {
        sql: ctx.sql(),
        clock: ctx.clock(),
        random: ctx.random(),
        settings: &settings,
        request_id: Some(ctx.request_id()),
    };
    let view = rules::payout(&env, p.member_id().unwrap_or_default(), &id)?;
    json_response(200, &view)
}
