//! `wallet`: the member's card, rotating QR code, balance, ledger and
//! coupons (`/api/v1/wallet/...`), and the till (`/api/v1/pos/...`) for a
//! business's staff or its partner API key.
//!
//! Request bodies reject unknown fields (422 `INVALID_FIELD` naming the
//! field). POS writes require an `Idempotency-Key`.

use krug_spin_adapter::{routes, ApiError, Ctx, Limits, Req};
use spin_sdk::http::{IncomingRequest, Response};
use spin_sdk::http_component;

mod body;
mod member;
mod pos;

#[http_component]
async fn handle(req: IncomingRequest) -> Response {
    krug_spin_adapter::serve("wallet", req, Limits::default(), route).await
}

fn route(ctx: &Ctx, req: &Req) -> Result<Response, ApiError> {
    let segments = req.segments();
    let Some(["api", "v1", rest @ ..]) = Some(segments.as_slice()) else {
        return Err(ApiError::route_not_found(req));
    };
    routes!(req, rest, {
        ["wallet"] => { GET => member::summary(ctx, req) },
        ["wallet", "qr"] => { GET => member::qr(ctx, req) },
        ["wallet", "ledger"] => { GET => member::ledger(ctx, req) },
        ["wallet", "purchases"] => { GET => member::purchases(ctx, req) },
        ["wallet", "coupons"] => { GET => member::coupons(ctx, req) },
        ["wallet", "coupons", id, "activate"] => { POST => member::activate_coupon(ctx, req, id) },
        ["pos", "identify"] => { POST => pos::identify(ctx, req) },
        ["pos", "purchases"] => { POST => pos::purchase(ctx, req) },
        ["pos", "redemptions"] => { POST => pos::redeem(ctx, req) },
        ["pos", "compensations"] => { POST => pos::compensate(ctx, req) },
    })
}
