//! Checkout-promo's scheduled work, for [`crate::jobs::registry`].

use crate::jobs::{Job, JobReport, Schedule};

/// Checkout-promo's jobs.
pub fn jobs() -> Vec<Job> {
    vec![Job {
        name: "expire-reservations",
        description: "Expires checkout reservations past their 15-minute hold, freeing their promo uses, budget and points; drops unknown-code records older than an hour.",
        schedule: Schedule::Every { minutes: 1 },
        run: |env| {
            let n = super::checkout::expire(env.sql, env.clock.now())?;
            Ok(JobReport {
                affected: n,
                note: "reservations expired".into(),
            })
        },
    }]
}
