//! Ticket use cases: create, list, read with messages and notifications,
//! write a message, change status or priority. Each write is one
//! `BEGIN IMMEDIATE` transaction that also queues the Telegram outbox row.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::error::SupportError;
use super::model::{self, Caller, Priority, Status};
use super::outbox::{self, Kind};
use super::sla::SupportSettings;
use crate::db::{immediate, parse_ts, ts, Row};
use crate::pagination::{page_from, Cursor, NewestFirst, Page};
use crate::params;
use crate::ports::{Clock, Random, Sql, StoreError};
use crate::types::Id;

/// The ports and settings a ticket use case needs.
pub struct TicketEnv<'a> {
    /// SQLite.
    pub sql: &'a dyn Sql,
    /// Clock.
    pub clock: &'a dyn Clock,
    /// CSPRNG.
    pub random: &'a dyn Random,
    /// Support settings.
    pub settings: &'a SupportSettings,
}

/// A ticket as the API shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Ticket {
    /// Ticket id.
    pub id: String,
    /// The member who opened it.
    pub member_id: String,
    /// The business it concerns.
    pub business_id: Option<String>,
    /// The purchase it concerns.
    pub purchase_id: Option<String>,
    /// Subject line.
    pub subject: String,
    /// Status.
    pub status: Status,
    /// Priority.
    pub priority: Priority,
    /// The staff member it is assigned to.
    pub assignee_id: Option<String>,
    /// When the first staff response is due (moves on with each escalation).
    pub first_response_due_at: String,
    /// When staff first answered.
    pub first_response_at: Option<String>,
    /// Escalations so far.
    pub escalations: i64,
    /// Resolved at.
    pub resolved_at: Option<String>,
    /// Closed at.
    pub closed_at: Option<String>,
    /// Created at.
    pub created_at: String,
    /// Last change.
    pub updated_at: String,
}

const TICKET_COLUMNS: &str = "id, member_id, business_id, purchase_id, subject, status, priority, \
    assignee_id, first_response_due_at, first_response_at, escalations, resolved_at, closed_at, \
    created_at, updated_at";

fn ticket_from(r: Row<'_>) -> Result<Ticket, StoreError> {
    let bad = |what: &str| StoreError::Other(format!("stored ticket {what}"));
    Ok(Ticket {
        id: r.text("id")?,
        member_id: r.text("member_id")?,
        business_id: r.opt_text("business_id")?,
        purchase_id: r.opt_text("purchase_id")?,
        subject: r.text("subject")?,
        status: Status::parse(&r.text("status")?).ok_or_else(|| bad("status"))?,
        priority: Priority::parse(&r.text("priority")?).ok_or_else(|| bad("priority"))?,
        assignee_id: r.opt_text("assignee_id")?,
        first_response_due_at: r.text("first_response_due_at")?,
        first_response_at: r.opt_text("first_response_at")?,
        escalations: r.i64("escalations")?,
        resolved_at: r.opt_text("resolved_at")?,
        closed_at: r.opt_text("closed_at")?,
        created_at: r.text("created_at")?,
        updated_at: r.text("updated_at")?,
    })
}

/// The ticket `id`, whoever may see it.
pub fn load(sql: &dyn Sql, id: &str) -> Result<Option<Ticket>, StoreError> {
    let rows = sql.execute(
        &format!("SELECT {TICKET_COLUMNS} FROM support_tickets WHERE id = ?"),
        &params![id],
    )?;
    rows.first().map(ticket_from).transpose()
}

// How the caller relates to a ticket: its member, its support, or neither.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Relation {
    Owner,
    Support,
}

fn relation(caller: &Caller, t: &Ticket) -> Option<Relation> {
    if caller.is_support_for(t.business_id.as_deref()) {
        Some(Relation::Support)
    } else if caller.member_id == t.member_id {
        Some(Relation::Owner)
    } else {
        None
    }
}

fn visible(sql: &dyn Sql, caller: &Caller, id: &str) -> Result<(Ticket, Relation), SupportError> {
    let id = Id::parse(id, "id")
        .map_err(|_| SupportError::TicketNotFound)?
        .to_text();
    let t = load(sql, &id)?.ok_or(SupportError::TicketNotFound)?;
    let rel = relation(caller, &t).ok_or(SupportError::TicketNotFound)?;
    Ok((t, rel))
}

/// A new ticket as the client sent it.
#[derive(Debug, Clone, Default)]
pub struct NewTicket {
    /// Subject (validated here).
    pub subject: String,
    /// First message (validated here).
    pub body: String,
    /// The business it concerns.
    pub business_id: Option<String>,
    /// The member's purchase it concerns.
    pub purchase_id: Option<String>,
    /// Priority (default normal).
    pub priority: Option<String>,
}

/// A member's purchase: its business and amounts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnPurchase {
    /// Purchase id.
    pub id: String,
    /// Where it was made.
    pub business_id: String,
    /// The business's sale id, if any (the order a compensation is for).
    pub external_id: Option<String>,
    /// Paid.
    pub amount: i64,
    /// Refunded so far.
    pub refunded_amount: i64,
}

/// The purchase `raw_id` if it is `member_id`'s (`PURCHASE_NOT_FOUND`
/// otherwise, also for another member's purchase).
pub fn own_purchase(
    sql: &dyn Sql,
    member_id: &str,
    raw_id: &str,
) -> Result<OwnPurchase, SupportError> {
    let id = Id::parse(raw_id, "purchase_id")?.to_text();
    let rows = sql.execute(
        "SELECT id, business_id, external_id, amount, refunded_amount FROM purchases WHERE id = ? AND member_id = ?",
        &params![id.as_str(), member_id],
    )?;
    let r = rows.first().ok_or(SupportError::PurchaseNotFound)?;
    Ok(OwnPurchase {
        id: r.text("id")?,
        business_id: r.text("business_id")?,
        external_id: r.opt_text("external_id")?,
        amount: r.i64("amount")?,
        refunded_amount: r.i64("refunded_amount")?,
    })
}

fn business_name(sql: &dyn Sql, id: &str) -> Result<Option<String>, StoreError> {
    let rows = sql.execute("SELECT name FROM businesses WHERE id = ?", &params![id])?;
    rows.first().map(|r| r.text("name")).transpose()
}

/// Inserts a ticket with its first message and outbox row in `tx`.
#[allow(clippy::too_many_arguments)]
pub fn insert(
    tx: &dyn Sql,
    now: DateTime<Utc>,
    random: &dyn Random,
    settings: &SupportSettings,
    member_id: &str,
    business: Option<(&str, &str)>,
    purchase_id: Option<&str>,
    subject: &str,
    body: &str,
    priority: Priority,
) -> Result<Ticket, StoreError> {
    let id = Id::at(now, random).to_text();
    let due = settings.due(priority, now);
    tx.execute(
        "INSERT INTO support_tickets (id, member_id, business_id, purchase_id, subject, status, priority, \
         first_response_due_at, created_at, updated_at) VALUES (?, ?, ?, ?, ?, 'open', ?, ?, ?, ?)",
        &params![
            id.as_str(),
            member_id,
            business.map(|b| b.0),
            purchase_id,
            subject,
            priority.as_str(),
            ts(due),
            ts(now),
            ts(now)
        ],
    )?;
    insert_message(tx, now, random, &id, Some(member_id), "member", "app", body)?;
    outbox::enqueue(
        tx,
        now,
        random,
        &id,
        Kind::Ticket,
        &outbox::ticket_text(&id, subject, body, priority, business.map(|b| b.1)),
    )?;
    load(tx, &id)?.ok_or_else(|| StoreError::Other("ticket vanished".into()))
}

/// `POST /support/tickets` → the new ticket.
pub fn create(
    env: &TicketEnv<'_>,
    caller: &Caller,
    new: &NewTicket,
) -> Result<Ticket, SupportError> {
    let subject = model::subject(&new.subject)?;
    let body = model::body(&new.body)?;
    let priority = new
        .priority
        .as_deref()
        .map(|p| Priority::parse_field(p, "priority"))
        .transpose()?
        .unwrap_or(Priority::Normal);
    let business_id = new
        .business_id
        .as_deref()
        .map(|b| Id::parse(b, "business_id").map(|i| i.to_text()))
        .transpose()?;
    immediate(env.sql, |tx| {
        let now = env.clock.now();
        let purchase = new
            .purchase_id
            .as_deref()
            .map(|p| own_purchase(tx, &caller.member_id, p))
            .transpose()?;
        let business_id = match (&business_id, &purchase) {
            (Some(b), Some(p)) if *b != p.business_id => {
                return Err(SupportError::PurchaseBusinessMismatch)
            }
            (Some(b), _) => Some(b.clone()),
            (None, Some(p)) => Some(p.business_id.clone()),
            (None, None) => None,
        };
        let business = match &business_id {
            Some(b) => Some((
                b.clone(),
                business_name(tx, b)?.ok_or(SupportError::BusinessNotFound)?,
            )),
            None => None,
        };
        Ok(insert(
            tx,
            now,
            env.random,
            env.settings,
            &caller.member_id,
            business
                .as_ref()
                .map(|(id, name)| (id.as_str(), name.as_str())),
            purchase.as_ref().map(|p| p.id.as_str()),
            &subject,
            &body,
            priority,
        )?)
    })
}

/// Tickets the caller may see, newest first: a member's own; staff their
/// business's (and their own); admins all. Optionally of one status.
pub fn list(
    sql: &dyn Sql,
    caller: &Caller,
    status: Option<Status>,
    cursor: Option<&Cursor>,
    limit: u32,
) -> Result<Page<Ticket>, SupportError> {
    let mut q = NewestFirst::new(format!("SELECT {TICKET_COLUMNS} FROM support_tickets"));
    if !caller.admin {
        q = match &caller.business_id {
            Some(b) => q.filter_all(
                "(business_id = ? OR member_id = ?)",
                crate::params![b.as_str(), caller.member_id.as_str()],
            ),
            None => q.filter("member_id = ?", caller.member_id.as_str()),
        };
    }
    if let Some(s) = status {
        q = q.filter("status = ?", s.as_str());
    }
    let (query, args) = q.page("created_at", "id", cursor, limit);
    let rows = sql.execute(&query, &args)?;
    let items = rows
        .iter()
        .map(ticket_from)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(page_from(items, limit, |t| Cursor {
        key: t.created_at.clone(),
        id: t.id.clone(),
    }))
}

/// One message of a ticket's thread.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Message {
    /// Message id.
    pub id: String,
    /// The ticket.
    pub ticket_id: String,
    /// Who wrote it (member or staff id).
    pub author_id: Option<String>,
    /// `member`, `staff`, `admin` or `system`.
    pub author_role: String,
    /// `app` or `telegram`.
    pub source: String,
    /// Text.
    pub body: String,
    /// Written at.
    pub created_at: String,
}

/// A staff reply stored for the member's app.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Notification {
    /// Notification id.
    pub id: String,
    /// The staff message it is about.
    pub message_id: String,
    /// Created at.
    pub created_at: String,
}

/// A ticket with its thread.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TicketDetail {
    /// The ticket.
    #[serde(flatten)]
    pub ticket: Ticket,
    /// Every message, oldest first.
    pub messages: Vec<Message>,
    /// Staff replies notified to the member, oldest first.
    pub notifications: Vec<Notification>,
}

/// `GET /support/tickets/{id}`.
pub fn get(sql: &dyn Sql, caller: &Caller, id: &str) -> Result<TicketDetail, SupportError> {
    let (ticket, _) = visible(sql, caller, id)?;
    let rows = sql.execute(
        "SELECT id, ticket_id, author_id, author_role, source, body, created_at FROM support_messages \
         WHERE ticket_id = ? ORDER BY created_at, id",
        &params![ticket.id.as_str()],
    )?;
    let messages = rows
        .iter()
        .map(message_from)
        .collect::<Result<Vec<_>, _>>()?;
    let rows = sql.execute(
        "SELECT id, message_id, created_at FROM support_notifications WHERE ticket_id = ? ORDER BY created_at, id",
        &params![ticket.id.as_str()],
    )?;
    let notifications = rows
        .iter()
        .map(|r| {
            Ok(Notification {
                id: r.text("id")?,
                message_id: r.text("message_id")?,
                created_at: r.text("created_at")?,
            })
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    Ok(TicketDetail {
        ticket,
        messages,
        notifications,
    })
}

fn message_from(r: Row<'_>) -> Result<Message, StoreError> {
    Ok(Message {
        id: r.text("id")?,
        ticket_id: r.text("ticket_id")?,
        author_id: r.opt_text("author_id")?,
        author_role: r.text("author_role")?,
        source: r.text("source")?,
        body: r.text("body")?,
        created_at: r.text("created_at")?,
    })
}

/// Inserts a message row in `tx`.
#[allow(clippy::too_many_arguments)]
pub fn insert_message(
    tx: &dyn Sql,
    now: DateTime<Utc>,
    random: &dyn Random,
    ticket_id: &str,
    author_id: Option<&str>,
    author_role: &str,
    source: &str,
    body: &str,
) -> Result<Message, StoreError> {
    let id = Id::at(now, random).to_text();
    tx.execute(
        "INSERT INTO support_messages (id, ticket_id, author_id, author_role, source, body, created_at) \
         VALUES (?, ?, ?, ?, ?, ?, ?)",
        &params![id.as_str(), ticket_id, author_id, author_role, source, body, ts(now)],
    )?;
    Ok(Message {
        id,
        ticket_id: ticket_id.to_string(),
        author_id: author_id.map(str::to_string),
        author_role: author_role.to_string(),
        source: source.to_string(),
        body: body.to_string(),
        created_at: ts(now),
    })
}

/// Records a staff message in `tx`: the message, the member's
/// notification, the first response (stopping the SLA clock) and
/// open → in_progress.
#[allow(clippy::too_many_arguments)]
pub fn staff_message(
    tx: &dyn Sql,
    now: DateTime<Utc>,
    random: &dyn Random,
    ticket: &Ticket,
    author_id: &str,
    author_role: &str,
    source: &str,
    body: &str,
) -> Result<Message, StoreError> {
    let m = insert_message(
        tx,
        now,
        random,
        &ticket.id,
        Some(author_id),
        author_role,
        source,
        body,
    )?;
    tx.execute(
        "INSERT INTO support_notifications (id, member_id, ticket_id, message_id, created_at) VALUES (?, ?, ?, ?, ?)",
        &params![
            Id::at(now, random).to_text(),
            ticket.member_id.as_str(),
            ticket.id.as_str(),
            m.id.as_str(),
            ts(now)
        ],
    )?;
    tx.execute(
        "UPDATE support_tickets SET first_response_at = COALESCE(first_response_at, ?), \
         status = CASE WHEN status = 'open' THEN 'in_progress' ELSE status END, updated_at = ? WHERE id = ?",
        &params![ts(now), ts(now), ticket.id.as_str()],
    )?;
    Ok(m)
}

/// `POST /support/tickets/{id}/messages`: the member or the ticket's
/// support writes; closed tickets take nothing more.
pub fn add_message(
    env: &TicketEnv<'_>,
    caller: &Caller,
    id: &str,
    body: &str,
) -> Result<Message, SupportError> {
    let body = model::body(body)?;
    immediate(env.sql, |tx| {
        let now = env.clock.now();
        let (ticket, rel) = visible(tx, caller, id)?;
        if ticket.status == Status::Closed {
            return Err(SupportError::TicketClosed);
        }
        let m = match rel {
            Relation::Owner => {
                let m = insert_message(
                    tx,
                    now,
                    env.random,
                    &ticket.id,
                    Some(&caller.member_id),
                    "member",
                    "app",
                    &body,
                )?;
                tx.execute(
                    "UPDATE support_tickets SET updated_at = ? WHERE id = ?",
                    &params![ts(now), ticket.id.as_str()],
                )?;
                m
            }
            Relation::Support => staff_message(
                tx,
                now,
                env.random,
                &ticket,
                &caller.member_id,
                caller.staff_role(),
                "app",
                &body,
            )?,
        };
        outbox::enqueue(
            tx,
            now,
            env.random,
            &ticket.id,
            Kind::Message,
            &outbox::message_text(&ticket.id, &m.author_role, &body),
        )?;
        Ok(m)
    })
}

/// A change of status and/or priority.
#[derive(Debug, Clone, Default)]
pub struct TicketPatch {
    /// New status.
    pub status: Option<String>,
    /// New priority (support only).
    pub priority: Option<String>,
}

/// Moves `ticket` to `to` in `tx` after checking the transition.
pub fn apply_status(
    tx: &dyn Sql,
    now: DateTime<Utc>,
    ticket: &Ticket,
    to: Status,
    by_staff: bool,
) -> Result<(), SupportError> {
    let settled = match ticket.status {
        Status::Resolved => ticket.resolved_at.as_deref(),
        Status::Closed => ticket.closed_at.as_deref(),
        _ => None,
    }
    .map(parse_ts)
    .transpose()?;
    model::transition(ticket.status, to, by_staff, settled, now)?;
    let (resolved, closed) = match to {
        Status::Open | Status::InProgress => (None, None),
        Status::Resolved => (Some(ts(now)), None),
        Status::Closed => (ticket.resolved_at.clone(), Some(ts(now))),
    };
    tx.execute(
        "UPDATE support_tickets SET status = ?, resolved_at = ?, closed_at = ?, updated_at = ? WHERE id = ?",
        &params![to.as_str(), resolved, closed, ts(now), ticket.id.as_str()],
    )?;
    Ok(())
}

/// Sets the priority in `tx`; while no one has answered, the deadline is
/// recomputed from the ticket's creation.
pub fn apply_priority(
    tx: &dyn Sql,
    now: DateTime<Utc>,
    settings: &SupportSettings,
    ticket: &Ticket,
    priority: Priority,
) -> Result<(), StoreError> {
    let created = parse_ts(&ticket.created_at)?;
    tx.execute(
        "UPDATE support_tickets SET priority = ?, first_response_due_at = CASE WHEN first_response_at IS NULL \
         THEN ? ELSE first_response_due_at END, updated_at = ? WHERE id = ?",
        &params![priority.as_str(), ts(settings.due(priority, created)), ts(now), ticket.id.as_str()],
    )?;
    Ok(())
}

/// `PATCH /support/tickets/{id}`: the member may close and reopen; the
/// ticket's support may make any allowed move and set the priority.
pub fn update(
    env: &TicketEnv<'_>,
    caller: &Caller,
    id: &str,
    patch: &TicketPatch,
) -> Result<Ticket, SupportError> {
    let status = patch
        .status
        .as_deref()
        .map(|s| {
            Status::parse(s).ok_or_else(|| {
                crate::error::InvalidValue::new(
                    "INVALID_STATUS",
                    "status",
                    "status must be open, in_progress, resolved or closed",
                )
            })
        })
        .transpose()?;
    let priority = patch
        .priority
        .as_deref()
        .map(|p| Priority::parse_field(p, "priority"))
        .transpose()?;
    if status.is_none() && priority.is_none() {
        return Err(crate::error::InvalidValue::new(
            "INVALID_FIELD",
            "status",
            "give status or priority",
        )
        .into());
    }
    immediate(env.sql, |tx| {
        let now = env.clock.now();
        let (ticket, rel) = visible(tx, caller, id)?;
        let by_staff = rel == Relation::Support;
        if priority.is_some() && !by_staff {
            return Err(SupportError::Forbidden);
        }
        if let Some(to) = status {
            apply_status(tx, now, &ticket, to, by_staff)?;
            let by = if by_staff {
                caller.staff_role()
            } else {
                "member"
            };
            outbox::enqueue(
                tx,
                now,
                env.random,
                &ticket.id,
                Kind::Status,
                &outbox::status_text(&ticket.id, to, by),
            )?;
        }
        if let Some(p) = priority {
            apply_priority(tx, now, env.settings, &ticket, p)?;
        }
        load(tx, &ticket.id)?.ok_or(SupportError::TicketNotFound)
    })
}
