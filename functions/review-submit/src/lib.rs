//! `review-submit`: verified-purchase reviews (`/api/v1/reviews`), the
//! public ratings (`/api/v1/ratings`) and the moderation queue for admins
//! (`/api/v1/admin/reviews`).
//!
//! Request bodies reject unknown fields (422 `INVALID_FIELD`). Every rule
//! lives in `krug_core::reviews`; this crate routes, parses and maps.

use krug_spin_adapter::{routes, ApiError, Ctx, Limits, Req};
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
    routes!(req, rest, {
        ["reviews"] => { GET => handlers::list(ctx, req), POST => handlers::create(ctx, req) },
        ["reviews", "mine"] => { GET => handlers::mine(ctx, req) },
        ["reviews", id] => {
            PATCH => handlers::edit(ctx, req, id),
            DELETE => handlers::withdraw(ctx, req, id),
        },
        ["reviews", id, "reply"] => { PUT => handlers::reply(ctx, req, id) },
        ["ratings"] => { GET => handlers::ratings(ctx, req) },
        ["admin", "reviews"] => { GET => handlers::queue(ctx, req) },
        ["admin", "reviews", id, "decision"] => { POST => handlers::decide(ctx, req, id) },
    })
}
