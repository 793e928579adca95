//! `payments-webhook`: payment provider notifications
//! (`/webhooks/payments/generic`, `/webhooks/payments/yookassa`), each
//! processed exactly once, and the admins' commission rates
//! (`/api/v1/admin/commission-rates`).

use krug_spin_adapter::{ApiError, Ctx, Limits, Req};
use spin_sdk::http::{IncomingRequest, Response};
use spin_sdk::http_component;

mod admin;
mod webhooks;

#[http_component]
async fn handle(req: IncomingRequest) -> Response {
    krug_spin_adapter::serve("payments-webhook", req, Limits::default(), route).await
}

fn route(ctx: &Ctx, req: &Req) -> Result<Response, ApiError> {
    match (req.method(), req.segments().as_slice()) {
        ("POST", ["webhooks", "payments", "generic"]) => webhooks::generic(ctx, req),
        ("POST", ["webhooks", "payments", "yookassa"]) => webhooks::yookassa(ctx, req),
        ("POST", ["api", "v1", "admin", "commission-rates"]) => admin::set_rate(ctx, req),
        ("GET", ["api", "v1", "admin", "commission-rates"]) => admin::list(ctx, req),
        (
            _,
            ["webhooks", "payments", "generic" | "yookassa"]
            | ["api", "v1", "admin", "commission-rates"],
        ) => Err(ApiError::method_not_allowed(req)),
        _ => Err(ApiError::route_not_found(req)),
    }
}
