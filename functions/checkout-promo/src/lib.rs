//! `checkout-promo`: quotes and 15-minute reservations at checkout
//! (`/api/v1/checkout/...`), the members' banners (`/api/v1/banners`), and
//! the promo and banner admin for admins and business owners
//! (`/api/v1/admin/promos`, `/api/v1/admin/banners`), and cross-promo
//! campaigns (`/api/v1/admin/cross-promos`, admins).
//!
//! Request bodies reject unknown fields (422 `INVALID_FIELD`).

use krug_spin_adapter::{routes, ApiError, Ctx, Limits, Req};
use spin_sdk::http::{IncomingRequest, Response};
use spin_sdk::http_component;

mod admin;
mod checkout;

#[http_component]
async fn handle(req: IncomingRequest) -> Response {
    krug_spin_adapter::serve("checkout-promo", req, Limits::default(), route).await
}

fn route(ctx: &Ctx, req: &Req) -> Result<Response, ApiError> {
    let segments = req.segments();
    let Some(["api", "v1", rest @ ..]) = Some(segments.as_slice()) else {
        return Err(ApiError::route_not_found(req));
    };
    routes!(req, rest, {
        ["checkout", "quote"] => { POST => checkout::quote(ctx, req) },
        ["checkout", "reservations"] => { POST => checkout::reserve(ctx, req) },
        ["checkout", "reservations", id] => {
            GET => checkout::read(ctx, req, id),
            DELETE => checkout::release(ctx, req, id),
        },
        ["checkout", "reservations", id, "commit"] => { POST => checkout::commit(ctx, req, id) },
        ["banners"] => { GET => checkout::banners(ctx, req) },
        ["admin", "promos"] => {
            GET => admin::list_promos(ctx, req),
            POST => admin::create_promo(ctx, req),
        },
        ["admin", "promos", id] => {
            GET => admin::get_promo(ctx, req, id),
            PATCH => admin::patch_promo(ctx, req, id),
        },
        ["admin", "cross-promos"] => {
            GET => admin::list_cross_promos(ctx, req),
            POST => admin::create_cross_promo(ctx, req),
        },
        ["admin", "banners"] => {
            GET => admin::list_banners(ctx, req),
            POST => admin::create_banner(ctx, req),
        },
        ["admin", "banners", id] => {
            GET => admin::get_banner(ctx, req, id),
            PATCH => admin::patch_banner(ctx, req, id),
        },
    })
}
