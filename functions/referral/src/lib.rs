//! `referral`: the member's referral program (`/api/v1/referrals/me`), the
//! admins' list, CSV export and manual payouts
//! (`/api/v1/admin/referrals`), and the Saleor shop's order webhooks
//! (`/webhooks/saleor`).
//!
//! Every rule lives in `krug_core::referral`; this crate routes, parses
//! and maps.

use krug_spin_adapter::{routes, ApiError, Ctx, Limits, Req};
use spin_sdk::http::{IncomingRequest, Response};
use spin_sdk::http_component;

mod handlers;
mod saleor;

#[http_component]
async fn handle(req: IncomingRequest) -> Response {
    krug_spin_adapter::serve("referral", req, Limits::default(), route).await
}

fn route(ctx: &Ctx, req: &Req) -> Result<Response, ApiError> {
    let segments = req.segments();
    if segments.as_slice() == ["webhooks", "saleor"] {
        return routes!(req, segments.as_slice(), {
            ["webhooks", "saleor"] => { POST => saleor::receive(ctx, req) },
        });
    }
    let Some(["api", "v1", rest @ ..]) = Some(segments.as_slice()) else {
        return Err(ApiError::route_not_found(req));
    };
    routes!(req, rest, {
        ["referrals", "me"] => { GET => handlers::me(ctx, req) },
        ["admin", "referrals"] => { GET => handlers::list(ctx, req) },
        ["admin", "referrals", "export.csv"] => { GET => handlers::export(ctx, req) },
        ["admin", "referrals", id, "payout"] => { POST => handlers::payout(ctx, req, id) },
    })
}
