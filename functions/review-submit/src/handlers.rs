//! Handlers: authorize first, then parse, call core, map.

use krug_core::{
    auth::{Need, Principal},
    reviews::{
        reads::{self, Sort},
        submit::{self, Decision, Moderator, NewReview, ReviewEdit, ReviewEnv},
        ReviewError, ReviewSettings, Target,
    },
    types::Id,
    wallet::lines,
};
use krug_spin_adapter::{
    json_response, no_content, parse_json, principal, require, require_feature, ApiError, Ctx, Req,
};
use serde::Deserialize;
use spin_sdk::http::Response;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TargetBody {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    business_id: Option<String>,
    #[serde(default)]
    sku: Option<String>,
    #[serde(default)]
    event_id: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateBody {
    target: TargetBody,
    #[serde(default)]
    purchase_id: Option<String>,
    rating: i64,
    #[serde(default)]
    text: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct EditBody {
    #[serde(default)]
    rating: Option<i64>,
    #[serde(default)]
    text: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DecisionBody {
    decision: String,
    #[serde(default)]
    reason: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ReplyBody {
    text: String,
}

fn settings(ctx: &Ctx) -> Result<ReviewSettings, ApiError> {
    ReviewSettings::from_variables(ctx.variables()).map_err(ApiError::internal)
}

fn with_env<T>(
    ctx: &Ctx,
    f: impl FnOnce(&ReviewEnv<'_>) -> Result<T, ApiError>,
) -> Result<T, ApiError> {
    let settings = settings(ctx)?;
    f(&ReviewEnv {
        sql: ctx.sql(),
        clock: ctx.clock(),
        random: ctx.random(),
        settings: &settings,
        request_id: Some(ctx.request_id()),
    })
}

// The member behind an access token, with the `reviews` flag on for them;
// API keys write no reviews.
fn member(ctx: &Ctx, req: &Req) -> Result<Principal, ApiError> {
    let p = require(ctx, req, &Need::Member)?;
    match p {
        Principal::Member { .. } => {
            require_feature(ctx, FLAG, Some(&p))?;
            Ok(p)
        }
        Principal::ApiKey { .. } => Err(ApiError::forbidden("FORBIDDEN", "not allowed")),
    }
}

const FLAG: &str = "reviews";

// Public reads are gated for the caller when a valid bearer comes with
// them, else as an anonymous reader (a bad bearer does not fail a public
// read).
fn gate_public(ctx: &Ctx, req: &Req) -> Result<(), ApiError> {
    let caller = req.bearer_token().and_then(|_| principal(ctx, req).ok());
    require_feature(ctx, FLAG, caller.as_ref())
}

fn member_id(p: &Principal) -> String {
    p.member_id().unwrap_or_default().to_string()
}

fn review_id(raw: &str) -> Result<String, ApiError> {
    Id::parse(raw, "id")
        .map(|i| i.to_text())
        .map_err(|_| ApiError::from(ReviewError::NotFound))
}

// The target of a read: `business_id` (+ `sku`) or `event_id`.
fn read_target(req: &Req) -> Result<Target, ApiError> {
    if req.query_param("event_id").is_some() {
        return Err(ReviewError::EventsNotAvailable.into());
    }
    let Some(raw) = req.query_param("business_id") else {
        return Err(ApiError::invalid_field(
            "INVALID_FIELD",
            "business_id",
            "give business_id (and sku for a product) or event_id",
        ));
    };
    let business = Id::parse(&raw, "business_id")?.to_text();
    Ok(match req.query_param("sku") {
        Some(s) => Target::product(&business, &lines::sku(&s, "sku")?),
        None => Target::business(&business),
    })
}

/// `POST /reviews` → 201 with the review (`published` or `pending`).
pub fn create(ctx: &Ctx, req: &Req) -> Result<Response, ApiError> {
    let p = member(ctx, req)?;
    let b: CreateBody = parse_json(req)?;
    let cmd = NewReview {
        kind: b.target.kind,
        business_id: b.target.business_id,
        sku: b.target.sku,
        event_id: b.target.event_id,
        purchase_id: b.purchase_id,
        rating: b.rating,
        text: b.text,
    };
    let review = with_env(ctx, |env| Ok(submit::create(env, &member_id(&p), &cmd)?))?;
    json_response(201, &review)
}

/// `GET /reviews?business_id&sku&event_id&sort&limit&cursor`: public.
pub fn list(ctx: &Ctx, req: &Req) -> Result<Response, ApiError> {
    gate_public(ctx, req)?;
    let target = read_target(req)?;
    let sort = Sort::parse(req.query_param("sort").as_deref())?;
    let (limit, cursor) = req.page()?;
    let page = reads::public_page(ctx.sql(), &target, sort, limit, cursor.as_ref())?;
    json_response(200, &page)
}

/// `GET /ratings?business_id&sku&event_id`: public.
pub fn ratings(ctx: &Ctx, req: &Req) -> Result<Response, ApiError> {
    gate_public(ctx, req)?;
    let target = read_target(req)?;
    json_response(200, &reads::rating_of(ctx.sql(), &target)?)
}

/// `GET /reviews/mine`: the caller's reviews, pending included.
pub fn mine(ctx: &Ctx, req: &Req) -> Result<Response, ApiError> {
    let p = member(ctx, req)?;
    let (limit, cursor) = req.page()?;
    let page = reads::mine_page(ctx.sql(), &member_id(&p), limit, cursor.as_ref())
        .map_err(ApiError::from)?;
    json_response(200, &page)
}

/// `PATCH /reviews/{id}` by the author within 48 h.
pub fn edit(ctx: &Ctx, req: &Req, raw_id: &str) -> Result<Response, ApiError> {
    let p = member(ctx, req)?;
    let b: EditBody = parse_json(req)?;
    let id = review_id(raw_id)?;
    let cmd = ReviewEdit {
        rating: b.rating,
        text: b.text,
    };
    let review = with_env(ctx, |env| Ok(submit::edit(env, &member_id(&p), &id, &cmd)?))?;
    json_response(200, &review)
}

/// `DELETE /reviews/{id}` by the author → 204.
pub fn withdraw(ctx: &Ctx, req: &Req, raw_id: &str) -> Result<Response, ApiError> {
    let p = member(ctx, req)?;
    let id = review_id(raw_id)?;
    with_env(ctx, |env| Ok(submit::withdraw(env, &member_id(&p), &id)?))?;
    Ok(no_content())
}

/// `PUT /reviews/{id}/reply` by staff of the review's business.
pub fn reply(ctx: &Ctx, req: &Req, raw_id: &str) -> Result<Response, ApiError> {
    let p = principal(ctx, req)?;
    let (staff_id, business_id) = match &p {
        Principal::Member {
            member_id,
            business: Some((business_id, _)),
            ..
        } => (member_id.clone(), business_id.clone()),
        _ => {
            return Err(ApiError::forbidden(
                "FORBIDDEN",
                "replies are written by the business's staff",
            ))
        }
    };
    require_feature(ctx, FLAG, Some(&p))?;
    let b: ReplyBody = parse_json(req)?;
    let id = review_id(raw_id)?;
    let review = with_env(ctx, |env| {
        Ok(submit::reply(env, &staff_id, &business_id, &id, &b.text)?)
    })?;
    json_response(200, &review)
}

/// `GET /admin/reviews?status=pending|published|rejected|withdrawn`.
pub fn queue(ctx: &Ctx, req: &Req) -> Result<Response, ApiError> {
    require(ctx, req, &Need::Admin)?;
    let status = req
        .query_param("status")
        .unwrap_or_else(|| "pending".to_string());
    let (limit, cursor) = req.page()?;
    let page = reads::admin_page(ctx.sql(), &status, limit, cursor.as_ref())?;
    json_response(200, &page)
}

/// `POST /admin/reviews/{id}/decision {decision, reason}`.
pub fn decide(ctx: &Ctx, req: &Req, raw_id: &str) -> Result<Response, ApiError> {
    let p = require(ctx, req, &Need::Admin)?;
    let b: DecisionBody = parse_json(req)?;
    let decision = Decision::parse(&b.decision)?;
    let id = review_id(raw_id)?;
    let who = Moderator {
        member_id: member_id(&p),
        staff_of: p.business_id().map(str::to_string),
    };
    let review = with_env(ctx, |env| {
        Ok(submit::decide(
            env,
            &who,
            &id,
            decision,
            b.reason.as_deref(),
        )?)
    })?;
    json_response(200, &review)
}
