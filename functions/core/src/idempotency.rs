//! Stored responses for retried writes (`Idempotency-Key`).
//!
//! The first request with a key inserts an in-flight record with a single
//! `INSERT … ON CONFLICT DO NOTHING`; exactly one of any number of racing
//! duplicates wins. The winner stores its response with [`complete`] (or
//! removes the record with [`abandon`] when it failed without effect); later
//! duplicates get the stored response back for 24 h. The same key with a
//! different request is refused.

use chrono::{DateTime, Duration, Utc};

use crate::crypto::sha256_hex;
use crate::error::{ErrorClass, UseCaseError};
use crate::ports::{Clock, Sql, SqlValue, StoreError};

/// How long a stored response is replayed.
pub const REPLAY_WINDOW_HOURS: i64 = 24;

/// What to do with a request carrying an idempotency key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Begin {
    /// First time: process it, then [`complete`] or [`abandon`].
    Fresh,
    /// Seen and finished: answer with this stored response.
    Replay {
        /// Stored HTTP status.
        status: u16,
        /// Stored JSON body.
        body: String,
    },
}

/// Why a keyed request cannot proceed.
#[derive(Debug, thiserror::Error)]
pub enum IdempotencyError {
    /// The key is empty, too long or not visible ASCII.
    #[error("Idempotency-Key must be 1-255 visible ASCII characters")]
    InvalidKey,
    /// The key was used for a different request.
    #[error("this Idempotency-Key was used with a different request")]
    KeyReused,
    /// The first request with this key is still being processed.
    #[error("a request with this Idempotency-Key is still in progress; retry shortly")]
    InFlight,
    /// Storage failed.
    #[error(transparent)]
    Unknown(#[from] StoreError),
}

impl UseCaseError for IdempotencyError {
    fn code(&self) -> &'static str {
        match self {
            IdempotencyError::InvalidKey => "INVALID_IDEMPOTENCY_KEY",
            IdempotencyError::KeyReused => "IDEMPOTENCY_KEY_REUSED",
            IdempotencyError::InFlight => "IDEMPOTENCY_IN_FLIGHT",
            IdempotencyError::Unknown(e) => e.code(),
        }
    }

    fn class(&self) -> ErrorClass {
        match self {
            IdempotencyError::InvalidKey => ErrorClass::Invalid {
                field: Some("Idempotency-Key".into()),
            },
            IdempotencyError::KeyReused => ErrorClass::Invalid {
                field: Some("Idempotency-Key".into()),
            },
            IdempotencyError::InFlight => ErrorClass::Conflict,
            IdempotencyError::Unknown(e) => e.class(),
        }
    }
}

/// Checks a client-supplied key: 1–255 visible ASCII characters.
pub fn validate_key(key: &str) -> Result<(), IdempotencyError> {
    if key.is_empty() || key.len() > 255 || !key.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(IdempotencyError::InvalidKey);
    }
    Ok(())
}

/// A stable fingerprint of a request (method, path, body).
pub fn request_hash(method: &str, path: &str, body: &[u8]) -> String {
    let mut data = Vec::with_capacity(method.len() + path.len() + body.len() + 2);
    data.extend_from_slice(method.as_bytes());
    data.push(b'\n');
    data.extend_from_slice(path.as_bytes());
    data.push(b'\n');
    data.extend_from_slice(body);
    sha256_hex(&data)
}

fn cutoff(now: DateTime<Utc>) -> String {
    crate::db::ts(now - Duration::hours(REPLAY_WINDOW_HOURS))
}

/// Claims `(scope, key)` for this request, or tells how to answer instead.
pub fn begin(
    sql: &dyn Sql,
    clock: &dyn Clock,
    scope: &str,
    key: &str,
    request_hash: &str,
) -> Result<Begin, IdempotencyError> {
    validate_key(key)?;
    let now = clock.now();
    // One statement claims the key: a new row, or an expired record (which
    // no longer counts) taken over in place; a live record answers no row.
    let inserted = sql.execute(
        "INSERT INTO idempotency_keys (scope, key, request_hash, created_at) VALUES (?, ?, ?, ?) \
         ON CONFLICT (scope, key) DO UPDATE SET request_hash = excluded.request_hash, \
         created_at = excluded.created_at, status = NULL, response_body = NULL \
         WHERE idempotency_keys.created_at < ? RETURNING key",
        &[
            scope.into(),
            key.into(),
            request_hash.into(),
            crate::db::ts(now).into(),
            cutoff(now).into(),
        ],
    )?;
    if !inserted.rows.is_empty() {
        return Ok(Begin::Fresh);
    }
    let rows = sql.execute(
        "SELECT request_hash, status, response_body FROM idempotency_keys WHERE scope = ? AND key = ?",
        &[scope.into(), key.into()],
    )?;
    let Some(row) = rows.first() else {
        // Abandoned between our insert and select: the caller may retry.
        return Err(IdempotencyError::InFlight);
    };
    if row.text("request_hash")? != request_hash {
        return Err(IdempotencyError::KeyReused);
    }
    match (row.opt_i64("status")?, row.opt_text("response_body")?) {
        (Some(status), Some(body)) => Ok(Begin::Replay {
            status: u16::try_from(status).unwrap_or(500),
            body,
        }),
        _ => Err(IdempotencyError::InFlight),
    }
}

/// Stores the response of the request that won [`begin`].
pub fn complete(
    sql: &dyn Sql,
    scope: &str,
    key: &str,
    status: u16,
    body: &str,
) -> Result<(), StoreError> {
    sql.execute(
        "UPDATE idempotency_keys SET status = ?, response_body = ? WHERE scope = ? AND key = ?",
        &[
            SqlValue::Integer(i64::from(status)),
            body.into(),
            scope.into(),
            key.into(),
        ],
    )?;
    Ok(())
}

/// Forgets an in-flight key whose request failed without effect, so a retry
/// is processed afresh.
pub fn abandon(sql: &dyn Sql, scope: &str, key: &str) -> Result<(), StoreError> {
    sql.execute(
        "DELETE FROM idempotency_keys WHERE scope = ? AND key = ? AND status IS NULL",
        &[scope.into(), key.into()],
    )?;
    Ok(())
}

/// Deletes records older than the replay window; returns how many.
pub fn purge_expired(sql: &dyn Sql, clock: &dyn Clock) -> Result<u64, StoreError> {
    sql.execute(
        "DELETE FROM idempotency_keys WHERE created_at < ?",
        &[cutoff(clock.now()).into()],
    )?;
    sql.changes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_validated() {
        assert!(validate_key("abc-123_XYZ").is_ok());
        assert!(validate_key(&"k".repeat(255)).is_ok());
        assert!(validate_key(&"k".repeat(256)).is_err());
        assert!(validate_key("").is_err());
        assert!(validate_key("has space").is_err());
        assert!(validate_key("ключ").is_err());
    }

    #[test]
    fn request_hash_depends_on_every_part() {
        let a = request_hash("POST", "/x", b"{}");
        assert_eq!(a, request_hash("POST", "/x", b"{}"));
        assert_ne!(a, request_hash("POST", "/y", b"{}"));
        assert_ne!(a, request_hash("PUT", "/x", b"{}"));
        assert_ne!(a, request_hash("POST", "/x", b"{ }"));
    }
}
