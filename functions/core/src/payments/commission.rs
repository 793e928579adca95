//! The platform's commission on ecosystem-engaged sales: a rate per
//! business with effective dates (basis points), admin-configurable; with
//! no rate in force, 0 % for the first six months after the business
//! joined, then 2 %.

use chrono::{DateTime, Months, Utc};
use serde::Serialize;

use crate::db::{parse_ts, ts};
use crate::params;
use crate::ports::{Random, Sql, StoreError};
use crate::types::Id;
use crate::wallet::cashback::round_half_up;

/// The default rate after the introductory months (2 %).
pub const DEFAULT_RATE_BP: i64 = 200;
/// Months at 0 % after a business joins.
pub const INTRO_MONTHS: u32 = 6;

/// The rate (basis points) for `business_id` at `at`.
pub fn rate_at(sql: &dyn Sql, business_id: &str, at: DateTime<Utc>) -> Result<i64, StoreError> {
    let rows = sql.execute(
        "SELECT rate_bp FROM commission_rates WHERE business_id = ? AND effective_from <= ? \
         ORDER BY effective_from DESC LIMIT 1",
        &params![business_id, ts(at)],
    )?;
    if let Some(r) = rows.first() {
        return r.i64("rate_bp");
    }
    let rows = sql.execute(
        "SELECT created_at FROM businesses WHERE id = ?",
        &params![business_id],
    )?;
    let joined = match rows.first() {
        Some(r) => parse_ts(&r.text("created_at")?)?,
        None => return Ok(DEFAULT_RATE_BP),
    };
    let intro_end = joined
        .checked_add_months(Months::new(INTRO_MONTHS))
        .unwrap_or(joined);
    Ok(if at < intro_end { 0 } else { DEFAULT_RATE_BP })
}

/// A commission record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Commission {
    /// Id.
    pub id: String,
    /// Rate applied (basis points).
    pub rate_bp: i64,
    /// Signed amount (kopecks); negative for a refund's share.
    pub amount: i64,
}

/// Records the commission of an engaged sale of `amount` (or, with
/// `refund_id`, the negative share of a refund of `amount`, at the rate the
/// sale was charged).
pub fn record(
    tx: &dyn Sql,
    now: DateTime<Utc>,
    random: &dyn Random,
    business_id: &str,
    purchase_id: &str,
    refund_id: Option<&str>,
    amount: i64,
) -> Result<Option<Commission>, StoreError> {
    let rate_bp = match refund_id {
        None => rate_at(tx, business_id, now)?,
        Some(_) => {
            let rows = tx.execute(
                "SELECT rate_bp FROM commissions WHERE purchase_id = ? AND refund_id IS NULL",
                &params![purchase_id],
            )?;
            match rows.first() {
                Some(r) => r.i64("rate_bp")?,
                // No commission was charged: nothing to reverse.
                None => return Ok(None),
            }
        }
    };
    let magnitude = round_half_up(i128::from(amount) * i128::from(rate_bp), 10_000);
    let signed = if refund_id.is_some() {
        -magnitude
    } else {
        magnitude
    };
    let id = Id::at(now, random).to_text();
    tx.execute(
        "INSERT INTO commissions (id, business_id, purchase_id, refund_id, base_amount, rate_bp, amount, created_at) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        &params![id.as_str(), business_id, purchase_id, refund_id, amount, rate_bp, signed, ts(now)],
    )?;
    crate::analytics::rollup::on_commission(tx, business_id, purchase_id, &ts(now), signed)?;
    Ok(Some(Commission {
        id,
        rate_bp,
        amount: signed,
    }))
}

/// `POST /admin/commission-rates`.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRate {
    /// The business.
    pub business_id: String,
    /// Basis points (0–10 000; 300 = 3 %).
    pub rate_bp: i64,
    /// RFC 3339; from when the rate applies.
    pub effective_from: String,
}

/// A rate in force from a date.
#[derive(Debug, Clone, Serialize)]
pub struct Rate {
    /// Id.
    pub id: String,
    /// Business.
    pub business_id: String,
    /// Basis points.
    pub rate_bp: i64,
    /// From when.
    pub effective_from: String,
    /// Created.
    pub created_at: String,
}

/// Records a rate (admins); one rate per business and start date.
pub fn set_rate(
    sql: &dyn Sql,
    clock: &dyn crate::ports::Clock,
    random: &dyn Random,
    admin_id: &str,
    request_id: Option<&str>,
    raw: &RawRate,
) -> Result<Rate, crate::promo::PromoError> {
    use crate::error::InvalidValue;
    let business_id = crate::types::Id::parse(&raw.business_id, "business_id")?.to_text();
    if !(0..=10_000).contains(&raw.rate_bp) {
        return Err(InvalidValue::new(
            "INVALID_VALUE",
            "rate_bp",
            "rate_bp is 0-10000 basis points",
        )
        .into());
    }
    let from = crate::db::parse_instant(raw.effective_from.trim()).ok_or_else(|| {
        InvalidValue::new(
            "INVALID_FIELD",
            "effective_from",
            "must be an RFC 3339 time",
        )
    })?;
    let now = clock.now();
    let id = Id::at(now, random).to_text();
    crate::db::immediate(sql, |tx| {
        if tx
            .execute(
                "SELECT 1 FROM businesses WHERE id = ?",
                &params![business_id.as_str()],
            )?
            .is_empty()
        {
            return Err(crate::promo::PromoError::BusinessNotFound);
        }
        tx.execute(
            "INSERT INTO commission_rates (id, business_id, rate_bp, effective_from, created_by, created_at) \
             VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (business_id, effective_from) DO UPDATE SET rate_bp = excluded.rate_bp",
            &params![id.as_str(), business_id.as_str(), raw.rate_bp, ts(from), admin_id, ts(now)],
        )?;
        crate::audit::record(
            tx,
            clock,
            random,
            &crate::audit::AuditEntry {
                actor_id: Some(admin_id),
                actor_role: "admin",
                action: "commission_rate.set",
                subject_type: "business",
                subject_id: &business_id,
                details: serde_json::json!({ "rate_bp": raw.rate_bp, "effective_from": ts(from) }),
                request_id,
            },
        )?;
        Ok(Rate {
            id: id.clone(),
            business_id: business_id.clone(),
            rate_bp: raw.rate_bp,
            effective_from: ts(from),
            created_at: ts(now),
        })
    })
}

/// Rates, newest start first, optionally of one business.
pub fn list_rates(
    sql: &dyn Sql,
    business_id: Option<&str>,
    limit: u32,
    cursor: Option<&crate::pagination::Cursor>,
) -> Result<crate::pagination::Page<Rate>, StoreError> {
    let mut q = crate::pagination::NewestFirst::new(
        "SELECT id, business_id, rate_bp, effective_from, created_at FROM commission_rates",
    );
    if let Some(b) = business_id {
        q = q.filter("business_id = ?", b);
    }
    let (q, args) = q.page("effective_from", "id", cursor, limit);
    let items = sql
        .execute(&q, &args)?
        .iter()
        .map(|r| {
            Ok(Rate {
                id: r.text("id")?,
                business_id: r.text("business_id")?,
                rate_bp: r.i64("rate_bp")?,
                effective_from: r.text("effective_from")?,
                created_at: r.text("created_at")?,
            })
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    Ok(crate::pagination::page_from(items, limit, |r| {
        crate::pagination::Cursor {
            key: r.effective_from.clone(),
            id: r.id.clone(),
        }
    }))
}
