//! The Telegram outbox: rows written in the same transaction as the ticket,
//! message or escalation they announce, and the texts they carry.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::model::{Priority, Status};
use super::telegram::{escape_html, render};
use crate::db::ts;
use crate::pagination::{page_from, Cursor, NewestFirst, Page};
use crate::params;
use crate::ports::{Random, Sql, StoreError};
use crate::types::Id;

/// What an outbox row announces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A new ticket (with the take/close buttons).
    Ticket,
    /// A message on a ticket written in the app.
    Message,
    /// A status change made in the app.
    Status,
    /// An SLA escalation (with the buttons).
    Escalation,
    /// A dispute opened or decided.
    Dispute,
}

impl Kind {
    fn as_str(self) -> &'static str {
        match self {
            Kind::Ticket => "ticket",
            Kind::Message => "message",
            Kind::Status => "status",
            Kind::Escalation => "escalation",
            Kind::Dispute => "dispute",
        }
    }
}

fn short(id: &str) -> String {
    // The random tail of a UUID v7 tells tickets apart in the chat.
    id.rsplit('-').next().unwrap_or(id).to_string()
}

/// The chat text announcing a new ticket.
pub fn ticket_text(
    id: &str,
    subject: &str,
    body: &str,
    priority: Priority,
    business: Option<&str>,
) -> Vec<String> {
    let mut header = format!(
        "🆕 <b>Ticket</b> <code>{}</code> · {}\n<b>{}</b>",
        short(id),
        priority.as_str(),
        escape_html(subject)
    );
    if let Some(b) = business {
        header.push_str(&format!("\nBusiness: {}", escape_html(b)));
    }
    render(&header, body)
}

/// The chat text of a message written in the app.
pub fn message_text(id: &str, author_role: &str, body: &str) -> Vec<String> {
    let header = format!("💬 <b>{}</b> on <code>{}</code>", author_role, short(id));
    render(&header, body)
}

/// The chat text of a status change made in the app.
pub fn status_text(id: &str, status: Status, by: &str) -> Vec<String> {
    render(
        &format!(
            "ℹ️ <code>{}</code> is now <b>{}</b> ({by})",
            short(id),
            status.as_str()
        ),
        "",
    )
}

/// The chat text of an escalation.
pub fn escalation_text(id: &str, subject: &str, priority: Priority) -> Vec<String> {
    render(
        &format!(
            "⚠️ <b>No first response in time</b>: <code>{}</code> {}\nPriority raised to <b>{}</b>",
            short(id),
            escape_html(subject),
            priority.as_str()
        ),
        "",
    )
}

/// Queues `parts` for the ticket's chat thread, after the ticket's
/// earlier rows. Runs in the caller's transaction.
pub fn enqueue(
    tx: &dyn Sql,
    now: DateTime<Utc>,
    random: &dyn Random,
    ticket_id: &str,
    kind: Kind,
    parts: &[String],
) -> Result<String, StoreError> {
    let id = Id::at(now, random).to_text();
    let with_buttons = matches!(kind, Kind::Ticket | Kind::Escalation);
    tx.execute(
        "INSERT INTO support_outbox (id, ticket_id, seq, kind, parts, with_buttons, status, \
         next_attempt_at, created_at) \
         SELECT ?, ?, COALESCE(MAX(seq), 0) + 1, ?, ?, ?, 'pending', ?, ? FROM support_outbox WHERE ticket_id = ?",
        &params![
            id.as_str(),
            ticket_id,
            kind.as_str(),
            serde_json::to_string(parts).unwrap_or_else(|_| "[]".into()),
            with_buttons,
            ts(now),
            ts(now),
            ticket_id
        ],
    )?;
    Ok(id)
}

/// An outbox row as admins see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OutboxRow {
    /// Row id.
    pub id: String,
    /// The ticket.
    pub ticket_id: String,
    /// Order within the ticket.
    pub seq: i64,
    /// `ticket`, `message`, `status`, `escalation` or `dispute`.
    pub kind: String,
    /// `pending`, `sent` or `failed`.
    pub status: String,
    /// Sends tried.
    pub attempts: i64,
    /// Parts of the text.
    pub parts: i64,
    /// Parts Telegram has.
    pub parts_sent: i64,
    /// Telegram's id of the first part.
    pub message_id: Option<i64>,
    /// The last failure.
    pub last_error: Option<String>,
    /// Next try.
    pub next_attempt_at: String,
    /// Queued at.
    pub created_at: String,
    /// Delivered at.
    pub sent_at: Option<String>,
}

/// Outbox rows newest first, optionally of one status.
pub fn list(
    sql: &dyn Sql,
    status: Option<&str>,
    cursor: Option<&Cursor>,
    limit: u32,
) -> Result<Page<OutboxRow>, StoreError> {
    let mut q = NewestFirst::new(
        "SELECT id, ticket_id, seq, kind, status, attempts, parts, parts_sent, message_id, \
         last_error, next_attempt_at, created_at, sent_at FROM support_outbox",
    );
    if let Some(s) = status {
        q = q.filter("status = ?", s);
    }
    let (query, args) = q.page("created_at", "id", cursor, limit);
    let rows = sql.execute(&query, &args)?;
    let mut items = Vec::new();
    for r in rows.iter() {
        let parts: Vec<String> = serde_json::from_str(&r.text("parts")?).unwrap_or_default();
        items.push(OutboxRow {
            id: r.text("id")?,
            ticket_id: r.text("ticket_id")?,
            seq: r.i64("seq")?,
            kind: r.text("kind")?,
            status: r.text("status")?,
            attempts: r.i64("attempts")?,
            parts: i64::try_from(parts.len()).unwrap_or(0),
            parts_sent: r.i64("parts_sent")?,
            message_id: r.opt_i64("message_id")?,
            last_error: r.opt_text("last_error")?,
            next_attempt_at: r.text("next_attempt_at")?,
            created_at: r.text("created_at")?,
            sent_at: r.opt_text("sent_at")?,
        });
    }
    Ok(page_from(items, limit, |o| Cursor {
        key: o.created_at.clone(),
        id: o.id.clone(),
    }))
}
