//! The rollups every report reads: `analytics_daily` (per business and UTC
//! day) and `analytics_customers` (per business and member).
//!
//! Contract: [`on_purchase`], [`on_refund`] and [`on_commission`] run inside
//! the purchase pipeline's `BEGIN IMMEDIATE` transaction, right after the
//! row they describe was written, so a rollup never disagrees with the
//! purchases it sums. [`rebuild`] recomputes both tables from `purchases` and
//! `commissions` alone; after any sequence of purchases, refunds and
//! commissions the two give identical rows (the property test in
//! `tests/analytics.rs` checks it).
//!
//! Definitions: a purchase counts as a transaction and in a customer's
//! facts while it is not fully refunded; revenue is always net of refunds
//! and booked on the purchase's day; commission is booked on the day it was
//! recorded (a refund's negative share on the refund's day).

use crate::params;
use crate::ports::{Sql, StoreError};

/// The UTC day (`YYYY-MM-DD`) of a stored instant.
fn day_of(at: &str) -> &str {
    at.get(..10).unwrap_or(at)
}

/// A purchase just inserted, as the rollups see it.
#[derive(Debug, Clone, Copy)]
pub struct Sale<'a> {
    /// Where.
    pub business_id: &'a str,
    /// Who.
    pub member_id: &'a str,
    /// Its channel (`purchases.source`).
    pub source: &'a str,
    /// When (stored form).
    pub paid_at: &'a str,
    /// Kopecks.
    pub amount: i64,
    /// Ecosystem-engaged (a partner's cross-promo coupon brought it).
    pub ecosystem: bool,
}

/// Adds a purchase just inserted.
pub fn on_purchase(tx: &dyn Sql, s: &Sale<'_>) -> Result<(), StoreError> {
    let (business_id, member_id, paid_at, amount) =
        (s.business_id, s.member_id, s.paid_at, s.amount);
    let eco = if s.ecosystem { amount } else { 0 };
    tx.execute(
        "INSERT INTO analytics_daily (business_id, day, source, purchases, revenue, transactions, ecosystem_revenue, commission) \
         VALUES (?, ?, ?, 1, ?, 1, ?, 0) \
         ON CONFLICT (business_id, day, source) DO UPDATE SET purchases = analytics_daily.purchases + 1, \
         revenue = analytics_daily.revenue + excluded.revenue, \
         transactions = analytics_daily.transactions + 1, \
         ecosystem_revenue = analytics_daily.ecosystem_revenue + excluded.ecosystem_revenue",
        &params![business_id, day_of(paid_at), s.source, amount, eco],
    )?;
    tx.execute(
        "INSERT INTO analytics_customers (business_id, member_id, first_at, last_at, purchases, revenue) \
         VALUES (?, ?, ?, ?, 1, ?) \
         ON CONFLICT (business_id, member_id) DO UPDATE SET \
         first_at = CASE WHEN excluded.first_at < analytics_customers.first_at THEN excluded.first_at ELSE analytics_customers.first_at END, \
         last_at = CASE WHEN excluded.last_at > analytics_customers.last_at THEN excluded.last_at ELSE analytics_customers.last_at END, \
         purchases = analytics_customers.purchases + 1, \
         revenue = analytics_customers.revenue + excluded.revenue",
        &params![business_id, member_id, paid_at, paid_at, amount],
    )?;
    Ok(())
}

/// Subtracts a refund of `amount` just applied to `purchase_id` (whose
/// `refunded_amount` already includes it).
pub fn on_refund(tx: &dyn Sql, purchase_id: &str, amount: i64) -> Result<(), StoreError> {
    let rows = tx.execute(
        "SELECT business_id, member_id, source, paid_at, ecosystem_engaged, amount - refunded_amount AS left_amount \
         FROM purchases WHERE id = ?",
        &params![purchase_id],
    )?;
    let Some(p) = rows.first() else {
        return Ok(());
    };
    let (business_id, member_id) = (p.text("business_id")?, p.text("member_id")?);
    let paid_at = p.text("paid_at")?;
    let fully = p.i64("left_amount")? == 0;
    let eco = if p.i64("ecosystem_engaged")? == 1 {
        amount
    } else {
        0
    };
    tx.execute(
        "UPDATE analytics_daily SET revenue = revenue - ?, transactions = transactions - ?, \
         ecosystem_revenue = ecosystem_revenue - ? WHERE business_id = ? AND day = ? AND source = ?",
        &params![
            amount,
            i64::from(fully),
            eco,
            business_id.as_str(),
            day_of(&paid_at),
            p.text("source")?
        ],
    )?;
    // The customer's facts are few purchases: recount them rather than
    // reason about whether the refunded one was the first or the last.
    let facts = tx.execute(
        "SELECT MIN(paid_at) AS first_at, MAX(paid_at) AS last_at, COUNT(*) AS n, \
         SUM(amount - refunded_amount) AS revenue FROM purchases \
         WHERE member_id = ? AND business_id = ? AND amount > refunded_amount",
        &params![member_id.as_str(), business_id.as_str()],
    )?;
    let f = facts.first();
    match f.map(|f| f.i64("n")).transpose()? {
        Some(n) if n > 0 => {
            let f = f.expect("a row with n > 0");
            tx.execute(
                "UPDATE analytics_customers SET first_at = ?, last_at = ?, purchases = ?, revenue = ? \
                 WHERE business_id = ? AND member_id = ?",
                &params![
                    f.text("first_at")?,
                    f.text("last_at")?,
                    n,
                    f.i64("revenue")?,
                    business_id.as_str(),
                    member_id.as_str()
                ],
            )?;
        }
        _ => {
            tx.execute(
                "DELETE FROM analytics_customers WHERE business_id = ? AND member_id = ?",
                &params![business_id.as_str(), member_id.as_str()],
            )?;
        }
    }
    Ok(())
}

/// Books a commission record just inserted for `purchase_id` (negative
/// for a refund's share) on `created_at`'s day.
pub fn on_commission(
    tx: &dyn Sql,
    business_id: &str,
    purchase_id: &str,
    created_at: &str,
    amount: i64,
) -> Result<(), StoreError> {
    tx.execute(
        "INSERT INTO analytics_daily (business_id, day, source, purchases, revenue, transactions, ecosystem_revenue, commission) \
         SELECT ?, ?, source, 0, 0, 0, 0, ? FROM purchases WHERE id = ? \
         ON CONFLICT (business_id, day, source) DO UPDATE SET commission = analytics_daily.commission + excluded.commission",
        &params![business_id, day_of(created_at), amount, purchase_id],
    )?;
    Ok(())
}

/// Rows written by [`rebuild`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rebuilt {
    /// `analytics_daily` rows.
    pub days: u64,
    /// `analytics_customers` rows.
    pub customers: u64,
}

/// Recomputes both rollups from `purchases` and `commissions`. Run it in
/// a `BEGIN IMMEDIATE` transaction so no purchase lands half-counted.
pub fn rebuild(tx: &dyn Sql) -> Result<Rebuilt, StoreError> {
    tx.execute("DELETE FROM analytics_daily", &[])?;
    tx.execute("DELETE FROM analytics_customers", &[])?;
    tx.execute(
        "INSERT INTO analytics_daily (business_id, day, source, purchases, revenue, transactions, ecosystem_revenue, commission) \
         SELECT business_id, substr(paid_at, 1, 10), source, COUNT(*), SUM(amount - refunded_amount), \
         SUM(CASE WHEN amount > refunded_amount THEN 1 ELSE 0 END), \
         SUM(CASE WHEN ecosystem_engaged = 1 THEN amount - refunded_amount ELSE 0 END), 0 \
         FROM purchases GROUP BY business_id, substr(paid_at, 1, 10), source",
        &[],
    )?;
    tx.execute(
        "INSERT INTO analytics_daily (business_id, day, source, purchases, revenue, transactions, ecosystem_revenue, commission) \
         SELECT c.business_id, substr(c.created_at, 1, 10), p.source, 0, 0, 0, 0, SUM(c.amount) \
         FROM commissions c JOIN purchases p ON p.id = c.purchase_id WHERE 1 = 1 \
         GROUP BY c.business_id, substr(c.created_at, 1, 10), p.source \
         ON CONFLICT (business_id, day, source) DO UPDATE SET commission = excluded.commission",
        &[],
    )?;
    tx.execute(
        "INSERT INTO analytics_customers (business_id, member_id, first_at, last_at, purchases, revenue) \
         SELECT business_id, member_id, MIN(paid_at), MAX(paid_at), COUNT(*), SUM(amount - refunded_amount) \
         FROM purchases WHERE amount > refunded_amount GROUP BY business_id, member_id",
        &[],
    )?;
    let count = |table: &str| -> Result<u64, StoreError> {
        let rows = tx.execute(&format!("SELECT COUNT(*) AS n FROM {table}"), &[])?;
        Ok(rows
            .first()
            .map(|r| r.i64("n"))
            .transpose()?
            .unwrap_or(0)
            .unsigned_abs())
    };
    Ok(Rebuilt {
        days: count("analytics_daily")?,
        customers: count("analytics_customers")?,
    })
}
