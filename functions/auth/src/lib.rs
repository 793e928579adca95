//! `auth`: one-time-code login, token refresh and logout, the member's own
//! profile (`/me`, including erasure), and the admin routes for businesses,
//! their staff and API keys, and the audit log.
//!
//! Request bodies reject unknown fields (422 `INVALID_FIELD` naming the
//! field), so a typo never silently does nothing.

use krug_spin_adapter::{ApiError, Ctx, Limits, Req};
use spin_sdk::http::{IncomingRequest, Response};
use spin_sdk::http_component;

mod admin;
mod body;
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
    match (req.method(), rest) {
        ("POST", ["auth", "otp"]) => login::request_otp(ctx, req),
        ("POST", ["auth", "verify"]) => login::verify(ctx, req),
        ("POST", ["auth", "refresh"]) => login::refresh(ctx, req),
        ("POST", ["auth", "logout"]) => login::logout(ctx, req),
        ("GET", ["me"]) => me::get(ctx, req),
        ("PATCH", ["me"]) => me::patch(ctx, req),
        ("DELETE", ["me"]) => me::erase(ctx, req),
        ("POST", ["admin", "businesses"]) => admin::create_business(ctx, req),
        ("GET", ["admin", "businesses"]) => admin::list_businesses(ctx, req),
        ("GET", ["admin", "businesses", id]) => admin::get_business(ctx, req, id),
        ("GET", ["admin", "businesses", id, "staff"]) => admin::list_staff(ctx, req, id),
        ("POST", ["admin", "businesses", id, "staff"]) => admin::add_staff(ctx, req, id),
        ("DELETE", ["admin", "businesses", id, "staff", member]) => {
            admin::remove_staff(ctx, req, id, member)
        }
        ("GET", ["admin", "businesses", id, "api-keys"]) => admin::list_keys(ctx, req, id),
        ("POST", ["admin", "businesses", id, "api-keys"]) => admin::issue_key(ctx, req, id),
        ("DELETE", ["admin", "businesses", id, "api-keys", key]) => {
            admin::revoke_key(ctx, req, id, key)
        }
        ("GET", ["admin", "audit"]) => admin::audit(ctx, req),
        (
            _,
            ["auth", "otp" | "verify" | "refresh" | "logout"]
            | ["me"]
            | ["admin", "businesses"]
            | ["admin", "businesses", _]
            | ["admin", "businesses", _, "staff" | "api-keys"]
            | ["admin", "businesses", _, "staff" | "api-keys", _]
            | ["admin", "audit"],
        ) => Err(ApiError::method_not_allowed(req)),
        _ => Err(ApiError::route_not_found(req)),
    }
}
