//! Scheduled jobs: a registry that capabilities add to, "is it due" decisions,
//! and at-most-once claiming of each run.
//!
//! The cron component fires every minute and calls [`run_due`]; the same jobs
//! run on demand through [`run_now`] (the authenticated internal HTTP route).
//! Each job claims its run in `job_runs` with a single conditional insert, so
//! overlapping firings on several instances run a due job once per period.
//! Jobs themselves must also be idempotent: `run_now` does not claim.

use chrono::{DateTime, Timelike, Utc};
use serde::Serialize;

use crate::error::{ErrorClass, UseCaseError};
use crate::ports::{Clock, KeyValue, Random, Sql, SqlValue, StoreError, Variables};

/// The ports a job may use.
pub struct JobEnv<'a> {
    /// SQLite `default`.
    pub sql: &'a dyn Sql,
    /// Key-value `default`.
    pub kv: &'a dyn KeyValue,
    /// Wall clock.
    pub clock: &'a dyn Clock,
    /// CSPRNG.
    pub random: &'a dyn Random,
    /// Settings.
    pub variables: &'a dyn Variables,
}

/// When a job is due (UTC).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Schedule {
    /// Once in every period of `minutes`, aligned to the epoch.
    Every {
        /// Period length in minutes (≥ 1).
        minutes: u32,
    },
    /// Once a day, at or after `hour:minute` UTC.
    Daily {
        /// Hour, 0–23.
        hour: u32,
        /// Minute, 0–59.
        minute: u32,
    },
    /// Never due by itself: run on demand only (the internal route).
    OnDemand,
}

impl Schedule {
    /// The key of the period `now` falls in, or `None` when the job is not due
    /// yet in that period (a daily job before its time).
    pub fn period_key(&self, now: DateTime<Utc>) -> Option<String> {
        match *self {
            Schedule::Every { minutes } => {
                let minutes = i64::from(minutes.max(1));
                let bucket = now.timestamp().div_euclid(60 * minutes) * 60 * minutes;
                DateTime::from_timestamp(bucket, 0).map(|t| t.format("%Y-%m-%dT%H:%MZ").to_string())
            }
            Schedule::Daily { hour, minute } => {
                let due = (now.hour(), now.minute()) >= (hour, minute);
                due.then(|| now.format("%Y-%m-%d").to_string())
            }
            Schedule::OnDemand => None,
        }
    }
}

/// What a run did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct JobReport {
    /// Rows or items affected.
    pub affected: u64,
    /// A short human note.
    pub note: String,
}

/// A job failed.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Anything else.
    #[error("{0}")]
    Other(String),
}

/// One registered job.
#[derive(Clone, Copy)]
pub struct Job {
    /// Stable name used in routes and `job_runs`, kebab-case.
    pub name: &'static str,
    /// What it does.
    pub description: &'static str,
    /// When it is due.
    pub schedule: Schedule,
    /// The work. Must be idempotent and safe to run concurrently with itself.
    pub run: fn(&JobEnv<'_>) -> Result<JobReport, JobError>,
}

impl std::fmt::Debug for Job {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Job")
            .field("name", &self.name)
            .field("schedule", &self.schedule)
            .finish()
    }
}

/// Every job the app has. Capabilities add theirs here.
pub fn registry() -> Vec<Job> {
    let mut jobs = vec![Job {
        name: "purge-idempotency-keys",
        description: "Deletes idempotency records older than their 24 h replay window.",
        schedule: Schedule::Every { minutes: 60 },
        run: |env| {
            let affected = crate::idempotency::purge_expired(env.sql, env.clock)?;
            Ok(JobReport {
                affected,
                note: "expired idempotency records deleted".into(),
            })
        },
    }, Job {
        name: "refresh-flags",
        description: "Rewrites the key-value snapshot of the feature flags from SQLite, so a snapshot write that ever failed heals within a minute.",
        schedule: Schedule::Every { minutes: 1 },
        run: |env| {
            let snapshot = crate::flags::refresh(env.kv, env.sql)?;
            Ok(JobReport {
                affected: snapshot.flags.len() as u64,
                note: "feature-flag snapshot rewritten".into(),
            })
        },
    }];
    jobs.extend(crate::auth::jobs::jobs());
    jobs.extend(crate::wallet::jobs::jobs());
    jobs.extend(crate::promo::jobs::jobs());
    jobs.extend(crate::payments::jobs::jobs());
    jobs
}

/// The job called `name`.
pub fn find(name: &str) -> Option<Job> {
    registry().into_iter().find(|j| j.name == name)
}

/// Running a job on demand failed.
#[derive(Debug, thiserror::Error)]
pub enum RunJobError {
    /// No job has that name.
    #[error("no job named {0:?}")]
    UnknownJob(String),
    /// The job failed.
    #[error("job failed: {0}")]
    Failed(#[source] JobError),
}

impl UseCaseError for RunJobError {
    fn code(&self) -> &'static str {
        match self {
            RunJobError::UnknownJob(_) => "UNKNOWN_JOB",
            RunJobError::Failed(_) => "JOB_FAILED",
        }
    }

    fn class(&self) -> ErrorClass {
        match self {
            RunJobError::UnknownJob(_) => ErrorClass::NotFound,
            RunJobError::Failed(_) => ErrorClass::Unknown,
        }
    }
}

/// Runs `name` now, unconditionally (no claim).
pub fn run_now(env: &JobEnv<'_>, name: &str) -> Result<JobReport, RunJobError> {
    run_now_in(env, &registry(), name)
}

/// [`run_now`] over a job list of the caller's (the components add jobs
/// that need ports core's registry cannot bind, such as outbound HTTP).
pub fn run_now_in(env: &JobEnv<'_>, jobs: &[Job], name: &str) -> Result<JobReport, RunJobError> {
    let job = jobs
        .iter()
        .find(|j| j.name == name)
        .ok_or_else(|| RunJobError::UnknownJob(name.to_string()))?;
    (job.run)(env).map_err(RunJobError::Failed)
}

/// The outcome of one job in a [`run_due`] pass.
#[derive(Debug, Serialize)]
pub struct DueOutcome {
    /// Job name.
    pub job: &'static str,
    /// Period key claimed.
    pub period: String,
    /// `ok`, `skipped` (claimed elsewhere) or `failed`.
    pub outcome: &'static str,
    /// The report when it ran.
    pub report: Option<JobReport>,
    /// The error text when it failed.
    pub error: Option<String>,
}

/// Runs every job due now whose period no one has claimed yet.
pub fn run_due(env: &JobEnv<'_>) -> Result<Vec<DueOutcome>, StoreError> {
    run_due_in(env, registry())
}

/// [`run_due`] over a job list of the caller's.
pub fn run_due_in(env: &JobEnv<'_>, jobs: Vec<Job>) -> Result<Vec<DueOutcome>, StoreError> {
    let now = env.clock.now();
    let mut outcomes = Vec::new();
    for job in jobs {
        let Some(period) = job.schedule.period_key(now) else {
            continue;
        };
        if !claim(env.sql, job.name, &period, now)? {
            outcomes.push(DueOutcome {
                job: job.name,
                period,
                outcome: "skipped",
                report: None,
                error: None,
            });
            continue;
        }
        let result = (job.run)(env);
        let (outcome, report, error) = match result {
            Ok(report) => ("ok", Some(report), None),
            Err(e) => ("failed", None, Some(e.to_string())),
        };
        env.sql.execute(
            "UPDATE job_runs SET finished_at = ?, outcome = ? WHERE job = ? AND run_key = ?",
            &[
                SqlValue::Text(crate::db::ts(env.clock.now())),
                SqlValue::Text(outcome.to_string()),
                SqlValue::Text(job.name.to_string()),
                SqlValue::Text(period.clone()),
            ],
        )?;
        outcomes.push(DueOutcome {
            job: job.name,
            period,
            outcome,
            report,
            error,
        });
    }
    Ok(outcomes)
}

// One conditional insert: whoever inserts the row owns the run.
fn claim(sql: &dyn Sql, job: &str, period: &str, now: DateTime<Utc>) -> Result<bool, StoreError> {
    let rows = sql.execute(
        "INSERT INTO job_runs (job, run_key, started_at) VALUES (?, ?, ?) \
         ON CONFLICT (job, run_key) DO NOTHING RETURNING job",
        &[
            SqlValue::Text(job.to_string()),
            SqlValue::Text(period.to_string()),
            SqlValue::Text(crate::db::ts(now)),
        ],
    )?;
    Ok(!rows.rows.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn every_buckets_align_to_the_period() {
        let s = Schedule::Every { minutes: 15 };
        let t = |h, m, sec| Utc.with_ymd_and_hms(2026, 11, 24, h, m, sec).unwrap();
        assert_eq!(s.period_key(t(10, 0, 0)).unwrap(), "2026-11-24T10:00Z");
        assert_eq!(s.period_key(t(10, 14, 59)).unwrap(), "2026-11-24T10:00Z");
        assert_eq!(s.period_key(t(10, 15, 0)).unwrap(), "2026-11-24T10:15Z");
    }

    #[test]
    fn daily_is_due_from_its_time_on() {
        let s = Schedule::Daily {
            hour: 3,
            minute: 30,
        };
        let t = |h, m| Utc.with_ymd_and_hms(2026, 11, 24, h, m, 0).unwrap();
        assert_eq!(s.period_key(t(3, 29)), None);
        assert_eq!(s.period_key(t(3, 30)).unwrap(), "2026-11-24");
        assert_eq!(s.period_key(t(23, 59)).unwrap(), "2026-11-24");
    }

    #[test]
    fn job_names_are_unique_kebab_case() {
        let jobs = registry();
        let mut names: Vec<_> = jobs.iter().map(|j| j.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), jobs.len());
        for name in names {
            assert!(name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'));
        }
    }
}
