//! The jobs this component runs: core's registry plus the jobs that need a
//! port core's registry cannot bind (outbound HTTP for the Telegram
//! delivery), registered here with the adapter's client.

use krug_core::jobs::{Job, JobEnv, JobError, JobReport, Schedule};
use krug_core::referral::{rules, ReferralSettings};
use krug_spin_adapter::SpinHttp;

fn settle_referrals(env: &JobEnv<'_>) -> Result<JobReport, JobError> {
    let settings = ReferralSettings::from_variables(env.variables).map_err(JobError::Other)?;
    let r = rules::settle_due(&rules::ReferralEnv {
        sql: env.sql,
        clock: env.clock,
        random: env.random,
        settings: &settings,
        request_id: None,
    })?;
    Ok(JobReport {
        affected: r.paid + r.rewarded + r.awaiting_payout + r.rejected,
        note: format!(
            "referrals: {} paid, {} rewarded, {} awaiting payout, {} rejected",
            r.paid, r.rewarded, r.awaiting_payout, r.rejected
        ),
    })
}

fn partner_sync(env: &JobEnv<'_>) -> Result<JobReport, JobError> {
    use krug_core::ingest::sync;
    use krug_core::payments::webhook::WebhookEnv;
    let wallet = krug_core::wallet::WalletSettings::from_variables(env.variables)
        .map_err(JobError::Other)?;
    let referral = ReferralSettings::from_variables(env.variables).map_err(JobError::Other)?;
    let pass = sync::run_due(&sync::SyncEnv {
        pipeline: WebhookEnv {
            sql: env.sql,
            clock: env.clock,
            random: env.random,
            settings: &wallet,
            request_id: None,
            orders: &[],
            referral: &referral,
        },
        http: &SpinHttp,
        pause: &krug_core::ports::Sleep,
    })?;
    Ok(JobReport {
        affected: pass.succeeded + pass.failed,
        note: format!(
            "partner sync: {} succeeded, {} failed ({} now failing), {} skipped; {} phone hashes filled, {} old runs purged",
            pass.succeeded, pass.failed, pass.now_failing, pass.skipped, pass.hashed, pass.purged
        ),
    })
}

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
        name: "partner-sync",
        description: "Syncs every enabled CRM integration from its watermark (with an overlap) into the purchase pipeline; a failed run is recorded and retried next time, three in a row mark the integration failing.",
        schedule: Schedule::Every { minutes: 15 },
        run: partner_sync,
    });
    jobs.push(Job {
        name: "referral-settle",
        description: "Pays referral rewards whose refund hold has passed (auto mode) or marks them for an admin (manual mode); rejects those whose purchase was refunded.",
        schedule: Schedule::Every { minutes: 5 },
        run: settle_referrals,
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
    jobs.push(Job {
        name: "analytics-nightly",
        description: "Scores every business's customers (RFM, usual gap between visits), finds win-win chains and cross-business links, computes the north-star metric.",
        schedule: Schedule::Daily { hour: 1, minute: 0 },
        run: krug_core::analytics::nightly_job,
    });
    jobs.push(Job {
        name: "rebuild-analytics",
        description: "Recomputes the analytics rollups from purchases and commissions, in one transaction (identical to what the purchase pipeline keeps; repairs a drift, fills the rollups after a bulk import). On demand only: it holds the write lock while it runs.",
        schedule: Schedule::OnDemand,
        run: krug_core::analytics::rebuild_job,
    });
    jobs.push(Job {
        name: "events-expire-holds",
        description: "Releases unpaid event seats whose 30-minute payment hold has lapsed and promotes the waitlist into them.",
        schedule: Schedule::Every { minutes: 1 },
        run: krug_core::events::jobs::expire_holds,
    });
    jobs.push(Job {
        name: "events-close-proposals",
        description: "Approves or rejects event proposals whose voting has ended (one conditional update each).",
        schedule: Schedule::Every { minutes: 5 },
        run: krug_core::events::jobs::close_proposals,
    });
    jobs.push(Job {
        name: "events-mark-past",
        description: "Marks scheduled events that have ended as past.",
        schedule: Schedule::Every { minutes: 15 },
        run: krug_core::events::jobs::mark_past,
    });
    jobs
}
