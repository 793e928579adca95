//! `/pos/...`: the till. The caller is staff of a business or the business's
//! partner API key, and always acts for that business; writes need an
//! `Idempotency-Key` and are replayed, not repeated, when retried.

use krug_core::{
    auth::{self, Need, Principal},
    idempotency, referral,
    types::{Id, Kopecks},
    wallet::{
        ledger::Actor,
        pos::{self, CompensateCmd, Keyed, PosEnv, PurchaseCmd, RedeemCmd, Reply},
        qr::QrKey,
        Category, WalletSettings,
    },
};
use krug_spin_adapter::{json_response, parse_json, require, settle_referral, ApiError, Ctx, Req};
use spin_sdk::http::Response;

use crate::body;

/// The QR signing key, derived from `jwt_secret`.
pub fn qr_key(ctx: &Ctx) -> Result<QrKey, ApiError> {
    Ok(QrKey::derive(&ctx.required_variable("jwt_secret")?))
}

// Who is at the till and for which business.
struct Till {
    business_id: String,
    actor: Actor,
}

// The business is the one named in the body, else the caller's own; the
// single authorization check then decides (staff and keys of that business,
// or an admin).
fn till(p: Principal, requested: Option<&str>) -> Result<Till, ApiError> {
    let business_id = match (requested, p.business_id()) {
        (Some(raw), _) => Id::parse(raw, "business_id")?.to_text(),
        (None, Some(own)) => own.to_string(),
        (None, None) => {
            return Err(ApiError::forbidden(
                "FORBIDDEN",
                "the till is for a business's staff or its API key",
            ))
        }
    };
    auth::authorize(
        &p,
        &Need::StaffOrApiKey {
            business_id: business_id.clone(),
        },
    )?;
    let own = p.business_id() == Some(business_id.as_str());
    let actor = match p {
        Principal::ApiKey { key_id, .. } => Actor {
            role: "api_key",
            id: Some(key_id),
        },
        // Authorized but not staff here: an admin.
        Principal::Member { member_id, .. } => Actor {
            role: if own { "staff" } else { "admin" },
            id: Some(member_id),
        },
    };
    Ok(Till { business_id, actor })
}

fn settings(ctx: &Ctx) -> Result<WalletSettings, ApiError> {
    WalletSettings::from_variables(ctx.variables()).map_err(ApiError::internal)
}

fn keyed(req: &Req) -> Result<Keyed, ApiError> {
    let Some(key) = req.idempotency_key() else {
        return Err(ApiError::bad_request(
            "IDEMPOTENCY_KEY_REQUIRED",
            "POS writes need an Idempotency-Key header",
        ));
    };
    Ok(Keyed {
        key: key.to_string(),
        request_hash: idempotency::request_hash(req.method(), req.path(), req.body()),
    })
}

fn reply(r: Reply) -> Result<Response, ApiError> {
    json_response(r.status, &r.body)
}

// Runs `f` with the POS ports of this request.
fn with_env<T>(
    ctx: &Ctx,
    till: &Till,
    f: impl FnOnce(&PosEnv<'_>) -> Result<T, ApiError>,
) -> Result<T, ApiError> {
    let key = qr_key(ctx)?;
    let settings = settings(ctx)?;
    f(&PosEnv {
        sql: ctx.sql(),
        clock: ctx.clock(),
        random: ctx.random(),
        qr_key: &key,
        settings: &settings,
        business_id: &till.business_id,
        actor: &till.actor,
        request_id: Some(ctx.request_id()),
    })
}

/// `POST /pos/identify {qr_token | card_number}` → first name, tier, balance.
pub fn identify(ctx: &Ctx, req: &Req) -> Result<Response, ApiError> {
    let caller = require(ctx, req, &Need::AnyTill)?;
    let b: body::Identify = parse_json(req)?;
    let till = till(caller, b.business_id.as_deref())?;
    let who = b.member().reference("member")?;
    let found = with_env(ctx, &till, |env| Ok(pos::identify(env, &who)?))?;
    json_response(200, &found)
}

/// `POST /pos/purchases` → 201 `{purchase_id, points_earned, status, ...}`.
pub fn purchase(ctx: &Ctx, req: &Req) -> Result<Response, ApiError> {
    let caller = require(ctx, req, &Need::AnyTill)?;
    let key = keyed(req)?;
    let b: body::Purchase = parse_json(req)?;
    let till = till(caller, b.business_id.as_deref())?;
    let category = b
        .category
        .as_deref()
        .map(|c| Category::parse(c, "category"))
        .transpose()?;
    let lines = match &b.items {
        Some(items) => krug_core::wallet::lines::parse(items, "items", category)?,
        None => Vec::new(),
    };
    let cmd = PurchaseCmd {
        member: b.member.reference("member")?,
        amount: Kopecks::positive(b.amount, "amount")?.get(),
        category,
        external_id: b
            .external_id
            .as_deref()
            .map(|e| pos::external_id(e, "external_id"))
            .transpose()?,
        description: b
            .description
            .as_deref()
            .map(|d| pos::note(d, "description"))
            .transpose()?,
        coupon_code: b
            .coupon_code
            .as_deref()
            .map(|c| pos::external_id(c, "coupon_code"))
            .transpose()?,
        ref_code: b
            .ref_code
            .as_deref()
            .map(|c| referral::rules::live_code(ctx.sql(), c, "ref_code"))
            .transpose()?,
    };
    let done = with_env(ctx, &till, |env| {
        Ok(pos::purchase_with_lines(env, &key, &cmd, &lines)?)
    })?;
    if let Some(id) = done.body["purchase_id"].as_str() {
        settle_referral(ctx, id);
    }
    reply(done)
}

/// `POST /pos/redemptions` → 201; needs a fresh QR token, never overdraws.
pub fn redeem(ctx: &Ctx, req: &Req) -> Result<Response, ApiError> {
    let caller = require(ctx, req, &Need::AnyTill)?;
    let key = keyed(req)?;
    let b: body::Redemption = parse_json(req)?;
    let till = till(caller, b.business_id.as_deref())?;
    let cmd = RedeemCmd {
        member: b.member.reference("member")?,
        points: pos::points(b.points, "points")?,
        order_ref: pos::order_ref(&b.order_ref, "order_ref")?,
        check_amount: b
            .check_amount
            .map(|a| Kopecks::positive(a, "check_amount").map(Kopecks::get))
            .transpose()?,
    };
    with_env(ctx, &till, |env| reply(pos::redeem(env, &key, &cmd)?))
}

/// `POST /pos/compensations` → 201; goodwill points, capped per order.
pub fn compensate(ctx: &Ctx, req: &Req) -> Result<Response, ApiError> {
    let caller = require(ctx, req, &Need::AnyTill)?;
    let key = keyed(req)?;
    let b: body::Compensation = parse_json(req)?;
    let till = till(caller, b.business_id.as_deref())?;
    let cmd = CompensateCmd {
        member: b.member.reference("member")?,
        points: pos::points(b.points, "points")?,
        reason: pos::note(&b.reason, "reason")?,
        order_ref: pos::order_ref(&b.order_ref, "order_ref")?,
    };
    with_env(ctx, &till, |env| reply(pos::compensate(env, &key, &cmd)?))
}
