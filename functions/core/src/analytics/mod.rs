//! Partner analytics and the club's dashboard.
//!
//! - [`rollup`]: per business and day, and per business and member, kept in
//!   the purchase pipeline's transaction and rebuildable from purchases.
//! - [`nightly`]: what is cheaper in bulk once a day — RFM scores and each
//!   customer's usual gap, win-win chains, cross-business links and the
//!   north-star metric.
//! - [`reports`]: the partner reports of API.md, each answering from the
//!   rollups, the nightly tables and indexed ranges of purchases.
//! - [`club`]: the admins' dashboard; [`export`]: the purchases CSV in
//!   pages; [`metrics`]: the Prometheus exposition.
//!
//! Privacy: a business sees other businesses only as names and counts,
//! never their customers; medical partners' purchases count in sums and
//! never show what the service was (it is not stored).

// `params!` builds a Vec that is then borrowed as the statement's slice.
#![allow(clippy::useless_vec)]

pub mod club;
pub mod export;
pub mod metrics;
pub mod nightly;
pub mod reports;
pub mod rollup;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::Serialize;

use crate::error::{ErrorClass, InvalidValue, UseCaseError};
use crate::ports::StoreError;

/// An analytics use case failed (nothing is written by any of them).
#[derive(Debug, thiserror::Error)]
pub enum AnalyticsError {
    /// A query parameter is invalid.
    #[error(transparent)]
    Invalid(#[from] InvalidValue),
    /// No such business.
    #[error("no such business")]
    BusinessNotFound,
    /// Storage failed.
    #[error(transparent)]
    Unknown(#[from] StoreError),
}

impl UseCaseError for AnalyticsError {
    fn code(&self) -> &'static str {
        match self {
            AnalyticsError::Invalid(e) => e.code,
            AnalyticsError::BusinessNotFound => "BUSINESS_NOT_FOUND",
            AnalyticsError::Unknown(e) => e.code(),
        }
    }

    fn class(&self) -> ErrorClass {
        match self {
            AnalyticsError::Invalid(e) => e.class(),
            AnalyticsError::BusinessNotFound => ErrorClass::NotFound,
            AnalyticsError::Unknown(e) => e.class(),
        }
    }
}

/// Days a period may span at most (three years).
pub const MAX_PERIOD_DAYS: i64 = 1096;
/// Days a period spans when `from` is not given.
pub const DEFAULT_PERIOD_DAYS: i64 = 30;

/// A report's period: whole UTC days `from ..= to`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Period {
    /// First day.
    pub from: NaiveDate,
    /// Last day (inclusive).
    pub to: NaiveDate,
}

impl Period {
    /// Parses `from`/`to` (`YYYY-MM-DD`). `to` defaults to today and `from`
    /// to 29 days before `to`; `from` after `to` and spans over
    /// [`MAX_PERIOD_DAYS`] are refused.
    pub fn parse(
        from: Option<&str>,
        to: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<Self, InvalidValue> {
        let date = |raw: &str, field: &str| {
            NaiveDate::parse_from_str(raw.trim(), "%Y-%m-%d").map_err(|_| {
                InvalidValue::new("INVALID_FIELD", field, "expected a date as YYYY-MM-DD")
            })
        };
        let to = match to {
            Some(raw) => date(raw, "to")?,
            None => now.date_naive(),
        };
        let from = match from {
            Some(raw) => date(raw, "from")?,
            None => to - Duration::days(DEFAULT_PERIOD_DAYS - 1),
        };
        if from > to {
            return Err(InvalidValue::new(
                "INVALID_PERIOD",
                "from",
                "from must not be after to",
            ));
        }
        if (to - from).num_days() + 1 > MAX_PERIOD_DAYS {
            return Err(InvalidValue::new(
                "INVALID_PERIOD",
                "to",
                format!("a period spans at most {MAX_PERIOD_DAYS} days"),
            ));
        }
        Ok(Period { from, to })
    }

    /// Number of days.
    pub fn days(&self) -> i64 {
        (self.to - self.from).num_days() + 1
    }

    /// The period of the same length right before this one.
    pub fn previous(&self) -> Period {
        let to = self.from - Duration::days(1);
        Period {
            from: to - Duration::days(self.days() - 1),
            to,
        }
    }

    /// `from` as the stored form of its first instant.
    pub fn start_ts(&self) -> String {
        format!("{}T00:00:00.000000Z", self.from.format("%Y-%m-%d"))
    }

    /// The stored form of the first instant after the period.
    pub fn end_ts(&self) -> String {
        format!(
            "{}T00:00:00.000000Z",
            (self.to + Duration::days(1)).format("%Y-%m-%d")
        )
    }

    /// `from` as `YYYY-MM-DD`.
    pub fn from_day(&self) -> String {
        self.from.format("%Y-%m-%d").to_string()
    }

    /// `to` as `YYYY-MM-DD`.
    pub fn to_day(&self) -> String {
        self.to.format("%Y-%m-%d").to_string()
    }
}

/// `part / whole` rounded to four decimals (0 when `whole` is 0).
pub(crate) fn ratio(part: i64, whole: i64) -> f64 {
    if whole == 0 {
        return 0.0;
    }
    #[allow(clippy::cast_precision_loss)]
    let r = part as f64 / whole as f64;
    (r * 10_000.0).round() / 10_000.0
}

/// The business's name and whether it is medical, or `BusinessNotFound`.
pub fn business_info(
    sql: &dyn crate::ports::Sql,
    id: &str,
) -> Result<(String, bool), AnalyticsError> {
    let rows = sql.execute(
        "SELECT name, medical FROM businesses WHERE id = ?",
        &crate::params![id],
    )?;
    let r = rows.first().ok_or(AnalyticsError::BusinessNotFound)?;
    Ok((r.text("name")?, r.i64("medical")? == 1))
}

/// Names of every business, by id (reports show other businesses by name).
pub(crate) fn business_names(
    sql: &dyn crate::ports::Sql,
) -> Result<std::collections::HashMap<String, String>, StoreError> {
    let rows = sql.execute("SELECT id, name FROM businesses", &[])?;
    rows.iter()
        .map(|r| Ok((r.text("id")?, r.text("name")?)))
        .collect()
}

/// Job `rebuild-analytics`: recomputes the rollups from purchases in one
/// `BEGIN IMMEDIATE` transaction (the result equals what the pipeline
/// kept; a drift would be repaired).
pub fn rebuild_job(
    env: &crate::jobs::JobEnv<'_>,
) -> Result<crate::jobs::JobReport, crate::jobs::JobError> {
    let r = crate::db::immediate(env.sql, rollup::rebuild)?;
    Ok(crate::jobs::JobReport {
        affected: r.days + r.customers,
        note: format!(
            "analytics rebuilt: {} business-days, {} customers",
            r.days, r.customers
        ),
    })
}

/// Job `analytics-nightly`: see [`nightly::run`].
pub fn nightly_job(
    env: &crate::jobs::JobEnv<'_>,
) -> Result<crate::jobs::JobReport, crate::jobs::JobError> {
    let r = nightly::run(env.sql, env.clock.now())?;
    Ok(crate::jobs::JobReport {
        affected: r.scored,
        note: format!(
            "analytics nightly: {} customers scored, {} chains, {} links",
            r.scored, r.chains, r.links
        ),
    })
}
