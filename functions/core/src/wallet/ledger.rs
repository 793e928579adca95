//! The points ledger: append-only entries, the lots credits create, and the
//! member's balance row, always changed together.
//!
//! Every function here expects to run inside a `BEGIN IMMEDIATE` transaction
//! (`db::immediate`) opened by its caller, so a credit, a debit and the
//! balance row move atomically and concurrent writers are serialised. The
//! balance row obeys, after every call:
//!
//! - `available` = Σ remaining of available lots, `pending` = Σ remaining of
//!   pending lots, `debt` ≥ 0;
//! - Σ entry amounts = `available + pending − debt`;
//! - each lot: `amount = remaining + settled_debt + Σ allocations`.
//!
//! [`super::invariants`] checks exactly these.

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;

use crate::db::{ts, Row};
use crate::params;
use crate::ports::{Random, Rows, Sql, StoreError};
use crate::types::Id;

/// The kind of a ledger entry (the API's `kind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EntryKind {
    /// Cashback for a purchase (a pending lot).
    Earn,
    /// Points redeemed at a POS.
    Spend,
    /// What was left of a lot when it expired.
    Expire,
    /// Points taken back for a refund.
    Clawback,
    /// A reward (referral, review) from another capability.
    Reward,
    /// Goodwill points from a business.
    Compensation,
    /// An admin's correction, either sign.
    Adjust,
}

impl EntryKind {
    /// Storage and wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            EntryKind::Earn => "earn",
            EntryKind::Spend => "spend",
            EntryKind::Expire => "expire",
            EntryKind::Clawback => "clawback",
            EntryKind::Reward => "reward",
            EntryKind::Compensation => "compensation",
            EntryKind::Adjust => "adjust",
        }
    }
}

/// What caused an entry; `cause_id` names the row of that cause.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CauseType {
    /// A row in `purchases`.
    Purchase,
    /// A row in `refunds`.
    Refund,
    /// A row in `redemptions`.
    Redemption,
    /// A row in `compensations`.
    Compensation,
    /// A scheduled job; `cause_id` is the lot it acted on.
    Job,
    /// An admin; `cause_id` is the admin's id, `reason` says why.
    Admin,
    /// Another capability's reward; `cause_id` is its row.
    Reward,
}

impl CauseType {
    /// Storage name.
    pub fn as_str(self) -> &'static str {
        match self {
            CauseType::Purchase => "purchase",
            CauseType::Refund => "refund",
            CauseType::Redemption => "redemption",
            CauseType::Compensation => "compensation",
            CauseType::Job => "job",
            CauseType::Admin => "admin",
            CauseType::Reward => "reward",
        }
    }
}

/// Who did it: `member`, `staff`, `api_key`, `admin` or `system`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    /// Role name.
    pub role: &'static str,
    /// Member, staff or API-key id; `None` for the system.
    pub id: Option<String>,
}

impl Actor {
    /// Scheduled jobs and other unattended work.
    pub fn system() -> Self {
        Self {
            role: "system",
            id: None,
        }
    }
}

/// Who, why and for what an entry is written.
#[derive(Debug, Clone, Copy)]
pub struct Posting<'a> {
    /// The member whose points move.
    pub member_id: &'a str,
    /// The business involved, if any.
    pub business_id: Option<&'a str>,
    /// Cause kind.
    pub cause_type: CauseType,
    /// Cause row id.
    pub cause_id: &'a str,
    /// Who acted.
    pub actor: &'a Actor,
    /// Why (compensations, adjustments).
    pub reason: Option<&'a str>,
    /// Shown to the member in the ledger.
    pub description: Option<&'a str>,
}

/// A member's balance row.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Balance {
    /// Spendable now.
    pub available: i64,
    /// Earned, still on hold.
    pub pending: i64,
    /// Clawbacks not yet covered; repaid from later credits.
    pub debt: i64,
}

/// Why a debit was refused.
#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    /// Not enough available points.
    #[error("not enough points: {available} available")]
    Insufficient {
        /// Available now.
        available: i64,
    },
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The balance row of `member_id` (zeros when it has none yet).
pub fn balance(sql: &dyn Sql, member_id: &str) -> Result<Balance, StoreError> {
    let rows = sql.execute(
        "SELECT available, pending, debt FROM member_balances WHERE member_id = ?",
        &params![member_id],
    )?;
    rows.first().map_or(Ok(Balance::default()), |r| {
        Ok(Balance {
            available: r.i64("available")?,
            pending: r.i64("pending")?,
            debt: r.i64("debt")?,
        })
    })
}

fn ensure_balance_row(tx: &dyn Sql, member_id: &str, now: DateTime<Utc>) -> Result<(), StoreError> {
    tx.execute(
        "INSERT INTO member_balances (member_id, updated_at) VALUES (?, ?) \
         ON CONFLICT (member_id) DO NOTHING",
        &params![member_id, ts(now)],
    )?;
    Ok(())
}

// The balance row of `member_id`, created (zeros) when it has none: one
// statement instead of an insert and a read. The no-op update is what makes
// the upsert return a row that already existed.
fn open_balance(tx: &dyn Sql, member_id: &str, now: DateTime<Utc>) -> Result<Balance, StoreError> {
    let rows = tx.execute(
        "INSERT INTO member_balances (member_id, updated_at) VALUES (?, ?) \
         ON CONFLICT (member_id) DO UPDATE SET updated_at = member_balances.updated_at \
         RETURNING available, pending, debt",
        &params![member_id, ts(now)],
    )?;
    let r = rows
        .first()
        .ok_or_else(|| StoreError::Other(format!("no balance row for member {member_id}")))?;
    Ok(Balance {
        available: r.i64("available")?,
        pending: r.i64("pending")?,
        debt: r.i64("debt")?,
    })
}

fn shift_balance(
    tx: &dyn Sql,
    member_id: &str,
    now: DateTime<Utc>,
    d_available: i64,
    d_pending: i64,
    d_debt: i64,
) -> Result<(), StoreError> {
    tx.execute(
        "UPDATE member_balances SET available = available + ?, pending = pending + ?, \
         debt = debt + ?, updated_at = ? WHERE member_id = ?",
        &params![d_available, d_pending, d_debt, ts(now), member_id],
    )?;
    if tx.changes()? != 1 {
        return Err(StoreError::Other(format!(
            "no balance row for member {member_id}"
        )));
    }
    Ok(())
}

fn insert_entry(
    tx: &dyn Sql,
    now: DateTime<Utc>,
    random: &dyn Random,
    p: &Posting<'_>,
    kind: EntryKind,
    amount: i64,
    lot_id: Option<&str>,
) -> Result<String, StoreError> {
    let id = Id::at(now, random).to_text();
    tx.execute(
        "INSERT INTO ledger_entries (id, member_id, kind, amount, business_id, lot_id, cause_type, \
         cause_id, actor_role, actor_id, reason, description, created_at) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        &params![
            id.as_str(),
            p.member_id,
            kind.as_str(),
            amount,
            p.business_id,
            lot_id,
            p.cause_type.as_str(),
            p.cause_id,
            p.actor.role,
            p.actor.id.as_deref(),
            p.reason,
            p.description,
            ts(now)
        ],
    )?;
    Ok(id)
}

fn allocate(tx: &dyn Sql, entry_id: &str, lot_id: &str, amount: i64) -> Result<(), StoreError> {
    tx.execute(
        "INSERT INTO lot_allocations (entry_id, lot_id, amount) VALUES (?, ?, ?)",
        &params![entry_id, lot_id, amount],
    )?;
    Ok(())
}

/// A credit that was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credited {
    /// The entry.
    pub entry_id: String,
    /// The lot it created.
    pub lot_id: String,
    /// Part of the amount that repaid debt instead of reaching the wallet.
    pub settled_debt: i64,
    /// `pending` or `available`.
    pub status: &'static str,
}

/// Credits `amount` (> 0) as a new lot that matures at `matures_at` (now or
/// earlier: available at once) and expires `ttl_days` after maturing. Debt
/// from earlier clawbacks is repaid from it first.
#[allow(clippy::too_many_arguments)]
pub fn credit(
    tx: &dyn Sql,
    now: DateTime<Utc>,
    random: &dyn Random,
    p: &Posting<'_>,
    kind: EntryKind,
    amount: i64,
    purchase_id: Option<&str>,
    matures_at: DateTime<Utc>,
    ttl_days: i64,
) -> Result<Credited, StoreError> {
    if amount <= 0 {
        return Err(StoreError::Other(format!("credit of {amount} points")));
    }
    let debt = open_balance(tx, p.member_id, now)?.debt;
    let settled = debt.min(amount);
    let remaining = amount - settled;
    let pending = matures_at > now;
    let status = if pending { "pending" } else { "available" };
    let expires_at = matures_at + Duration::days(ttl_days);
    let lot_id = Id::at(now, random).to_text();
    let entry_id = insert_entry(tx, now, random, p, kind, amount, Some(&lot_id))?;
    tx.execute(
        "INSERT INTO point_lots (id, member_id, entry_id, business_id, purchase_id, amount, remaining, \
         settled_debt, status, created_at, matures_at, expires_at) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        &params![
            lot_id.as_str(),
            p.member_id,
            entry_id.as_str(),
            p.business_id,
            purchase_id,
            amount,
            remaining,
            settled,
            status,
            ts(now),
            ts(matures_at),
            ts(expires_at)
        ],
    )?;
    let (d_available, d_pending) = if pending {
        (0, remaining)
    } else {
        (remaining, 0)
    };
    shift_balance(tx, p.member_id, now, d_available, d_pending, -settled)?;
    Ok(Credited {
        entry_id,
        lot_id,
        settled_debt: settled,
        status,
    })
}

/// Brings `member_id`'s lots up to date at `now` (matures and expires what is
/// due), so a debit sees exactly the points that are spendable now.
pub fn refresh_member(
    tx: &dyn Sql,
    now: DateTime<Utc>,
    random: &dyn Random,
    member_id: &str,
) -> Result<(), StoreError> {
    mature_due(tx, now, Some(member_id), i64::MAX)?;
    expire_due(tx, now, random, Some(member_id), i64::MAX)?;
    Ok(())
}

/// Debits `amount` (> 0) from available points, earliest-expiring lots
/// first. Refused, with nothing written, beyond what is available.
pub fn debit(
    tx: &dyn Sql,
    now: DateTime<Utc>,
    random: &dyn Random,
    p: &Posting<'_>,
    kind: EntryKind,
    amount: i64,
) -> Result<String, LedgerError> {
    if amount <= 0 {
        return Err(StoreError::Other(format!("debit of {amount} points")).into());
    }
    ensure_balance_row(tx, p.member_id, now)?;
    refresh_member(tx, now, random, p.member_id)?;
    // The guard: one conditional statement, so even outside a transaction the
    // balance could not go below zero.
    tx.execute(
        "UPDATE member_balances SET available = available - ?, updated_at = ? \
         WHERE member_id = ? AND available >= ?",
        &params![amount, ts(now), p.member_id, amount],
    )?;
    if tx.changes()? != 1 {
        return Err(LedgerError::Insufficient {
            available: balance(tx, p.member_id)?.available,
        });
    }
    let entry_id = insert_entry(tx, now, random, p, kind, -amount, None)?;
    let lots = tx.execute(
        "SELECT id, remaining FROM point_lots WHERE member_id = ? AND status = 'available' \
         AND remaining > 0 AND expires_at > ? ORDER BY expires_at, created_at, id",
        &params![p.member_id, ts(now)],
    )?;
    let left = consume_lots(tx, &entry_id, &lots, amount, |_, _| Ok(()))?;
    if left != 0 {
        // The balance row promised more than the lots hold: roll back.
        return Err(StoreError::Other(format!(
            "ledger out of balance for member {}: {left} points not found in lots",
            p.member_id
        ))
        .into());
    }
    Ok(entry_id)
}

/// Takes up to `amount` from `lots` in the order given (each row has `id` and
/// `remaining`), records every take against `entry_id`, reports each to
/// `on_take`, and returns what the lots could not cover.
fn consume_lots(
    tx: &dyn Sql,
    entry_id: &str,
    lots: &Rows,
    amount: i64,
    mut on_take: impl FnMut(Row<'_>, i64) -> Result<(), StoreError>,
) -> Result<i64, StoreError> {
    let mut left = amount;
    for lot in lots.iter() {
        if left == 0 {
            break;
        }
        let take = lot.i64("remaining")?.min(left);
        let lot_id = lot.text("id")?;
        take_from_lot(tx, &lot_id, take)?;
        allocate(tx, entry_id, &lot_id, take)?;
        on_take(lot, take)?;
        left -= take;
    }
    Ok(left)
}

fn take_from_lot(tx: &dyn Sql, lot_id: &str, take: i64) -> Result<(), StoreError> {
    tx.execute(
        "UPDATE point_lots SET remaining = remaining - ? WHERE id = ? AND remaining >= ?",
        &params![take, lot_id, take],
    )?;
    if tx.changes()? != 1 {
        return Err(StoreError::Other(format!("lot {lot_id} changed under us")));
    }
    Ok(())
}

/// How a clawback was covered.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClawedBack {
    /// The clawback entry (`None` when `amount` was 0).
    pub entry_id: Option<String>,
    /// Taken from pending lots.
    pub from_pending: i64,
    /// Taken from available lots.
    pub from_available: i64,
    /// Not coverable now: added to the member's debt.
    pub to_debt: i64,
}

/// Takes back `amount` points for a refund: pending lots first (the
/// refunded purchase's own lot before others), then available lots in spend
/// order; what is left becomes debt repaid from later credits.
pub fn clawback(
    tx: &dyn Sql,
    now: DateTime<Utc>,
    random: &dyn Random,
    p: &Posting<'_>,
    amount: i64,
    purchase_id: Option<&str>,
) -> Result<ClawedBack, StoreError> {
    if amount <= 0 {
        return Ok(ClawedBack::default());
    }
    ensure_balance_row(tx, p.member_id, now)?;
    refresh_member(tx, now, random, p.member_id)?;
    let entry_id = insert_entry(tx, now, random, p, EntryKind::Clawback, -amount, None)?;
    let lots = tx.execute(
        "SELECT id, remaining, status FROM point_lots \
         WHERE member_id = ? AND remaining > 0 AND status IN ('pending', 'available') \
         ORDER BY CASE status WHEN 'pending' THEN 0 ELSE 1 END, \
                  CASE WHEN purchase_id = ? THEN 0 ELSE 1 END, \
                  expires_at, created_at, id",
        &params![p.member_id, purchase_id],
    )?;
    let mut out = ClawedBack {
        entry_id: Some(entry_id.clone()),
        ..ClawedBack::default()
    };
    let (mut from_pending, mut from_available) = (0, 0);
    let left = consume_lots(tx, &entry_id, &lots, amount, |lot, take| {
        if lot.text("status")? == "pending" {
            from_pending += take;
        } else {
            from_available += take;
        }
        Ok(())
    })?;
    out.from_pending += from_pending;
    out.from_available += from_available;
    out.to_debt = left;
    shift_balance(
        tx,
        p.member_id,
        now,
        -out.from_available,
        -out.from_pending,
        out.to_debt,
    )?;
    Ok(out)
}

fn member_filter(member_id: Option<&str>) -> (&'static str, Vec<crate::ports::SqlValue>) {
    match member_id {
        Some(m) => (" AND member_id = ?", params![m]),
        None => ("", Vec::new()),
    }
}

/// Makes pending lots whose hold has passed available (at most `limit`);
/// returns how many lots matured. Conditional on `status = 'pending'`, so a
/// second run (or a concurrent one after this commits) finds nothing.
pub fn mature_due(
    tx: &dyn Sql,
    now: DateTime<Utc>,
    member_id: Option<&str>,
    limit: i64,
) -> Result<u64, StoreError> {
    let (filter, mut params) = member_filter(member_id);
    let mut all = params![ts(now)];
    all.append(&mut params);
    all.push(limit.into());
    let lots = tx.execute(
        &format!(
            "SELECT id, member_id, remaining FROM point_lots \
             WHERE status = 'pending' AND matures_at <= ?{filter} ORDER BY matures_at, id LIMIT ?"
        ),
        &all,
    )?;
    let mut matured = 0;
    for lot in lots.iter() {
        let id = lot.text("id")?;
        tx.execute(
            "UPDATE point_lots SET status = 'available' WHERE id = ? AND status = 'pending'",
            &params![id.as_str()],
        )?;
        if tx.changes()? != 1 {
            continue;
        }
        let remaining = lot.i64("remaining")?;
        if remaining > 0 {
            shift_balance(tx, &lot.text("member_id")?, now, remaining, -remaining, 0)?;
        }
        matured += 1;
    }
    Ok(matured)
}

/// What [`expire_due`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Expired {
    /// Lots marked expired.
    pub lots: u64,
    /// Points removed.
    pub points: i64,
}

/// Expires available lots whose `expires_at` is at or before `now` (at most
/// `limit`), writing an `expire` entry for what was left in each.
pub fn expire_due(
    tx: &dyn Sql,
    now: DateTime<Utc>,
    random: &dyn Random,
    member_id: Option<&str>,
    limit: i64,
) -> Result<Expired, StoreError> {
    let (filter, mut params) = member_filter(member_id);
    let mut all = params![ts(now)];
    all.append(&mut params);
    all.push(limit.into());
    let lots = tx.execute(
        &format!(
            "SELECT id, member_id, business_id, remaining FROM point_lots \
             WHERE status = 'available' AND expires_at <= ?{filter} ORDER BY expires_at, id LIMIT ?"
        ),
        &all,
    )?;
    let system = Actor::system();
    let mut out = Expired::default();
    for lot in lots.iter() {
        let id = lot.text("id")?;
        let remaining = lot.i64("remaining")?;
        tx.execute(
            "UPDATE point_lots SET status = 'expired', remaining = 0 \
             WHERE id = ? AND status = 'available' AND remaining = ?",
            &params![id.as_str(), remaining],
        )?;
        if tx.changes()? != 1 {
            continue;
        }
        out.lots += 1;
        if remaining == 0 {
            continue;
        }
        let member = lot.text("member_id")?;
        let business = lot.opt_text("business_id")?;
        let posting = Posting {
            member_id: &member,
            business_id: business.as_deref(),
            cause_type: CauseType::Job,
            cause_id: &id,
            actor: &system,
            reason: None,
            description: Some("Points expired"),
        };
        let entry = insert_entry(
            tx,
            now,
            random,
            &posting,
            EntryKind::Expire,
            -remaining,
            Some(&id),
        )?;
        allocate(tx, &entry, &id, remaining)?;
        shift_balance(tx, &member, now, -remaining, 0, 0)?;
        out.points += remaining;
    }
    Ok(out)
}
