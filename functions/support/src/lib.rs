//! `support`: tickets with their thread (`/api/v1/support/tickets/...`),
//! disputes on a purchase (`/api/v1/support/disputes/...`), the FAQ
//! (`/api/v1/faq`, `/api/v1/admin/faq/...`), support agents and the
//! Telegram outbox for admins (`/api/v1/admin/support/...`), and the
//! Telegram webhook (`/webhooks/telegram`).
//!
//! Request bodies reject unknown fields (422 `INVALID_FIELD` naming the
//! field). The Telegram messages themselves are sent by the jobs
//! component's delivery job, from the outbox these routes write. Member
//! routes and the FAQ answer 404 `FEATURE_DISABLED` while the `support`
//! flag is off for the caller; the webhook, dispute decisions (they move
//! points) and admin routes are not gated.

use krug_spin_adapter::{routes, ApiError, Ctx, Limits, Req};
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
    if let ["webhooks", "telegram"] = segments.as_slice() {
        return routes!(req, segments.as_slice(), {
            ["webhooks", "telegram"] => { POST => webhook::telegram(ctx, req) },
        });
    }
    let Some(["api", "v1", rest @ ..]) = Some(segments.as_slice()) else {
        return Err(ApiError::route_not_found(req));
    };
    routes!(req, rest, {
        ["support", "tickets"] => { POST => tickets::create(ctx, req), GET => tickets::list(ctx, req) },
        ["support", "tickets", id] => { GET => tickets::get(ctx, req, id), PATCH => tickets::update(ctx, req, id) },
        ["support", "tickets", id, "messages"] => { POST => tickets::add_message(ctx, req, id) },
        ["support", "disputes"] => { POST => disputes::open(ctx, req) },
        ["support", "disputes", id] => { GET => disputes::get(ctx, req, id) },
        ["support", "disputes", id, "decision"] => { POST => disputes::decide(ctx, req, id) },
        ["faq"] => { GET => admin::search_faq(ctx, req) },
        ["admin", "faq"] => { GET => admin::list_faq(ctx, req), POST => admin::create_faq(ctx, req) },
        ["admin", "faq", id] => { PATCH => admin::update_faq(ctx, req, id), DELETE => admin::delete_faq(ctx, req, id) },
        ["admin", "support", "agents"] => { POST => admin::map_agent(ctx, req) },
        ["admin", "support", "outbox"] => { GET => admin::outbox(ctx, req) },
    })
}
