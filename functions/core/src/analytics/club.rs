//! `GET /analytics/club`: the admins' dashboard of the whole club.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::nightly::{self, ClubSnapshot, Link};
use super::{ratio, AnalyticsError, Period};
use crate::db::ts;
use crate::params;
use crate::ports::Sql;
use crate::wallet::tiers::Tier;

/// The north-star metric as of the last nightly run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NorthStarView {
    /// Share of members active in the last 60 days who bought in at least
    /// two categories in them.
    pub value: f64,
    /// The same for the 60 days before.
    pub previous_value: f64,
    /// Active members counted.
    pub active_members: i64,
    /// When it was computed.
    pub computed_at: String,
}

/// Events figures.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EventsView {
    /// Scheduled events that have not started.
    pub upcoming: i64,
    /// Seats confirmed or held on them.
    pub registered: i64,
    /// Events budget allocated to events in the period (kopecks).
    pub budget_allocated: i64,
}

/// The dashboard.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Club {
    /// The period the money figures cover.
    pub period: Period,
    /// Members (not erased) by tier, every tier listed.
    pub members_by_tier: BTreeMap<&'static str, i64>,
    /// Their total.
    pub members_total: i64,
    /// `None` until the nightly job has run.
    pub north_star: Option<NorthStarView>,
    /// Net revenue of every partner in the period.
    pub total_revenue: i64,
    /// The ecosystem-engaged part of it.
    pub ecosystem_revenue: i64,
    /// `ecosystem_revenue / total_revenue`.
    pub ecosystem_share: f64,
    /// The platform's commission booked in the period (refunds subtract).
    pub commission: i64,
    /// The most used cross-business links (nightly).
    pub top_links: Vec<Link>,
    /// Events.
    pub events: EventsView,
}

/// Builds the dashboard for `period` as of `now`.
pub fn dashboard(
    sql: &dyn Sql,
    period: Period,
    now: DateTime<Utc>,
) -> Result<Club, AnalyticsError> {
    let mut members_by_tier: BTreeMap<&'static str, i64> =
        Tier::ALL.iter().map(|t| (t.as_str(), 0)).collect();
    let tiers = sql.execute(
        "SELECT tier, COUNT(*) AS n FROM members WHERE erased_at IS NULL GROUP BY tier",
        &[],
    )?;
    for r in tiers.iter() {
        if let Some(slot) = members_by_tier.get_mut(r.text("tier")?.as_str()) {
            *slot += r.i64("n")?;
        }
    }
    let sums = sql.execute(
        "SELECT COALESCE(SUM(revenue), 0) AS revenue, COALESCE(SUM(ecosystem_revenue), 0) AS eco, \
         COALESCE(SUM(commission), 0) AS commission FROM analytics_daily WHERE day >= ? AND day <= ?",
        &params![period.from_day(), period.to_day()],
    )?;
    let s = sums.first();
    let get = |c: &str| s.map_or(Ok(0), |r| r.i64(c));
    let (revenue, eco, commission) = (get("revenue")?, get("eco")?, get("commission")?);
    let snapshot = nightly::snapshot::<ClubSnapshot>(sql, "club")?;
    let now_ts = ts(now);
    let count = |q: &str, args: Vec<crate::ports::SqlValue>| -> Result<i64, AnalyticsError> {
        let rows = sql.execute(q, &args)?;
        Ok(rows.first().map_or(Ok(0), |r| r.i64("n"))?)
    };
    let events = EventsView {
        upcoming: count(
            "SELECT COUNT(*) AS n FROM events WHERE status = 'scheduled' AND starts_at > ?",
            params![now_ts.as_str()],
        )?,
        registered: count(
            "SELECT COALESCE(SUM(r.seats), 0) AS n FROM event_registrations r JOIN events e ON e.id = r.event_id \
             WHERE e.status = 'scheduled' AND e.starts_at > ? AND r.status IN ('confirmed', 'pending_payment')",
            params![now_ts.as_str()],
        )?,
        budget_allocated: count(
            "SELECT COALESCE(SUM(amount), 0) AS n FROM event_budget_allocations WHERE created_at >= ? AND created_at < ?",
            params![period.start_ts(), period.end_ts()],
        )?,
    };
    let (north_star, top_links) = match snapshot {
        Some((at, snap)) => (
            Some(NorthStarView {
                value: snap.north_star.value,
                previous_value: snap.north_star.previous_value,
                active_members: snap.north_star.active_members,
                computed_at: at,
            }),
            snap.top_links,
        ),
        None => (None, Vec::new()),
    };
    Ok(Club {
        period,
        members_total: members_by_tier.values().sum(),
        members_by_tier,
        north_star,
        total_revenue: revenue,
        ecosystem_revenue: eco,
        ecosystem_share: ratio(eco, revenue),
        commission,
        top_links,
        events,
    })
}
