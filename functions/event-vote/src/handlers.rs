//! Handlers: authorize first, then parse, call core, map.

use krug_core::{
    auth::{Need, Principal},
    events::{
        budget, manage,
        manage::{EventInput, EventPatch},
        proposals::{self, ProposalInput},
        reads::{self, ListFilter, Reader},
        registration::{self, RegisterInput},
        ticket::TicketKey,
        EventEnv, EventError, EventSettings,
    },
    types::Id,
    wallet::tiers::Tier,
};
use krug_spin_adapter::{
    json_response, parse_json, principal, require, require_feature, ApiError, Ctx, Req,
};
use qrcode::{render::svg, EcLevel, QrCode};
use serde::Deserialize;
use serde_json::{json, Value};
use spin_sdk::http::Response;

const FLAG: &str = "events";

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CheckInBody {
    ticket_code: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct VoteBody {
    vote: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct VetoBody {
    reason: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct InvitationBody {
    member_id: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AllocationBody {
    amount: i64,
}

fn with_env<T>(
    ctx: &Ctx,
    f: impl FnOnce(&EventEnv<'_>) -> Result<T, ApiError>,
) -> Result<T, ApiError> {
    let settings = EventSettings::from_variables(ctx.variables()).map_err(ApiError::internal)?;
    f(&EventEnv {
        sql: ctx.sql(),
        clock: ctx.clock(),
        random: ctx.random(),
        settings: &settings,
        request_id: Some(ctx.request_id()),
    })
}

fn ticket_key(ctx: &Ctx) -> Result<TicketKey, ApiError> {
    Ok(TicketKey::derive(&ctx.required_variable("jwt_secret")?))
}

// The member behind an access token, with the `events` flag on for them.
fn member(ctx: &Ctx, req: &Req) -> Result<(Principal, String), ApiError> {
    let p = require(ctx, req, &Need::Member)?;
    match &p {
        Principal::Member { member_id, .. } => {
            let id = member_id.clone();
            require_feature(ctx, FLAG, Some(&p))?;
            Ok((p, id))
        }
        Principal::ApiKey { .. } => Err(ApiError::forbidden("FORBIDDEN", "not allowed")),
    }
}

// Public reads: gated for the caller when a valid bearer comes with them,
// else as an anonymous reader.
fn reader(ctx: &Ctx, req: &Req) -> Result<Option<Principal>, ApiError> {
    let caller = req.bearer_token().and_then(|_| principal(ctx, req).ok());
    require_feature(ctx, FLAG, caller.as_ref())?;
    Ok(caller)
}

fn reader_of(p: Option<&Principal>) -> Reader<'_> {
    match p {
        Some(Principal::Member {
            member_id, tier, ..
        }) => Reader {
            member_id: Some(member_id),
            tier: Tier::parse(tier).unwrap_or(Tier::Insider),
        },
        _ => Reader {
            member_id: None,
            tier: Tier::Insider,
        },
    }
}

// An admin or the owner of a business: who may organise events at all,
// checked before the body is read.
fn organiser(ctx: &Ctx, req: &Req) -> Result<Principal, ApiError> {
    let p = principal(ctx, req)?;
    if manage::is_organiser(&p) {
        Ok(p)
    } else {
        Err(ApiError::forbidden(
            "FORBIDDEN",
            "events are organised by admins and business owners",
        ))
    }
}

fn id_or(raw: &str, missing: EventError) -> Result<String, ApiError> {
    Id::parse(raw, "id")
        .map(|i| i.to_text())
        .map_err(|_| ApiError::from(missing))
}

fn event_id(raw: &str) -> Result<String, ApiError> {
    id_or(raw, EventError::NotFound)
}

fn proposal_id(raw: &str) -> Result<String, ApiError> {
    id_or(raw, EventError::ProposalNotFound)
}

fn qr_svg(code: &str) -> Result<String, ApiError> {
    let qr = QrCode::with_error_correction_level(code.as_bytes(), EcLevel::M)
        .map_err(|e| ApiError::internal(format!("rendering the ticket QR code: {e}")))?;
    Ok(qr
        .render::<svg::Color<'_>>()
        .min_dimensions(240, 240)
        .quiet_zone(true)
        .build())
}

// Adds the QR SVG beside a `ticket.code`.
fn with_svg(v: &mut Value) -> Result<(), ApiError> {
    if let Some(code) = v["ticket"]["code"].as_str().map(str::to_string) {
        v["ticket"]["svg"] = Value::String(qr_svg(&code)?);
    }
    Ok(())
}

fn to_value<T: serde::Serialize>(v: &T) -> Result<Value, ApiError> {
    serde_json::to_value(v).map_err(|e| ApiError::internal(e.to_string()))
}

fn detail_of(ctx: &Ctx, p: Option<&Principal>, id: &str) -> Result<Value, ApiError> {
    let d = reads::detail(
        ctx.sql(),
        &ticket_key(ctx)?,
        ctx.clock().now(),
        &reader_of(p),
        id,
    )?
    .ok_or(EventError::NotFound)?;
    let mut v = to_value(&d)?;
    if v["my_registration"].is_object() {
        with_svg(&mut v["my_registration"])?;
    }
    Ok(v)
}

/// `GET /events?status&format&business_id&from&to&limit&cursor`.
pub fn list(ctx: &Ctx, req: &Req) -> Result<Response, ApiError> {
    let caller = reader(ctx, req)?;
    let (limit, cursor) = req.page()?;
    let filter = ListFilter {
        status: req.query_param("status"),
        format: req.query_param("format"),
        business_id: req.query_param("business_id"),
        from: req.query_param("from"),
        to: req.query_param("to"),
    };
    let page = reads::list(
        ctx.sql(),
        ctx.clock().now(),
        &reader_of(caller.as_ref()),
        &filter,
        limit,
        cursor.as_ref(),
    )?;
    json_response(200, &page)
}

/// `GET /events/{id}`.
pub fn detail(ctx: &Ctx, req: &Req, raw: &str) -> Result<Response, ApiError> {
    let caller = reader(ctx, req)?;
    let id = event_id(raw)?;
    json_response(200, &detail_of(ctx, caller.as_ref(), &id)?)
}

/// `POST /events/{id}/register` → 201.
pub fn register(ctx: &Ctx, req: &Req, raw: &str) -> Result<Response, ApiError> {
    let (_, member_id) = member(ctx, req)?;
    let body: RegisterInput = if req.body().iter().all(u8::is_ascii_whitespace) {
        RegisterInput::default()
    } else {
        parse_json(req)?
    };
    let id = event_id(raw)?;
    let key = ticket_key(ctx)?;
    let done = with_env(ctx, |env| {
        Ok(registration::register(env, &key, &member_id, &id, &body)?)
    })?;
    let mut v = to_value(&done)?;
    with_svg(&mut v)?;
    json_response(201, &v)
}

/// `DELETE /events/{id}/register`.
pub fn unregister(ctx: &Ctx, req: &Req, raw: &str) -> Result<Response, ApiError> {
    let (_, member_id) = member(ctx, req)?;
    let id = event_id(raw)?;
    let done = with_env(ctx, |env| Ok(registration::cancel(env, &member_id, &id)?))?;
    json_response(200, &done)
}

/// `POST /events/{id}/check-in {ticket_code}` by the business's staff.
pub fn check_in(ctx: &Ctx, req: &Req, raw: &str) -> Result<Response, ApiError> {
    let p = principal(ctx, req)?;
    if !registration::may_check_in_somewhere(&p) {
        return Err(ApiError::forbidden(
            "NOT_EVENT_STAFF",
            "tickets are checked in by the organising business's staff",
        ));
    }
    let b: CheckInBody = parse_json(req)?;
    let id = event_id(raw)?;
    let key = ticket_key(ctx)?;
    let done = with_env(ctx, |env| {
        Ok(registration::check_in(env, &key, &p, &id, &b.ticket_code)?)
    })?;
    json_response(200, &done)
}

/// `POST /admin/events` → 201 with the event.
pub fn create(ctx: &Ctx, req: &Req) -> Result<Response, ApiError> {
    let p = organiser(ctx, req)?;
    let b: EventInput = parse_json(req)?;
    let id = with_env(ctx, |env| Ok(manage::create(env, &p, &b)?))?;
    json_response(201, &detail_of(ctx, Some(&p), &id)?)
}

/// `PATCH /admin/events/{id}`.
pub fn edit(ctx: &Ctx, req: &Req, raw: &str) -> Result<Response, ApiError> {
    let p = organiser(ctx, req)?;
    let b: EventPatch = parse_json(req)?;
    let id = event_id(raw)?;
    with_env(ctx, |env| Ok(manage::edit(env, &p, &id, &b)?))?;
    json_response(200, &detail_of(ctx, Some(&p), &id)?)
}

/// `POST /admin/events/{id}/cancel`.
pub fn cancel(ctx: &Ctx, req: &Req, raw: &str) -> Result<Response, ApiError> {
    let p = organiser(ctx, req)?;
    let id = event_id(raw)?;
    let done = with_env(ctx, |env| Ok(manage::cancel(env, &p, &id)?))?;
    json_response(200, &done)
}

/// `POST /admin/events/{id}/invitations {member_id}` → 201.
pub fn invite(ctx: &Ctx, req: &Req, raw: &str) -> Result<Response, ApiError> {
    let p = organiser(ctx, req)?;
    let b: InvitationBody = parse_json(req)?;
    let id = event_id(raw)?;
    let done = with_env(ctx, |env| Ok(manage::invite(env, &p, &id, &b.member_id)?))?;
    json_response(201, &done)
}

/// `POST /admin/events/{id}/budget {amount}` by an admin → 201.
pub fn allocate(ctx: &Ctx, req: &Req, raw: &str) -> Result<Response, ApiError> {
    let p = require(ctx, req, &Need::Admin)?;
    let b: AllocationBody = parse_json(req)?;
    let id = event_id(raw)?;
    let admin = p.member_id().unwrap_or_default().to_string();
    let done = with_env(ctx, |env| Ok(budget::allocate(env, &admin, &id, b.amount)?))?;
    json_response(201, &done)
}

/// `POST /admin/events/proposals/{id}/realize` by an admin → 201 with the
/// new event.
pub fn realize(ctx: &Ctx, req: &Req, raw: &str) -> Result<Response, ApiError> {
    let p = require(ctx, req, &Need::Admin)?;
    let b: EventInput = parse_json(req)?;
    let id = proposal_id(raw)?;
    let event = with_env(ctx, |env| Ok(proposals::realize(env, &p, &id, &b)?))?;
    json_response(201, &detail_of(ctx, Some(&p), &event)?)
}

/// `GET /events/budget?month=YYYY-MM`.
pub fn budget(ctx: &Ctx, req: &Req) -> Result<Response, ApiError> {
    let (_, member_id) = member(ctx, req)?;
    let month = req.query_param("month");
    let view = budget::view(ctx.sql(), ctx.clock().now(), &member_id, month.as_deref())?;
    json_response(200, &view)
}

/// `GET /events/proposals?status&limit&cursor`.
pub fn proposals(ctx: &Ctx, req: &Req) -> Result<Response, ApiError> {
    let (_, member_id) = member(ctx, req)?;
    let (limit, cursor) = req.page()?;
    let status = req.query_param("status");
    let page = proposals::list(
        ctx.sql(),
        Some(&member_id),
        status.as_deref(),
        limit,
        cursor.as_ref(),
    )?;
    json_response(200, &page)
}

/// `POST /events/proposals` (vip and above) → 201.
pub fn propose(ctx: &Ctx, req: &Req) -> Result<Response, ApiError> {
    let (_, member_id) = member(ctx, req)?;
    let b: ProposalInput = parse_json(req)?;
    let done = with_env(ctx, |env| Ok(proposals::propose(env, &member_id, &b)?))?;
    json_response(201, &done)
}

/// `POST /events/proposals/{id}/vote {vote}`.
pub fn vote(ctx: &Ctx, req: &Req, raw: &str) -> Result<Response, ApiError> {
    let (_, member_id) = member(ctx, req)?;
    let b: VoteBody = parse_json(req)?;
    let id = proposal_id(raw)?;
    let tally = with_env(ctx, |env| {
        Ok(proposals::vote(env, &member_id, &id, &b.vote)?)
    })?;
    json_response(200, &tally)
}

/// `POST /events/proposals/{id}/veto {reason}` (inner circle).
pub fn veto(ctx: &Ctx, req: &Req, raw: &str) -> Result<Response, ApiError> {
    let (_, member_id) = member(ctx, req)?;
    let b: VetoBody = parse_json(req)?;
    let id = proposal_id(raw)?;
    let view = with_env(ctx, |env| {
        Ok(proposals::veto(env, &member_id, &id, &b.reason)?)
    })?;
    json_response(200, &json!(view))
}
