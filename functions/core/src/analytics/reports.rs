//! The partner reports. Each function documents its definition; the same
//! text is in the OpenAPI descriptions.
//!
//! Every read is bounded: sums come from `analytics_daily`, new customers
//! from the `(business_id, first_at)` index of `analytics_customers`, and
//! per-customer lookups go through the `(member_id, paid_at)` index of
//! purchases, one seek per customer of the period.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::nightly::{self, Segment};
use super::{business_info as business, business_names, ratio, AnalyticsError, Period};
use crate::db::parse_ts;
use crate::params;
use crate::ports::Sql;

/// One period's figures of [`overview`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Figures {
    /// The period.
    pub period: Period,
    /// Net revenue (kopecks) of purchases made in the period.
    pub total_revenue: i64,
    /// Purchases made in the period and not fully refunded.
    pub total_transactions: i64,
    /// Members whose first purchase at this business falls in the period.
    pub new_customers: i64,
    /// Members who bought in the period and had bought here before it.
    pub returning_customers: i64,
    /// `total_revenue / total_transactions`, half-up (0 without sales).
    pub avg_check: i64,
    /// Net revenue of ecosystem-engaged purchases (a partner's cross-promo
    /// coupon brought the member).
    pub revenue_from_ecosystem: i64,
    /// `revenue_from_ecosystem / total_revenue`, four decimals.
    pub ecosystem_share: f64,
}

/// `GET /analytics/businesses/{id}/overview`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Overview {
    /// The business.
    pub business_id: String,
    /// This period.
    #[serde(flatten)]
    pub current: Figures,
    /// The period of the same length right before.
    pub previous_period: Figures,
}

fn figures(sql: &dyn Sql, business_id: &str, period: Period) -> Result<Figures, AnalyticsError> {
    let sums = sql.execute(
        "SELECT COALESCE(SUM(revenue), 0) AS revenue, COALESCE(SUM(transactions), 0) AS transactions, \
         COALESCE(SUM(ecosystem_revenue), 0) AS eco FROM analytics_daily \
         WHERE business_id = ? AND day >= ? AND day <= ?",
        &params![business_id, period.from_day(), period.to_day()],
    )?;
    let s = sums.first();
    let get = |c: &str| s.map_or(Ok(0), |r| r.i64(c));
    let (revenue, transactions, eco) = (get("revenue")?, get("transactions")?, get("eco")?);
    let new = sql.execute(
        "SELECT COUNT(*) AS n FROM analytics_customers WHERE business_id = ? AND first_at >= ? AND first_at < ?",
        &params![business_id, period.start_ts(), period.end_ts()],
    )?;
    let new = new.first().map_or(Ok(0), |r| r.i64("n"))?;
    let unique = active_customers(sql, business_id, period)?;
    Ok(Figures {
        period,
        total_revenue: revenue,
        total_transactions: transactions,
        new_customers: new,
        returning_customers: (unique - new).max(0),
        avg_check: if transactions == 0 {
            0
        } else {
            (2 * revenue + transactions) / (2 * transactions)
        },
        revenue_from_ecosystem: eco,
        ecosystem_share: ratio(eco, revenue),
    })
}

/// Revenue, transactions, new and returning customers, average check and
/// the ecosystem's share for the period and the one before it.
pub fn overview(
    sql: &dyn Sql,
    business_id: &str,
    period: Period,
) -> Result<Overview, AnalyticsError> {
    business(sql, business_id)?;
    Ok(Overview {
        business_id: business_id.to_string(),
        current: figures(sql, business_id, period)?,
        previous_period: figures(sql, business_id, period.previous())?,
    })
}

/// One source of new customers.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Source {
    /// The business they last bought at before their first purchase here.
    pub source_business_id: String,
    /// Its name.
    pub source_business_name: String,
    /// New customers who came from it.
    pub customers_count: i64,
    /// Their net revenue here in the period.
    pub revenue: i64,
    /// `customers_count` ÷ the source's own customers in the period.
    pub conversion_rate: f64,
}

/// New customers with no earlier purchase elsewhere in the club.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Direct {
    /// How many.
    pub customers_count: i64,
    /// Their net revenue here in the period.
    pub revenue: i64,
}

/// `GET .../customer-sources`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Sources {
    /// The business.
    pub business_id: String,
    /// The period.
    pub period: Period,
    /// New customers in the period.
    pub new_customers: i64,
    /// By source, most customers first.
    pub sources: Vec<Source>,
    /// Those who came to no other partner first.
    pub direct: Direct,
}

/// Each customer's net revenue at `business_id` in the period.
fn period_revenue(
    sql: &dyn Sql,
    business_id: &str,
    period: Period,
) -> Result<HashMap<String, i64>, AnalyticsError> {
    let rows = sql.execute(
        "SELECT member_id, SUM(amount - refunded_amount) AS revenue FROM purchases \
         WHERE business_id = ? AND paid_at >= ? AND paid_at < ? AND amount > refunded_amount \
         GROUP BY member_id",
        &params![business_id, period.start_ts(), period.end_ts()],
    )?;
    Ok(rows
        .iter()
        .map(|r| Ok((r.text("member_id")?, r.i64("revenue")?)))
        .collect::<Result<_, crate::ports::StoreError>>()?)
}

fn active_customers(
    sql: &dyn Sql,
    business_id: &str,
    period: Period,
) -> Result<i64, AnalyticsError> {
    let rows = sql.execute(
        "SELECT COUNT(DISTINCT member_id) AS n FROM purchases \
         WHERE business_id = ? AND paid_at >= ? AND paid_at < ? AND amount > refunded_amount",
        &params![business_id, period.start_ts(), period.end_ts()],
    )?;
    Ok(rows.first().map_or(Ok(0), |r| r.i64("n"))?)
}

/// Where this business's new customers of the period came from: for each
/// member whose first purchase here falls in the period, the business of
/// their last purchase elsewhere before it (not fully refunded), else
/// `direct`. Conversion is the share of that source's customers in the
/// period who became new customers here.
pub fn sources(
    sql: &dyn Sql,
    business_id: &str,
    period: Period,
) -> Result<Sources, AnalyticsError> {
    business(sql, business_id)?;
    let rows = sql.execute(
        "SELECT c.member_id, (SELECT p.business_id FROM purchases p WHERE p.member_id = c.member_id \
         AND p.paid_at < c.first_at AND p.business_id <> c.business_id AND p.amount > p.refunded_amount \
         ORDER BY p.paid_at DESC LIMIT 1) AS source FROM analytics_customers c \
         WHERE c.business_id = ? AND c.first_at >= ? AND c.first_at < ?",
        &params![business_id, period.start_ts(), period.end_ts()],
    )?;
    let revenue = period_revenue(sql, business_id, period)?;
    let mut by_source: BTreeMap<String, (i64, i64)> = BTreeMap::new();
    let mut direct = Direct {
        customers_count: 0,
        revenue: 0,
    };
    for r in rows.iter() {
        let spent = revenue.get(&r.text("member_id")?).copied().unwrap_or(0);
        match r.opt_text("source")? {
            Some(s) => {
                let e = by_source.entry(s).or_default();
                e.0 += 1;
                e.1 += spent;
            }
            None => {
                direct.customers_count += 1;
                direct.revenue += spent;
            }
        }
    }
    let names = business_names(sql)?;
    let mut sources = Vec::with_capacity(by_source.len());
    for (id, (count, revenue)) in by_source {
        let active = active_customers(sql, &id, period)?;
        sources.push(Source {
            source_business_name: names.get(&id).cloned().unwrap_or_default(),
            source_business_id: id,
            customers_count: count,
            revenue,
            conversion_rate: ratio(count, active.max(count)),
        });
    }
    sources.sort_by(|a, b| {
        b.customers_count
            .cmp(&a.customers_count)
            .then_with(|| a.source_business_id.cmp(&b.source_business_id))
    });
    Ok(Sources {
        business_id: business_id.to_string(),
        period,
        new_customers: i64::try_from(rows.len()).unwrap_or(i64::MAX),
        sources,
        direct,
    })
}

/// One destination of this business's customers.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Destination {
    /// The business of their next purchase elsewhere.
    pub destination_business_id: String,
    /// Its name.
    pub destination_business_name: String,
    /// Customers whose next purchase elsewhere was there.
    pub customers_count: i64,
    /// The net amount of those next purchases.
    pub revenue: i64,
    /// `customers_count` ÷ this business's customers in the period.
    pub conversion_rate: f64,
}

/// `GET .../customer-destinations`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Destinations {
    /// The business.
    pub business_id: String,
    /// The period.
    pub period: Period,
    /// Members who bought here in the period.
    pub customers: i64,
    /// By destination, most customers first.
    pub destinations: Vec<Destination>,
    /// Customers who have bought nowhere else since.
    pub no_next_purchase: i64,
}

/// Where this business's customers went next: for each member who bought
/// here in the period, the business of their first purchase elsewhere
/// (not fully refunded) after their first purchase here in the period.
pub fn destinations(
    sql: &dyn Sql,
    business_id: &str,
    period: Period,
) -> Result<Destinations, AnalyticsError> {
    business(sql, business_id)?;
    let customers = active_customers(sql, business_id, period)?;
    let rows = sql.execute(
        "WITH c AS (SELECT member_id, MIN(paid_at) AS at FROM purchases \
         WHERE business_id = ? AND paid_at >= ? AND paid_at < ? AND amount > refunded_amount \
         GROUP BY member_id) \
         SELECT n.business_id AS business_id, COUNT(*) AS customers, SUM(n.amount - n.refunded_amount) AS revenue \
         FROM c JOIN purchases n ON n.id = (SELECT p.id FROM purchases p WHERE p.member_id = c.member_id \
         AND p.paid_at > c.at AND p.business_id <> ? AND p.amount > p.refunded_amount \
         ORDER BY p.paid_at LIMIT 1) \
         GROUP BY n.business_id",
        &params![
            business_id,
            period.start_ts(),
            period.end_ts(),
            business_id
        ],
    )?;
    let names = business_names(sql)?;
    let mut destinations = Vec::new();
    let mut moved = 0;
    for r in rows.iter() {
        let id = r.text("business_id")?;
        let count = r.i64("customers")?;
        moved += count;
        destinations.push(Destination {
            destination_business_name: names.get(&id).cloned().unwrap_or_default(),
            destination_business_id: id,
            customers_count: count,
            revenue: r.i64("revenue")?,
            conversion_rate: ratio(count, customers),
        });
    }
    destinations.sort_by(|a, b| {
        b.customers_count
            .cmp(&a.customers_count)
            .then_with(|| a.destination_business_id.cmp(&b.destination_business_id))
    });
    Ok(Destinations {
        business_id: business_id.to_string(),
        period,
        customers,
        destinations,
        no_next_purchase: (customers - moved).max(0),
    })
}

/// `GET .../win-win-chains`: the nightly snapshot for this business.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Chains {
    /// The business.
    pub business_id: String,
    /// When the nightly job computed them (`None` before its first run).
    pub computed_at: Option<String>,
    /// Days of purchases the chains were found in.
    pub window_days: i64,
    /// Most frequent first.
    pub chains: Vec<nightly::Chain>,
}

/// The most frequent ordered paths A → B → C of three different businesses
/// that contain this business, which members followed with all three
/// purchases within 90 days, over the 365 days before the nightly run.
/// `frequency` counts members (each member once per path); `avg_ltv` is
/// those members' average net spend across the club in the window.
pub fn chains(sql: &dyn Sql, business_id: &str) -> Result<Chains, AnalyticsError> {
    business(sql, business_id)?;
    let (computed_at, chains) = nightly::chains_of(sql, business_id)?;
    Ok(Chains {
        business_id: business_id.to_string(),
        computed_at,
        window_days: nightly::WINDOW_DAYS,
        chains,
    })
}

/// One RFM segment.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SegmentRow {
    /// Its name.
    pub segment: &'static str,
    /// Customers in it.
    pub count: i64,
    /// Their average net spend here over the 365 days (kopecks, half-up).
    pub avg_revenue: i64,
    /// What to do about them.
    pub action: &'static str,
}

/// `GET .../rfm-segments`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Rfm {
    /// The business.
    pub business_id: String,
    /// When the nightly job scored them (`None` before its first run).
    pub computed_at: Option<String>,
    /// Customers scored.
    pub customers: i64,
    /// Every segment, in the order of [`Segment::ALL`].
    pub segments: Vec<SegmentRow>,
}

/// Customers active in the 365 days before the nightly run, scored 1–4 on
/// recency, frequency and monetary value by mid-rank quartiles within the
/// business, grouped into segments (see [`Segment::of`]).
pub fn rfm(sql: &dyn Sql, business_id: &str) -> Result<Rfm, AnalyticsError> {
    business(sql, business_id)?;
    let rows = sql.execute(
        "SELECT segment, COUNT(*) AS n, SUM(monetary) AS revenue, MAX(computed_at) AS at \
         FROM analytics_scores WHERE business_id = ? GROUP BY segment",
        &params![business_id],
    )?;
    let mut found: HashMap<String, (i64, i64)> = HashMap::new();
    let mut computed_at: Option<String> = None;
    for r in rows.iter() {
        found.insert(r.text("segment")?, (r.i64("n")?, r.i64("revenue")?));
        let at = r.text("at")?;
        if computed_at.as_ref().is_none_or(|c| at > *c) {
            computed_at = Some(at);
        }
    }
    let segments: Vec<SegmentRow> = Segment::ALL
        .iter()
        .map(|s| {
            let (count, revenue) = found.get(s.name()).copied().unwrap_or((0, 0));
            SegmentRow {
                segment: s.name(),
                count,
                avg_revenue: if count == 0 {
                    0
                } else {
                    (2 * revenue + count) / (2 * count)
                },
                action: s.action(),
            }
        })
        .collect();
    Ok(Rfm {
        business_id: business_id.to_string(),
        computed_at,
        customers: segments.iter().map(|s| s.count).sum(),
        segments,
    })
}

/// One customer at risk.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AtRisk {
    /// Member id.
    pub member_id: String,
    /// First name only.
    pub first_name: Option<String>,
    /// Their last purchase here.
    pub last_visit: String,
    /// Whole days since then.
    pub days_since_last_visit: i64,
    /// Their median gap between visit days, from the nightly run.
    pub usual_gap_days: f64,
    /// See [`churn_probability`].
    pub churn_probability: f64,
    /// What to do.
    pub recommended_action: &'static str,
}

/// `GET .../churn-risk`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Churn {
    /// The business.
    pub business_id: String,
    /// Customers at risk in total.
    pub total: i64,
    /// The riskiest first, at most `limit`.
    pub items: Vec<AtRisk>,
}

/// Away `days` against a usual gap of `gap` days: a logistic curve of the
/// ratio `x = days / gap`, `p = 1 / (1 + e^(-2·(x - 2)))`: 0.12 at the
/// usual gap, an even chance at twice it, 0.88 at three times and 0.98 at
/// four. Rounded to two decimals.
pub fn churn_probability(days: f64, gap: f64) -> f64 {
    let x = days / gap.max(1.0);
    let p = 1.0 / (1.0 + (-2.0 * (x - 2.0)).exp());
    (p * 100.0).round() / 100.0
}

fn action_for(p: f64) -> &'static str {
    if p >= 0.9 {
        "Позвонить лично и предложить персональное предложение"
    } else if p >= 0.7 {
        "Отправить купон на возвращение"
    } else {
        "Напомнить о себе: новинки и ближайшие события"
    }
}

/// Customers of this business (at least two visit days in the nightly
/// window) whose churn probability is 0.5 or more, i.e. who have been away
/// at least twice their own median gap; first names only, erased members
/// never.
pub fn churn_risk(
    sql: &dyn Sql,
    business_id: &str,
    now: DateTime<Utc>,
    limit: u32,
) -> Result<Churn, AnalyticsError> {
    business(sql, business_id)?;
    let rows = sql.execute(
        "SELECT s.member_id, s.median_gap_days, c.last_at, m.first_name FROM analytics_scores s \
         JOIN analytics_customers c ON c.business_id = s.business_id AND c.member_id = s.member_id \
         JOIN members m ON m.id = s.member_id \
         WHERE s.business_id = ? AND s.median_gap_days IS NOT NULL AND m.erased_at IS NULL",
        &params![business_id],
    )?;
    let mut items = Vec::new();
    for r in rows.iter() {
        let last = r.text("last_at")?;
        let days = (now - parse_ts(&last)?).num_days().max(0);
        let Some(gap) = r.opt_f64("median_gap_days")? else {
            continue;
        };
        #[allow(clippy::cast_precision_loss)]
        let p = churn_probability(days as f64, gap);
        if p < 0.5 {
            continue;
        }
        items.push(AtRisk {
            member_id: r.text("member_id")?,
            first_name: r.opt_text("first_name")?,
            last_visit: last,
            days_since_last_visit: days,
            usual_gap_days: gap,
            churn_probability: p,
            recommended_action: action_for(p),
        });
    }
    items.sort_by(|a, b| {
        b.churn_probability
            .total_cmp(&a.churn_probability)
            .then_with(|| a.member_id.cmp(&b.member_id))
    });
    let total = i64::try_from(items.len()).unwrap_or(i64::MAX);
    items.truncate(limit as usize);
    Ok(Churn {
        business_id: business_id.to_string(),
        total,
        items,
    })
}
