//! `scheduler`: runs due jobs when the cron trigger fires, and exposes the
//! same jobs plus the migration runner at `/internal/...` for hosts without a
//! cron trigger. Internal routes need `Authorization: Bearer <jobs_token>`.

use krug_spin_adapter::{json_response, routes, ApiError, Ctx, Limits, Req};
use serde_json::json;
use spin_sdk::http::{IncomingRequest, Response};
use spin_sdk::http_component;

mod cron;
mod guard;
mod jobs;

#[http_component]
async fn handle(req: IncomingRequest) -> Response {
    krug_spin_adapter::serve("scheduler", req, Limits::default(), route).await
}

fn route(ctx: &Ctx, req: &Req) -> Result<Response, ApiError> {
    guard::require_jobs_token(ctx, req)?;
    routes!(req, req.segments().as_slice(), {
        ["internal", "jobs"] => { GET => list_jobs() },
        ["internal", "jobs", "run-due"] => { POST => run_due(ctx) },
        ["internal", "jobs", name] => { POST => run_job(ctx, name) },
        ["internal", "migrate"] => { POST => migrate(ctx) },
    })
}

fn list_jobs() -> Result<Response, ApiError> {
    let items: Vec<_> = jobs::all()
        .into_iter()
        .map(|j| json!({ "name": j.name, "description": j.description, "schedule": j.schedule }))
        .collect();
    json_response(200, &json!({ "items": items, "next_cursor": null }))
}

fn run_job(ctx: &Ctx, name: &str) -> Result<Response, ApiError> {
    let report = krug_core::jobs::run_now_in(&ctx.job_env(), &jobs::all(), name)?;
    json_response(200, &json!({ "job": name, "report": report }))
}

fn run_due(ctx: &Ctx) -> Result<Response, ApiError> {
    let outcomes = krug_core::jobs::run_due_in(&ctx.job_env(), jobs::all())
        .map_err(|e| ApiError::internal(e.to_string()))?;
    json_response(200, &json!({ "items": outcomes }))
}

fn migrate(ctx: &Ctx) -> Result<Response, ApiError> {
    let report = krug_core::migrate::migrate(ctx.sql(), ctx.clock())?;
    json_response(200, &report)
}
