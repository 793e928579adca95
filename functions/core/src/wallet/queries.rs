//! Read models for the member's wallet routes. Reads only: no write on a
//! read path.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::badges::{self, HeldBadge};
use super::error::WalletError;
use super::ledger::{self, Balance};
use super::member;
use super::purchases;
use super::tiers::{self, Progress, Tier};
use crate::db::ts;
use crate::pagination::{page_from, Cursor, NewestFirst, Page};
use crate::params;
use crate::ports::{Sql, StoreError};

/// Points that will expire at one instant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Expiring {
    /// Points.
    pub amount: i64,
    /// When (RFC 3339 UTC).
    pub expires_at: String,
}

/// `GET /wallet`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Summary {
    /// Member card number (13 digits, EAN-13).
    pub card_number: Option<String>,
    /// Current tier.
    pub tier: Tier,
    /// Balance row.
    pub balance: Balance,
    /// The next (up to five) expiry instants of available points.
    pub expiring: Vec<Expiring>,
    /// Progress toward the next tier.
    pub progress: Progress,
    /// Badges held.
    pub badges: Vec<HeldBadge>,
}

/// How many expiry instants the summary lists.
pub const EXPIRING_SHOWN: i64 = 5;

/// The wallet summary of `member_id` at `now`.
pub fn summary(sql: &dyn Sql, member_id: &str, now: DateTime<Utc>) -> Result<Summary, WalletError> {
    let m = member::by_id(sql, member_id)?.ok_or(WalletError::MemberNotFound)?;
    let balance = ledger::balance(sql, member_id)?;
    let rows = sql.execute(
        "SELECT expires_at, SUM(remaining) AS amount FROM point_lots \
         WHERE member_id = ? AND status = 'available' AND remaining > 0 AND expires_at > ? \
         GROUP BY expires_at ORDER BY expires_at LIMIT ?",
        &params![member_id, ts(now), EXPIRING_SHOWN],
    )?;
    let expiring = rows
        .iter()
        .map(|r| {
            Ok(Expiring {
                amount: r.i64("amount")?,
                expires_at: r.text("expires_at")?,
            })
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    let facts = purchases::tier_facts(sql, member_id, now)?;
    let mut held = badges::held(sql, member_id)?;
    // Every member has joined the club; the badge is stored on first activity.
    if !held.iter().any(|b| b.code == "welcome") {
        held.insert(
            0,
            HeldBadge {
                code: "welcome".into(),
                awarded_at: m.created_at.clone(),
            },
        );
    }
    Ok(Summary {
        card_number: m.card_number,
        tier: m.tier,
        balance,
        expiring,
        progress: tiers::progress(m.tier, &facts),
        badges: held,
    })
}

/// One ledger line as the member sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LedgerLine {
    /// Entry id.
    pub id: String,
    /// earn, spend, expire, clawback, reward, compensation, adjust.
    pub kind: String,
    /// Signed points.
    pub amount: i64,
    /// For credits, the lot's state (`pending`, `available`, `expired`);
    /// `posted` for debits.
    pub status: String,
    /// Business involved.
    pub business_id: Option<String>,
    /// Human text.
    pub description: Option<String>,
    /// When (RFC 3339 UTC).
    pub created_at: String,
    /// For credits, when the points expire.
    pub expires_at: Option<String>,
}

/// Ledger entries of `member_id`, newest first.
pub fn ledger_page(
    sql: &dyn Sql,
    member_id: &str,
    limit: u32,
    cursor: Option<&Cursor>,
) -> Result<Page<LedgerLine>, StoreError> {
    let (q, args) = NewestFirst::new(
        "SELECT e.id, e.kind, e.amount, e.business_id, e.description, e.created_at, \
                l.status AS lot_status, l.expires_at \
         FROM ledger_entries e \
         LEFT JOIN point_lots l ON l.entry_id = e.id",
    )
    .filter("e.member_id = ?", member_id)
    .page("e.created_at", "e.id", cursor, limit);
    let rows = sql.execute(&q, &args)?;
    let items = rows
        .iter()
        .map(|r| {
            Ok(LedgerLine {
                id: r.text("id")?,
                kind: r.text("kind")?,
                amount: r.i64("amount")?,
                status: r.opt_text("lot_status")?.unwrap_or_else(|| "posted".into()),
                business_id: r.opt_text("business_id")?,
                description: r.opt_text("description")?,
                created_at: r.text("created_at")?,
                expires_at: r.opt_text("expires_at")?,
            })
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    Ok(page_from(items, limit, |l| Cursor {
        key: l.created_at.clone(),
        id: l.id.clone(),
    }))
}

/// A coupon in the member's wallet (`GET /wallet/coupons`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CouponLine {
    /// Coupon id.
    pub id: String,
    /// The business that honours it.
    pub business_id: String,
    /// The business whose sale issued it, for cross-promo coupons.
    pub source_business_id: Option<String>,
    /// What the member sees.
    pub title: String,
    /// Extra cashback, in percent of the paid amount.
    pub bonus_pct: i64,
    /// `issued`, `activated`, `redeemed` or `expired` (as of the read).
    pub status: String,
    /// Until when an activation code is valid, once activated.
    pub valid_until: Option<String>,
    /// Issue time.
    pub issued_at: String,
    /// The last moment it can be activated or redeemed.
    pub expires_at: String,
}

/// Coupons of `member_id`, newest first. A coupon past `expires_at` that
/// was never redeemed reads as `expired` even before a job marks it.
pub fn coupons_page(
    sql: &dyn Sql,
    member_id: &str,
    now: DateTime<Utc>,
    limit: u32,
    cursor: Option<&Cursor>,
) -> Result<Page<CouponLine>, StoreError> {
    let (q, args) = NewestFirst::new(
        "SELECT id, business_id, source_business_id, title, bonus_pct, status, valid_until, \
                issued_at, expires_at \
         FROM coupons",
    )
    .filter("member_id = ?", member_id)
    .page("issued_at", "id", cursor, limit);
    let rows = sql.execute(&q, &args)?;
    let now = ts(now);
    let items = rows
        .iter()
        .map(|r| {
            let expires_at = r.text("expires_at")?;
            let mut status = r.text("status")?;
            if status != "redeemed" && expires_at <= now {
                status = "expired".into();
            }
            Ok(CouponLine {
                id: r.text("id")?,
                business_id: r.text("business_id")?,
                source_business_id: r.opt_text("source_business_id")?,
                title: r.text("title")?,
                bonus_pct: r.i64("bonus_pct")?,
                status,
                valid_until: r.opt_text("valid_until")?,
                issued_at: r.text("issued_at")?,
                expires_at,
            })
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    Ok(page_from(items, limit, |c| Cursor {
        key: c.issued_at.clone(),
        id: c.id.clone(),
    }))
}
