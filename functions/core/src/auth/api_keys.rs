//! Partner API keys: random 256-bit secrets shown once at issue, stored as
//! SHA-256 hashes with a short display prefix, revocable, and accepted as
//! bearer credentials for their business's POS and ingest routes (see
//! [`super::principal::resolve`]).

use serde::Serialize;
use serde_json::json;

use super::businesses::parse_name;
use super::secrets::{api_key, token_hash, API_KEY_DISPLAY_LEN};
use super::{audit, Actor, AuthEnv};
use crate::db::{immediate, ts};
use crate::error::{ErrorClass, InvalidValue, UseCaseError};
use crate::params;
use crate::ports::{Sql, StoreError};
use crate::types::Id;

/// A key as issued: the only time the secret is seen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IssuedKey {
    /// Key id.
    pub id: String,
    /// The secret; store it now, it cannot be shown again.
    pub api_key: String,
    /// Display prefix.
    pub prefix: String,
    /// Optional label.
    pub name: Option<String>,
    /// Business id.
    pub business_id: String,
    /// Issue time.
    pub created_at: String,
}

/// A key as listed (no secret).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KeyInfo {
    /// Key id.
    pub id: String,
    /// Display prefix.
    pub prefix: String,
    /// Optional label.
    pub name: Option<String>,
    /// Business id.
    pub business_id: String,
    /// Issue time.
    pub created_at: String,
    /// Revocation time.
    pub revoked_at: Option<String>,
}

/// API-key use cases failed.
#[derive(Debug, thiserror::Error)]
pub enum ApiKeyError {
    /// A field is invalid.
    #[error(transparent)]
    Invalid(#[from] InvalidValue),
    /// No such business.
    #[error("business not found")]
    BusinessNotFound,
    /// No such key for this business.
    #[error("API key not found")]
    KeyNotFound,
    /// Storage failed.
    #[error(transparent)]
    Unknown(#[from] StoreError),
}

impl UseCaseError for ApiKeyError {
    fn code(&self) -> &'static str {
        match self {
            ApiKeyError::Invalid(e) => e.code(),
            ApiKeyError::BusinessNotFound => "BUSINESS_NOT_FOUND",
            ApiKeyError::KeyNotFound => "API_KEY_NOT_FOUND",
            ApiKeyError::Unknown(e) => e.code(),
        }
    }

    fn class(&self) -> ErrorClass {
        match self {
            ApiKeyError::Invalid(e) => e.class(),
            ApiKeyError::BusinessNotFound | ApiKeyError::KeyNotFound => ErrorClass::NotFound,
            ApiKeyError::Unknown(e) => e.class(),
        }
    }
}

/// Issues a key for `business_id`.
pub fn issue(
    env: &AuthEnv<'_>,
    actor: &Actor,
    business_id: &str,
    name: Option<&str>,
) -> Result<IssuedKey, ApiKeyError> {
    let name = name.map(|n| parse_name(n, "name", 100)).transpose()?;
    let now = env.clock.now();
    let secret = api_key(env.random);
    let key = IssuedKey {
        id: Id::at(now, env.random).to_text(),
        prefix: secret[..API_KEY_DISPLAY_LEN].to_string(),
        api_key: secret,
        name,
        business_id: business_id.to_string(),
        created_at: ts(now),
    };
    immediate(env.sql, |tx| -> Result<(), ApiKeyError> {
        if tx
            .execute(
                "SELECT 1 FROM businesses WHERE id = ?",
                &params![business_id],
            )?
            .rows
            .is_empty()
        {
            return Err(ApiKeyError::BusinessNotFound);
        }
        tx.execute(
            "INSERT INTO api_keys (id, business_id, key_hash, prefix, name, created_at, created_by) \
             VALUES (?, ?, ?, ?, ?, ?, ?)",
            &params![
                key.id.as_str(),
                business_id,
                token_hash(&key.api_key),
                key.prefix.as_str(),
                key.name.clone(),
                key.created_at.as_str(),
                actor.id.clone()
            ],
        )?;
        audit(
            env,
            tx,
            actor,
            "api_key.issued",
            "business",
            business_id,
            json!({ "key_id": key.id, "prefix": key.prefix }),
        )?;
        Ok(())
    })?;
    Ok(key)
}

/// Keys of `business_id`, newest first, without secrets.
pub fn list(sql: &dyn Sql, business_id: &str) -> Result<Vec<KeyInfo>, StoreError> {
    sql.execute(
        "SELECT id, prefix, name, business_id, created_at, revoked_at FROM api_keys \
         WHERE business_id = ? ORDER BY created_at DESC, id DESC",
        &params![business_id],
    )?
    .iter()
    .map(|r| {
        Ok(KeyInfo {
            id: r.text("id")?,
            prefix: r.text("prefix")?,
            name: r.opt_text("name")?,
            business_id: r.text("business_id")?,
            created_at: r.text("created_at")?,
            revoked_at: r.opt_text("revoked_at")?,
        })
    })
    .collect()
}

/// Revokes key `key_id` of `business_id`; revoking a revoked key is a no-op.
pub fn revoke(
    env: &AuthEnv<'_>,
    actor: &Actor,
    business_id: &str,
    key_id: &str,
) -> Result<(), ApiKeyError> {
    immediate(env.sql, |tx| -> Result<(), ApiKeyError> {
        let rows = tx.execute(
            "SELECT revoked_at FROM api_keys WHERE id = ? AND business_id = ?",
            &params![key_id, business_id],
        )?;
        let row = rows.first().ok_or(ApiKeyError::KeyNotFound)?;
        if row.opt_text("revoked_at")?.is_some() {
            return Ok(());
        }
        tx.execute(
            "UPDATE api_keys SET revoked_at = ? WHERE id = ?",
            &params![ts(env.clock.now()), key_id],
        )?;
        audit(
            env,
            tx,
            actor,
            "api_key.revoked",
            "business",
            business_id,
            json!({ "key_id": key_id }),
        )?;
        Ok(())
    })
}
