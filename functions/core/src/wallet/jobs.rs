//! The wallet's scheduled jobs. Each runs in batches, each batch one
//! `BEGIN IMMEDIATE` transaction of conditional updates, so running a job
//! twice — one after the other or at the same time — changes nothing the
//! second time.

use chrono::{DateTime, Duration, Utc};

use super::ledger;
use super::member;
use super::purchases;
use super::tiers::{self, Tier};
use crate::db::{immediate, ts};
use crate::jobs::{Job, JobError, JobReport, Schedule};
use crate::params;
use crate::ports::{Random, Sql, StoreError};

/// Lots or members handled per transaction, so a big backlog never holds
/// the write lock for long.
pub const BATCH: i64 = 500;

/// The wallet's jobs, for [`crate::jobs::registry`].
pub fn jobs() -> Vec<Job> {
    vec![
        Job {
            name: "mature-points",
            description: "Makes earned points available once their hold (points_hold_days) has passed.",
            schedule: Schedule::Every { minutes: 5 },
            run: |env| {
                let n = mature_points(env.sql, env.clock.now())?;
                Ok(JobReport {
                    affected: n,
                    note: "lots matured".into(),
                })
            },
        },
        Job {
            name: "expire-points",
            description: "Expires what is left of lots points_ttl_days after they became available.",
            schedule: Schedule::Every { minutes: 15 },
            run: |env| {
                let (lots, points) = expire_points(env.sql, env.random, env.clock.now())?;
                Ok(JobReport {
                    affected: lots,
                    note: format!("lots expired, {points} points"),
                })
            },
        },
        Job {
            name: "recompute-tiers",
            description: "Recomputes every member's tier over the rolling 365-day window (tiers also fall) and the top-1 % flag.",
            schedule: Schedule::Daily { hour: 3, minute: 0 },
            run: |env| {
                let changed = recompute_tiers(env.sql, env.random, env.clock.now())?;
                Ok(JobReport {
                    affected: changed,
                    note: "tiers changed".into(),
                })
            },
        },
    ]
}

fn job_error(e: StoreError) -> JobError {
    JobError::Store(e)
}

/// Matures every due pending lot; returns how many.
pub fn mature_points(sql: &dyn Sql, now: DateTime<Utc>) -> Result<u64, JobError> {
    let mut total = 0;
    loop {
        let n = immediate(sql, |tx| ledger::mature_due(tx, now, None, BATCH)).map_err(job_error)?;
        total += n;
        if n < BATCH as u64 {
            return Ok(total);
        }
    }
}

/// Expires every due lot (maturing overdue ones first); returns (lots, points).
pub fn expire_points(
    sql: &dyn Sql,
    random: &dyn Random,
    now: DateTime<Utc>,
) -> Result<(u64, i64), JobError> {
    mature_points(sql, now)?;
    let (mut lots, mut points) = (0, 0);
    loop {
        let e = immediate(sql, |tx| ledger::expire_due(tx, now, random, None, BATCH))
            .map_err(job_error)?;
        lots += e.lots;
        points += e.points;
        if e.lots < BATCH as u64 {
            return Ok((lots, points));
        }
    }
}

/// Refreshes the top-1 % flags and recomputes the tier of every member who
/// could hold one above insider; returns how many tiers changed.
pub fn recompute_tiers(
    sql: &dyn Sql,
    random: &dyn Random,
    now: DateTime<Utc>,
) -> Result<u64, JobError> {
    let since = ts(now - Duration::days(tiers::WINDOW_DAYS));
    let spends = sql
        .execute(
            "SELECT member_id, SUM(amount - refunded_amount) AS spent FROM purchases \
             WHERE paid_at > ? GROUP BY member_id ORDER BY member_id",
            &params![since.as_str()],
        )
        .map_err(job_error)?;
    let mut members = Vec::new();
    let mut amounts = Vec::new();
    for r in spends.iter() {
        members.push(r.text("member_id")?);
        amounts.push(r.i64("spent")?);
    }
    let top = tiers::top_one_percent(&amounts);
    let top_ids: Vec<&String> = members
        .iter()
        .zip(&top)
        .filter(|(_, t)| **t)
        .map(|(m, _)| m)
        .collect();
    immediate(sql, |tx| -> Result<(), StoreError> {
        tx.execute(
            "UPDATE member_tier_flags SET top_one_percent = 0, updated_at = ? WHERE top_one_percent = 1",
            &params![ts(now)],
        )?;
        for id in &top_ids {
            tx.execute(
                "INSERT INTO member_tier_flags (member_id, top_one_percent, updated_at) VALUES (?, 1, ?) \
                 ON CONFLICT (member_id) DO UPDATE SET top_one_percent = 1, updated_at = excluded.updated_at",
                &params![id.as_str(), ts(now)],
            )?;
        }
        Ok(())
    })
    .map_err(job_error)?;

    // Everyone who spent in the window, everyone above insider (their tier
    // may have to fall) and everyone with a flag.
    let mut candidates: Vec<String> = members;
    candidates.extend(member::ids_above_insider(sql)?);
    candidates.extend(
        sql.execute("SELECT member_id FROM member_tier_flags", &[])?
            .iter()
            .map(|r| r.text("member_id"))
            .collect::<Result<Vec<_>, _>>()?,
    );
    candidates.sort_unstable();
    candidates.dedup();
    let mut changed = 0;
    for chunk in candidates.chunks(BATCH as usize) {
        changed += immediate(sql, |tx| -> Result<u64, StoreError> {
            let mut n = 0;
            for id in chunk {
                // Read the tier under the lock: a concurrent run may have
                // changed it already, and then nothing is written twice.
                let Some(m) = member::by_id(tx, id)? else {
                    continue;
                };
                let tier: Tier = purchases::recompute_tier(
                    tx,
                    now,
                    random,
                    id,
                    m.tier,
                    "job",
                    "recompute-tiers",
                )?;
                if tier != m.tier {
                    n += 1;
                }
            }
            Ok(n)
        })
        .map_err(job_error)?;
    }
    Ok(changed)
}
