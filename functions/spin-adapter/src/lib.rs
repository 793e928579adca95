//! Krug's Spin adapter: the core ports implemented on spin-sdk, and the HTTP
//! plumbing every component shares — bounded body reading, JSON parsing with
//! precise 400/413/415/422 errors, the one [`ApiError`] mapping, request ids,
//! one structured log line per request, bearer-token extraction, and the
//! single authorization helper [`require`] (see [`principal`]).
//!
//! A component's `lib.rs` only routes:
//!
//! ```ignore
//! #[http_component]
//! async fn handle(req: IncomingRequest) -> Response {
//!     krug_spin_adapter::serve("web", req, Limits::default(), route).await
//! }
//! fn route(ctx: &Ctx, req: &Req) -> Result<Response, ApiError> {
//!     match (req.method(), req.segments().as_slice()) {
//!         ("GET", ["api", "v1", "health"]) => health(ctx),
//!         _ => Err(ApiError::route_not_found(req)),
//!     }
//! }
//! ```
#![warn(missing_docs)]

mod auth;
mod ctx;
mod error;
mod flags;
mod json;
mod log;
mod ports;
mod referral;
mod request;
mod routes;
mod serve;

pub use auth::{principal, require};
pub use ctx::Ctx;
pub use error::ApiError;
pub use flags::require_feature;
pub use json::{json_response, no_content, parse_json, parse_json_bytes};
pub use ports::{SpinClock, SpinHttp, SpinKv, SpinRandom, SpinSql, SpinVariables};
pub use referral::settle_referral;
pub use request::{Limits, Req};
pub use serve::{health, serve, serve_streaming, Outcome, Streamed};
