//! Organising events: create, edit, cancel (refunds due for paid seats),
//! invitations to closed events. Admins manage any business's events,
//! owners their own business's.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::registration::{promote, SEAT_STATUSES};
use super::validate::{self, ProgramItem, Speaker};
use super::{EventEnv, EventError};
use crate::audit::{self, AuditEntry};
use crate::auth::{Principal, StaffRole};
use crate::db::{immediate, parse_ts, ts, Row};
use crate::error::InvalidValue;
use crate::params;
use crate::ports::{Sql, StoreError};
use crate::types::Id;
use crate::wallet::tiers::Tier;

/// The body of `POST /admin/events` (and of realising a proposal).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventInput {
    /// Title, 1–200 characters.
    pub title: String,
    /// Short description, 1–2 000 characters.
    pub description: String,
    /// Long description, up to 20 000 characters.
    #[serde(default)]
    pub full_description: Option<String>,
    /// Kind of event (`gala`, `masterclass`, `wellness`, ...), 1–50 characters.
    #[serde(rename = "type")]
    pub kind: String,
    /// `free`, `paid` or `closed`.
    pub format: String,
    /// Seat price in kopecks: > 0 for paid events, 0 otherwise.
    #[serde(default)]
    pub price: i64,
    /// Start (RFC 3339), in the future.
    pub starts_at: String,
    /// End (RFC 3339), after the start.
    pub ends_at: String,
    /// The organising business.
    pub business_id: String,
    /// Where, if not at the business.
    #[serde(default)]
    pub address: Option<String>,
    /// Seats, 1–100 000.
    pub capacity: i64,
    /// Lowest tier that may register (default insider).
    #[serde(default)]
    pub min_tier: Option<String>,
    /// Whether a member may bring a guest (two seats).
    #[serde(default)]
    pub plus_one_allowed: bool,
    /// The programme.
    #[serde(default)]
    pub program: Vec<ProgramItem>,
    /// Speakers.
    #[serde(default)]
    pub speakers: Vec<Speaker>,
    /// What to bring.
    #[serde(default)]
    pub what_to_bring: Vec<String>,
    /// Cover image (https).
    #[serde(default)]
    pub cover_image_url: Option<String>,
}

/// The body of `PATCH /admin/events/{id}`: any subset (the business is
/// fixed).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventPatch {
    /// Title.
    #[serde(default)]
    pub title: Option<String>,
    /// Short description.
    #[serde(default)]
    pub description: Option<String>,
    /// Long description.
    #[serde(default)]
    pub full_description: Option<String>,
    /// Kind.
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
    /// Format (only while nobody is registered).
    #[serde(default)]
    pub format: Option<String>,
    /// Price (only while nobody is registered).
    #[serde(default)]
    pub price: Option<i64>,
    /// Start.
    #[serde(default)]
    pub starts_at: Option<String>,
    /// End.
    #[serde(default)]
    pub ends_at: Option<String>,
    /// Address.
    #[serde(default)]
    pub address: Option<String>,
    /// Capacity (never below the seats taken; more seats promote the
    /// waitlist).
    #[serde(default)]
    pub capacity: Option<i64>,
    /// Lowest tier.
    #[serde(default)]
    pub min_tier: Option<String>,
    /// Plus-ones.
    #[serde(default)]
    pub plus_one_allowed: Option<bool>,
    /// Programme.
    #[serde(default)]
    pub program: Option<Vec<ProgramItem>>,
    /// Speakers.
    #[serde(default)]
    pub speakers: Option<Vec<Speaker>>,
    /// What to bring.
    #[serde(default)]
    pub what_to_bring: Option<Vec<String>>,
    /// Cover image.
    #[serde(default)]
    pub cover_image_url: Option<String>,
}

/// An event as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct EventRow {
    /// Id.
    pub id: String,
    /// Organising business.
    pub business_id: String,
    /// Title.
    pub title: String,
    /// Format.
    pub format: String,
    /// Price.
    pub price: i64,
    /// Start.
    pub starts_at: DateTime<Utc>,
    /// End.
    pub ends_at: DateTime<Utc>,
    /// Capacity.
    pub capacity: i64,
    /// Seats taken.
    pub seats_taken: i64,
    /// Next waitlist number.
    pub next_queue_no: i64,
    /// Lowest tier.
    pub min_tier: Tier,
    /// Plus-ones allowed.
    pub plus_one_allowed: bool,
    /// `scheduled`, `cancelled` or `past`.
    pub status: String,
}

pub(crate) const EVENT_COLUMNS: &str =
    "id, business_id, title, format, price, starts_at, ends_at, \
    capacity, seats_taken, next_queue_no, min_tier, plus_one_allowed, status";

impl EventRow {
    pub(crate) fn from_row(r: &Row<'_>) -> Result<Self, StoreError> {
        Ok(Self {
            id: r.text("id")?,
            business_id: r.text("business_id")?,
            title: r.text("title")?,
            format: r.text("format")?,
            price: r.i64("price")?,
            starts_at: parse_ts(&r.text("starts_at")?)?,
            ends_at: parse_ts(&r.text("ends_at")?)?,
            capacity: r.i64("capacity")?,
            seats_taken: r.i64("seats_taken")?,
            next_queue_no: r.i64("next_queue_no")?,
            min_tier: Tier::parse(&r.text("min_tier")?).unwrap_or(Tier::Insider),
            plus_one_allowed: r.bool("plus_one_allowed")?,
            status: r.text("status")?,
        })
    }
}

/// The event with `id`.
pub fn load(sql: &dyn Sql, id: &str) -> Result<Option<EventRow>, StoreError> {
    let rows = sql.execute(
        &format!("SELECT {EVENT_COLUMNS} FROM events WHERE id = ?"),
        &params![id],
    )?;
    rows.first().map(|r| EventRow::from_row(&r)).transpose()
}

/// Whether `p` organises events of `business_id`: an admin, or its owner.
pub fn may_organise(p: &Principal, business_id: &str) -> bool {
    p.is_admin()
        || matches!(p, Principal::Member { business: Some((b, StaffRole::Owner)), .. } if b == business_id)
}

/// Whether `p` may organise events at all (checked before a body is read).
pub fn is_organiser(p: &Principal) -> bool {
    p.is_admin()
        || matches!(
            p,
            Principal::Member {
                business: Some((_, StaffRole::Owner)),
                ..
            }
        )
}

fn format_of(s: &str) -> Result<String, InvalidValue> {
    match s {
        "free" | "paid" | "closed" => Ok(s.to_string()),
        _ => Err(InvalidValue::new(
            "INVALID_FIELD",
            "format",
            "format is free, paid or closed",
        )),
    }
}

fn price_for(format: &str, price: i64) -> Result<i64, InvalidValue> {
    let price = validate::amount(price, "price")?;
    match (format, price) {
        ("paid", 0) => Err(InvalidValue::new(
            "INVALID_PRICE",
            "price",
            "a paid event has a price above 0",
        )),
        ("free" | "closed", p) if p != 0 => Err(InvalidValue::new(
            "INVALID_PRICE",
            "price",
            "free and closed events have price 0",
        )),
        _ => Ok(price),
    }
}

fn tier_field(s: &str) -> Result<Tier, InvalidValue> {
    Tier::parse(s).map_err(|e| e.at("min_tier"))
}

fn dates(starts: &str, ends: &str) -> Result<(DateTime<Utc>, DateTime<Utc>), InvalidValue> {
    let s = validate::instant(starts, "starts_at")?;
    let e = validate::instant(ends, "ends_at")?;
    if e <= s {
        return Err(InvalidValue::new(
            "ENDS_BEFORE_START",
            "ends_at",
            "ends_at must be after starts_at",
        ));
    }
    Ok((s, e))
}

/// A validated new event.
struct NewEvent {
    title: String,
    description: String,
    full_description: Option<String>,
    kind: String,
    format: String,
    price: i64,
    starts_at: DateTime<Utc>,
    ends_at: DateTime<Utc>,
    business_id: String,
    address: Option<String>,
    capacity: i64,
    min_tier: Tier,
    plus_one_allowed: bool,
    program: Vec<ProgramItem>,
    speakers: Vec<Speaker>,
    what_to_bring: Vec<String>,
    cover_image_url: Option<String>,
}

fn check_new(b: &EventInput, now: DateTime<Utc>) -> Result<NewEvent, InvalidValue> {
    let title = validate::line(&b.title, "title", 200)?;
    let description = validate::text(&b.description, "description", 2_000)?;
    let full_description = b
        .full_description
        .as_deref()
        .map(|t| validate::text(t, "full_description", 20_000))
        .transpose()?;
    let kind = validate::line(&b.kind, "type", 50)?;
    let format = format_of(&b.format)?;
    let price = price_for(&format, b.price)?;
    let (starts_at, ends_at) = dates(&b.starts_at, &b.ends_at)?;
    if starts_at <= now {
        return Err(InvalidValue::new(
            "INVALID_TIME",
            "starts_at",
            "starts_at must be in the future",
        ));
    }
    let business_id = validate::uuid(&b.business_id, "business_id")?;
    let address = b
        .address
        .as_deref()
        .map(|a| validate::line(a, "address", 300))
        .transpose()?;
    let capacity = validate::capacity(b.capacity, "capacity")?;
    let min_tier = match &b.min_tier {
        Some(t) => tier_field(t)?,
        None => Tier::Insider,
    };
    Ok(NewEvent {
        title,
        description,
        full_description,
        kind,
        format,
        price,
        starts_at,
        ends_at,
        business_id,
        address,
        capacity,
        min_tier,
        plus_one_allowed: b.plus_one_allowed,
        program: validate::program(&b.program, "program")?,
        speakers: validate::speakers(&b.speakers, "speakers")?,
        what_to_bring: validate::strings(&b.what_to_bring, "what_to_bring")?,
        cover_image_url: b
            .cover_image_url
            .as_deref()
            .map(|u| validate::url(u, "cover_image_url"))
            .transpose()?,
    })
}

fn to_json<T: Serialize>(v: &T) -> String {
    serde_json::to_string(v).unwrap_or_else(|_| "[]".into())
}

/// Inserts a validated event in `tx`; returns its id.
fn insert(
    env: &EventEnv<'_>,
    tx: &dyn Sql,
    who: &str,
    e: &NewEvent,
    proposal_id: Option<&str>,
) -> Result<String, EventError> {
    let now = env.clock.now();
    if tx
        .execute(
            "SELECT 1 FROM businesses WHERE id = ?",
            &params![e.business_id.as_str()],
        )?
        .is_empty()
    {
        return Err(EventError::BusinessNotFound);
    }
    let id = Id::at(now, env.random).to_text();
    tx.execute(
        "INSERT INTO events (id, business_id, title, description, full_description, type, format, price, \
         starts_at, ends_at, address, capacity, min_tier, plus_one_allowed, program, speakers, what_to_bring, \
         cover_image_url, proposal_id, created_by, created_at, updated_at) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        &params![
            id.as_str(),
            e.business_id.as_str(),
            e.title.as_str(),
            e.description.as_str(),
            e.full_description.as_deref(),
            e.kind.as_str(),
            e.format.as_str(),
            e.price,
            ts(e.starts_at),
            ts(e.ends_at),
            e.address.as_deref(),
            e.capacity,
            e.min_tier.as_str(),
            e.plus_one_allowed,
            to_json(&e.program),
            to_json(&e.speakers),
            to_json(&e.what_to_bring),
            e.cover_image_url.as_deref(),
            proposal_id,
            who,
            ts(now),
            ts(now)
        ],
    )?;
    Ok(id)
}

fn actor_role(p: &Principal) -> &'static str {
    if p.is_admin() {
        "admin"
    } else {
        "staff"
    }
}

/// `POST /admin/events`: creates an event; returns its id.
pub fn create(env: &EventEnv<'_>, p: &Principal, b: &EventInput) -> Result<String, EventError> {
    let e = check_new(b, env.clock.now())?;
    if !may_organise(p, &e.business_id) {
        return Err(EventError::NotOrganiser);
    }
    let who = p.member_id().unwrap_or_default().to_string();
    immediate(env.sql, |tx| insert(env, tx, &who, &e, None))
}

/// Creates the event realising `proposal_id` in `tx` (see
/// [`super::proposals::realize`]).
pub(crate) fn create_in(
    env: &EventEnv<'_>,
    tx: &dyn Sql,
    p: &Principal,
    b: &EventInput,
    proposal_id: &str,
) -> Result<String, EventError> {
    let e = check_new(b, env.clock.now())?;
    let who = p.member_id().unwrap_or_default().to_string();
    insert(env, tx, &who, &e, Some(proposal_id))
}

/// `PATCH /admin/events/{id}`.
pub fn edit(env: &EventEnv<'_>, p: &Principal, id: &str, b: &EventPatch) -> Result<(), EventError> {
    let now = env.clock.now();
    immediate(env.sql, |tx| -> Result<(), EventError> {
        let ev = load(tx, id)?.ok_or(EventError::NotFound)?;
        if !may_organise(p, &ev.business_id) {
            return Err(EventError::NotOrganiser);
        }
        if ev.status != "scheduled" {
            return Err(EventError::NotEditable);
        }
        let mut sets: Vec<&str> = Vec::new();
        let mut args: Vec<crate::ports::SqlValue> = Vec::new();
        let mut set = |col: &'static str, v: crate::ports::SqlValue| {
            sets.push(col);
            args.push(v);
        };
        if let Some(t) = &b.title {
            set("title", validate::line(t, "title", 200)?.into());
        }
        if let Some(t) = &b.description {
            set(
                "description",
                validate::text(t, "description", 2_000)?.into(),
            );
        }
        if let Some(t) = &b.full_description {
            set(
                "full_description",
                validate::text(t, "full_description", 20_000)?.into(),
            );
        }
        if let Some(t) = &b.kind {
            set("type", validate::line(t, "type", 50)?.into());
        }
        let format = match &b.format {
            Some(f) => format_of(f)?,
            None => ev.format.clone(),
        };
        if b.format.is_some() || b.price.is_some() {
            let price = price_for(&format, b.price.unwrap_or(ev.price))?;
            let anyone = !tx
                .execute(
                    "SELECT 1 FROM event_registrations WHERE event_id = ? AND status <> 'invited' LIMIT 1",
                    &params![id],
                )?
                .is_empty();
            if anyone && (format != ev.format || price != ev.price) {
                return Err(EventError::HasRegistrations);
            }
            set("format", format.into());
            set("price", price.into());
        }
        let starts = b.starts_at.clone().unwrap_or_else(|| ts(ev.starts_at));
        let ends = b.ends_at.clone().unwrap_or_else(|| ts(ev.ends_at));
        if b.starts_at.is_some() || b.ends_at.is_some() {
            let (s, e) = dates(&starts, &ends)?;
            if b.starts_at.is_some() && s <= now {
                return Err(InvalidValue::new(
                    "INVALID_TIME",
                    "starts_at",
                    "starts_at must be in the future",
                )
                .into());
            }
            set("starts_at", ts(s).into());
            set("ends_at", ts(e).into());
        }
        if let Some(a) = &b.address {
            set("address", validate::line(a, "address", 300)?.into());
        }
        let mut grew = false;
        if let Some(c) = b.capacity {
            let c = validate::capacity(c, "capacity")?;
            if c < ev.seats_taken {
                return Err(EventError::CapacityBelowTaken {
                    taken: ev.seats_taken,
                });
            }
            grew = c > ev.capacity;
            set("capacity", c.into());
        }
        if let Some(t) = &b.min_tier {
            set("min_tier", tier_field(t)?.as_str().into());
        }
        if let Some(v) = b.plus_one_allowed {
            set("plus_one_allowed", v.into());
        }
        if let Some(v) = &b.program {
            set("program", to_json(&validate::program(v, "program")?).into());
        }
        if let Some(v) = &b.speakers {
            set(
                "speakers",
                to_json(&validate::speakers(v, "speakers")?).into(),
            );
        }
        if let Some(v) = &b.what_to_bring {
            set(
                "what_to_bring",
                to_json(&validate::strings(v, "what_to_bring")?).into(),
            );
        }
        if let Some(u) = &b.cover_image_url {
            set(
                "cover_image_url",
                validate::url(u, "cover_image_url")?.into(),
            );
        }
        set("updated_at", ts(now).into());
        let assignments: Vec<String> = sets.iter().map(|c| format!("{c} = ?")).collect();
        args.push(id.into());
        tx.execute(
            &format!("UPDATE events SET {} WHERE id = ?", assignments.join(", ")),
            &args,
        )?;
        if grew {
            promote(env, tx, id)?;
        }
        Ok(())
    })
}

/// A refund the club owes after an event's cancellation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RefundDue {
    /// The registration.
    pub registration_id: String,
    /// Its member.
    pub member_id: String,
    /// Kopecks to refund through the payment provider.
    pub amount: i64,
}

/// The result of `POST /admin/events/{id}/cancel`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Cancelled {
    /// The event.
    pub event_id: String,
    /// Always `cancelled`.
    pub status: &'static str,
    /// Seats released (confirmed and held).
    pub released_seats: i64,
    /// Registrations ended (waitlisted included).
    pub cancelled_registrations: i64,
    /// Paid seats to refund: one entry per paid registration.
    pub refunds_due: Vec<RefundDue>,
}

/// `POST /admin/events/{id}/cancel`: every registration ends, every seat
/// is released, and every paid registration gets a refund-due entry of
/// what it paid (the provider refund itself is issued outside Krug; its
/// `refund.succeeded` webhook then runs the purchase pipeline's refund).
pub fn cancel(env: &EventEnv<'_>, p: &Principal, id: &str) -> Result<Cancelled, EventError> {
    let now = env.clock.now();
    immediate(env.sql, |tx| -> Result<Cancelled, EventError> {
        let ev = load(tx, id)?.ok_or(EventError::NotFound)?;
        if !may_organise(p, &ev.business_id) {
            return Err(EventError::NotOrganiser);
        }
        match ev.status.as_str() {
            "cancelled" => return Err(EventError::EventCancelled),
            "past" => return Err(EventError::NotEditable),
            _ => {}
        }
        if ev.ends_at <= now {
            return Err(EventError::NotEditable);
        }
        let rows = tx.execute(
            "UPDATE event_registrations SET status = 'cancelled', hold_expires_at = NULL, queue_no = NULL, \
             refund_due = CASE WHEN paid_amount - refunded_amount > 0 THEN paid_amount - refunded_amount ELSE refund_due END, \
             updated_at = ? \
             WHERE event_id = ? AND status IN ('confirmed', 'pending_payment', 'waitlist', 'attended') \
             RETURNING id, member_id, status, refund_due",
            &params![ts(now), id],
        )?;
        let mut refunds = Vec::new();
        for r in rows.iter() {
            let due = r.i64("refund_due")?;
            if due > 0 {
                refunds.push(RefundDue {
                    registration_id: r.text("id")?,
                    member_id: r.text("member_id")?,
                    amount: due,
                });
            }
        }
        tx.execute(
            "UPDATE events SET status = 'cancelled', seats_taken = 0, cancelled_at = ?, updated_at = ? WHERE id = ?",
            &params![ts(now), ts(now), id],
        )?;
        audit::record(
            tx,
            env.clock,
            env.random,
            &AuditEntry {
                actor_id: p.member_id(),
                actor_role: actor_role(p),
                action: "event.cancelled",
                subject_type: "event",
                subject_id: id,
                details: json!({
                    "released_seats": ev.seats_taken,
                    "refunds_due": refunds.iter().map(|r| json!({"registration_id": r.registration_id, "amount": r.amount})).collect::<Vec<_>>(),
                }),
                request_id: env.request_id,
            },
        )?;
        Ok(Cancelled {
            event_id: id.to_string(),
            status: "cancelled",
            released_seats: ev.seats_taken,
            cancelled_registrations: i64::try_from(rows.len()).unwrap_or(0),
            refunds_due: refunds,
        })
    })
}

/// The result of an invitation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Invitation {
    /// The event.
    pub event_id: String,
    /// The invited member.
    pub member_id: String,
    /// `invited`, or the member's registration status when they already
    /// hold one.
    pub status: String,
}

/// `POST /admin/events/{id}/invitations {member_id}`: lets the member
/// register for a closed event (idempotent).
pub fn invite(
    env: &EventEnv<'_>,
    p: &Principal,
    id: &str,
    member_id: &str,
) -> Result<Invitation, EventError> {
    let member_id = validate::uuid(member_id, "member_id")?;
    let now = env.clock.now();
    immediate(env.sql, |tx| -> Result<Invitation, EventError> {
        let ev = load(tx, id)?.ok_or(EventError::NotFound)?;
        if !may_organise(p, &ev.business_id) {
            return Err(EventError::NotOrganiser);
        }
        if ev.status != "scheduled" {
            return Err(EventError::NotEditable);
        }
        if super::tier_of(tx, &member_id)?.is_none() {
            return Err(EventError::MemberNotFound);
        }
        let rid = Id::at(now, env.random).to_text();
        tx.execute(
            "INSERT INTO event_registrations (id, event_id, member_id, status, seats, created_at, updated_at) \
             VALUES (?, ?, ?, 'invited', 1, ?, ?) ON CONFLICT (event_id, member_id) DO NOTHING",
            &params![rid.as_str(), id, member_id.as_str(), ts(now), ts(now)],
        )?;
        let status = tx
            .execute(
                "SELECT status FROM event_registrations WHERE event_id = ? AND member_id = ?",
                &params![id, member_id.as_str()],
            )?
            .first()
            .map(|r| r.text("status"))
            .transpose()?
            .unwrap_or_else(|| "invited".into());
        Ok(Invitation {
            event_id: id.to_string(),
            member_id: member_id.clone(),
            status,
        })
    })
}

/// Statuses whose registration holds a seat.
pub fn holds_seat(status: &str) -> bool {
    SEAT_STATUSES.contains(&status)
}
