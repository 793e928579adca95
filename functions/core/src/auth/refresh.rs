//! Login families and rotating refresh tokens.
//!
//! A successful code verification starts a family and issues its first
//! refresh token. Each refresh marks the presented token rotated and issues
//! the next one, in one `BEGIN IMMEDIATE` transaction. Presenting a token
//! that was already rotated means two holders exist (one of them a thief),
//! so the whole family is revoked: every refresh token of that login and,
//! through the per-request family check, its access tokens.
//!
//! Two concurrent refreshes of one token are serialised by the transaction:
//! the first rotates it, the second sees it rotated and is treated as reuse,
//! which revokes the family — including the pair the first one just got.
//! That is the strict reading of refresh-token rotation; a client must not
//! refresh the same token twice.

use chrono::{DateTime, Duration, Utc};

use super::secrets::{random_token, token_hash};
use super::{AuthEnv, REFRESH_TOKEN_TTL_DAYS};
use crate::db::{parse_ts, ts};
use crate::params;
use crate::ports::{Sql, StoreError};
use crate::types::Id;

/// What the database says about a presented refresh token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenState {
    /// No such token.
    Unknown,
    /// A known token.
    Known {
        /// Its family was revoked (logout, reuse, erasure).
        family_revoked: bool,
        /// It was already exchanged.
        rotated: bool,
        /// Its expiry.
        expires_at: DateTime<Utc>,
        /// Its member was erased.
        member_erased: bool,
    },
}

/// What to do with a presented refresh token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Refuse with `INVALID_TOKEN`, changing nothing.
    Invalid,
    /// Refuse with `TOKEN_REUSED` and revoke the family.
    Reuse,
    /// Mark it rotated and issue the next token of the family.
    Rotate,
}

/// The rotation state machine. A revoked family wins over everything (its
/// tokens are dead, and revoking again changes nothing); then reuse (a
/// rotated token, even an expired one, is evidence of theft); then expiry
/// and erasure.
pub fn decide(state: &TokenState, now: DateTime<Utc>) -> Decision {
    match state {
        TokenState::Unknown => Decision::Invalid,
        TokenState::Known {
            family_revoked: true,
            ..
        } => Decision::Invalid,
        TokenState::Known { rotated: true, .. } => Decision::Reuse,
        TokenState::Known {
            expires_at,
            member_erased,
            ..
        } => {
            if *member_erased || now >= *expires_at {
                Decision::Invalid
            } else {
                Decision::Rotate
            }
        }
    }
}

/// A token row as loaded for a decision.
#[derive(Debug, Clone)]
pub struct LoadedToken {
    /// Token id.
    pub id: String,
    /// Family id.
    pub family_id: String,
    /// Member id.
    pub member_id: String,
    /// Its state.
    pub state: TokenState,
}

/// Loads the token whose hash matches `token`.
pub fn load(sql: &dyn Sql, token: &str) -> Result<Option<LoadedToken>, StoreError> {
    let rows = sql.execute(
        "SELECT t.id, t.family_id, t.member_id, t.expires_at, t.rotated_at, f.revoked_at, m.erased_at \
         FROM refresh_tokens t JOIN login_families f ON f.id = t.family_id \
         JOIN members m ON m.id = t.member_id WHERE t.token_hash = ?",
        &params![token_hash(token)],
    )?;
    let Some(r) = rows.first() else {
        return Ok(None);
    };
    Ok(Some(LoadedToken {
        id: r.text("id")?,
        family_id: r.text("family_id")?,
        member_id: r.text("member_id")?,
        state: TokenState::Known {
            family_revoked: r.opt_text("revoked_at")?.is_some(),
            rotated: r.opt_text("rotated_at")?.is_some(),
            expires_at: parse_ts(&r.text("expires_at")?)?,
            member_erased: r.opt_text("erased_at")?.is_some(),
        },
    }))
}

/// Starts a login family for `member_id`; returns its id.
pub fn start_family(
    env: &AuthEnv<'_>,
    sql: &dyn Sql,
    member_id: &str,
) -> Result<String, StoreError> {
    let id = Id::generate(env.clock, env.random).to_text();
    sql.execute(
        "INSERT INTO login_families (id, member_id, created_at) VALUES (?, ?, ?)",
        &params![id.as_str(), member_id, ts(env.clock.now())],
    )?;
    Ok(id)
}

/// Issues a new refresh token in `family_id`; returns the secret (shown to
/// the client once, stored only as a hash).
pub fn issue(
    env: &AuthEnv<'_>,
    sql: &dyn Sql,
    family_id: &str,
    member_id: &str,
) -> Result<String, StoreError> {
    let now = env.clock.now();
    let token = random_token(env.random);
    sql.execute(
        "INSERT INTO refresh_tokens (id, family_id, member_id, token_hash, created_at, expires_at) \
         VALUES (?, ?, ?, ?, ?, ?)",
        &params![
            Id::at(now, env.random).to_text(),
            family_id,
            member_id,
            token_hash(&token),
            ts(now),
            ts(now + Duration::days(REFRESH_TOKEN_TTL_DAYS))
        ],
    )?;
    Ok(token)
}

/// Marks token `token_id` rotated at `now`.
pub fn mark_rotated(sql: &dyn Sql, token_id: &str, now: DateTime<Utc>) -> Result<(), StoreError> {
    sql.execute(
        "UPDATE refresh_tokens SET rotated_at = ? WHERE id = ? AND rotated_at IS NULL",
        &params![ts(now), token_id],
    )?;
    Ok(())
}

/// Revokes family `family_id` (no-op when already revoked). Returns whether
/// this call revoked it.
pub fn revoke_family(
    sql: &dyn Sql,
    family_id: &str,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    sql.execute(
        "UPDATE login_families SET revoked_at = ?, revoke_reason = ? WHERE id = ? AND revoked_at IS NULL",
        &params![ts(now), reason, family_id],
    )?;
    Ok(sql.changes()? > 0)
}

/// Revokes every live family of `member_id`; returns how many.
pub fn revoke_member(
    sql: &dyn Sql,
    member_id: &str,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<u64, StoreError> {
    sql.execute(
        "UPDATE login_families SET revoked_at = ?, revoke_reason = ? WHERE member_id = ? AND revoked_at IS NULL",
        &params![ts(now), reason, member_id],
    )?;
    sql.changes()
}

/// Deletes refresh tokens that expired more than a day ago; returns how many.
pub fn purge_expired(sql: &dyn Sql, now: DateTime<Utc>) -> Result<u64, StoreError> {
    sql.execute(
        "DELETE FROM refresh_tokens WHERE expires_at < ?",
        &params![ts(now - Duration::days(1))],
    )?;
    sql.changes()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn known(family_revoked: bool, rotated: bool, expires_in: i64, erased: bool) -> TokenState {
        TokenState::Known {
            family_revoked,
            rotated,
            expires_at: t0() + Duration::seconds(expires_in),
            member_erased: erased,
        }
    }

    fn t0() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 1, 0, 0, 0).unwrap()
    }

    #[test]
    fn rotation_state_machine() {
        let now = t0();
        let cases = [
            (TokenState::Unknown, Decision::Invalid),
            (known(false, false, 60, false), Decision::Rotate),
            (known(false, true, 60, false), Decision::Reuse),
            // Reuse is detected even after the token expired.
            (known(false, true, -60, false), Decision::Reuse),
            (known(true, false, 60, false), Decision::Invalid),
            (known(true, true, 60, false), Decision::Invalid),
            (known(false, false, 0, false), Decision::Invalid),
            (known(false, false, -1, false), Decision::Invalid),
            (known(false, false, 1, false), Decision::Rotate),
            (known(false, false, 60, true), Decision::Invalid),
        ];
        for (state, want) in cases {
            assert_eq!(decide(&state, now), want, "{state:?}");
        }
    }
}
