//! The one authorization helper every component uses:
//!
//! ```ignore
//! let p = krug_spin_adapter::require(ctx, req, Need::Staff { business_id, min_role: StaffRole::Manager })?;
//! ```
//!
//! [`principal`] reads `Authorization: Bearer <access token | partner API
//! key>` and resolves it through core (401 `UNAUTHORIZED` when missing or
//! not valid, 401 `TOKEN_EXPIRED` for an expired access token);
//! [`require`] also checks the [`Need`] (403 `FORBIDDEN`).

use krug_core::auth::{self, Need, Principal};

use crate::{ApiError, Ctx, Req};

/// The authenticated caller of `req`.
pub fn principal(ctx: &Ctx, req: &Req) -> Result<Principal, ApiError> {
    let Some(token) = req.bearer_token() else {
        return Err(ApiError::unauthorized(
            "UNAUTHORIZED",
            "send Authorization: Bearer <access token or API key>",
        ));
    };
    let secret = ctx.required_variable("jwt_secret")?;
    Ok(auth::resolve(ctx.sql(), ctx.clock(), &secret, token)?)
}

/// The caller of `req`, if they meet `need`.
pub fn require(ctx: &Ctx, req: &Req, need: &Need) -> Result<Principal, ApiError> {
    let p = principal(ctx, req)?;
    auth::authorize(&p, need)?;
    Ok(p)
}
