//! Sync runs: one integration's window fetched from the partner's system
//! and fed to the purchase pipeline. The watermark moves to the window's
//! end only after every row of the window was applied, so a failed run
//! (timeout, 5xx, 429, malformed body) is retried from the same place and
//! the overlap makes late records land while re-fetched ones are
//! duplicates. A lease on the integration row keeps two runs of one
//! integration from overlapping.

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;

use super::connectors::{FetchCtx, Kind, SyncError, Window};
use super::integrations::{self, IntegrationError, SyncRun, FAILING_AFTER};
use super::normalize;
use super::pipeline;
use crate::db::ts;
use crate::params;
use crate::payments::webhook::WebhookEnv;
use crate::ports::{Http, Pause, StoreError};
use crate::types::Id;
use crate::wallet::ledger::Actor;

/// Longest window one run asks for: a long backlog is caught up a week
/// per run.
pub const MAX_WINDOW_DAYS: i64 = 7;

/// How long a run holds its integration (a crashed run's lease lapses).
pub const LEASE_MINUTES: i64 = 15;

/// Most requests one run may send to the partner's system.
pub const MAX_REQUESTS: usize = 200;

/// Days a sync run stays in the history.
pub const RUN_RETENTION_DAYS: i64 = 90;

/// Integrations one scheduled job run syncs at most.
pub const MAX_PER_JOB: usize = 50;

/// How far back before the watermark each kind re-reads, so records that
/// arrive late in the partner's system are not missed.
pub fn overlap(kind: Kind) -> Duration {
    match kind {
        // Date-granular APIs: the whole previous day again.
        Kind::OneC | Kind::Yclients | Kind::Renovatio => Duration::days(1),
        Kind::AmoCrm => Duration::hours(1),
        Kind::CsvUrl => Duration::days(3),
    }
}

/// The window of the next run: from the watermark minus the overlap to
/// now, at most [`MAX_WINDOW_DAYS`] past the watermark.
pub fn window(kind: Kind, watermark: DateTime<Utc>, now: DateTime<Utc>) -> Window {
    let to = (watermark + Duration::days(MAX_WINDOW_DAYS)).min(now);
    Window {
        from: watermark - overlap(kind),
        to: to.max(watermark),
    }
}

/// What a sync needs.
pub struct SyncEnv<'a> {
    /// The pipeline's ports and settings.
    pub pipeline: WebhookEnv<'a>,
    /// Outbound HTTP to the partner's system.
    pub http: &'a dyn Http,
    /// Waits between requests.
    pub pause: &'a dyn Pause,
}

/// Runs the integration of `business_id` now (`started_by`: `manual` or
/// `schedule`) and returns the run as stored.
pub fn run(
    env: &SyncEnv<'_>,
    business_id: &str,
    started_by: &str,
) -> Result<SyncRun, IntegrationError> {
    let sql = env.pipeline.sql;
    let now = env.pipeline.clock.now();
    let it = integrations::stored(sql, business_id)?.ok_or(IntegrationError::NotFound)?;
    if !it.enabled {
        return Err(IntegrationError::Disabled);
    }
    // The lease: one conditional update decides between racing runs.
    sql.execute(
        "UPDATE integrations SET lease_until = ? WHERE business_id = ? AND (lease_until IS NULL OR lease_until < ?)",
        &params![ts(now + Duration::minutes(LEASE_MINUTES)), business_id, ts(now)],
    )?;
    if sql.changes()? != 1 {
        return Err(IntegrationError::Running);
    }
    let w = window(it.kind, it.watermark, now);
    let run_id = Id::at(now, env.pipeline.random).to_text();
    sql.execute(
        "INSERT INTO sync_runs (id, business_id, started_by, status, window_from, window_to, started_at) \
         VALUES (?, ?, ?, 'running', ?, ?, ?)",
        &params![run_id.as_str(), business_id, started_by, ts(w.from), ts(w.to), ts(now)],
    )?;
    let outcome = fetch_and_apply(env, &it, w);
    let finished = env.pipeline.clock.now();
    match &outcome {
        Ok((fetched, report)) => {
            sql.execute(
                "UPDATE sync_runs SET status = 'succeeded', fetched = ?, accepted = ?, duplicates = ?, rejected = ?, \
                 parked = ?, finished_at = ? WHERE id = ?",
                &params![
                    *fetched as i64,
                    report.accepted as i64,
                    report.duplicates as i64,
                    report.rejected as i64,
                    report.parked as i64,
                    ts(finished),
                    run_id.as_str()
                ],
            )?;
            sql.execute(
                "UPDATE integrations SET watermark = ?, failures = 0, last_error = NULL, not_before = NULL, \
                 lease_until = NULL, updated_at = ? WHERE business_id = ?",
                &params![ts(w.to), ts(finished), business_id],
            )?;
        }
        Err(e) => {
            let message = e.to_string();
            let not_before = match e {
                RunFailure::Fetch(SyncError::RateLimited { retry_after }) => {
                    Some(ts(finished
                        + Duration::seconds(
                            retry_after.unwrap_or(60).min(86_400) as i64
                        )))
                }
                _ => None,
            };
            sql.execute(
                "UPDATE sync_runs SET status = 'failed', error = ?, finished_at = ? WHERE id = ?",
                &params![message.as_str(), ts(finished), run_id.as_str()],
            )?;
            sql.execute(
                "UPDATE integrations SET failures = failures + 1, last_error = ?, not_before = ?, lease_until = NULL, \
                 updated_at = ? WHERE business_id = ?",
                &params![message.as_str(), not_before, ts(finished), business_id],
            )?;
            if let RunFailure::Store(s) = e {
                return Err(IntegrationError::Unknown(s.clone()));
            }
        }
    }
    let rows = sql.execute(
        &format!(
            "SELECT {} FROM sync_runs WHERE id = ?",
            integrations::RUN_COLUMNS
        ),
        &params![run_id.as_str()],
    )?;
    let row = rows
        .first()
        .ok_or_else(|| StoreError::Other("sync run vanished".into()))?;
    Ok(integrations::run_of(&row)?)
}

#[derive(Debug, thiserror::Error)]
enum RunFailure {
    #[error("settings: {0}")]
    Settings(String),
    #[error(transparent)]
    Fetch(SyncError),
    #[error("storing failed: {0}")]
    Store(StoreError),
}

fn fetch_and_apply(
    env: &SyncEnv<'_>,
    it: &integrations::Stored,
    w: Window,
) -> Result<(usize, pipeline::Report), RunFailure> {
    let sql = env.pipeline.sql;
    let connector = it
        .kind
        .configure(&it.settings)
        .map_err(|e| RunFailure::Settings(e.to_string()))?;
    let tz = normalize::business_zone(sql, &it.business_id)
        .map_err(RunFailure::Store)?
        .unwrap_or_else(|| normalize::zone(""));
    let ctx = FetchCtx {
        http: env.http,
        pause: env.pause,
        window: w,
        tz,
        max_requests: MAX_REQUESTS,
    };
    let rows = connector.fetch(&ctx).map_err(RunFailure::Fetch)?;
    let fetched = rows.len();
    let actor = Actor {
        role: "system",
        id: Some(format!("sync:{}", it.kind.as_str())),
    };
    let report =
        pipeline::ingest(&env.pipeline, &it.business_id, &actor, rows).map_err(|e| match e {
            pipeline::IngestError::Unknown(s) => RunFailure::Store(s),
            other => RunFailure::Settings(other.to_string()),
        })?;
    Ok((fetched, report))
}

/// What one scheduled pass did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Pass {
    /// Runs that succeeded.
    pub succeeded: u64,
    /// Runs that failed (recorded on the run and the integration).
    pub failed: u64,
    /// Integrations skipped: running elsewhere.
    pub skipped: u64,
    /// Integrations that became `failing` in this pass.
    pub now_failing: u64,
    /// Members whose phone hash was filled in.
    pub hashed: u64,
    /// Runs older than [`RUN_RETENTION_DAYS`] removed from the history.
    pub purged: u64,
}

/// The `partner-sync` job: every enabled integration that is not waiting
/// out a `Retry-After` nor running, oldest watermark first; one
/// integration's failure never stops the others. Also trims the run
/// history to [`RUN_RETENTION_DAYS`].
pub fn run_due(env: &SyncEnv<'_>) -> Result<Pass, StoreError> {
    let sql = env.pipeline.sql;
    let now = env.pipeline.clock.now();
    sql.execute(
        "DELETE FROM sync_runs WHERE started_at < ?",
        &params![ts(now - Duration::days(RUN_RETENTION_DAYS))],
    )?;
    let mut pass = Pass {
        purged: sql.changes()?,
        hashed: backfill_phone_hashes(env)?,
        ..Pass::default()
    };
    let due = sql.execute(
        "SELECT business_id, failures FROM integrations WHERE enabled = 1 AND (not_before IS NULL OR not_before <= ?) \
         AND (lease_until IS NULL OR lease_until < ?) ORDER BY watermark LIMIT ?",
        &params![ts(now), ts(now), MAX_PER_JOB as i64],
    )?;
    for r in due.iter() {
        let business_id = r.text("business_id")?;
        let failures_before = r.i64("failures")?;
        match run(env, &business_id, "schedule") {
            Ok(run) if run.status == "succeeded" => pass.succeeded += 1,
            Ok(_) => {
                pass.failed += 1;
                if failures_before + 1 == FAILING_AFTER {
                    pass.now_failing += 1;
                }
            }
            Err(
                IntegrationError::Running | IntegrationError::Disabled | IntegrationError::NotFound,
            ) => pass.skipped += 1,
            Err(IntegrationError::Unknown(e)) => return Err(e),
            Err(_) => pass.failed += 1,
        }
    }
    Ok(pass)
}

// Members registered before phone hashes were kept get theirs, so medical
// partners' rows find them; bounded per pass.
fn backfill_phone_hashes(env: &SyncEnv<'_>) -> Result<u64, StoreError> {
    let sql = env.pipeline.sql;
    let rows = sql.execute(
        "SELECT id, phone FROM members WHERE phone_sha256 IS NULL AND phone IS NOT NULL AND erased_at IS NULL LIMIT 1000",
        &[],
    )?;
    let mut n = 0;
    for r in rows.iter() {
        let phone = r.text("phone")?;
        sql.execute(
            "UPDATE members SET phone_sha256 = ? WHERE id = ? AND phone = ?",
            &params![
                crate::crypto::sha256_hex(phone.as_bytes()),
                r.text("id")?,
                phone.as_str()
            ],
        )?;
        n += sql.changes()?;
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn windows_overlap_the_watermark_and_catch_up_a_week_at_a_time() {
        let at = |d: u32, h: u32| Utc.with_ymd_and_hms(2026, 11, d, h, 0, 0).unwrap();
        let w = window(Kind::Yclients, at(20, 0), at(30, 12));
        assert_eq!((w.from, w.to), (at(19, 0), at(27, 0)));
        let w = window(Kind::AmoCrm, at(30, 10), at(30, 12));
        assert_eq!((w.from, w.to), (at(30, 9), at(30, 12)));
        let w = window(Kind::CsvUrl, at(30, 12), at(30, 12));
        assert_eq!((w.from, w.to), (at(27, 12), at(30, 12)));
        // A watermark ahead of the clock (clock skew) never moves back.
        let w = window(Kind::OneC, at(30, 13), at(30, 12));
        assert_eq!(w.to, at(30, 13));
    }
}
