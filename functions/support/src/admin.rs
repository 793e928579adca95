//! The FAQ (public search, admin CRUD), support agents and the Telegram
//! outbox for admins.

use krug_core::{
    auth::Need,
    support::{faq, jobs, outbox},
};
use krug_spin_adapter::{
    json_response, no_content, parse_json, require, require_feature, ApiError, Ctx, Req,
};
use serde_json::json;
use spin_sdk::http::Response;

use crate::body;

/// `GET /faq?q=`: public.
pub fn search_faq(ctx: &Ctx, req: &Req) -> Result<Response, ApiError> {
    require_feature(ctx, "support", None)?;
    let q = req.query_param("q");
    let items = faq::search(ctx.sql(), q.as_deref())?;
    json_response(200, &json!({ "items": items, "next_cursor": null }))
}

/// `GET /admin/faq`.
pub fn list_faq(ctx: &Ctx, req: &Req) -> Result<Response, ApiError> {
    require(ctx, req, &Need::Admin)?;
    let items = faq::search(ctx.sql(), None)?;
    json_response(200, &json!({ "items": items, "next_cursor": null }))
}

fn input(b: body::FaqEntry) -> faq::EntryInput {
    faq::EntryInput {
        question: b.question,
        answer: b.answer,
        position: b.position,
    }
}

/// `POST /admin/faq` → 201.
pub fn create_faq(ctx: &Ctx, req: &Req) -> Result<Response, ApiError> {
    require(ctx, req, &Need::Admin)?;
    let b: body::FaqEntry = parse_json(req)?;
    json_response(
        201,
        &faq::create(ctx.sql(), ctx.clock(), ctx.random(), &input(b))?,
    )
}

/// `PATCH /admin/faq/{id}`.
pub fn update_faq(ctx: &Ctx, req: &Req, id: &str) -> Result<Response, ApiError> {
    require(ctx, req, &Need::Admin)?;
    let b: body::FaqEntry = parse_json(req)?;
    json_response(200, &faq::update(ctx.sql(), ctx.clock(), id, &input(b))?)
}

/// `DELETE /admin/faq/{id}` → 204.
pub fn delete_faq(ctx: &Ctx, req: &Req, id: &str) -> Result<Response, ApiError> {
    require(ctx, req, &Need::Admin)?;
    faq::delete(ctx.sql(), id)?;
    Ok(no_content())
}

/// `POST /admin/support/agents {member_id, telegram_user_id}` → 201 (200
/// when the Telegram user was mapped before).
pub fn map_agent(ctx: &Ctx, req: &Req) -> Result<Response, ApiError> {
    require(ctx, req, &Need::Admin)?;
    let b: body::Agent = parse_json(req)?;
    let (agent, new) = jobs::map_agent(ctx.sql(), ctx.clock(), &b.member_id, b.telegram_user_id)?;
    json_response(if new { 201 } else { 200 }, &agent)
}

/// `GET /admin/support/outbox?status=pending|sent|failed`.
pub fn outbox(ctx: &Ctx, req: &Req) -> Result<Response, ApiError> {
    require(ctx, req, &Need::Admin)?;
    let (limit, cursor) = req.page()?;
    let status = req.query_param("status");
    if let Some(s) = status.as_deref() {
        if !matches!(s, "pending" | "sent" | "failed") {
            return Err(ApiError::invalid_field(
                "INVALID_STATUS",
                "status",
                "status must be pending, sent or failed",
            ));
        }
    }
    json_response(
        200,
        &outbox::list(ctx.sql(), status.as_deref(), cursor.as_ref(), limit)
            .map_err(ApiError::from)?,
    )
}
