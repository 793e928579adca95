//! A business's CRM integration: settings (credentials stored, never
//! returned), its sync runs, and the alerts of failing ones.

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use serde_json::{json, Map, Value};

use super::connectors::Kind;
use crate::audit::{self, AuditEntry};
use crate::db::{immediate, parse_ts, ts, Row};
use crate::error::{ErrorClass, InvalidValue, UseCaseError};
use crate::pagination::{page_from, Cursor, NewestFirst, Page};
use crate::params;
use crate::ports::{Clock, Random, Sql, StoreError};
use crate::wallet::ledger::Actor;

/// Failed runs in a row after which an integration is `failing`.
pub const FAILING_AFTER: i64 = 3;

/// Days before now the first sync of a new integration starts from.
pub const DEFAULT_BACKFILL_DAYS: i64 = 30;

/// The ports an integration use case needs.
pub struct AdminEnv<'a> {
    /// SQLite.
    pub sql: &'a dyn Sql,
    /// Clock.
    pub clock: &'a dyn Clock,
    /// CSPRNG.
    pub random: &'a dyn Random,
    /// Request id for the audit log.
    pub request_id: Option<&'a str>,
}

/// Why an integration use case was refused.
#[derive(Debug, thiserror::Error)]
pub enum IntegrationError {
    /// A field is invalid.
    #[error(transparent)]
    Invalid(#[from] InvalidValue),
    /// The business does not exist.
    #[error("no such business")]
    BusinessNotFound,
    /// The business has no integration.
    #[error("the business has no integration; configure one with PUT .../integration")]
    NotFound,
    /// A manual run of a disabled integration.
    #[error("the integration is disabled")]
    Disabled,
    /// Another run of this integration is in progress.
    #[error("a sync of this integration is already running")]
    Running,
    /// Storage failed.
    #[error(transparent)]
    Unknown(#[from] StoreError),
}

impl UseCaseError for IntegrationError {
    fn code(&self) -> &'static str {
        match self {
            IntegrationError::Invalid(e) => e.code,
            IntegrationError::BusinessNotFound => "BUSINESS_NOT_FOUND",
            IntegrationError::NotFound => "INTEGRATION_NOT_FOUND",
            IntegrationError::Disabled => "INTEGRATION_DISABLED",
            IntegrationError::Running => "SYNC_RUNNING",
            IntegrationError::Unknown(e) => e.code(),
        }
    }

    fn class(&self) -> ErrorClass {
        match self {
            IntegrationError::Invalid(e) => e.class(),
            IntegrationError::BusinessNotFound | IntegrationError::NotFound => ErrorClass::NotFound,
            IntegrationError::Disabled | IntegrationError::Running => ErrorClass::Conflict,
            IntegrationError::Unknown(e) => e.class(),
        }
    }
}

/// A stored integration as read back internally (credentials included).
#[derive(Debug, Clone)]
pub struct Stored {
    /// Business.
    pub business_id: String,
    /// Kind.
    pub kind: Kind,
    /// Settings, credentials included.
    pub settings: Value,
    /// Scheduled syncs on.
    pub enabled: bool,
    /// End of the last window stored in full.
    pub watermark: DateTime<Utc>,
    /// Failed runs in a row.
    pub failures: i64,
}

/// What the API shows of an integration: never a credential.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IntegrationView {
    /// Business.
    pub business_id: String,
    /// `onec`, `yclients`, `amocrm`, `renovatio` or `csv_url`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// Settings without the credential fields.
    pub settings: Value,
    /// Names of the credentials that are stored.
    pub secrets_set: Vec<String>,
    /// Scheduled syncs on.
    pub enabled: bool,
    /// `ok`, `failing` (three failed runs in a row) or `disabled`.
    pub status: &'static str,
    /// Failed runs in a row.
    pub failures: i64,
    /// The last failure's message.
    pub last_error: Option<String>,
    /// Records up to this time are stored.
    pub watermark: String,
    /// No sync before this time (the provider asked to wait).
    pub not_before: Option<String>,
    /// Created.
    pub created_at: String,
    /// Last changed.
    pub updated_at: String,
}

const COLUMNS: &str = "business_id, type, settings, enabled, watermark, failures, last_error, not_before, created_at, updated_at";

fn kind_of(r: &Row<'_>) -> Result<Kind, StoreError> {
    let t = r.text("type")?;
    Kind::parse(&t, "type").map_err(|_| StoreError::Other(format!("unknown integration type {t}")))
}

fn settings_of(r: &Row<'_>) -> Result<Value, StoreError> {
    serde_json::from_str(&r.text("settings")?)
        .map_err(|e| StoreError::Other(format!("integration settings: {e}")))
}

fn view(r: &Row<'_>) -> Result<IntegrationView, StoreError> {
    let kind = kind_of(r)?;
    let settings = settings_of(r)?;
    let (shown, secrets_set) = redact(kind, &settings);
    let enabled = r.bool("enabled")?;
    let failures = r.i64("failures")?;
    Ok(IntegrationView {
        business_id: r.text("business_id")?,
        kind: kind.as_str(),
        settings: shown,
        secrets_set,
        enabled,
        status: if failures >= FAILING_AFTER {
            "failing"
        } else if enabled {
            "ok"
        } else {
            "disabled"
        },
        failures,
        last_error: r.opt_text("last_error")?,
        watermark: r.text("watermark")?,
        not_before: r.opt_text("not_before")?,
        created_at: r.text("created_at")?,
        updated_at: r.text("updated_at")?,
    })
}

/// Splits `settings` into what may be shown and the names of the stored
/// credentials.
pub fn redact(kind: Kind, settings: &Value) -> (Value, Vec<String>) {
    let mut shown = Map::new();
    let mut set = Vec::new();
    if let Some(o) = settings.as_object() {
        for (k, v) in o {
            if kind.secrets().contains(&k.as_str()) {
                set.push(k.clone());
            } else {
                shown.insert(k.clone(), v.clone());
            }
        }
    }
    (Value::Object(shown), set)
}

/// Reads the integration of `business_id`, credentials included.
pub fn stored(sql: &dyn Sql, business_id: &str) -> Result<Option<Stored>, StoreError> {
    let rows = sql.execute(
        &format!("SELECT {COLUMNS} FROM integrations WHERE business_id = ?"),
        &params![business_id],
    )?;
    rows.first()
        .map(|r| {
            Ok(Stored {
                business_id: r.text("business_id")?,
                kind: kind_of(&r)?,
                settings: settings_of(&r)?,
                enabled: r.bool("enabled")?,
                watermark: parse_ts(&r.text("watermark")?)?,
                failures: r.i64("failures")?,
            })
        })
        .transpose()
}

/// `GET /admin/businesses/{id}/integration`.
pub fn get(sql: &dyn Sql, business_id: &str) -> Result<IntegrationView, IntegrationError> {
    let rows = sql.execute(
        &format!("SELECT {COLUMNS} FROM integrations WHERE business_id = ?"),
        &params![business_id],
    )?;
    Ok(view(&rows.first().ok_or(IntegrationError::NotFound)?)?)
}

/// `PUT /admin/businesses/{id}/integration {type, settings, enabled,
/// since?}`. A credential left out of `settings` keeps its stored value
/// when the type is unchanged, so settings can be edited without typing
/// the password again. A new type (or `since`) restarts the watermark.
pub fn put(
    env: &AdminEnv<'_>,
    actor: &Actor,
    business_id: &str,
    body: &Value,
) -> Result<IntegrationView, IntegrationError> {
    let o = body
        .as_object()
        .ok_or_else(|| InvalidValue::new("INVALID_FIELD", "", "the body must be an object"))?;
    if let Some(k) = o
        .keys()
        .find(|k| !["type", "settings", "enabled", "since"].contains(&k.as_str()))
    {
        return Err(InvalidValue::new("INVALID_FIELD", k.clone(), "unknown field").into());
    }
    let kind = match o.get("type") {
        Some(Value::String(t)) => Kind::parse(t, "type")?,
        _ => {
            return Err(
                InvalidValue::new("INVALID_INTEGRATION_TYPE", "type", "type is required").into(),
            )
        }
    };
    let enabled = match o.get("enabled") {
        None => true,
        Some(Value::Bool(b)) => *b,
        Some(_) => {
            return Err(InvalidValue::new("INVALID_FIELD", "enabled", "must be a boolean").into())
        }
    };
    let mut settings = o.get("settings").cloned().unwrap_or_else(|| json!({}));
    let now = env.clock.now();
    let since = match o.get("since") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(
            DateTime::parse_from_rfc3339(s)
                .map(|d| d.with_timezone(&Utc))
                .ok()
                .filter(|d| *d <= now && *d >= now - Duration::days(super::pipeline::MAX_AGE_DAYS))
                .ok_or_else(|| {
                    InvalidValue::new(
                        "INVALID_FIELD",
                        "since",
                        "since must be an RFC 3339 time within the last 365 days",
                    )
                })?,
        ),
        Some(_) => {
            return Err(InvalidValue::new("INVALID_FIELD", "since", "must be a string").into())
        }
    };
    immediate(env.sql, |tx| -> Result<IntegrationView, IntegrationError> {
        if crate::wallet::member::business(tx, business_id)?.is_none() {
            return Err(IntegrationError::BusinessNotFound);
        }
        let before = stored(tx, business_id)?;
        if let (Some(b), Some(new)) = (&before, settings.as_object_mut()) {
            if b.kind == kind {
                for secret in kind.secrets() {
                    if !new.contains_key(*secret) {
                        if let Some(v) = b.settings.get(*secret) {
                            new.insert((*secret).to_string(), v.clone());
                        }
                    }
                }
            }
        }
        kind.configure(&settings)?;
        let restart = before.as_ref().is_none_or(|b| b.kind != kind) || since.is_some();
        let watermark = match (&before, since) {
            (_, Some(s)) => s,
            (Some(b), None) if !restart => b.watermark,
            _ => now - Duration::days(DEFAULT_BACKFILL_DAYS),
        };
        tx.execute(
            "INSERT INTO integrations (business_id, type, settings, enabled, watermark, failures, created_at, updated_at) \
             VALUES (?, ?, ?, ?, ?, 0, ?, ?) \
             ON CONFLICT (business_id) DO UPDATE SET type = excluded.type, settings = excluded.settings, \
             enabled = excluded.enabled, watermark = excluded.watermark, failures = CASE WHEN CAST(? AS BIGINT) = 1 THEN 0 ELSE integrations.failures END, \
             last_error = CASE WHEN CAST(? AS BIGINT) = 1 THEN NULL ELSE integrations.last_error END, updated_at = excluded.updated_at",
            &params![
                business_id,
                kind.as_str(),
                settings.to_string(),
                enabled,
                ts(watermark),
                ts(now),
                ts(now),
                restart,
                restart
            ],
        )?;
        audit::record(
            tx,
            env.clock,
            env.random,
            &AuditEntry {
                actor_id: actor.id.as_deref(),
                actor_role: actor.role,
                action: "integration.configured",
                subject_type: "business",
                subject_id: business_id,
                details: json!({ "type": kind.as_str(), "enabled": enabled, "watermark": ts(watermark) }),
                request_id: env.request_id,
            },
        )?;
        get(tx, business_id)
    })
}

/// One sync run as the API lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SyncRun {
    /// Run id.
    pub id: String,
    /// `schedule` or `manual`.
    pub started_by: String,
    /// `running`, `succeeded` or `failed`.
    pub status: String,
    /// The window asked for.
    pub window_from: String,
    /// End of the window.
    pub window_to: String,
    /// Records the connector returned.
    pub fetched: i64,
    /// Rows recorded.
    pub accepted: i64,
    /// Rows seen before.
    pub duplicates: i64,
    /// Rows refused.
    pub rejected: i64,
    /// Rows parked for unknown phones.
    pub parked: i64,
    /// The failure's message (the provider's, when it gave one).
    pub error: Option<String>,
    /// Started.
    pub started_at: String,
    /// Finished.
    pub finished_at: Option<String>,
}

/// Columns of [`SyncRun`].
pub const RUN_COLUMNS: &str = "id, started_by, status, window_from, window_to, fetched, accepted, duplicates, rejected, parked, error, started_at, finished_at";

/// Reads a [`SyncRun`] row.
pub fn run_of(r: &Row<'_>) -> Result<SyncRun, StoreError> {
    Ok(SyncRun {
        id: r.text("id")?,
        started_by: r.text("started_by")?,
        status: r.text("status")?,
        window_from: r.text("window_from")?,
        window_to: r.text("window_to")?,
        fetched: r.i64("fetched")?,
        accepted: r.i64("accepted")?,
        duplicates: r.i64("duplicates")?,
        rejected: r.i64("rejected")?,
        parked: r.i64("parked")?,
        error: r.opt_text("error")?,
        started_at: r.text("started_at")?,
        finished_at: r.opt_text("finished_at")?,
    })
}

/// `GET .../integration/sync-runs`: newest first, paginated.
pub fn runs(
    sql: &dyn Sql,
    business_id: &str,
    cursor: Option<&Cursor>,
    limit: u32,
) -> Result<Page<SyncRun>, IntegrationError> {
    if stored(sql, business_id)?.is_none() {
        return Err(IntegrationError::NotFound);
    }
    let (text, args) = NewestFirst::new(format!("SELECT {RUN_COLUMNS} FROM sync_runs"))
        .filter("business_id = ?", business_id)
        .page("started_at", "id", cursor, limit);
    let rows = sql.execute(&text, &args)?;
    let items = rows
        .iter()
        .map(|r| run_of(&r))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(page_from(items, limit, |r| Cursor {
        key: r.started_at.clone(),
        id: r.id.clone(),
    }))
}

/// One alert of `GET /admin/alerts`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Alert {
    /// `integration_failing`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// The business.
    pub business_id: String,
    /// Its name.
    pub business_name: String,
    /// The integration type.
    pub integration_type: String,
    /// Failed runs in a row.
    pub failures: i64,
    /// The last failure's message.
    pub last_error: Option<String>,
    /// When the integration last changed (the last failure).
    pub since: String,
}

/// `GET /admin/alerts`: integrations failing three runs in a row or more.
pub fn alerts(sql: &dyn Sql) -> Result<Vec<Alert>, StoreError> {
    let rows = sql.execute(
        "SELECT i.business_id, b.name, i.type, i.failures, i.last_error, i.updated_at \
         FROM integrations i JOIN businesses b ON b.id = i.business_id \
         WHERE i.failures >= ? ORDER BY i.updated_at DESC LIMIT 500",
        &params![FAILING_AFTER],
    )?;
    rows.iter()
        .map(|r| {
            Ok(Alert {
                kind: "integration_failing",
                business_id: r.text("business_id")?,
                business_name: r.text("name")?,
                integration_type: r.text("type")?,
                failures: r.i64("failures")?,
                last_error: r.opt_text("last_error")?,
                since: r.text("updated_at")?,
            })
        })
        .collect()
}
