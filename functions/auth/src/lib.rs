//! `auth`: one-time-code login, token refresh and logout, the member's own
//! profile (`/me`, including erasure), and the admin routes for businesses,
//! their staff and API keys, the audit log, and feature flags.
//!
//! Request bodies reject unknown fields (422 `INVALID_FIELD` naming the
//! field), so a typo never silently does nothing.

use krug_spin_adapter::{routes, ApiError, Ctx, Limits, Req};
use spin_sdk::http::{IncomingRequest, Response};
use spin_sdk::http_component;

mod admin;
mod body;
mod flags;
mod login;
mod me;

#[http_component]
async fn handle(req: IncomingRequest) -> Response {
    krug_spin_adapter::serve("auth", req, Limits::default(), route).await
}

fn route(ctx: &Ctx, req: &Req) -> Result<Response, ApiError> {
    let segments = req.segments();
    let Some(["api", "v1", rest @ ..]) = Some(segments.as_slice()) else {
        return Err(ApiError::route_not_found(req));
    };
    routes!(req, rest, {
        ["auth", "otp"] => { POST => login::request_otp(ctx, req) },
        ["auth", "verify"] => { POST => login::verify(ctx, req) },
        ["auth", "refresh"] => { POST => login::refresh(ctx, req) },
        ["auth", "logout"] => { POST => login::logout(ctx, req) },
        ["me"] => {
            GET => me::get(ctx, req),
            PATCH => me::patch(ctx, req),
            DELETE => me::erase(ctx, req),
        },
        ["admin", "businesses"] => {
            GET => admin::list_businesses(ctx, req),
            POST => admin::create_business(ctx, req),
        },
        ["admin", "businesses", id] => { GET => admin::get_business(ctx, req, id) },
        ["admin", "businesses", id, "staff"] => {
            GET => admin::list_staff(ctx, req, id),
            POST => admin::add_staff(ctx, req, id),
        },
        ["admin", "businesses", id, "staff", member] => {
            DELETE => admin::remove_staff(ctx, req, id, member),
        },
        ["admin", "businesses", id, "api-keys"] => {
            GET => admin::list_keys(ctx, req, id),
            POST => admin::issue_key(ctx, req, id),
        },
        ["admin", "businesses", id, "api-keys", key] => {
            DELETE => admin::revoke_key(ctx, req, id, key),
        },
        ["admin", "audit"] => { GET => admin::audit(ctx, req) },
        ["flags"] => { GET => flags::mine(ctx, req) },
        ["admin", "flags"] => { GET => flags::list(ctx, req) },
        ["admin", "flags", name] => { PUT => flags::put(ctx, req, name) },
    })
}
