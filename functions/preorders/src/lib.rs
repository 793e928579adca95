//! `preorders`: partners' upcoming products sold ahead of release. Owners
//! and admins manage items and tiers (`/api/v1/admin/preorder-items`);
//! members browse, preorder, upgrade and cancel (`/api/v1/preorders`).
//! Payments settle through the payment webhook (`preorder:<id>`,
//! `preorder-upgrade:<upgrade id>`); the lifecycle jobs run in the
//! scheduler. Every rule lives in `krug_core::preorders`.

use krug_spin_adapter::{routes, ApiError, Ctx, Limits, Req};
use spin_sdk::http::{IncomingRequest, Response};
use spin_sdk::http_component;

mod handlers;

#[http_component]
async fn handle(req: IncomingRequest) -> Response {
    krug_spin_adapter::serve("preorders", req, Limits::default(), route).await
}

fn route(ctx: &Ctx, req: &Req) -> Result<Response, ApiError> {
    let segments = req.segments();
    let Some(["api", "v1", rest @ ..]) = Some(segments.as_slice()) else {
        return Err(ApiError::route_not_found(req));
    };
    routes!(req, rest, {
        ["preorders"] => { GET => handlers::list_mine(ctx, req), POST => handlers::place(ctx, req) },
        ["preorders", "items"] => { GET => handlers::list_items(ctx, req) },
        ["preorders", "items", id] => { GET => handlers::read_item(ctx, req, id) },
        ["preorders", id] => { GET => handlers::read(ctx, req, id) },
        ["preorders", id, "upgrade"] => { POST => handlers::upgrade(ctx, req, id) },
        ["preorders", id, "cancel"] => { POST => handlers::cancel(ctx, req, id) },
        ["admin", "preorder-items"] => { POST => handlers::create_item(ctx, req) },
        ["admin", "preorder-items", id] => { PATCH => handlers::patch_item(ctx, req, id) },
        ["admin", "preorder-items", id, "tiers"] => { POST => handlers::add_tier(ctx, req, id) },
        ["admin", "preorder-items", id, "analytics"] => { GET => handlers::analytics(ctx, req, id) },
    })
}
