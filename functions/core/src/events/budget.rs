//! The events budget, open to every member: 2 % of every paid purchase
//! (recorded by the purchase pipeline in `events_budget_entries`, with
//! negative entries when a purchase is refunded), allocations to events
//! by admins, and the member's own share.
//!
//! Months are UTC calendar months. Money left unallocated carries over:
//! `available` for a month is everything contributed up to its end minus
//! everything allocated up to its end, so for the current month it is
//! what an allocation may take now. Allocations are checked against it in
//! a `BEGIN IMMEDIATE` transaction, so racing allocations never overdraw
//! it; only a refund of an already allocated contribution can take it
//! below zero, and then nothing more is allocated until it recovers.

use chrono::{DateTime, Datelike, NaiveDate, TimeZone, Utc};
use serde::Serialize;
use serde_json::json;

use super::manage::load;
use super::{EventEnv, EventError};
use crate::audit::{self, AuditEntry};
use crate::db::{immediate, ts};
use crate::error::InvalidValue;
use crate::params;
use crate::ports::{Sql, StoreError};
use crate::types::Id;

/// The split the club publishes for the budget, percent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Split {
    /// Open events.
    pub open: i64,
    /// VIP events.
    pub vip: i64,
    /// Elite club.
    pub elite: i64,
    /// Reserve and special projects.
    pub reserve: i64,
}

/// The published split: 30 / 40 / 20 / 10.
pub const SPLIT: Split = Split {
    open: 30,
    vip: 40,
    elite: 20,
    reserve: 10,
};

/// An allocation in a month.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Allocated {
    /// The event.
    pub event_id: String,
    /// Its title.
    pub title: String,
    /// Allocated in the month, kopecks.
    pub amount: i64,
}

/// `GET /events/budget?month=`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BudgetView {
    /// `YYYY-MM`.
    pub month: String,
    /// Contributions in the month (net of refunds), kopecks.
    pub contributed: i64,
    /// The caller's part of them.
    pub my_contribution: i64,
    /// The caller's paid purchases in the month, net of refunds.
    pub my_purchases: i64,
    /// Allocations made in the month, per event.
    pub allocated: Vec<Allocated>,
    /// Contributed minus allocated up to the month's end (carried over).
    pub available: i64,
    /// How the club splits the budget, percent.
    pub split: Split,
}

/// The start of `month` (`YYYY-MM`) and of the month after.
pub fn month_bounds(month: &str) -> Result<(DateTime<Utc>, DateTime<Utc>), InvalidValue> {
    let bad = || InvalidValue::new("INVALID_MONTH", "month", "month is YYYY-MM");
    let m = month.trim();
    if m.len() != 7 {
        return Err(bad());
    }
    let start = NaiveDate::parse_from_str(&format!("{m}-01"), "%Y-%m-%d").map_err(|_| bad())?;
    let next = if start.month() == 12 {
        NaiveDate::from_ymd_opt(start.year() + 1, 1, 1)
    } else {
        NaiveDate::from_ymd_opt(start.year(), start.month() + 1, 1)
    }
    .ok_or_else(bad)?;
    let at = |d: NaiveDate| Utc.from_utc_datetime(&d.and_hms_opt(0, 0, 0).unwrap_or_default());
    Ok((at(start), at(next)))
}

fn sum(sql: &dyn Sql, q: &str, args: &[crate::ports::SqlValue]) -> Result<i64, StoreError> {
    sql.execute(q, args)?.first().map_or(Ok(0), |r| r.i64("s"))
}

fn available_before(sql: &dyn Sql, end: Option<&str>) -> Result<i64, StoreError> {
    let end = end.unwrap_or("9999");
    let c = sum(
        sql,
        "SELECT COALESCE(SUM(amount), 0) AS s FROM events_budget_entries WHERE created_at < ?",
        &params![end],
    )?;
    let a = sum(
        sql,
        "SELECT COALESCE(SUM(amount), 0) AS s FROM event_budget_allocations WHERE created_at < ?",
        &params![end],
    )?;
    Ok(c - a)
}

/// The budget of `month` (default: the current one) for `member_id`.
pub fn view(
    sql: &dyn Sql,
    now: DateTime<Utc>,
    member_id: &str,
    month: Option<&str>,
) -> Result<BudgetView, EventError> {
    let month = month
        .map(str::to_string)
        .unwrap_or_else(|| now.format("%Y-%m").to_string());
    let (start, end) = month_bounds(&month)?;
    let (s, e) = (ts(start), ts(end));
    let contributed = sum(
        sql,
        "SELECT COALESCE(SUM(amount), 0) AS s FROM events_budget_entries WHERE created_at >= ? AND created_at < ?",
        &params![s.as_str(), e.as_str()],
    )?;
    let my_contribution = sum(
        sql,
        "SELECT COALESCE(SUM(b.amount), 0) AS s FROM purchases p JOIN events_budget_entries b ON b.purchase_id = p.id \
         WHERE p.member_id = ? AND b.created_at >= ? AND b.created_at < ?",
        &params![member_id, s.as_str(), e.as_str()],
    )?;
    let my_purchases = sum(
        sql,
        "SELECT COALESCE(SUM(amount - refunded_amount), 0) AS s FROM purchases \
         WHERE member_id = ? AND paid_at >= ? AND paid_at < ?",
        &params![member_id, s.as_str(), e.as_str()],
    )?;
    let allocated = sql
        .execute(
            "SELECT a.event_id, e.title, SUM(a.amount) AS s FROM event_budget_allocations a \
             JOIN events e ON e.id = a.event_id WHERE a.created_at >= ? AND a.created_at < ? \
             GROUP BY a.event_id, e.title ORDER BY MIN(a.created_at), a.event_id",
            &params![s.as_str(), e.as_str()],
        )?
        .iter()
        .map(|r| {
            Ok(Allocated {
                event_id: r.text("event_id")?,
                title: r.text("title")?,
                amount: r.i64("s")?,
            })
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    Ok(BudgetView {
        month,
        contributed,
        my_contribution,
        my_purchases,
        allocated,
        available: available_before(sql, Some(&e))?,
        split: SPLIT,
    })
}

/// The result of an allocation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Allocation {
    /// Allocation id.
    pub allocation_id: String,
    /// The event.
    pub event_id: String,
    /// This allocation, kopecks.
    pub amount: i64,
    /// Everything allocated to the event.
    pub event_total: i64,
    /// What the budget has left now.
    pub available: i64,
}

/// `POST /admin/events/{id}/budget {amount}`: never beyond what is
/// available (409 `BUDGET_EXCEEDED`).
pub fn allocate(
    env: &EventEnv<'_>,
    admin_id: &str,
    event_id: &str,
    amount: i64,
) -> Result<Allocation, EventError> {
    if !(1..=super::MAX_PRICE * 100).contains(&amount) {
        return Err(InvalidValue::new(
            "INVALID_AMOUNT",
            "amount",
            "amount is a positive number of kopecks",
        )
        .into());
    }
    let now = env.clock.now();
    immediate(env.sql, |tx| -> Result<Allocation, EventError> {
        let ev = load(tx, event_id)?.ok_or(EventError::NotFound)?;
        if ev.status == "cancelled" {
            return Err(EventError::EventCancelled);
        }
        let available = available_before(tx, None)?;
        if amount > available {
            return Err(EventError::BudgetExceeded {
                available: available.max(0),
            });
        }
        let id = Id::at(now, env.random).to_text();
        tx.execute(
            "INSERT INTO event_budget_allocations (id, event_id, amount, allocated_by, created_at) VALUES (?, ?, ?, ?, ?)",
            &params![id.as_str(), event_id, amount, admin_id, ts(now)],
        )?;
        let total = sum(
            tx,
            "SELECT COALESCE(SUM(amount), 0) AS s FROM event_budget_allocations WHERE event_id = ?",
            &params![event_id],
        )?;
        audit::record(
            tx,
            env.clock,
            env.random,
            &AuditEntry {
                actor_id: Some(admin_id),
                actor_role: "admin",
                action: "events_budget.allocated",
                subject_type: "event",
                subject_id: event_id,
                details: json!({ "amount": amount, "allocation_id": id }),
                request_id: env.request_id,
            },
        )?;
        Ok(Allocation {
            allocation_id: id,
            event_id: event_id.to_string(),
            amount,
            event_total: total,
            available: available - amount,
        })
    })
}
