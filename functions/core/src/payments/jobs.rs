//! Payments' scheduled work, for [`crate::jobs::registry`].

use super::webhook::{self, WebhookEnv};
use crate::jobs::{Job, JobReport, Schedule};
use crate::wallet::WalletSettings;

/// Payments' jobs.
pub fn jobs() -> Vec<Job> {
    vec![Job {
        name: "credit-parked-payments",
        description: "Credits payments parked for an unknown phone once that phone belongs to a member; expires them after 30 days.",
        schedule: Schedule::Every { minutes: 5 },
        run: |env| {
            let settings = WalletSettings::from_variables(env.variables).map_err(crate::jobs::JobError::Other)?;
            let referral = crate::referral::ReferralSettings::from_variables(env.variables)
                .map_err(crate::jobs::JobError::Other)?;
            let n = webhook::credit_parked(&WebhookEnv {
                sql: env.sql,
                clock: env.clock,
                random: env.random,
                settings: &settings,
                request_id: None,
                orders: &[],
                referral: &referral,
            })?;
            Ok(JobReport {
                affected: n,
                note: "parked payments credited".into(),
            })
        },
    }]
}
