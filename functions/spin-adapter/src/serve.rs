//! The request lifecycle shared by every HTTP component.

use std::time::Instant;

use krug_core::ports::Random;
use serde_json::json;
use spin_sdk::http::{IncomingRequest, Response};

use crate::{
    ctx::Ctx,
    error::ApiError,
    json::json_response,
    log::{access, AccessLog},
    request::{Limits, Req},
};

/// Reads `incoming` within `limits`, runs `route`, maps any error through
/// [`ApiError`], adds `x-request-id`, and writes one access-log line.
pub async fn serve(
    component: &'static str,
    incoming: IncomingRequest,
    limits: Limits,
    route: impl FnOnce(&Ctx, &Req) -> Result<Response, ApiError>,
) -> Response {
    let started = Instant::now();
    let method = incoming.method().to_string();
    let path = incoming
        .path_with_query()
        .unwrap_or_default()
        .split('?')
        .next()
        .unwrap_or_default()
        .to_string();
    let request_id = request_id(&incoming);
    let ctx = Ctx::new(component, request_id);

    let result = match Req::read(incoming, limits).await {
        Ok(req) => route(&ctx, &req),
        Err(e) => Err(e),
    };
    let (mut response, code, cause) = match result {
        Ok(response) => (response, None, None),
        Err(err) => {
            let code = Some(err.code().to_string());
            let cause = err.cause().map(str::to_string);
            (err.into_response(), code, cause)
        }
    };
    response.set_header("x-request-id", ctx.request_id());
    access(&AccessLog {
        component,
        request_id: ctx.request_id(),
        method: &method,
        path: &path,
        status: *response.status(),
        duration_ms: started.elapsed().as_secs_f64() * 1000.0,
        code: code.as_deref(),
        cause: cause.as_deref(),
    });
    response
}

// Keep a caller-supplied id when it is sane, so traces join across services.
fn request_id(incoming: &IncomingRequest) -> String {
    let supplied = incoming
        .headers()
        .get("x-request-id")
        .into_iter()
        .next()
        .and_then(|v| String::from_utf8(v).ok())
        .filter(|v| !v.is_empty() && v.len() <= 128 && v.bytes().all(|b| b.is_ascii_graphic()));
    supplied.unwrap_or_else(|| {
        let mut bytes = [0u8; 16];
        crate::ports::SpinRandom.fill(&mut bytes);
        uuid::Builder::from_random_bytes(bytes)
            .into_uuid()
            .to_string()
    })
}

/// `GET /api/v1/health`: 200 `{"status": "ok", "schema_version": N}` once the
/// database answers; 503 `NOT_READY` when it does not.
pub fn health(ctx: &Ctx) -> Result<Response, ApiError> {
    match krug_core::migrate::schema_version(ctx.sql()) {
        Ok(version) => json_response(200, &json!({ "status": "ok", "schema_version": version })),
        Err(e) => Err(ApiError::unavailable(
            "NOT_READY",
            "database is not ready",
            e.to_string(),
        )),
    }
}
