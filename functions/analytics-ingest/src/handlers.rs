//! Handlers: authenticate, decide the business the caller acts for, read
//! the body within its limit, call core, map.

use krug_core::{
    auth::{self, Need, Principal, StaffRole},
    ingest::{
        app_events, batch, csv_file, integrations, normalize,
        pipeline::{self, IngestError, Parsed},
        sync::{self, SyncEnv},
    },
    payments::webhook::WebhookEnv,
    ports::Sleep,
    referral::ReferralSettings,
    types::Id,
    wallet::{ledger::Actor, WalletSettings},
};
use krug_spin_adapter::{
    json_response, parse_json, parse_json_bytes, principal, require, ApiError, Ctx, Limits, Req,
};
use serde_json::{json, Value};
use spin_sdk::http::Response;

/// Who may send sales at all — an API key, staff of some business or an
/// admin — checked before the body is read, so a member is 403 whatever
/// they send.
fn till(ctx: &Ctx, req: &Req) -> Result<Principal, ApiError> {
    require(ctx, req, &Need::AnyTill)
}

/// The business a sender acts for — `?business_id=` or the caller's own —
/// and who they are for the ledger: that business's API key or staff (any
/// role), or an admin.
fn sender(req: &Req, caller: &Principal) -> Result<(String, Actor), ApiError> {
    let business_id = match req.query_param("business_id") {
        Some(raw) => Id::parse(&raw, "business_id")
            .map(|i| i.to_text())
            .map_err(|e| ApiError::from(IngestError::from(e)))?,
        None => caller.business_id().map(str::to_string).ok_or_else(|| {
            ApiError::invalid_field(
                "INVALID_FIELD",
                "business_id",
                "business_id is required for callers without a business",
            )
        })?,
    };
    auth::authorize(
        caller,
        &Need::StaffOrApiKey {
            business_id: business_id.clone(),
        },
    )?;
    let actor = match caller {
        Principal::ApiKey { key_id, .. } => Actor {
            role: "api_key",
            id: Some(key_id.clone()),
        },
        Principal::Member {
            member_id,
            business,
            ..
        } => Actor {
            role: if business.as_ref().is_some_and(|(b, _)| *b == business_id) {
                "staff"
            } else {
                "admin"
            },
            id: Some(member_id.clone()),
        },
    };
    Ok((business_id, actor))
}

fn zone(ctx: &Ctx, business_id: &str) -> Result<normalize::Tz, ApiError> {
    normalize::business_zone(ctx.sql(), business_id)?
        .ok_or_else(|| ApiError::from(IngestError::BusinessNotFound))
}

fn settings(ctx: &Ctx) -> Result<(WalletSettings, ReferralSettings), ApiError> {
    Ok((
        WalletSettings::from_variables(ctx.variables()).map_err(ApiError::internal)?,
        ReferralSettings::from_variables(ctx.variables()).map_err(ApiError::internal)?,
    ))
}

fn apply(
    ctx: &Ctx,
    business_id: &str,
    actor: &Actor,
    rows: Vec<Parsed>,
) -> Result<Response, ApiError> {
    let (wallet, referral) = settings(ctx)?;
    let env = WebhookEnv {
        sql: ctx.sql(),
        clock: ctx.clock(),
        random: ctx.random(),
        settings: &wallet,
        request_id: Some(ctx.request_id()),
        orders: &[],
        referral: &referral,
    };
    json_response(200, &pipeline::ingest(&env, business_id, actor, rows)?)
}

/// `POST /ingest/transactions` → 200 report.
pub fn transactions(ctx: &Ctx, req: &Req) -> Result<Response, ApiError> {
    let caller = till(ctx, req)?;
    if req.body().len() > Limits::DEFAULT_BODY {
        return Err(ApiError::payload_too_large(Limits::DEFAULT_BODY));
    }
    let body: Value = parse_json(req)?;
    let (business_id, actor) = sender(req, &caller)?;
    let tz = zone(ctx, &business_id)?;
    let rows = batch::parse(&body, tz).map_err(|e| ApiError::from(IngestError::from(e)))?;
    apply(ctx, &business_id, &actor, rows)
}

/// `POST /ingest/transactions.csv` (`text/csv`, ≤ 10 MiB) → 200 report.
pub fn transactions_csv(ctx: &Ctx, req: &Req) -> Result<Response, ApiError> {
    let caller = till(ctx, req)?;
    let mime = req
        .header("content-type")
        .unwrap_or("")
        .split(';')
        .next()
        .unwrap_or("")
        .trim();
    if !mime.eq_ignore_ascii_case("text/csv") {
        return Err(ApiError::unsupported_media_type("text/csv"));
    }
    let (business_id, actor) = sender(req, &caller)?;
    let tz = zone(ctx, &business_id)?;
    let rows = csv_file::parse(req.body(), tz)?;
    apply(ctx, &business_id, &actor, rows)
}

/// `POST /ingest/events` (member) → 200 `{accepted, duplicates}`.
pub fn events(ctx: &Ctx, req: &Req) -> Result<Response, ApiError> {
    let caller = require(ctx, req, &Need::Member)?;
    if req.body().len() > Limits::DEFAULT_BODY {
        return Err(ApiError::payload_too_large(Limits::DEFAULT_BODY));
    }
    let body: Value = parse_json(req)?;
    let member_id = caller.member_id().unwrap_or_default();
    let stored = app_events::store(ctx.sql(), ctx.clock(), ctx.random(), member_id, &body)?;
    json_response(200, &stored)
}

/// The business of an integration route, for its owner or an admin.
fn owner(ctx: &Ctx, req: &Req, raw_id: &str) -> Result<(String, Principal), ApiError> {
    // Authenticate before looking at the id: no token is 401 whatever the path.
    let caller = principal(ctx, req)?;
    let id = Id::parse(raw_id, "id")
        .map(|i| i.to_text())
        .map_err(|_| ApiError::from(integrations::IntegrationError::BusinessNotFound))?;
    auth::authorize(
        &caller,
        &Need::Staff {
            business_id: id.clone(),
            min_role: StaffRole::Owner,
        },
    )?;
    Ok((id, caller))
}

/// `GET /admin/businesses/{id}/integration`.
pub fn integration(ctx: &Ctx, req: &Req, raw_id: &str) -> Result<Response, ApiError> {
    let (id, _) = owner(ctx, req, raw_id)?;
    json_response(200, &integrations::get(ctx.sql(), &id)?)
}

/// `PUT /admin/businesses/{id}/integration {type, settings, enabled, since?}`.
pub fn configure(ctx: &Ctx, req: &Req, raw_id: &str) -> Result<Response, ApiError> {
    let (id, caller) = owner(ctx, req, raw_id)?;
    let body: Value = parse_json(req)?;
    let a = auth::Actor::of(&caller);
    let actor = Actor {
        role: a.role,
        id: a.id,
    };
    let env = integrations::AdminEnv {
        sql: ctx.sql(),
        clock: ctx.clock(),
        random: ctx.random(),
        request_id: Some(ctx.request_id()),
    };
    json_response(200, &integrations::put(&env, &actor, &id, &body)?)
}

/// `POST .../integration/sync`: one run now → 200 the run (its `status`
/// tells whether it failed, and why).
pub fn sync(ctx: &Ctx, req: &Req, raw_id: &str) -> Result<Response, ApiError> {
    let (id, _) = owner(ctx, req, raw_id)?;
    if !req.body().is_empty() {
        let _: Value = parse_json_bytes(req.body())?;
    }
    let (wallet, referral) = settings(ctx)?;
    let env = SyncEnv {
        pipeline: WebhookEnv {
            sql: ctx.sql(),
            clock: ctx.clock(),
            random: ctx.random(),
            settings: &wallet,
            request_id: Some(ctx.request_id()),
            orders: &[],
            referral: &referral,
        },
        http: ctx.http(),
        pause: &Sleep,
    };
    json_response(200, &sync::run(&env, &id, "manual")?)
}

/// `GET .../integration/sync-runs?limit&cursor` → newest first.
pub fn runs(ctx: &Ctx, req: &Req, raw_id: &str) -> Result<Response, ApiError> {
    let (id, _) = owner(ctx, req, raw_id)?;
    let (limit, cursor) = req.page()?;
    json_response(
        200,
        &integrations::runs(ctx.sql(), &id, cursor.as_ref(), limit)?,
    )
}

/// `GET /admin/alerts` (admin) → `{items: [...]}`.
pub fn alerts(ctx: &Ctx, req: &Req) -> Result<Response, ApiError> {
    require(ctx, req, &Need::Admin)?;
    json_response(200, &json!({ "items": integrations::alerts(ctx.sql())? }))
}
