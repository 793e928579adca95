//! The internal routes' shared-secret check.

use krug_spin_adapter::{ApiError, Ctx, Req};

/// Passes when the bearer token equals the `jobs_token` variable. An unset or
/// empty `jobs_token` disables the internal routes entirely.
pub fn require_jobs_token(ctx: &Ctx, req: &Req) -> Result<(), ApiError> {
    let expected = ctx
        .variables()
        .get("jobs_token")
        .filter(|t| !t.is_empty())
        .ok_or_else(|| {
            ApiError::forbidden(
                "INTERNAL_DISABLED",
                "internal routes are disabled: jobs_token is not set",
            )
        })?;
    let presented = req
        .bearer_token()
        .ok_or_else(|| ApiError::unauthorized("UNAUTHORIZED", "bearer token required"))?;
    if krug_core::crypto::constant_time_eq(presented.as_bytes(), expected.as_bytes()) {
        Ok(())
    } else {
        Err(ApiError::unauthorized("UNAUTHORIZED", "invalid jobs token"))
    }
}
