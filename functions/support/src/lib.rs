//! `support`: tickets with their thread (`/api/v1/support/tickets/...`),
//! disputes on a purchase (`/api/v1/support/disputes/...`), the FAQ
//! (`/api/v1/faq`, `/api/v1/admin/faq/...`), support agents and the
//! Telegram outbox for admins (`/api/v1/admin/support/...`), and the
//! Telegram webhook (`/webhooks/telegram`).
//!
//! Request bodies reject unknown fields (422 `INVALID_FIELD` naming the
//! field). The Telegram messages themselves are sent by the jobs
//! component's delivery job, from the outbox these routes write.

use krug_spin_adapter::{ApiError, Ctx, Limits, Req};
use spin_sdk::http::{IncomingRequest, Response};
use spin_sdk::http_component;

mod admin;
mod body;
mod disputes;
mod tickets;
mod webhook;

#[http_component]
async fn handle(req: IncomingRequest) -> Response {
    krug_spin_adapter::serve("support", req, Limits::default(), route).await
}

fn route(ctx: &Ctx, req: &Req) -> Result<Response, ApiError> {
    let segments = req.segments();
    match (req.method(), segments.as_slice()) {
        ("POST", ["webhooks", "telegram"]) => return webhook::telegram(ctx, req),
        (_, ["webhooks", "telegram"]) => return Err(ApiError::method_not_allowed(req)),
        _ => {}
    }
    let Some(["api", "v1", rest @ ..]) = Some(segments.as_slice()) else {
        return Err(ApiError::route_not_found(req));
    };
    match (req.method(), rest) {
        ("POST", ["support", "tickets"]) => tickets::create(ctx, req),
        ("GET", ["support", "tickets"]) => tickets::list(ctx, req),
        ("GET", ["support", "tickets", id]) => tickets::get(ctx, req, id),
        ("PATCH", ["support", "tickets", id]) => tickets::update(ctx, req, id),
        ("POST", ["support", "tickets", id, "messages"]) => tickets::add_message(ctx, req, id),
        ("POST", ["support", "disputes"]) => disputes::open(ctx, req),
        ("GET", ["support", "disputes", id]) => disputes::get(ctx, req, id),
        ("POST", ["support", "disputes", id, "decision"]) => disputes::decide(ctx, req, id),
        ("GET", ["faq"]) => admin::search_faq(ctx, req),
        ("GET", ["admin", "faq"]) => admin::list_faq(ctx, req),
        ("POST", ["admin", "faq"]) => admin::create_faq(ctx, req),
        ("PATCH", ["admin", "faq", id]) => admin::update_faq(ctx, req, id),
        ("DELETE", ["admin", "faq", id]) => admin::delete_faq(ctx, req, id),
        ("POST", ["admin", "support", "agents"]) => admin::map_agent(ctx, req),
        ("GET", ["admin", "support", "outbox"]) => admin::outbox(ctx, req),
        (
            _,
            ["support", "tickets"]
            | ["support", "tickets", _]
            | ["support", "tickets", _, "messages"]
            | ["support", "disputes"]
            | ["support", "disputes", _]
            | ["support", "disputes", _, "decision"]
            | ["faq"]
            | ["admin", "faq"]
            | ["admin", "faq", _]
            | ["admin", "support", "agents" | "outbox"],
        ) => Err(ApiError::method_not_allowed(req)),
        _ => Err(ApiError::route_not_found(req)),
    }
}
