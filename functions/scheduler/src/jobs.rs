//! The jobs this component runs: core's registry plus the jobs that need a
//! port core's registry cannot bind (outbound HTTP for the Telegram
//! delivery), registered here with the adapter's client.

use krug_core::jobs::{Job, JobEnv, JobError, JobReport, Schedule};
use krug_spin_adapter::SpinHttp;

fn deliver_telegram(env: &JobEnv<'_>) -> Result<JobReport, JobError> {
    krug_core::support::delivery::deliver(env, &SpinHttp)
}

/// Every job, core's first.
pub fn all() -> Vec<Job> {
    let mut jobs = krug_core::jobs::registry();
    jobs.push(Job {
        name: "support-escalate",
        description: "Escalates tickets whose first response is overdue: priority up, a message to the support chat; once per breach.",
        schedule: Schedule::Every { minutes: 1 },
        run: krug_core::support::jobs::escalate,
    });
    jobs.push(Job {
        name: "support-deliver-telegram",
        description: "Sends pending support outbox messages to the Telegram chat, in order per ticket, with retries and backoff.",
        schedule: Schedule::Every { minutes: 1 },
        run: deliver_telegram,
    });
    jobs.push(Job {
        name: "preorders-expire-holds",
        description: "Cancels unpaid preorders and upgrades whose hold lapsed, freeing their units and points holds.",
        schedule: Schedule::Every { minutes: 1 },
        run: krug_core::preorders::jobs::expire_holds_job,
    });
    jobs.push(Job {
        name: "preorders-open-early-access",
        description: "Moves paid preorders to early access from their tier's early_access_days before release.",
        schedule: Schedule::Every { minutes: 5 },
        run: krug_core::preorders::jobs::early_access_job,
    });
    jobs.push(Job {
        name: "preorders-fulfil",
        description: "Fulfils paid preorders of released items, granting each tier bonus (points, coupon, activation code) once.",
        schedule: Schedule::Every { minutes: 5 },
        run: krug_core::preorders::jobs::fulfil_job,
    });
    jobs
}
