//! Reading events: the list with filters and cursor pages, and one event
//! with its programme, speakers, published reviews and the caller's
//! registration. `can_register` and `is_registered` are computed for the
//! caller.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;

use super::manage::{load, EventRow, EVENT_COLUMNS};
use super::registration::{self, closed_reason, is_active, Registered};
use super::ticket::TicketKey;
use super::validate;
use crate::db::{ts, Row};
use crate::error::InvalidValue;
use crate::pagination::{page_from, Cursor, Page};
use crate::params;
use crate::ports::{Sql, SqlValue, StoreError};
use crate::reviews::ANONYMOUS;
use crate::wallet::tiers::Tier;

/// Who reads: a member with their tier, or nobody.
#[derive(Debug, Clone, Copy)]
pub struct Reader<'a> {
    /// The member, if logged in.
    pub member_id: Option<&'a str>,
    /// Their tier now.
    pub tier: Tier,
}

/// Where an event happens.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Location {
    /// The organising business.
    pub business_id: String,
    /// Its name.
    pub business_name: String,
    /// The address, when given.
    pub address: Option<String>,
}

/// An event in a list.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EventSummary {
    /// Id.
    pub id: String,
    /// Title.
    pub title: String,
    /// Kind.
    #[serde(rename = "type")]
    pub kind: String,
    /// `free`, `paid`, `closed`.
    pub format: String,
    /// Seat price, kopecks.
    pub price: i64,
    /// Start.
    pub starts_at: String,
    /// End.
    pub ends_at: String,
    /// `scheduled`, `cancelled`, `past`.
    pub status: String,
    /// Where.
    pub location: Location,
    /// Seats.
    pub capacity: i64,
    /// Seats taken (confirmed, attended and held for payment; plus-ones
    /// count).
    pub registered_count: i64,
    /// Capacity − seats taken.
    pub seats_left: i64,
    /// Lowest tier admitted.
    pub min_tier: String,
    /// Whether the caller's registration would be accepted now (onto the
    /// waitlist when full).
    pub can_register: bool,
    /// Whether the caller holds a registration (waitlist included).
    pub is_registered: bool,
}

/// A published review of an event, as anyone sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EventReview {
    /// Review id.
    pub id: String,
    /// First name and last initial.
    pub author: String,
    /// 1–5.
    pub rating: i64,
    /// Text.
    pub text: Option<String>,
    /// When published.
    pub published_at: String,
}

/// One event in full.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EventDetail {
    /// What the list shows.
    #[serde(flatten)]
    pub summary: EventSummary,
    /// Short description.
    pub description: String,
    /// Long description.
    pub full_description: Option<String>,
    /// Plus-ones allowed.
    pub plus_one_allowed: bool,
    /// Programme.
    pub program: Value,
    /// Speakers.
    pub speakers: Value,
    /// What to bring.
    pub what_to_bring: Value,
    /// Cover image.
    pub cover_image_url: Option<String>,
    /// Seats wanted by the waitlist.
    pub waitlist_count: i64,
    /// The proposal it realises.
    pub proposal_id: Option<String>,
    /// Events budget allocated to it, kopecks.
    pub budget_allocated: i64,
    /// Published reviews, newest first (at most 20).
    pub reviews: Vec<EventReview>,
    /// The caller's registration.
    pub my_registration: Option<Registered>,
    /// Created.
    pub created_at: String,
    /// Last change.
    pub updated_at: String,
}

fn can_register(ev: &EventRow, now: DateTime<Utc>, r: &Reader<'_>, mine: Option<&str>) -> bool {
    r.member_id.is_some()
        && closed_reason(ev, now).is_none()
        && r.tier >= ev.min_tier
        && !mine.is_some_and(is_active)
        && (ev.format != "closed" || mine.is_some())
}

fn summary(
    row: &Row<'_>,
    ev: &EventRow,
    now: DateTime<Utc>,
    r: &Reader<'_>,
) -> Result<EventSummary, StoreError> {
    let mine = row.opt_text("my_status")?;
    Ok(EventSummary {
        id: ev.id.clone(),
        title: ev.title.clone(),
        kind: row.text("type")?,
        format: ev.format.clone(),
        price: ev.price,
        starts_at: ts(ev.starts_at),
        ends_at: ts(ev.ends_at),
        status: ev.status.clone(),
        location: Location {
            business_id: ev.business_id.clone(),
            business_name: row.text("business_name")?,
            address: row.opt_text("address")?,
        },
        capacity: ev.capacity,
        registered_count: ev.seats_taken,
        seats_left: ev.capacity - ev.seats_taken,
        min_tier: ev.min_tier.as_str().to_string(),
        can_register: can_register(ev, now, r, mine.as_deref()),
        is_registered: mine.as_deref().is_some_and(is_active),
    })
}

/// Filters of `GET /events`.
#[derive(Debug, Clone, Default)]
pub struct ListFilter {
    /// `upcoming` (default), `past` or `all`.
    pub status: Option<String>,
    /// `free`, `paid`, `closed`.
    pub format: Option<String>,
    /// The organising business.
    pub business_id: Option<String>,
    /// Starting at or after (RFC 3339).
    pub from: Option<String>,
    /// Starting before (RFC 3339).
    pub to: Option<String>,
}

fn e_columns() -> String {
    EVENT_COLUMNS
        .split(", ")
        .map(|c| format!("e.{c}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `GET /events`: upcoming events soonest first; past and all newest
/// first; cursor pages.
pub fn list(
    sql: &dyn Sql,
    now: DateTime<Utc>,
    reader: &Reader<'_>,
    f: &ListFilter,
    limit: u32,
    cursor: Option<&Cursor>,
) -> Result<Page<EventSummary>, super::EventError> {
    let mut conds: Vec<String> = Vec::new();
    let mut args: Vec<SqlValue> = vec![reader.member_id.unwrap_or("").into()];
    let status = f.status.as_deref().unwrap_or("upcoming");
    let ascending = match status {
        "upcoming" => {
            conds.push("e.status = 'scheduled' AND e.starts_at > ?".into());
            args.push(ts(now).into());
            true
        }
        "past" => {
            conds.push("e.status <> 'cancelled' AND e.ends_at <= ?".into());
            args.push(ts(now).into());
            false
        }
        "all" => false,
        _ => {
            return Err(InvalidValue::new(
                "INVALID_FIELD",
                "status",
                "status is upcoming, past or all",
            )
            .into())
        }
    };
    if let Some(fm) = &f.format {
        if !matches!(fm.as_str(), "free" | "paid" | "closed") {
            return Err(InvalidValue::new(
                "INVALID_FIELD",
                "format",
                "format is free, paid or closed",
            )
            .into());
        }
        conds.push("e.format = ?".into());
        args.push(fm.as_str().into());
    }
    if let Some(b) = &f.business_id {
        conds.push("e.business_id = ?".into());
        args.push(validate::uuid(b, "business_id")?.into());
    }
    if let Some(t) = &f.from {
        conds.push("e.starts_at >= ?".into());
        args.push(ts(validate::instant(t, "from")?).into());
    }
    if let Some(t) = &f.to {
        conds.push("e.starts_at < ?".into());
        args.push(ts(validate::instant(t, "to")?).into());
    }
    if let Some(c) = cursor {
        let op = if ascending { ">" } else { "<" };
        conds.push(format!(
            "(e.starts_at {op} ? OR (e.starts_at = ? AND e.id {op} ?))"
        ));
        args.extend([
            SqlValue::from(c.key.as_str()),
            SqlValue::from(c.key.as_str()),
            SqlValue::from(c.id.as_str()),
        ]);
    }
    let dir = if ascending { "ASC" } else { "DESC" };
    let mut q = format!(
        "SELECT {}, e.type, e.address, b.name AS business_name, r.status AS my_status \
         FROM events e JOIN businesses b ON b.id = e.business_id \
         LEFT JOIN event_registrations r ON r.event_id = e.id AND r.member_id = ?",
        e_columns()
    );
    if !conds.is_empty() {
        q.push_str(" WHERE ");
        q.push_str(&conds.join(" AND "));
    }
    q.push_str(&format!(" ORDER BY e.starts_at {dir}, e.id {dir} LIMIT ?"));
    args.push(SqlValue::Integer(i64::from(limit) + 1));
    let rows = sql.execute(&q, &args)?;
    let items = rows
        .iter()
        .map(|row| {
            let ev = EventRow::from_row(&row)?;
            summary(&row, &ev, now, reader)
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    Ok(page_from(items, limit, |e| Cursor {
        key: e.starts_at.clone(),
        id: e.id.clone(),
    }))
}

fn author(first: Option<String>, last: Option<String>) -> String {
    match first {
        Some(f) if !f.is_empty() => match last.and_then(|l| l.chars().next()) {
            Some(i) => format!("{f} {i}."),
            None => f,
        },
        _ => ANONYMOUS.to_string(),
    }
}

/// `GET /events/{id}`.
pub fn detail(
    sql: &dyn Sql,
    key: &TicketKey,
    now: DateTime<Utc>,
    reader: &Reader<'_>,
    id: &str,
) -> Result<Option<EventDetail>, StoreError> {
    let rows = sql.execute(
        &format!(
            "SELECT {}, e.type, e.address, e.description, e.full_description, e.program, e.speakers, \
             e.what_to_bring, e.cover_image_url, e.proposal_id, e.created_at, e.updated_at, \
             b.name AS business_name, r.status AS my_status \
             FROM events e JOIN businesses b ON b.id = e.business_id \
             LEFT JOIN event_registrations r ON r.event_id = e.id AND r.member_id = ? WHERE e.id = ?",
            e_columns()
        ),
        &params![reader.member_id.unwrap_or(""), id],
    )?;
    let Some(row) = rows.first() else {
        return Ok(None);
    };
    let ev = EventRow::from_row(&row)?;
    let parse = |c: &str| -> Result<Value, StoreError> {
        serde_json::from_str(&row.text(c)?).map_err(|e| StoreError::Other(format!("{c}: {e}")))
    };
    let waitlist = sql
        .execute(
            "SELECT COALESCE(SUM(seats), 0) AS n FROM event_registrations WHERE event_id = ? AND status = 'waitlist'",
            &params![id],
        )?
        .first()
        .map_or(Ok(0), |r| r.i64("n"))?;
    let budget = sql
        .execute(
            "SELECT COALESCE(SUM(amount), 0) AS n FROM event_budget_allocations WHERE event_id = ?",
            &params![id],
        )?
        .first()
        .map_or(Ok(0), |r| r.i64("n"))?;
    let reviews = sql
        .execute(
            "SELECT r.id, r.rating, r.body, r.published_at, m.first_name, m.last_name \
             FROM reviews r LEFT JOIN members m ON m.id = r.member_id \
             WHERE r.target_type = 'event' AND r.target_key = ? AND r.status = 'published' \
             ORDER BY r.published_at DESC, r.id DESC LIMIT 20",
            &params![id],
        )?
        .iter()
        .map(|r| {
            Ok(EventReview {
                id: r.text("id")?,
                author: author(r.opt_text("first_name")?, r.opt_text("last_name")?),
                rating: r.i64("rating")?,
                text: r.opt_text("body")?,
                published_at: r.opt_text("published_at")?.unwrap_or_default(),
            })
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    let my_registration = match reader.member_id {
        Some(m) => registration::mine(sql, key, &ev, m)?,
        None => None,
    };
    Ok(Some(EventDetail {
        summary: summary(&row, &ev, now, reader)?,
        description: row.text("description")?,
        full_description: row.opt_text("full_description")?,
        plus_one_allowed: ev.plus_one_allowed,
        program: parse("program")?,
        speakers: parse("speakers")?,
        what_to_bring: parse("what_to_bring")?,
        cover_image_url: row.opt_text("cover_image_url")?,
        waitlist_count: waitlist,
        proposal_id: row.opt_text("proposal_id")?,
        budget_allocated: budget,
        reviews,
        my_registration,
        created_at: row.text("created_at")?,
        updated_at: row.text("updated_at")?,
    }))
}

/// Whether event `id` exists.
pub fn exists(sql: &dyn Sql, id: &str) -> Result<bool, StoreError> {
    Ok(load(sql, id)?.is_some())
}
