//! `review-submit`: verified-purchase reviews (`/api/v1/reviews`), the
//! public ratings (`/api/v1/ratings`) and the moderation queue for admins
//! (`/api/v1/admin/reviews`).
//!
//! Request bodies reject unknown fields (422 `INVALID_FIELD`). Every rule
//! lives in `krug_core::reviews`; this crate routes, parses and maps.

use krug_spin_adapter::{ApiError, Ctx, Limits, Req};
use spin_sdk::http::{IncomingRequest, Response};
use spin_sdk::http_component;

mod handlers;

#[http_component]
async fn handle(req: IncomingRequest) -> Response {
    krug_spin_adapter::serve("review-submit", req, Limits::default(), route).await
}

fn route(ctx: &Ctx, req: &Req) -> Result<Response, ApiError> {
    let segments = req.segments();
    let Some(["api", "v1", rest @ ..]) = Some(segments.as_slice()) else {
        return Err(ApiError::route_not_found(req));
    };
    match (req.method(), rest) {
        ("POST", ["reviews"]) => handlers::create(ctx, req),
        ("GET", ["reviews"]) => handlers::list(ctx, req),
        ("GET", ["reviews", "mine"]) => handlers::mine(ctx, req),
        ("PATCH", ["reviews", id]) => handlers::edit(ctx, req, id),
        ("DELETE", ["reviews", id]) => handlers::withdraw(ctx, req, id),
        ("PUT", ["reviews", id, "reply"]) => handlers::reply(ctx, req, id),
        ("GET", ["ratings"]) => handlers::ratings(ctx, req),
        ("GET", ["admin", "reviews"]) => handlers::queue(ctx, req),
        ("POST", ["admin", "reviews", id, "decision"]) => handlers::decide(ctx, req, id),
        (
            _,
            ["reviews"]
            | ["reviews", _]
            | ["reviews", _, "reply"]
            | ["ratings"]
            | ["admin", "reviews"]
            | ["admin", "reviews", _, "decision"],
        ) => Err(ApiError::method_not_allowed(req)),
        _ => Err(ApiError::route_not_found(req)),
    }
}
