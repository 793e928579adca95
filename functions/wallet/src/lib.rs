//! `wallet`: the member's card, rotating QR code, balance, ledger and
//! coupons (`/api/v1/wallet/...`), and the till (`/api/v1/pos/...`) for a
//! business's staff or its partner API key.
//!
//! Request bodies reject unknown fields (422 `INVALID_FIELD` naming the
//! field). POS writes require an `Idempotency-Key`.

use krug_spin_adapter::{ApiError, Ctx, Limits, Req};
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
    match (req.method(), rest) {
        ("GET", ["wallet"]) => member::summary(ctx, req),
        ("GET", ["wallet", "qr"]) => member::qr(ctx, req),
        ("GET", ["wallet", "ledger"]) => member::ledger(ctx, req),
        ("GET", ["wallet", "coupons"]) => member::coupons(ctx, req),
        ("GET", ["wallet", "purchases"]) => member::purchases(ctx, req),
        ("POST", ["wallet", "coupons", id, "activate"]) => member::activate_coupon(ctx, req, id),
        ("POST", ["pos", "identify"]) => pos::identify(ctx, req),
        ("POST", ["pos", "purchases"]) => pos::purchase(ctx, req),
        ("POST", ["pos", "redemptions"]) => pos::redeem(ctx, req),
        ("POST", ["pos", "compensations"]) => pos::compensate(ctx, req),
        (
            _,
            ["wallet"]
            | ["wallet", "qr" | "ledger" | "coupons" | "purchases"]
            | ["wallet", "coupons", _, "activate"]
            | ["pos", "identify" | "purchases" | "redemptions" | "compensations"],
        ) => Err(ApiError::method_not_allowed(req)),
        _ => Err(ApiError::route_not_found(req)),
    }
}
