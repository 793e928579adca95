//! The events jobs, registered by the scheduler component: expire unpaid
//! holds, close due proposals, mark past events. Each is idempotent and
//! safe to run twice at once.

use super::{proposals, registration, EventEnv, EventSettings};
use crate::db::ts;
use crate::jobs::{JobEnv, JobError, JobReport};
use crate::params;

fn with_env<T>(
    env: &JobEnv<'_>,
    f: impl FnOnce(&EventEnv<'_>) -> Result<T, JobError>,
) -> Result<T, JobError> {
    let settings = EventSettings::from_variables(env.variables).map_err(JobError::Other)?;
    f(&EventEnv {
        sql: env.sql,
        clock: env.clock,
        random: env.random,
        settings: &settings,
        request_id: None,
    })
}

/// `events-expire-holds`: unpaid seats past their 30-minute hold expire
/// and go to the waitlist.
pub fn expire_holds(env: &JobEnv<'_>) -> Result<JobReport, JobError> {
    with_env(env, |e| {
        Ok(JobReport {
            affected: registration::expire_holds(e)?,
            note: "unpaid event seats released to the waitlist".into(),
        })
    })
}

/// `events-close-proposals`: decides every proposal whose voting ended.
pub fn close_proposals(env: &JobEnv<'_>) -> Result<JobReport, JobError> {
    with_env(env, |e| {
        Ok(JobReport {
            affected: proposals::close_due(e)?,
            note: "proposals approved or rejected".into(),
        })
    })
}

/// `events-mark-past`: scheduled events that have ended become `past`.
pub fn mark_past(env: &JobEnv<'_>) -> Result<JobReport, JobError> {
    let now = ts(env.clock.now());
    env.sql.execute(
        "UPDATE events SET status = 'past', updated_at = ? WHERE status = 'scheduled' AND ends_at <= ?",
        &params![now.as_str(), now.as_str()],
    )?;
    Ok(JobReport {
        affected: env.sql.changes()?,
        note: "ended events marked past".into(),
    })
}
