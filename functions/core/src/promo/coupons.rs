//! Cross-promo coupons: campaigns linking business A to B; a paid purchase
//! at A issues the member a coupon for B; the member activates it (a short
//! code, valid for a day or until the coupon expires); a purchase at B with
//! that code earns bonus points and is ecosystem-engaged.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::error::PromoError;
use crate::audit::{self, AuditEntry};
use crate::db::{immediate, ts, Row};
use crate::error::InvalidValue;
use crate::pagination::{page_from, Cursor, NewestFirst, Page};
use crate::params;
use crate::ports::{Clock, Random, Sql, StoreError};
use crate::types::{Id, Kopecks};
use crate::wallet::cashback::round_half_up;
use crate::wallet::ledger::{self, Actor, CauseType, EntryKind, Posting};
use crate::wallet::WalletError;

/// How long an activation code is valid (capped by the coupon's expiry).
pub const ACTIVATION_HOURS: i64 = 24;

/// `POST /admin/cross-promos`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCrossPromo {
    /// Business A.
    pub from_business_id: String,
    /// Business B.
    pub to_business_id: String,
    /// What the member sees on the coupon.
    pub title: String,
    /// Bonus points, percent of the paid amount at B (default 10).
    #[serde(default)]
    pub bonus_pct: Option<i64>,
    /// Smallest purchase at A that issues a coupon (kopecks, default 0).
    #[serde(default)]
    pub min_amount: Option<i64>,
    /// Days a coupon lives (default 30).
    #[serde(default)]
    pub coupon_ttl_days: Option<i64>,
    /// Default true.
    #[serde(default)]
    pub active: Option<bool>,
}

/// A cross-promo campaign.
#[derive(Debug, Clone, Serialize)]
pub struct CrossPromo {
    /// Id.
    pub id: String,
    /// Business A.
    pub from_business_id: String,
    /// Business B.
    pub to_business_id: String,
    /// Title.
    pub title: String,
    /// Bonus percent.
    pub bonus_pct: i64,
    /// Smallest qualifying purchase at A.
    pub min_amount: i64,
    /// Coupon lifetime.
    pub coupon_ttl_days: i64,
    /// Switched on.
    pub active: bool,
    /// Created.
    pub created_at: String,
}

fn decode(r: Row<'_>) -> Result<CrossPromo, StoreError> {
    Ok(CrossPromo {
        id: r.text("id")?,
        from_business_id: r.text("from_business_id")?,
        to_business_id: r.text("to_business_id")?,
        title: r.text("title")?,
        bonus_pct: r.i64("bonus_pct")?,
        min_amount: r.i64("min_amount")?,
        coupon_ttl_days: r.i64("coupon_ttl_days")?,
        active: r.i64("active")? != 0,
        created_at: r.text("created_at")?,
    })
}

const COLUMNS: &str =
    "id, from_business_id, to_business_id, title, bonus_pct, min_amount, coupon_ttl_days, active, created_at";

/// Creates a campaign (admins).
pub fn create_campaign(
    sql: &dyn Sql,
    clock: &dyn Clock,
    random: &dyn Random,
    admin_id: &str,
    request_id: Option<&str>,
    raw: &RawCrossPromo,
) -> Result<CrossPromo, PromoError> {
    let from = Id::parse(&raw.from_business_id, "from_business_id")?.to_text();
    let to = Id::parse(&raw.to_business_id, "to_business_id")?.to_text();
    if from == to {
        return Err(InvalidValue::new(
            "INVALID_FIELD",
            "to_business_id",
            "a cross-promo links two different businesses",
        )
        .into());
    }
    let title = crate::types::display_text(&raw.title, "title", "INVALID_FIELD", 120)?;
    let title = title.as_str();
    let bonus = raw.bonus_pct.unwrap_or(10);
    if !(1..=100).contains(&bonus) {
        return Err(InvalidValue::new("INVALID_VALUE", "bonus_pct", "bonus_pct is 1-100").into());
    }
    let min_amount = match raw.min_amount {
        None | Some(0) => 0,
        Some(v) => Kopecks::positive(v, "min_amount")?.get(),
    };
    let ttl = raw.coupon_ttl_days.unwrap_or(30);
    if !(1..=365).contains(&ttl) {
        return Err(InvalidValue::new(
            "INVALID_VALUE",
            "coupon_ttl_days",
            "coupon_ttl_days is 1-365",
        )
        .into());
    }
    let now = clock.now();
    let id = Id::at(now, random).to_text();
    immediate(sql, |tx| {
        for (field, b) in [("from_business_id", &from), ("to_business_id", &to)] {
            if tx
                .execute(
                    "SELECT 1 FROM businesses WHERE id = ?",
                    &params![b.as_str()],
                )?
                .is_empty()
            {
                return Err(
                    InvalidValue::new("BUSINESS_NOT_FOUND", field, "no such business").into(),
                );
            }
        }
        tx.execute(
            "INSERT INTO cross_promos (id, from_business_id, to_business_id, title, bonus_pct, min_amount, \
             coupon_ttl_days, active, created_by, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            &params![
                id.as_str(),
                from.as_str(),
                to.as_str(),
                title,
                bonus,
                min_amount,
                ttl,
                i64::from(raw.active.unwrap_or(true)),
                admin_id,
                ts(now)
            ],
        )?;
        audit::record(
            tx,
            clock,
            random,
            &AuditEntry {
                actor_id: Some(admin_id),
                actor_role: "admin",
                action: "cross_promo.created",
                subject_type: "cross_promo",
                subject_id: &id,
                details: json!({ "from": from, "to": to, "bonus_pct": bonus }),
                request_id,
            },
        )?;
        let rows = tx.execute(
            &format!("SELECT {COLUMNS} FROM cross_promos WHERE id = ?"),
            &params![id.as_str()],
        )?;
        Ok(rows
            .first()
            .map(decode)
            .transpose()?
            .ok_or_else(|| StoreError::Other("lost campaign".into()))?)
    })
}

/// Campaigns, newest first (admins).
pub fn list_campaigns(
    sql: &dyn Sql,
    limit: u32,
    cursor: Option<&Cursor>,
) -> Result<Page<CrossPromo>, StoreError> {
    let (q, args) = NewestFirst::new(format!("SELECT {COLUMNS} FROM cross_promos")).page(
        "created_at",
        "id",
        cursor,
        limit,
    );
    let items = sql
        .execute(&q, &args)?
        .iter()
        .map(decode)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(page_from(items, limit, |c| Cursor {
        key: c.created_at.clone(),
        id: c.id.clone(),
    }))
}

/// Inside the purchase pipeline: issues a coupon for every active campaign
/// from `business_id` that this paid purchase qualifies for. Returns the
/// coupon ids.
pub fn issue_for_purchase(
    tx: &dyn Sql,
    now: DateTime<Utc>,
    random: &dyn Random,
    purchase_id: &str,
    member_id: &str,
    business_id: &str,
    amount: i64,
) -> Result<Vec<String>, StoreError> {
    let rows = tx.execute(
        &format!("SELECT {COLUMNS} FROM cross_promos WHERE from_business_id = ? AND active = 1 AND min_amount <= ?"),
        &params![business_id, amount],
    )?;
    let mut ids = Vec::new();
    for r in rows.iter() {
        let c = decode(r)?;
        let id = Id::at(now, random).to_text();
        tx.execute(
            "INSERT INTO coupons (id, member_id, business_id, source_business_id, campaign_id, title, bonus_pct, \
             status, issued_at, expires_at, source_purchase_id) VALUES (?, ?, ?, ?, ?, ?, ?, 'issued', ?, ?, ?) \
             ON CONFLICT DO NOTHING",
            &params![
                id.as_str(),
                member_id,
                c.to_business_id.as_str(),
                business_id,
                c.id.as_str(),
                c.title.as_str(),
                c.bonus_pct,
                ts(now),
                ts(now + Duration::days(c.coupon_ttl_days)),
                purchase_id
            ],
        )?;
        if tx.changes()? == 1 {
            ids.push(id);
        }
    }
    Ok(ids)
}

/// What activating a coupon gives the member to show at B.
#[derive(Debug, Clone, Serialize)]
pub struct Activation {
    /// Coupon id.
    pub coupon_id: String,
    /// Code the till types (8 characters).
    pub activation_code: String,
    /// Until when the code is accepted.
    pub valid_until: String,
}

const CODE_ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";

/// `POST /wallet/coupons/{id}/activate`: a fresh code for the member's own
/// issued or activated coupon (activating again renews the code).
pub fn activate(
    sql: &dyn Sql,
    now: DateTime<Utc>,
    random: &dyn Random,
    member_id: &str,
    coupon_id: &str,
) -> Result<Activation, PromoError> {
    immediate(sql, |tx| {
        let rows = tx.execute(
            "SELECT status, expires_at FROM coupons WHERE id = ? AND member_id = ?",
            &params![coupon_id, member_id],
        )?;
        let r = rows.first().ok_or(PromoError::CouponNotFound)?;
        let expires = r.text("expires_at")?;
        let status = r.text("status")?;
        if status == "redeemed" || status == "expired" || expires <= ts(now) {
            return Err(PromoError::CouponNotUsable {
                status: if status == "redeemed" {
                    status
                } else {
                    "expired".into()
                },
            });
        }
        let mut bytes = [0u8; 8];
        random.fill(&mut bytes);
        let code: String = bytes
            .iter()
            .map(|b| char::from(CODE_ALPHABET[usize::from(*b) % CODE_ALPHABET.len()]))
            .collect();
        let until = ts(now + Duration::hours(ACTIVATION_HOURS)).min(expires);
        tx.execute(
            "UPDATE coupons SET status = 'activated', activation_code = ?, valid_until = ? WHERE id = ?",
            &params![code.as_str(), until.as_str(), coupon_id],
        )?;
        Ok(Activation {
            coupon_id: coupon_id.to_string(),
            activation_code: code,
            valid_until: until,
        })
    })
}

/// Inside the purchase pipeline at `business_id`: redeems the activated
/// coupon with `code` for `member_id`, credits `bonus_pct` of `amount` as a
/// reward and marks the purchase ecosystem-engaged. Returns the bonus.
#[allow(clippy::too_many_arguments)]
pub fn redeem_in_purchase(
    tx: &dyn Sql,
    now: DateTime<Utc>,
    random: &dyn Random,
    actor: &Actor,
    purchase_id: &str,
    member_id: &str,
    business_id: &str,
    amount: i64,
    code: &str,
    ttl_days: i64,
) -> Result<i64, WalletError> {
    let code = code.trim().to_ascii_uppercase();
    let rows = tx.execute(
        "SELECT id, bonus_pct FROM coupons WHERE activation_code = ? AND member_id = ? AND business_id = ? \
         AND status = 'activated' AND valid_until > ?",
        &params![code.as_str(), member_id, business_id, ts(now)],
    )?;
    let Some(r) = rows.first() else {
        return Err(InvalidValue::new(
            "INVALID_COUPON",
            "coupon_code",
            "no activated coupon of this member for this business has this code",
        )
        .into());
    };
    let coupon_id = r.text("id")?;
    let bonus = round_half_up(i128::from(amount) * i128::from(r.i64("bonus_pct")?), 100);
    tx.execute(
        "UPDATE coupons SET status = 'redeemed', redeemed_at = ?, purchase_id = ? WHERE id = ? AND status = 'activated'",
        &params![ts(now), purchase_id, coupon_id.as_str()],
    )?;
    tx.execute(
        "UPDATE purchases SET coupon_id = ?, ecosystem_engaged = 1 WHERE id = ?",
        &params![coupon_id.as_str(), purchase_id],
    )?;
    if bonus > 0 {
        ledger::credit(
            tx,
            now,
            random,
            &Posting {
                member_id,
                business_id: Some(business_id),
                cause_type: CauseType::Reward,
                cause_id: &coupon_id,
                actor,
                reason: Some("cross-promo coupon"),
                description: Some("Cross-promo bonus"),
            },
            EntryKind::Reward,
            bonus,
            None,
            now,
            ttl_days,
        )?;
    }
    Ok(bonus)
}
