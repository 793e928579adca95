//! `event-vote`: community events (`/api/v1/events`), registrations and
//! tickets, check-in by the organising business's staff, member proposals
//! and their votes, the events budget, and the organisers' routes
//! (`/api/v1/admin/events`).
//!
//! Request bodies reject unknown fields (422 `INVALID_FIELD`). Every rule
//! lives in `krug_core::events`; this crate routes, parses and maps.

use krug_spin_adapter::{routes, ApiError, Ctx, Limits, Req};
use spin_sdk::http::{IncomingRequest, Response};
use spin_sdk::http_component;

mod handlers;

#[http_component]
async fn handle(req: IncomingRequest) -> Response {
    krug_spin_adapter::serve("event-vote", req, Limits::default(), route).await
}

fn route(ctx: &Ctx, req: &Req) -> Result<Response, ApiError> {
    let segments = req.segments();
    let Some(["api", "v1", rest @ ..]) = Some(segments.as_slice()) else {
        return Err(ApiError::route_not_found(req));
    };
    routes!(req, rest, {
        ["events"] => { GET => handlers::list(ctx, req) },
        ["events", "budget"] => { GET => handlers::budget(ctx, req) },
        ["events", "proposals"] => {
            GET => handlers::proposals(ctx, req),
            POST => handlers::propose(ctx, req),
        },
        ["events", "proposals", id, "vote"] => { POST => handlers::vote(ctx, req, id) },
        ["events", "proposals", id, "veto"] => { POST => handlers::veto(ctx, req, id) },
        ["events", id] => { GET => handlers::detail(ctx, req, id) },
        ["events", id, "register"] => {
            POST => handlers::register(ctx, req, id),
            DELETE => handlers::unregister(ctx, req, id),
        },
        ["events", id, "check-in"] => { POST => handlers::check_in(ctx, req, id) },
        ["admin", "events"] => { POST => handlers::create(ctx, req) },
        ["admin", "events", "proposals", id, "realize"] => { POST => handlers::realize(ctx, req, id) },
        ["admin", "events", id] => { PATCH => handlers::edit(ctx, req, id) },
        ["admin", "events", id, "cancel"] => { POST => handlers::cancel(ctx, req, id) },
        ["admin", "events", id, "invitations"] => { POST => handlers::invite(ctx, req, id) },
        ["admin", "events", id, "budget"] => { POST => handlers::allocate(ctx, req, id) },
    })
}
