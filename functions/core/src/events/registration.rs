//! Registrations: seats, the FIFO waitlist, payment holds and their
//! settlement by the payment webhook, cancellation with promotion in the
//! same transaction, and check-in.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::manage::{load, EventRow};
use super::ticket::{self, TicketKey};
use super::{placement, promotions, seats_for, EventEnv, EventError, Placement, HOLD_MINUTES};
use crate::auth::Principal;
use crate::db::{immediate, ts};
use crate::error::InvalidValue;
use crate::params;
use crate::payments::webhook::{OrderSettler, PaidOrder, RefundedOrder};
use crate::ports::{Sql, StoreError};
use crate::types::{display_text, Id};
use crate::wallet::badges::{self, BadgeFacts};

/// Statuses that hold seats (counted in `events.seats_taken`).
pub const SEAT_STATUSES: [&str; 3] = ["confirmed", "pending_payment", "attended"];

/// The body of `POST /events/{id}/register`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegisterInput {
    /// Bring a guest (two seats), where the event allows it.
    #[serde(default)]
    pub plus_one: bool,
    /// Dietary needs, up to 200 characters.
    #[serde(default)]
    pub dietary_restrictions: Option<String>,
}

/// A registration's state as its member sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Registered {
    /// Registration id (the payment's `order_ref` is `event:<id>`).
    pub registration_id: String,
    /// `confirmed`, `waitlist`, `pending_payment` or `attended`.
    pub status: String,
    /// Seats taken or wanted (2 with a plus-one).
    pub seats: i64,
    /// Place in the waitlist (1 = next), while waitlisted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub position: Option<i64>,
    /// The signed ticket, once the seat is confirmed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ticket: Option<TicketView>,
    /// Until when an unpaid seat is held.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hold_expires_at: Option<String>,
    /// What to pay (price × seats), while the seat is held for payment.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub amount_due: Option<i64>,
}

/// A ticket: the signed code (the component adds its QR SVG).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TicketView {
    /// Signed ticket code.
    pub code: String,
}

struct RegRow {
    id: String,
    member_id: String,
    status: String,
    seats: i64,
    queue_no: Option<i64>,
    hold_expires_at: Option<String>,
    paid_amount: i64,
    refunded_amount: i64,
    refund_due: i64,
}

const REG_COLUMNS: &str = "id, member_id, status, seats, queue_no, hold_expires_at, paid_amount, refunded_amount, refund_due";

fn reg_from(r: &crate::db::Row<'_>) -> Result<RegRow, StoreError> {
    Ok(RegRow {
        id: r.text("id")?,
        member_id: r.text("member_id")?,
        status: r.text("status")?,
        seats: r.i64("seats")?,
        queue_no: r.opt_i64("queue_no")?,
        hold_expires_at: r.opt_text("hold_expires_at")?,
        paid_amount: r.i64("paid_amount")?,
        refunded_amount: r.i64("refunded_amount")?,
        refund_due: r.i64("refund_due")?,
    })
}

fn reg_of(sql: &dyn Sql, event_id: &str, member_id: &str) -> Result<Option<RegRow>, StoreError> {
    sql.execute(
        &format!(
            "SELECT {REG_COLUMNS} FROM event_registrations WHERE event_id = ? AND member_id = ?"
        ),
        &params![event_id, member_id],
    )?
    .first()
    .map(|r| reg_from(&r))
    .transpose()
}

fn reg_by_id(sql: &dyn Sql, id: &str) -> Result<Option<(RegRow, String)>, StoreError> {
    sql.execute(
        &format!("SELECT {REG_COLUMNS}, event_id FROM event_registrations WHERE id = ?"),
        &params![id],
    )?
    .first()
    .map(|r| Ok((reg_from(&r)?, r.text("event_id")?)))
    .transpose()
}

/// Place of a waitlisted registration (1 = next).
fn position(sql: &dyn Sql, event_id: &str, queue_no: i64) -> Result<i64, StoreError> {
    let r = sql.execute(
        "SELECT COUNT(*) AS n FROM event_registrations WHERE event_id = ? AND status = 'waitlist' AND queue_no < ?",
        &params![event_id, queue_no],
    )?;
    Ok(r.first().map_or(Ok(0), |r| r.i64("n"))? + 1)
}

fn anyone_waiting(sql: &dyn Sql, event_id: &str) -> Result<bool, StoreError> {
    Ok(!sql
        .execute(
            "SELECT 1 FROM event_registrations WHERE event_id = ? AND status = 'waitlist' LIMIT 1",
            &params![event_id],
        )?
        .is_empty())
}

fn view(
    sql: &dyn Sql,
    key: &TicketKey,
    ev: &EventRow,
    r: &RegRow,
) -> Result<Registered, StoreError> {
    let position = match (r.status.as_str(), r.queue_no) {
        ("waitlist", Some(q)) => Some(position(sql, &ev.id, q)?),
        _ => None,
    };
    let held = r.status == "pending_payment";
    Ok(Registered {
        registration_id: r.id.clone(),
        status: r.status.clone(),
        seats: r.seats,
        position,
        ticket: matches!(r.status.as_str(), "confirmed" | "attended").then(|| TicketView {
            code: ticket::issue(key, &r.id, &ev.id),
        }),
        hold_expires_at: if held {
            r.hold_expires_at.clone()
        } else {
            None
        },
        amount_due: held.then_some(ev.price * r.seats),
    })
}

/// The caller's registration for `event_id`, if they hold one (invitations
/// and ended registrations are `None`).
pub fn mine(
    sql: &dyn Sql,
    key: &TicketKey,
    ev: &EventRow,
    member_id: &str,
) -> Result<Option<Registered>, StoreError> {
    match reg_of(sql, &ev.id, member_id)? {
        Some(r) if is_active(&r.status) => Ok(Some(view(sql, key, ev, &r)?)),
        _ => Ok(None),
    }
}

/// Statuses of a registration its member still holds.
pub fn is_active(status: &str) -> bool {
    matches!(
        status,
        "confirmed" | "pending_payment" | "waitlist" | "attended"
    )
}

/// Why `ev` is closed to registrations now, if it is.
pub(crate) fn closed_reason(ev: &EventRow, now: DateTime<Utc>) -> Option<EventError> {
    if ev.status == "cancelled" {
        Some(EventError::EventCancelled)
    } else if ev.status != "scheduled" || ev.starts_at <= now {
        Some(EventError::RegistrationClosed)
    } else {
        None
    }
}

/// `POST /events/{id}/register`.
pub fn register(
    env: &EventEnv<'_>,
    key: &TicketKey,
    member_id: &str,
    event_id: &str,
    b: &RegisterInput,
) -> Result<Registered, EventError> {
    let dietary = b
        .dietary_restrictions
        .as_deref()
        .map(|d| display_text(d, "dietary_restrictions", "INVALID_FIELD", 200))
        .transpose()?;
    let now = env.clock.now();
    immediate(env.sql, |tx| -> Result<Registered, EventError> {
        let ev = load(tx, event_id)?.ok_or(EventError::NotFound)?;
        if let Some(e) = closed_reason(&ev, now) {
            return Err(e);
        }
        if b.plus_one && !ev.plus_one_allowed {
            return Err(InvalidValue::new(
                "PLUS_ONE_NOT_ALLOWED",
                "plus_one",
                "this event takes no plus-ones",
            )
            .into());
        }
        let tier = super::tier_of(tx, member_id)?.ok_or(EventError::NotFound)?;
        if tier < ev.min_tier {
            return Err(EventError::TierTooLow(ev.min_tier.as_str()));
        }
        let existing = reg_of(tx, event_id, member_id)?;
        if let Some(r) = &existing {
            if is_active(&r.status) {
                return Err(EventError::AlreadyRegistered);
            }
        }
        if ev.format == "closed" && existing.is_none() {
            return Err(EventError::InvitationRequired);
        }
        let seats = seats_for(b.plus_one);
        let waiting = anyone_waiting(tx, event_id)?;
        let (status, queue_no, hold) = match placement(ev.capacity, ev.seats_taken, seats, waiting)
        {
            Placement::Seat if ev.format == "paid" => (
                "pending_payment",
                None,
                Some(ts(now + Duration::minutes(HOLD_MINUTES))),
            ),
            Placement::Seat => ("confirmed", None, None),
            Placement::Waitlist => ("waitlist", Some(ev.next_queue_no), None),
        };
        let id = match &existing {
            Some(r) => {
                tx.execute(
                    "UPDATE event_registrations SET status = ?, seats = ?, dietary_restrictions = ?, queue_no = ?, \
                     hold_expires_at = ?, checked_in_at = NULL, updated_at = ? WHERE id = ?",
                    &params![status, seats, dietary.as_deref(), queue_no, hold.as_deref(), ts(now), r.id.as_str()],
                )?;
                r.id.clone()
            }
            None => {
                let id = Id::at(now, env.random).to_text();
                tx.execute(
                    "INSERT INTO event_registrations (id, event_id, member_id, status, seats, dietary_restrictions, \
                     queue_no, hold_expires_at, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    &params![
                        id.as_str(),
                        event_id,
                        member_id,
                        status,
                        seats,
                        dietary.as_deref(),
                        queue_no,
                        hold.as_deref(),
                        ts(now),
                        ts(now)
                    ],
                )?;
                id
            }
        };
        if queue_no.is_some() {
            tx.execute(
                "UPDATE events SET next_queue_no = next_queue_no + 1 WHERE id = ?",
                &params![event_id],
            )?;
        } else {
            tx.execute(
                "UPDATE events SET seats_taken = seats_taken + ? WHERE id = ?",
                &params![seats, event_id],
            )?;
        }
        let r = reg_of(tx, event_id, member_id)?
            .ok_or_else(|| StoreError::Other(format!("registration {id} vanished")))?;
        Ok(view(tx, key, &ev, &r)?)
    })
}

/// The result of cancelling one's registration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CancelledRegistration {
    /// The registration.
    pub registration_id: String,
    /// Always `cancelled`.
    pub status: &'static str,
    /// Seats freed.
    pub released_seats: i64,
    /// Waitlisted registrations promoted into the freed seats.
    pub promoted: i64,
    /// What the club owes back for a paid seat (refunded through the
    /// provider, outside Krug).
    pub refund_due: i64,
}

/// `DELETE /events/{id}/register`: cancels the caller's registration and,
/// in the same transaction, promotes the first waitlisted registrations
/// that fit into the freed seats.
pub fn cancel(
    env: &EventEnv<'_>,
    member_id: &str,
    event_id: &str,
) -> Result<CancelledRegistration, EventError> {
    let now = env.clock.now();
    immediate(env.sql, |tx| -> Result<CancelledRegistration, EventError> {
        let ev = load(tx, event_id)?.ok_or(EventError::NotFound)?;
        let r = reg_of(tx, event_id, member_id)?.ok_or(EventError::NotRegistered)?;
        match r.status.as_str() {
            "attended" => return Err(EventError::AlreadyCheckedIn),
            s if !is_active(s) => return Err(EventError::NotRegistered),
            _ => {}
        }
        if let Some(e) = closed_reason(&ev, now) {
            return Err(e);
        }
        let released = if super::manage::holds_seat(&r.status) {
            r.seats
        } else {
            0
        };
        let owed = (r.paid_amount - r.refunded_amount).max(0);
        let refund_due = if r.status == "confirmed" && owed > 0 {
            owed
        } else {
            r.refund_due
        };
        tx.execute(
            "UPDATE event_registrations SET status = 'cancelled', queue_no = NULL, hold_expires_at = NULL, \
             refund_due = ?, updated_at = ? WHERE id = ?",
            &params![refund_due, ts(now), r.id.as_str()],
        )?;
        if released > 0 {
            tx.execute(
                "UPDATE events SET seats_taken = seats_taken - ? WHERE id = ?",
                &params![released, event_id],
            )?;
        }
        let promoted = promote(env, tx, event_id)?;
        Ok(CancelledRegistration {
            registration_id: r.id,
            status: "cancelled",
            released_seats: released,
            promoted,
            refund_due,
        })
    })
}

/// Promotes the first waitlisted registrations of `event_id` that fit into
/// its free seats, in queue order, stopping at the first that does not fit
/// (strict FIFO). Paid events' promoted seats are held for payment. Runs in
/// the caller's transaction; returns how many were promoted.
pub(crate) fn promote(env: &EventEnv<'_>, tx: &dyn Sql, event_id: &str) -> Result<i64, StoreError> {
    let Some(ev) = load(tx, event_id)? else {
        return Ok(0);
    };
    if ev.status != "scheduled" {
        return Ok(0);
    }
    let free = ev.capacity - ev.seats_taken;
    if free <= 0 {
        return Ok(0);
    }
    // More than `free` registrations can never be promoted.
    let queue = tx.execute(
        "SELECT id, seats FROM event_registrations WHERE event_id = ? AND status = 'waitlist' \
         ORDER BY queue_no LIMIT ?",
        &params![event_id, free],
    )?;
    let seats: Vec<i64> = queue
        .iter()
        .map(|r| r.i64("seats"))
        .collect::<Result<_, _>>()?;
    let n = promotions(free, &seats);
    let now = env.clock.now();
    let (status, hold) = if ev.format == "paid" {
        (
            "pending_payment",
            Some(ts(now + Duration::minutes(HOLD_MINUTES))),
        )
    } else {
        ("confirmed", None)
    };
    let mut taken = 0;
    for r in queue.iter().take(n) {
        tx.execute(
            "UPDATE event_registrations SET status = ?, queue_no = NULL, hold_expires_at = ?, updated_at = ? WHERE id = ?",
            &params![status, hold.as_deref(), ts(now), r.text("id")?],
        )?;
        taken += r.i64("seats")?;
    }
    if taken > 0 {
        tx.execute(
            "UPDATE events SET seats_taken = seats_taken + ? WHERE id = ?",
            &params![taken, event_id],
        )?;
    }
    Ok(i64::try_from(n).unwrap_or(0))
}

/// The `events-expire-holds` job: unpaid holds past their time expire and
/// their seats go to the waitlist, one event per transaction. Safe to run
/// twice at once (each hold expires once, under the write lock).
pub fn expire_holds(env: &EventEnv<'_>) -> Result<u64, StoreError> {
    let now = ts(env.clock.now());
    let events = env.sql.execute(
        "SELECT DISTINCT event_id FROM event_registrations \
         WHERE status = 'pending_payment' AND hold_expires_at <= ? LIMIT 500",
        &params![now.as_str()],
    )?;
    let mut expired = 0;
    for e in events.iter() {
        let event_id = e.text("event_id")?;
        expired += immediate(env.sql, |tx| -> Result<u64, StoreError> {
            let rows = tx.execute(
                "UPDATE event_registrations SET status = 'expired', hold_expires_at = NULL, updated_at = ? \
                 WHERE event_id = ? AND status = 'pending_payment' AND hold_expires_at <= ? RETURNING seats",
                &params![now.as_str(), event_id.as_str(), now.as_str()],
            )?;
            let seats: i64 = rows
                .iter()
                .map(|r| r.i64("seats"))
                .sum::<Result<i64, _>>()?;
            if seats > 0 {
                tx.execute(
                    "UPDATE events SET seats_taken = seats_taken - ? WHERE id = ?",
                    &params![seats, event_id.as_str()],
                )?;
                promote(env, tx, &event_id)?;
            }
            Ok(rows.len() as u64)
        })?;
    }
    Ok(expired)
}

/// The result of a check-in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CheckedIn {
    /// The registration.
    pub registration_id: String,
    /// The event.
    pub event_id: String,
    /// The member.
    pub member_id: String,
    /// Their first name, for the greeting.
    pub first_name: Option<String>,
    /// Seats (2 with a plus-one).
    pub seats: i64,
    /// Always `attended`.
    pub status: &'static str,
    /// When.
    pub checked_in_at: String,
    /// Events the member has attended, this one included.
    pub events_attended: i64,
    /// Badges this check-in awarded (`event_regular` at ten).
    pub badges_awarded: Vec<String>,
}

/// Whether `p` may check tickets in at all (staff of some business, or an
/// admin), checked before a body is read.
pub fn may_check_in_somewhere(p: &Principal) -> bool {
    p.is_admin()
        || matches!(
            p,
            Principal::Member {
                business: Some(_),
                ..
            }
        )
}

/// `POST /events/{id}/check-in {ticket_code}` by staff of the event's
/// business (or an admin): once per ticket.
pub fn check_in(
    env: &EventEnv<'_>,
    key: &TicketKey,
    p: &Principal,
    event_id: &str,
    code: &str,
) -> Result<CheckedIn, EventError> {
    let now = env.clock.now();
    immediate(env.sql, |tx| -> Result<CheckedIn, EventError> {
        let ev = load(tx, event_id)?.ok_or(EventError::NotFound)?;
        if !(p.is_admin() || p.business_id() == Some(ev.business_id.as_str())) {
            return Err(EventError::NotEventStaff);
        }
        let (registration_id, ticket_event) =
            ticket::verify(key, code).ok_or(EventError::TicketInvalid)?;
        if ticket_event != ev.id {
            return Err(EventError::TicketOtherEvent);
        }
        let (r, stored_event) =
            reg_by_id(tx, &registration_id)?.ok_or(EventError::TicketInvalid)?;
        if stored_event != ev.id {
            return Err(EventError::TicketOtherEvent);
        }
        match r.status.as_str() {
            "attended" => return Err(EventError::AlreadyCheckedIn),
            "confirmed" => {}
            _ => return Err(EventError::TicketNotConfirmed),
        }
        if ev.status == "cancelled" {
            return Err(EventError::EventCancelled);
        }
        tx.execute(
            "UPDATE event_registrations SET status = 'attended', checked_in_at = ?, updated_at = ? \
             WHERE id = ? AND status = 'confirmed'",
            &params![ts(now), ts(now), r.id.as_str()],
        )?;
        let attended = tx
            .execute(
                "SELECT COUNT(*) AS n FROM event_registrations WHERE member_id = ? AND status = 'attended'",
                &params![r.member_id.as_str()],
            )?
            .first()
            .map_or(Ok(0), |row| row.i64("n"))?;
        let facts = BadgeFacts {
            events_attended: Some(u32::try_from(attended).unwrap_or(u32::MAX)),
            ..BadgeFacts::default()
        };
        let awarded = badges::award(
            tx,
            &r.member_id,
            &badges::earned(&facts),
            "event_attendance",
            Some(&r.id),
            now,
        )?;
        let first_name = tx
            .execute(
                "SELECT first_name FROM members WHERE id = ?",
                &params![r.member_id.as_str()],
            )?
            .first()
            .map(|row| row.opt_text("first_name"))
            .transpose()?
            .flatten();
        Ok(CheckedIn {
            registration_id: r.id,
            event_id: ev.id,
            member_id: r.member_id,
            first_name,
            seats: r.seats,
            status: "attended",
            checked_in_at: ts(now),
            events_attended: attended,
            badges_awarded: awarded,
        })
    })
}

/// Settles event seats paid through the provider (`order_ref` =
/// `event:<registration_id>`), in the webhook's transaction, after the
/// purchase pipeline has recorded the payment (points, budget share).
///
/// - A held seat (`pending_payment`, even past its hold time if the expiry
///   job has not run yet) is confirmed.
/// - A payment for a lapsed hold (`expired`), a cancelled or a waitlisted
///   registration confirms a seat when one is free and nobody waits ahead
///   (strict FIFO); otherwise the amount is recorded as refund due.
/// - A second payment for a confirmed seat, a payment below the price, or
///   a payment for a cancelled or started event is recorded as refund due.
///
/// Refunds due are paid back through the provider outside Krug; its
/// `refund.succeeded` webhook then lowers them ([`OrderSettler::refunded`]).
#[derive(Debug, Clone, Copy, Default)]
pub struct EventOrders;

impl EventOrders {
    fn settle(tx: &dyn Sql, o: &PaidOrder<'_>) -> Result<Value, StoreError> {
        let Some((r, event_id)) = reg_by_id(tx, o.id)? else {
            return Ok(json!({ "registration": o.id, "outcome": "unknown_registration" }));
        };
        let Some(ev) = load(tx, &event_id)? else {
            return Ok(json!({ "registration": o.id, "outcome": "unknown_registration" }));
        };
        let now = ts(o.now);
        tx.execute(
            "UPDATE event_registrations SET paid_amount = paid_amount + ?, payment_id = ?, updated_at = ? WHERE id = ?",
            &params![o.amount, o.payment_id, now.as_str(), r.id.as_str()],
        )?;
        let owe = |outcome: &str| -> Result<Value, StoreError> {
            tx.execute(
                "UPDATE event_registrations SET refund_due = refund_due + ? WHERE id = ?",
                &params![o.amount, r.id.as_str()],
            )?;
            Ok(json!({ "registration": r.id, "outcome": outcome, "refund_due": o.amount }))
        };
        if o.amount < ev.price * r.seats {
            return owe("underpaid");
        }
        let open = closed_reason(&ev, o.now).is_none();
        match r.status.as_str() {
            "pending_payment" if open => {
                tx.execute(
                    "UPDATE event_registrations SET status = 'confirmed', hold_expires_at = NULL WHERE id = ?",
                    &params![r.id.as_str()],
                )?;
                Ok(json!({ "registration": r.id, "outcome": "confirmed" }))
            }
            "expired" | "cancelled" | "waitlist" | "invited" if open => {
                let free = ev.capacity - ev.seats_taken;
                let ahead = if r.status == "waitlist" {
                    let q = r.queue_no.unwrap_or(i64::MAX);
                    position(tx, &ev.id, q)? > 1
                } else {
                    anyone_waiting(tx, &ev.id)?
                };
                if free >= r.seats && !ahead {
                    tx.execute(
                        "UPDATE event_registrations SET status = 'confirmed', queue_no = NULL, hold_expires_at = NULL \
                         WHERE id = ?",
                        &params![r.id.as_str()],
                    )?;
                    tx.execute(
                        "UPDATE events SET seats_taken = seats_taken + ? WHERE id = ?",
                        &params![r.seats, ev.id.as_str()],
                    )?;
                    Ok(json!({ "registration": r.id, "outcome": "confirmed_late" }))
                } else {
                    owe("no_seat")
                }
            }
            "confirmed" | "attended" => owe("already_paid"),
            _ => owe("event_closed"),
        }
    }
}

impl OrderSettler for EventOrders {
    fn prefix(&self) -> &'static str {
        "event"
    }

    fn paid(&self, tx: &dyn Sql, order: &PaidOrder<'_>) -> Result<Value, StoreError> {
        Self::settle(tx, order)
    }

    fn refunded(&self, tx: &dyn Sql, o: &RefundedOrder<'_>) -> Result<Value, StoreError> {
        let Some((r, event_id)) = reg_by_id(tx, o.id)? else {
            return Ok(json!({ "registration": o.id, "outcome": "unknown_registration" }));
        };
        let now = ts(o.now);
        tx.execute(
            "UPDATE event_registrations SET refunded_amount = refunded_amount + ?, \
             refund_due = CASE WHEN refund_due > ? THEN refund_due - ? ELSE 0 END, updated_at = ? WHERE id = ?",
            &params![o.amount, o.amount, o.amount, now.as_str(), r.id.as_str()],
        )?;
        // A full refund nobody asked Krug for (a chargeback, a refund from
        // the provider's dashboard) ends the seat it paid for.
        if o.full
            && r.refund_due == 0
            && matches!(r.status.as_str(), "confirmed" | "pending_payment")
        {
            tx.execute(
                "UPDATE event_registrations SET status = 'cancelled', hold_expires_at = NULL WHERE id = ?",
                &params![r.id.as_str()],
            )?;
            tx.execute(
                "UPDATE events SET seats_taken = seats_taken - ? WHERE id = ?",
                &params![r.seats, event_id.as_str()],
            )?;
            promote_plain(tx, &event_id, o.now)?;
            return Ok(json!({ "registration": r.id, "outcome": "seat_released" }));
        }
        Ok(json!({ "registration": r.id, "outcome": "refund_recorded" }))
    }
}

// Promotion from the webhook, which has no EventEnv (no ids are minted).
fn promote_plain(tx: &dyn Sql, event_id: &str, now: DateTime<Utc>) -> Result<i64, StoreError> {
    struct Fixed(DateTime<Utc>);
    impl crate::ports::Clock for Fixed {
        fn now(&self) -> DateTime<Utc> {
            self.0
        }
    }
    struct NoRandom;
    impl crate::ports::Random for NoRandom {
        fn fill(&self, buf: &mut [u8]) {
            buf.fill(0);
        }
    }
    let settings = super::EventSettings::default();
    let env = EventEnv {
        sql: tx,
        clock: &Fixed(now),
        random: &NoRandom,
        settings: &settings,
        request_id: None,
    };
    promote(&env, tx, event_id)
}

/// The hold time of a registration, when it has one (for tests and reads).
pub fn hold_of(sql: &dyn Sql, registration_id: &str) -> Result<Option<String>, StoreError> {
    Ok(reg_by_id(sql, registration_id)?.and_then(|(r, _)| r.hold_expires_at))
}
