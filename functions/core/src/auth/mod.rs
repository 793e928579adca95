//! Auth: phone + one-time-code login, HS256 access tokens, rotating refresh
//! tokens with reuse detection, members and their personal data (including
//! erasure), businesses, staff, partner API keys, and the principal every
//! request is checked against.
//!
//! Pure rules live in [`jwt`], [`secrets`], [`timezone`] and the value
//! parsing of each module; everything that touches SQL goes through the
//! [`Sql`] port. Anything that must hold under racing requests (one code per
//! 60 s, five tries per code, one winner per refresh token) is decided inside
//! a `BEGIN IMMEDIATE` transaction ([`crate::db::immediate`]), never in
//! key-value, which has no compare-and-set.

// `params!` builds a Vec that is then borrowed as the statement's slice.
#![allow(clippy::useless_vec)]

pub mod api_keys;
pub mod businesses;
pub mod jobs;
pub mod jwt;
pub mod login;
pub mod members;
pub mod otp;
pub mod principal;
pub mod refresh;
pub mod secrets;
pub mod staff;
pub mod timezone;

use crate::ports::{Clock, Random, Sql};
use crate::types::Phone;

pub use principal::{authorize, resolve, AuthError, Need, Principal, Role, StaffRole};

/// Version of the consent texts members accept at registration. Recorded
/// with every consent so it is known which wording was agreed to.
pub const CONSENT_TEXT_VERSION: &str = "2026-11-01";

/// Access tokens live this long (seconds).
pub const ACCESS_TOKEN_TTL_SECS: i64 = 15 * 60;

/// Refresh tokens live this long (days) unless rotated or revoked first.
pub const REFRESH_TOKEN_TTL_DAYS: i64 = 30;

/// The ports and request facts most auth use cases need.
#[derive(Clone, Copy)]
pub struct AuthEnv<'a> {
    /// SQLite `default`.
    pub sql: &'a dyn Sql,
    /// Wall clock.
    pub clock: &'a dyn Clock,
    /// CSPRNG.
    pub random: &'a dyn Random,
    /// The request's id, recorded in the audit log.
    pub request_id: Option<&'a str>,
}

/// Who performs an audited action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    /// Member or API key id; `None` for the system.
    pub id: Option<String>,
    /// `member`, `staff`, `admin`, `api_key` or `system`.
    pub role: &'static str,
}

impl Actor {
    /// The actor behind a principal, in its strongest role.
    pub fn of(p: &Principal) -> Self {
        match p {
            Principal::Member {
                member_id, roles, ..
            } => Actor {
                id: Some(member_id.clone()),
                role: if roles.contains(&Role::Admin) {
                    "admin"
                } else if roles.contains(&Role::Staff) {
                    "staff"
                } else {
                    "member"
                },
            },
            Principal::ApiKey { key_id, .. } => Actor {
                id: Some(key_id.clone()),
                role: "api_key",
            },
        }
    }
}

/// Settings the login flow needs.
#[derive(Debug, Clone)]
pub struct AuthSettings {
    /// HS256 key of access tokens; also keys the one-time-code hashes.
    pub jwt_secret: String,
    /// Phones that get the admin role at login.
    pub admin_phones: Vec<Phone>,
}

impl AuthSettings {
    /// Settings from the raw `jwt_secret` and comma-separated `admin_phones`
    /// variables. Entries that are not phones are skipped (and returned, so
    /// the caller can log them).
    pub fn new(jwt_secret: &str, admin_phones: &str) -> (Self, Vec<String>) {
        let mut phones = Vec::new();
        let mut skipped = Vec::new();
        for entry in admin_phones
            .split(',')
            .map(str::trim)
            .filter(|e| !e.is_empty())
        {
            match Phone::parse(entry) {
                Ok(p) => phones.push(p),
                Err(_) => skipped.push(entry.to_string()),
            }
        }
        (
            Self {
                jwt_secret: jwt_secret.to_string(),
                admin_phones: phones,
            },
            skipped,
        )
    }

    /// True when `phone` is listed in `admin_phones`.
    pub fn is_admin_phone(&self, phone: &str) -> bool {
        self.admin_phones.iter().any(|p| p.as_str() == phone)
    }
}

/// Records an audit entry for `actor`.
pub(crate) fn audit(
    env: &AuthEnv<'_>,
    sql: &dyn Sql,
    actor: &Actor,
    action: &str,
    subject_type: &str,
    subject_id: &str,
    details: serde_json::Value,
) -> Result<(), crate::ports::StoreError> {
    crate::audit::record(
        sql,
        env.clock,
        env.random,
        &crate::audit::AuditEntry {
            actor_id: actor.id.as_deref(),
            actor_role: actor.role,
            action,
            subject_type,
            subject_id,
            details,
            request_id: env.request_id,
        },
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admin_phones_are_normalised_and_bad_entries_skipped() {
        let (s, skipped) = AuthSettings::new("k", " +7 999 111-22-33, nope ,89990000000,");
        assert!(s.is_admin_phone("+79991112233"));
        assert!(s.is_admin_phone("+79990000000"));
        assert!(!s.is_admin_phone("+79991112234"));
        assert_eq!(skipped, vec!["nope".to_string()]);
    }
}
