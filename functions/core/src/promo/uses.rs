//! Promo uses and the counters behind their limits.
//!
//! A reservation holds one use per promo it applied (`promo_uses`); the use
//! is committed with the purchase, or released when the reservation is
//! released, canceled, expires or its purchase is fully refunded. Alongside,
//! `promo_counters` keeps per promo the number of uses that are held or
//! committed and the discount they gave. The contract, which every function
//! here keeps inside the caller's transaction: **a promo's counter equals
//! the count and discount sum of its uses whose status is `held` or
//! `committed`** — holds past their expiry included, until the expiry job
//! releases them. Readers subtract those expired holds themselves, so a
//! limit is exact the moment a hold expires.
//!
//! What this buys: a reservation reads a promo's totals from one row (and
//! the few expired holds the job has not reached) instead of counting every
//! use the promo ever had while it holds the write lock.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};

use super::model::Usage;
use crate::db::{self, ts};
use crate::params;
use crate::ports::{Sql, SqlValue, StoreError};
use crate::types::Id;

/// The UTC date of `now` (`YYYY-MM-DD`), the "day" of per-day limits.
pub fn day(now: DateTime<Utc>) -> String {
    now.format("%Y-%m-%d").to_string()
}

/// Usage (committed + live holds) of `promo_ids`: overall, and by
/// `member_id` when given (today = the UTC date of `now`). Promos without
/// any use are absent from the answer. One statement.
pub fn usage(
    sql: &dyn Sql,
    promo_ids: &[&str],
    member_id: Option<&str>,
    now: DateTime<Utc>,
) -> Result<HashMap<String, Usage>, StoreError> {
    let mut out = HashMap::new();
    if promo_ids.is_empty() {
        return Ok(out);
    }
    let marks = db::marks(promo_ids.len(), 1);
    let ids = || promo_ids.iter().map(|p| SqlValue::Text((*p).to_string()));
    let mut args = params![ts(now)];
    args.extend(ids());
    let (member_cols, member_join) = match member_id {
        Some(m) => {
            args.extend(params![day(now), m, ts(now)]);
            args.extend(ids());
            (
                "COALESCE(m.member, 0) AS member, COALESCE(m.today, 0) AS today",
                format!(
                    "LEFT JOIN (SELECT promo_id, COUNT(*) AS member, \
                            SUM(CASE WHEN day = ? THEN 1 ELSE 0 END) AS today FROM promo_uses \
                     WHERE member_id = ? AND (status = 'committed' OR (status = 'held' AND expires_at > ?)) \
                     AND promo_id IN ({marks}) GROUP BY promo_id) m ON m.promo_id = c.promo_id"
                ),
            )
        }
        None => ("0 AS member, 0 AS today", String::new()),
    };
    args.extend(ids());
    let rows = sql.execute(
        &format!(
            "SELECT c.promo_id, c.uses - COALESCE(x.n, 0) AS total, c.spent - COALESCE(x.d, 0) AS spent, \
                    {member_cols} \
             FROM promo_counters c \
             LEFT JOIN (SELECT promo_id, COUNT(*) AS n, SUM(discount) AS d FROM promo_uses \
                        WHERE status = 'held' AND expires_at <= ? AND promo_id IN ({marks}) \
                        GROUP BY promo_id) x ON x.promo_id = c.promo_id \
             {member_join} \
             WHERE c.promo_id IN ({marks})"
        ),
        &args,
    )?;
    for r in rows.iter() {
        out.insert(
            r.text("promo_id")?,
            Usage {
                total: r.i64("total")?,
                member: r.i64("member")?,
                member_today: r.i64("today")?,
                budget_spent: r.i64("spent")?,
            },
        );
    }
    Ok(out)
}

/// One use a reservation holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hold<'a> {
    /// The promo.
    pub promo_id: &'a str,
    /// The discount it gave (kopecks).
    pub discount: i64,
}

/// Holds `uses` for `reservation_id` of `member_id` until `expires`: one
/// insert of every use and one update of their counters.
pub fn hold(
    sql: &dyn Sql,
    random: &dyn crate::ports::Random,
    reservation_id: &str,
    member_id: &str,
    uses: &[Hold<'_>],
    now: DateTime<Utc>,
    expires: DateTime<Utc>,
) -> Result<(), StoreError> {
    if uses.is_empty() {
        return Ok(());
    }
    let mut args = Vec::with_capacity(uses.len() * 9);
    for u in uses {
        args.extend(params![
            Id::at(now, random).to_text(),
            u.promo_id,
            reservation_id,
            member_id,
            u.discount,
            "held",
            day(now),
            ts(expires),
            ts(now)
        ]);
    }
    sql.execute(
        &format!(
            "INSERT INTO promo_uses (id, promo_id, reservation_id, member_id, discount, status, day, expires_at, created_at) \
             VALUES {}",
            db::marks(uses.len(), 9)
        ),
        &args,
    )?;
    let mut deltas = BTreeMap::new();
    for u in uses {
        let d = deltas.entry(u.promo_id.to_string()).or_insert((0, 0));
        d.0 += 1;
        d.1 += u.discount;
    }
    count(sql, &deltas)
}

/// Commits the held uses of `reservation_id` (counters do not move: held
/// and committed uses both count).
pub fn commit(sql: &dyn Sql, reservation_id: &str) -> Result<(), StoreError> {
    sql.execute(
        "UPDATE promo_uses SET status = 'committed' WHERE reservation_id = ? AND status = 'held'",
        &params![reservation_id],
    )?;
    Ok(())
}

/// Which uses to release.
#[derive(Debug, Clone, Copy)]
pub enum Freed<'a> {
    /// The held uses of a reservation (released, canceled).
    HeldBy(&'a str),
    /// The committed uses of a reservation (its purchase fully refunded).
    CommittedBy(&'a str),
    /// Every hold that expired at or before the time (the expiry job).
    ExpiredBy(DateTime<Utc>),
}

/// Releases the uses `which` names and takes them off their counters.
/// Answers how many were released.
pub fn release(sql: &dyn Sql, which: Freed<'_>) -> Result<u64, StoreError> {
    let (filter, args) = match which {
        Freed::HeldBy(r) => ("reservation_id = ? AND status = 'held'", params![r]),
        Freed::CommittedBy(r) => ("reservation_id = ? AND status = 'committed'", params![r]),
        Freed::ExpiredBy(t) => ("status = 'held' AND expires_at <= ?", params![ts(t)]),
    };
    let rows = sql.execute(
        &format!(
            "UPDATE promo_uses SET status = 'released' WHERE {filter} RETURNING promo_id, discount"
        ),
        &args,
    )?;
    let mut deltas = BTreeMap::new();
    for r in rows.iter() {
        let d = deltas.entry(r.text("promo_id")?).or_insert((0, 0));
        d.0 -= 1;
        d.1 -= r.i64("discount")?;
    }
    count(sql, &deltas)?;
    Ok(rows.rows.len() as u64)
}

// Adds (uses, discount) deltas to the promos' counters in one upsert.
fn count(sql: &dyn Sql, deltas: &BTreeMap<String, (i64, i64)>) -> Result<(), StoreError> {
    if deltas.is_empty() {
        return Ok(());
    }
    let mut args = Vec::with_capacity(deltas.len() * 3);
    for (promo, (uses, spent)) in deltas {
        args.extend(params![promo.as_str(), *uses, *spent]);
    }
    sql.execute(
        &format!(
            "INSERT INTO promo_counters (promo_id, uses, spent) VALUES {} \
             ON CONFLICT (promo_id) DO UPDATE SET uses = promo_counters.uses + excluded.uses, \
             spent = promo_counters.spent + excluded.spent",
            db::marks(deltas.len(), 3)
        ),
        &args,
    )?;
    Ok(())
}
