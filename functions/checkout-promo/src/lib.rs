//! `checkout-promo`: quotes and 15-minute reservations at checkout
//! (`/api/v1/checkout/...`), the members' banners (`/api/v1/banners`), and
//! the promo and banner admin for admins and business owners
//! (`/api/v1/admin/promos`, `/api/v1/admin/banners`), and cross-promo
//! campaigns (`/api/v1/admin/cross-promos`, admins).
//!
//! Request bodies reject unknown fields (422 `INVALID_FIELD`).

use krug_spin_adapter::{ApiError, Ctx, Limits, Req};
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
    match (req.method(), rest) {
        ("POST", ["checkout", "quote"]) => checkout::quote(ctx, req),
        ("POST", ["checkout", "reservations"]) => checkout::reserve(ctx, req),
        ("GET", ["checkout", "reservations", id]) => checkout::read(ctx, req, id),
        ("DELETE", ["checkout", "reservations", id]) => checkout::release(ctx, req, id),
        ("POST", ["checkout", "reservations", id, "commit"]) => checkout::commit(ctx, req, id),
        ("GET", ["banners"]) => checkout::banners(ctx, req),
        ("POST", ["admin", "promos"]) => admin::create_promo(ctx, req),
        ("GET", ["admin", "promos"]) => admin::list_promos(ctx, req),
        ("GET", ["admin", "promos", id]) => admin::get_promo(ctx, req, id),
        ("PATCH", ["admin", "promos", id]) => admin::patch_promo(ctx, req, id),
        ("POST", ["admin", "cross-promos"]) => admin::create_cross_promo(ctx, req),
        ("GET", ["admin", "cross-promos"]) => admin::list_cross_promos(ctx, req),
        ("POST", ["admin", "banners"]) => admin::create_banner(ctx, req),
        ("GET", ["admin", "banners"]) => admin::list_banners(ctx, req),
        ("GET", ["admin", "banners", id]) => admin::get_banner(ctx, req, id),
        ("PATCH", ["admin", "banners", id]) => admin::patch_banner(ctx, req, id),
        (
            _,
            ["checkout", "quote" | "reservations"]
            | ["checkout", "reservations", _]
            | ["checkout", "reservations", _, "commit"]
            | ["banners"]
            | ["admin", "promos" | "banners" | "cross-promos"]
            | ["admin", "promos" | "banners", _],
        ) => Err(ApiError::method_not_allowed(req)),
        _ => Err(ApiError::route_not_found(req)),
    }
}
