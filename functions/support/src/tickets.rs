//! `/support/tickets/...`: members see their own tickets, staff their
//! business's, admins all.

use krug_core::support::{
    tickets::{self, TicketEnv},
    Caller, Status, SupportSettings,
};
use krug_spin_adapter::{
    json_response, parse_json, principal, require_feature, ApiError, Ctx, Req,
};
use spin_sdk::http::Response;

use crate::body;

/// The caller of a support route (a person, not an API key).
pub fn caller(ctx: &Ctx, req: &Req) -> Result<Caller, ApiError> {
    staff_caller(ctx, req, true)
}

/// Like [`caller`]; `gated` also checks the `support` feature flag.
pub fn staff_caller(ctx: &Ctx, req: &Req, gated: bool) -> Result<Caller, ApiError> {
    let p = principal(ctx, req)?;
    if gated {
        require_feature(ctx, "support", Some(&p))?;
    }
    Caller::from_principal(&p).ok_or_else(|| {
        ApiError::forbidden("FORBIDDEN", "support routes are for people, not API keys")
    })
}

/// Support settings of this deployment.
pub fn settings(ctx: &Ctx) -> Result<SupportSettings, ApiError> {
    SupportSettings::from_variables(ctx.variables()).map_err(ApiError::internal)
}

fn with_env<T>(
    ctx: &Ctx,
    f: impl FnOnce(&TicketEnv<'_>) -> Result<T, ApiError>,
) -> Result<T, ApiError> {
    let settings = settings(ctx)?;
    f(&TicketEnv {
        sql: ctx.sql(),
        clock: ctx.clock(),
        random: ctx.random(),
        settings: &settings,
    })
}

/// `POST /support/tickets` → 201.
pub fn create(ctx: &Ctx, req: &Req) -> Result<Response, ApiError> {
    let who = caller(ctx, req)?;
    let b: body::NewTicket = parse_json(req)?;
    let new = tickets::NewTicket {
        subject: b.subject,
        body: b.body,
        business_id: b.business_id,
        purchase_id: b.purchase_id,
        priority: b.priority,
    };
    with_env(ctx, |env| {
        json_response(201, &tickets::create(env, &who, &new)?)
    })
}

/// `GET /support/tickets?status=&limit=&cursor=`.
pub fn list(ctx: &Ctx, req: &Req) -> Result<Response, ApiError> {
    let who = caller(ctx, req)?;
    let (limit, cursor) = req.page()?;
    let status = req
        .query_param("status")
        .map(|s| {
            Status::parse(&s).ok_or_else(|| {
                ApiError::invalid_field(
                    "INVALID_STATUS",
                    "status",
                    "status must be open, in_progress, resolved or closed",
                )
            })
        })
        .transpose()?;
    json_response(
        200,
        &tickets::list(ctx.sql(), &who, status, cursor.as_ref(), limit)?,
    )
}

/// `GET /support/tickets/{id}` with messages and notifications.
pub fn get(ctx: &Ctx, req: &Req, id: &str) -> Result<Response, ApiError> {
    let who = caller(ctx, req)?;
    json_response(200, &tickets::get(ctx.sql(), &who, id)?)
}

/// `PATCH /support/tickets/{id}` `{status?, priority?}`.
pub fn update(ctx: &Ctx, req: &Req, id: &str) -> Result<Response, ApiError> {
    let who = caller(ctx, req)?;
    let b: body::TicketPatch = parse_json(req)?;
    let patch = tickets::TicketPatch {
        status: b.status,
        priority: b.priority,
    };
    with_env(ctx, |env| {
        json_response(200, &tickets::update(env, &who, id, &patch)?)
    })
}

/// `POST /support/tickets/{id}/messages` → 201.
pub fn add_message(ctx: &Ctx, req: &Req, id: &str) -> Result<Response, ApiError> {
    let who = caller(ctx, req)?;
    let b: body::NewMessage = parse_json(req)?;
    with_env(ctx, |env| {
        json_response(201, &tickets::add_message(env, &who, id, &b.body)?)
    })
}
