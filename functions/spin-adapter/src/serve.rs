//! The request lifecycle shared by every HTTP component.

use std::time::Instant;

use futures::SinkExt;
use krug_core::ports::Random;
use serde_json::json;
use spin_sdk::http::{Fields, IncomingRequest, OutgoingResponse, Response, ResponseOutparam};

use crate::{
    ctx::Ctx,
    error::ApiError,
    json::json_response,
    log::{access, AccessLog},
    request::{Limits, Req},
};

/// One request's bookkeeping: what the access-log line needs.
struct Exchange {
    component: &'static str,
    started: Instant,
    method: String,
    path: String,
}

impl Exchange {
    fn begin(component: &'static str, incoming: &IncomingRequest) -> Self {
        Self {
            component,
            started: Instant::now(),
            method: incoming.method().to_string(),
            path: incoming
                .path_with_query()
                .unwrap_or_default()
                .split('?')
                .next()
                .unwrap_or_default()
                .to_string(),
        }
    }

    fn log(&self, ctx: &Ctx, status: u16, code: Option<&str>, cause: Option<&str>) {
        let (sql_statements, sql_busy) = ctx.sql_counts();
        access(&AccessLog {
            component: self.component,
            request_id: ctx.request_id(),
            method: &self.method,
            path: &self.path,
            status,
            duration_ms: self.started.elapsed().as_secs_f64() * 1000.0,
            sql_statements,
            sql_busy,
            code,
            cause,
        });
    }

    /// The response for `result` (errors mapped once, through [`ApiError`]),
    /// with `x-request-id` and `nosniff`, logged.
    fn finish(&self, ctx: &Ctx, result: Result<Response, ApiError>) -> Response {
        let (mut response, code, cause) = match result {
            Ok(response) => (response, None, None),
            Err(err) => {
                let code = Some(err.code().to_string());
                let cause = err.cause().map(str::to_string);
                (err.into_response(), code, cause)
            }
        };
        response.set_header("x-request-id", ctx.request_id());
        // No browser may guess another type for a JSON or CSV answer.
        response.set_header("x-content-type-options", "nosniff");
        self.log(ctx, *response.status(), code.as_deref(), cause.as_deref());
        response
    }
}

/// Reads `incoming` within `limits`, runs `route`, maps any error through
/// [`ApiError`], adds `x-request-id`, and writes one access-log line.
pub async fn serve(
    component: &'static str,
    incoming: IncomingRequest,
    limits: Limits,
    route: impl FnOnce(&Ctx, &Req) -> Result<Response, ApiError>,
) -> Response {
    let exchange = Exchange::begin(component, &incoming);
    let ctx = Ctx::new(component, request_id(&incoming));
    let result = match Req::read(incoming, limits).await {
        Ok(req) => route(&ctx, &req),
        Err(e) => Err(e),
    };
    exchange.finish(&ctx, result)
}

/// A response whose body is produced in pages while it is sent.
pub struct Streamed<'c> {
    /// `content-type`.
    pub content_type: &'static str,
    /// Other headers (e.g. `content-disposition`).
    pub headers: Vec<(String, String)>,
    /// The next chunk of the body; `Ok(None)` ends it. An error after the
    /// first chunk can only cut the body short (the status is sent); it is
    /// logged with its cause.
    pub next: Box<dyn FnMut() -> Result<Option<Vec<u8>>, ApiError> + 'c>,
}

/// What a streaming-capable route answers.
pub enum Outcome<'c> {
    /// A whole response.
    Full(Response),
    /// A 200 whose body is streamed.
    Stream(Streamed<'c>),
}

/// Like [`serve`], for components with a route whose body is too large to
/// build in memory: `route` may answer [`Outcome::Stream`], whose chunks
/// are written to the response as they are produced. Errors before the
/// first chunk are ordinary JSON errors.
pub async fn serve_streaming(
    component: &'static str,
    incoming: IncomingRequest,
    out: ResponseOutparam,
    limits: Limits,
    route: impl for<'c> FnOnce(&'c Ctx, &'c Req) -> Result<Outcome<'c>, ApiError>,
) {
    let exchange = Exchange::begin(component, &incoming);
    let ctx = Ctx::new(component, request_id(&incoming));
    let req = Req::read(incoming, limits).await;
    let result = match &req {
        Ok(req) => route(&ctx, req),
        Err(e) => Err(e.clone()),
    };
    let mut stream = match result {
        Ok(Outcome::Stream(stream)) => stream,
        Ok(Outcome::Full(response)) => {
            return send_whole(out, exchange.finish(&ctx, Ok(response))).await
        }
        Err(err) => return send_whole(out, exchange.finish(&ctx, Err(err))).await,
    };
    // The first chunk decides between a clean error and a 200.
    let first = match (stream.next)() {
        Ok(chunk) => chunk,
        Err(err) => return send_whole(out, exchange.finish(&ctx, Err(err))).await,
    };
    let mut headers = vec![
        (
            "content-type".to_string(),
            stream.content_type.as_bytes().to_vec(),
        ),
        (
            "x-request-id".to_string(),
            ctx.request_id().as_bytes().to_vec(),
        ),
        ("x-content-type-options".to_string(), b"nosniff".to_vec()),
    ];
    headers.extend(
        stream
            .headers
            .iter()
            .map(|(k, v)| (k.clone(), v.as_bytes().to_vec())),
    );
    let Ok(fields) = Fields::from_list(&headers) else {
        let failed = Err(ApiError::internal("invalid stream headers"));
        return send_whole(out, exchange.finish(&ctx, failed)).await;
    };
    let response = OutgoingResponse::new(fields);
    let _ = response.set_status_code(200);
    let mut body = response.take_body();
    out.set(response);
    let mut chunk = first;
    let mut failure: Option<String> = None;
    while let Some(bytes) = chunk {
        if let Err(e) = body.send(bytes).await {
            failure = Some(format!("client went away: {e}"));
            break;
        }
        chunk = match (stream.next)() {
            Ok(c) => c,
            Err(err) => {
                failure = Some(err.cause().unwrap_or(err.code()).to_string());
                break;
            }
        };
    }
    let _ = body.close().await;
    match failure {
        None => exchange.log(&ctx, 200, None, None),
        Some(cause) => exchange.log(&ctx, 200, Some("STREAM_ABORTED"), Some(&cause)),
    }
}

async fn send_whole(out: ResponseOutparam, mut response: Response) {
    let body = std::mem::take(response.body_mut());
    match OutgoingResponse::try_from(response) {
        Ok(outgoing) => {
            if let Err(e) = out.set_with_body(outgoing, body).await {
                eprintln!("could not send the response: {e}");
            }
        }
        Err(e) => eprintln!("could not convert the response: {e}"),
    }
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
