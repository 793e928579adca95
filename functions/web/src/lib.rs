//! `web`: the static member app, POS page and admin dashboard, the OpenAPI
//! document at `/openapi.json`, the shared health route, and the JSON 404 for
//! every path no other component claims (it is mounted at `/...`).

use krug_spin_adapter::{health, ApiError, Ctx, Limits, Req};
use spin_sdk::http::{IncomingRequest, Response};
use spin_sdk::http_component;

mod assets;

#[http_component]
async fn handle(req: IncomingRequest) -> Response {
    krug_spin_adapter::serve("web", req, Limits::default(), route).await
}

fn route(ctx: &Ctx, req: &Req) -> Result<Response, ApiError> {
    match (req.method(), req.segments().as_slice()) {
        ("GET", ["api", "v1", "health"]) => health(ctx),
        (_, ["api", "v1", "health"]) => Err(ApiError::method_not_allowed(req, &["GET"])),
        _ => assets::serve(req),
    }
}
