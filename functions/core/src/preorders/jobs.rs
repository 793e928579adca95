//! The lifecycle jobs (registered by the scheduler component): unpaid holds
//! expire, early access opens, released items are fulfilled with their
//! bonuses. Each claims every row by a conditional status change inside
//! `BEGIN IMMEDIATE`, so runs that overlap act on each row once.

use chrono::{DateTime, Duration, Utc};

use super::rules::{Bonus, BonusKind};
use super::store::{self, Preorder};
use super::COUPON_TTL_DAYS;
use crate::db::{immediate, parse_ts, ts};
use crate::jobs::{JobEnv, JobError, JobReport};
use crate::params;
use crate::ports::{Random, Sql, StoreError};
use crate::types::Id;
use crate::wallet::ledger::{self, Actor, CauseType, EntryKind, Posting};
use crate::wallet::WalletSettings;

/// Rows one run handles at most (the next run takes the rest).
const BATCH: i64 = 500;

/// Cancels unpaid preorders and upgrades whose hold has lapsed, freeing
/// their units and points holds. Returns how many.
pub fn expire_holds(sql: &dyn Sql, now: DateTime<Utc>) -> Result<u64, StoreError> {
    immediate(sql, |tx| {
        let mut n = 0;
        let lapsed = tx.execute(
            &format!(
                "SELECT {} FROM preorders WHERE status = 'pending_payment' AND hold_expires_at <= ? LIMIT ?",
                store::PREORDER_COLUMNS
            ),
            &params![ts(now), BATCH],
        )?;
        let lapsed: Vec<Preorder> = lapsed
            .iter()
            .map(Preorder::decode)
            .collect::<Result<_, _>>()?;
        for p in &lapsed {
            tx.execute(
                "UPDATE preorders SET status = 'cancelled', cancel_reason = 'hold_expired', updated_at = ? \
                 WHERE id = ? AND status = 'pending_payment'",
                &params![ts(now), p.id.as_str()],
            )?;
            if tx.changes()? == 1 {
                super::orders::release_hold(tx, now, p)?;
                n += 1;
            }
        }
        let upgrades = tx.execute(
            "SELECT id, to_tier_id FROM preorder_upgrades WHERE status = 'pending_payment' AND hold_expires_at <= ? LIMIT ?",
            &params![ts(now), BATCH],
        )?;
        for u in upgrades.iter() {
            tx.execute(
                "UPDATE preorder_upgrades SET status = 'expired' WHERE id = ? AND status = 'pending_payment'",
                &params![u.text("id")?],
            )?;
            if tx.changes()? == 1 {
                store::shift(tx, &u.text("to_tier_id")?, -1, 0)?;
                n += 1;
            }
        }
        Ok(n)
    })
}

/// Opens early access: paid preorders of a tier with `early_access_days`
/// become `early_access_active` from that many days before release.
pub fn open_early_access(sql: &dyn Sql, now: DateTime<Utc>) -> Result<u64, StoreError> {
    immediate(sql, |tx| {
        let tiers = tx.execute(
            "SELECT t.id AS tier_id, t.item_id, t.early_access_days, i.release_at FROM preorder_tiers t \
             JOIN preorder_items i ON i.id = t.item_id WHERE t.early_access_days > 0 AND i.release_at > ?",
            &params![ts(now)],
        )?;
        let mut n = 0;
        for t in tiers.iter() {
            let release = parse_ts(&t.text("release_at")?)?;
            if now < release - Duration::days(t.i64("early_access_days")?) {
                continue;
            }
            tx.execute(
                "UPDATE preorders SET status = 'early_access_active', updated_at = ? \
                 WHERE item_id = ? AND tier_id = ? AND status = 'confirmed'",
                &params![ts(now), t.text("item_id")?, t.text("tier_id")?],
            )?;
            n += tx.changes()?;
        }
        Ok(n)
    })
}

const CODE_ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";

/// A fresh activation code: 16 characters of a 32-letter alphabet (80
/// random bits) in groups of four, e.g. `K7QM-2ZXP-…`.
pub fn activation_code(random: &dyn Random) -> String {
    let mut bytes = [0u8; 16];
    random.fill(&mut bytes);
    let mut out = String::with_capacity(19);
    for (i, b) in bytes.iter().enumerate() {
        if i > 0 && i % 4 == 0 {
            out.push('-');
        }
        out.push(char::from(
            CODE_ALPHABET[usize::from(*b) % CODE_ALPHABET.len()],
        ));
    }
    out
}

// Grants bonus `index` of `p` once: the grant row is the claim.
#[allow(clippy::too_many_arguments)]
fn grant(
    tx: &dyn Sql,
    now: DateTime<Utc>,
    random: &dyn Random,
    settings: &WalletSettings,
    p: &Preorder,
    title: &str,
    index: usize,
    b: &Bonus,
) -> Result<bool, StoreError> {
    let code = b.has_code().then(|| activation_code(random));
    let kind = serde_json::to_value(b.kind).map_err(|e| StoreError::Other(e.to_string()))?;
    let delivery =
        serde_json::to_value(b.delivery).map_err(|e| StoreError::Other(e.to_string()))?;
    tx.execute(
        "INSERT INTO preorder_grants (preorder_id, bonus_index, type, delivery, value, code, granted_at) \
         VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (preorder_id, bonus_index) DO NOTHING",
        &params![
            p.id.as_str(),
            i64::try_from(index).unwrap_or(i64::MAX),
            kind.as_str().unwrap_or_default(),
            delivery.as_str().unwrap_or_default(),
            b.value.to_string(),
            code.as_deref(),
            ts(now)
        ],
    )?;
    if tx.changes()? != 1 {
        return Ok(false);
    }
    let ref_id = match b.kind {
        BonusKind::Points => {
            let points = b.value.as_i64().unwrap_or(0);
            if points <= 0 {
                return Ok(true);
            }
            let credited = ledger::credit(
                tx,
                now,
                random,
                &Posting {
                    member_id: &p.member_id,
                    business_id: Some(&p.business_id),
                    cause_type: CauseType::Reward,
                    cause_id: &p.id,
                    actor: &Actor::system(),
                    reason: None,
                    description: Some("Preorder bonus"),
                },
                EntryKind::Reward,
                points,
                None,
                now,
                settings.ttl_days,
            )?;
            Some(credited.entry_id)
        }
        BonusKind::Coupon => {
            let id = Id::at(now, random).to_text();
            tx.execute(
                "INSERT INTO coupons (id, member_id, business_id, title, bonus_pct, status, issued_at, expires_at) \
                 VALUES (?, ?, ?, ?, ?, 'issued', ?, ?)",
                &params![
                    id.as_str(),
                    p.member_id.as_str(),
                    p.business_id.as_str(),
                    title,
                    b.value.as_i64().unwrap_or(10),
                    ts(now),
                    ts(now + Duration::days(COUPON_TTL_DAYS))
                ],
            )?;
            Some(id)
        }
        BonusKind::ActivationCode | BonusKind::Gift => None,
    };
    if let Some(r) = ref_id {
        tx.execute(
            "UPDATE preorder_grants SET ref_id = ? WHERE preorder_id = ? AND bonus_index = ?",
            &params![r, p.id.as_str(), i64::try_from(index).unwrap_or(i64::MAX)],
        )?;
    }
    Ok(true)
}

/// Fulfils the paid preorders of released items: each is claimed by one
/// conditional update and its tier's bonuses are granted in the same
/// transaction, each once. Returns how many preorders were fulfilled.
pub fn fulfil(
    sql: &dyn Sql,
    now: DateTime<Utc>,
    random: &dyn Random,
    settings: &WalletSettings,
) -> Result<u64, StoreError> {
    let due = sql.execute(
        "SELECT p.id, i.title FROM preorders p JOIN preorder_items i ON i.id = p.item_id \
         WHERE i.release_at <= ? AND p.status IN ('confirmed', 'early_access_active') LIMIT ?",
        &params![ts(now), BATCH],
    )?;
    let mut n = 0;
    for row in due.iter() {
        let id = row.text("id")?;
        let title = row.text("title")?;
        let done = immediate(sql, |tx| -> Result<bool, StoreError> {
            tx.execute(
                "UPDATE preorders SET status = 'fulfilled', fulfilled_at = ?, updated_at = ? \
                 WHERE id = ? AND status IN ('confirmed', 'early_access_active')",
                &params![ts(now), ts(now), id.as_str()],
            )?;
            if tx.changes()? != 1 {
                return Ok(false);
            }
            let p =
                store::preorder(tx, &id)?.ok_or_else(|| StoreError::Other("vanished".into()))?;
            // An upgrade still unpaid at release is void.
            super::orders::drop_upgrades(tx, &p.id)?;
            let tier =
                store::tier(tx, &p.tier_id)?.ok_or_else(|| StoreError::Other("no tier".into()))?;
            for (i, b) in tier.bonuses.iter().enumerate() {
                grant(tx, now, random, settings, &p, &title, i, b)?;
            }
            tx.execute(
                "UPDATE preorder_items SET fulfilled_at = ? WHERE id = ? AND fulfilled_at IS NULL",
                &params![ts(now), p.item_id.as_str()],
            )?;
            Ok(true)
        })?;
        if done {
            n += 1;
        }
    }
    Ok(n)
}

fn report(affected: u64, note: &str) -> JobReport {
    JobReport {
        affected,
        note: note.into(),
    }
}

/// Job `preorders-expire-holds`.
pub fn expire_holds_job(env: &JobEnv<'_>) -> Result<JobReport, JobError> {
    let n = expire_holds(env.sql, env.clock.now())?;
    Ok(report(
        n,
        "unpaid preorder and upgrade holds expired, units freed",
    ))
}

/// Job `preorders-open-early-access`.
pub fn early_access_job(env: &JobEnv<'_>) -> Result<JobReport, JobError> {
    let n = open_early_access(env.sql, env.clock.now())?;
    Ok(report(n, "preorders moved to early access"))
}

/// Job `preorders-fulfil`.
pub fn fulfil_job(env: &JobEnv<'_>) -> Result<JobReport, JobError> {
    let settings = WalletSettings::from_variables(env.variables).map_err(JobError::Other)?;
    let n = fulfil(env.sql, env.clock.now(), env.random, &settings)?;
    Ok(report(n, "released preorders fulfilled, bonuses granted"))
}
