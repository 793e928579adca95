//! The feature gate of capability routes.

use krug_core::{auth::Principal, flags};

use crate::{ApiError, Ctx};

/// 404 `FEATURE_DISABLED` unless flag `name` is on for `caller` (`None`:
/// an anonymous caller). One key-value read of the flag snapshot; SQLite
/// only when the snapshot is missing. Routes that move money (POS,
/// webhooks, the ledger) never call this.
pub fn require_feature(ctx: &Ctx, name: &str, caller: Option<&Principal>) -> Result<(), ApiError> {
    let snapshot = flags::snapshot(ctx.kv(), ctx.sql())?;
    let subject = caller.map(Principal::flag_subject).unwrap_or_default();
    if snapshot.is_on(name, &subject) {
        Ok(())
    } else {
        Err(ApiError::not_found(
            "FEATURE_DISABLED",
            format!("{name} is not available for this account yet"),
        ))
    }
}
