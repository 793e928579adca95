//! The audit log of personal-data, role and money operations: who did what to
//! which subject, when, in which request.

use serde::Serialize;
use serde_json::Value;

use crate::db::ts;
use crate::pagination::{page_from, Cursor, NewestFirst, Page};
use crate::ports::{Clock, Random, Sql, StoreError};
use crate::types::Id;

/// An entry to record.
#[derive(Debug, Clone)]
pub struct AuditEntry<'a> {
    /// Who acted (member id, API key id), if anyone.
    pub actor_id: Option<&'a str>,
    /// In which role: `member`, `staff`, `admin`, `api_key`, `system`.
    pub actor_role: &'a str,
    /// What happened, e.g. `member.erased`.
    pub action: &'a str,
    /// Kind of subject, e.g. `member`.
    pub subject_type: &'a str,
    /// Subject id.
    pub subject_id: &'a str,
    /// Extra facts (never secrets or erased personal data).
    pub details: Value,
    /// The request that did it.
    pub request_id: Option<&'a str>,
}

/// Appends `entry` to the log.
pub fn record(
    sql: &dyn Sql,
    clock: &dyn Clock,
    random: &dyn Random,
    entry: &AuditEntry<'_>,
) -> Result<Id, StoreError> {
    let now = clock.now();
    let id = Id::at(now, random);
    sql.execute(
        "INSERT INTO audit_log (id, at, actor_id, actor_role, action, subject_type, subject_id, details, request_id) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        &[
            id.to_text().into(),
            ts(now).into(),
            entry.actor_id.into(),
            entry.actor_role.into(),
            entry.action.into(),
            entry.subject_type.into(),
            entry.subject_id.into(),
            entry.details.to_string().into(),
            entry.request_id.into(),
        ],
    )?;
    Ok(id)
}

/// A stored entry.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuditRecord {
    /// Entry id.
    pub id: String,
    /// When (RFC 3339 UTC).
    pub at: String,
    /// Actor id.
    pub actor_id: Option<String>,
    /// Actor role.
    pub actor_role: String,
    /// Action.
    pub action: String,
    /// Subject kind.
    pub subject_type: String,
    /// Subject id.
    pub subject_id: String,
    /// Extra facts.
    pub details: Value,
    /// Request id.
    pub request_id: Option<String>,
}

/// Which entries to list.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    /// Only this subject kind.
    pub subject_type: Option<String>,
    /// Only this subject id.
    pub subject_id: Option<String>,
}

/// Entries newest first, paginated by `(at, id)`.
pub fn list(
    sql: &dyn Sql,
    filter: &AuditFilter,
    limit: u32,
    cursor: Option<&Cursor>,
) -> Result<Page<AuditRecord>, StoreError> {
    let mut q = NewestFirst::new(
        "SELECT id, at, actor_id, actor_role, action, subject_type, subject_id, details, request_id \
         FROM audit_log",
    );
    if let Some(t) = &filter.subject_type {
        q = q.filter("subject_type = ?", t);
    }
    if let Some(s) = &filter.subject_id {
        q = q.filter("subject_id = ?", s);
    }
    let (q, args) = q.page("at", "id", cursor, limit);
    let rows = sql.execute(&q, &args)?;
    let mut items = Vec::with_capacity(rows.rows.len());
    for r in rows.iter() {
        items.push(AuditRecord {
            id: r.text("id")?,
            at: r.text("at")?,
            actor_id: r.opt_text("actor_id")?,
            actor_role: r.text("actor_role")?,
            action: r.text("action")?,
            subject_type: r.text("subject_type")?,
            subject_id: r.text("subject_id")?,
            details: serde_json::from_str(&r.text("details")?).unwrap_or(Value::Null),
            request_id: r.opt_text("request_id")?,
        });
    }
    Ok(page_from(items, limit, |r| Cursor {
        key: r.at.clone(),
        id: r.id.clone(),
    }))
}
