//! `payments-webhook`: payment provider notifications
//! (`/webhooks/payments/generic`, `/webhooks/payments/yookassa`), each
//! processed exactly once, and the admins' commission rates
//! (`/api/v1/admin/commission-rates`).

use krug_core::payments::webhook::OrderSettler;
use krug_spin_adapter::{routes, ApiError, Ctx, Limits, Req};
use spin_sdk::http::{IncomingRequest, Response};
use spin_sdk::http_component;

mod admin;
mod webhooks;

/// The capabilities whose orders are paid through the provider
/// (`order_ref` = `<prefix>:<id>`); each settles its own orders in the
/// webhook's transaction.
const ORDERS: &[&dyn OrderSettler] = &[
    &krug_core::events::registration::EventOrders,
    &krug_core::preorders::PreorderSettler,
    &krug_core::preorders::UpgradeSettler,
];

#[http_component]
async fn handle(req: IncomingRequest) -> Response {
    krug_spin_adapter::serve("payments-webhook", req, Limits::default(), route).await
}

fn route(ctx: &Ctx, req: &Req) -> Result<Response, ApiError> {
    routes!(req, req.segments().as_slice(), {
        ["webhooks", "payments", "generic"] => { POST => webhooks::generic(ctx, req) },
        ["webhooks", "payments", "yookassa"] => { POST => webhooks::yookassa(ctx, req) },
        ["api", "v1", "admin", "commission-rates"] => {
            GET => admin::list(ctx, req),
            POST => admin::set_rate(ctx, req),
        },
    })
}
