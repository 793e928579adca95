//! Auth's scheduled housekeeping, for [`crate::jobs::registry`].

use chrono::Duration;

use crate::db::ts;
use crate::jobs::{Job, JobReport, Schedule};
use crate::params;

/// Auth's jobs.
pub fn jobs() -> Vec<Job> {
    vec![Job {
        name: "purge-auth-records",
        description: "Deletes refresh tokens a day past expiry, one-time-code sends older than an hour and stale code challenges.",
        schedule: Schedule::Every { minutes: 60 },
        run: |env| {
            let now = env.clock.now();
            let mut affected = super::refresh::purge_expired(env.sql, now)?;
            env.sql.execute(
                "DELETE FROM otp_sends WHERE at <= ?",
                &params![ts(now - Duration::hours(1))],
            )?;
            affected += env.sql.changes()?;
            env.sql.execute(
                "DELETE FROM otp_challenges WHERE sent_at <= ?",
                &params![ts(now - Duration::days(1))],
            )?;
            affected += env.sql.changes()?;
            Ok(JobReport {
                affected,
                note: "expired auth records deleted".into(),
            })
        },
    }]
}
