//! The referral state machine, inside the caller's transaction.
//!
//! Every transition is a conditional update on the current state, so
//! racing callers (thirty deliveries of one payment, a second purchase, two
//! job runs) move a referral once: the loser's update changes no row and it
//! does nothing else.

use chrono::{DateTime, Datelike, Duration, TimeZone, Utc};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use super::{
    cap_reason, screen, Pair, Party, PayoutMode, Reason, ReferralError, ReferralSettings,
    RewardType,
};
use crate::audit::{self, AuditEntry};
use crate::db::{immediate, parse_ts, ts};
use crate::error::InvalidValue;
use crate::params;
use crate::ports::{Clock, Random, Sql, StoreError};
use crate::promo::input::RawPromo;
use crate::promo::store::{self as promo_store, Manager, PromoEnv};
use crate::types::Id;
use crate::wallet::badges::{self, BadgeFacts};
use crate::wallet::ledger::{self, Actor, CauseType, EntryKind, Posting};

/// Longest `X-Device-Id` accepted.
pub const MAX_DEVICE_ID: usize = 128;

/// The ports the referral use cases need.
#[derive(Clone, Copy)]
pub struct ReferralEnv<'a> {
    /// SQLite.
    pub sql: &'a dyn Sql,
    /// Clock.
    pub clock: &'a dyn Clock,
    /// CSPRNG.
    pub random: &'a dyn Random,
    /// Settings.
    pub settings: &'a ReferralSettings,
    /// Request id, for the audit log.
    pub request_id: Option<&'a str>,
}

/// Where a referral was captured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// `/auth/verify`'s `referral_code`.
    Registration,
    /// The first paid purchase's `ref_code`.
    Purchase,
}

impl Source {
    fn as_str(self) -> &'static str {
        match self {
            Source::Registration => "registration",
            Source::Purchase => "purchase",
        }
    }
}

/// Checks an `X-Device-Id` (1–128 visible ASCII characters) and returns
/// the SHA-256 hex that is stored instead of it.
pub fn device_hash(raw: &str) -> Result<String, InvalidValue> {
    let v = raw.trim();
    if v.is_empty() || v.len() > MAX_DEVICE_ID || !v.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(InvalidValue::new(
            "INVALID_FIELD",
            "X-Device-Id",
            "device id is 1-128 visible ASCII characters",
        ));
    }
    Ok(crate::crypto::hex(&Sha256::digest(v.as_bytes())))
}

/// Remembers that `member_id` signed in from the device `hash` (once).
pub fn remember_device(
    tx: &dyn Sql,
    member_id: &str,
    hash: &str,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    tx.execute(
        "INSERT INTO member_devices (device_hash, member_id, first_seen) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
        &params![hash, member_id, ts(now)],
    )?;
    Ok(())
}

fn party(tx: &dyn Sql, id: &str) -> Result<Option<Party>, StoreError> {
    tx.execute(
        "SELECT phone, email FROM members WHERE id = ? AND erased_at IS NULL",
        &params![id],
    )?
    .first()
    .map(|r| {
        Ok(Party {
            id: id.to_string(),
            phone: r.opt_text("phone")?,
            email: r.opt_text("email")?,
        })
    })
    .transpose()
}

fn shares_device(tx: &dyn Sql, a: &str, b: &str) -> Result<bool, StoreError> {
    Ok(!tx
        .execute(
            "SELECT 1 FROM member_devices x JOIN member_devices y ON y.device_hash = x.device_hash \
             WHERE x.member_id = ? AND y.member_id = ? LIMIT 1",
            &params![a, b],
        )?
        .is_empty())
}

/// A referral row as the state machine needs it.
#[derive(Debug, Clone)]
struct Live {
    id: String,
    referrer_id: String,
    state: String,
    hold_until: Option<String>,
    purchase_id: Option<String>,
}

fn live_of(tx: &dyn Sql, referred_id: &str) -> Result<Option<Live>, StoreError> {
    one(
        tx,
        "SELECT id, referrer_id, state, hold_until, purchase_id FROM referrals \
         WHERE referred_id = ? AND state <> 'rejected'",
        referred_id,
    )
}

fn by_id(tx: &dyn Sql, id: &str) -> Result<Option<Live>, StoreError> {
    one(
        tx,
        "SELECT id, referrer_id, state, hold_until, purchase_id FROM referrals WHERE id = ?",
        id,
    )
}

fn one(tx: &dyn Sql, sql: &str, arg: &str) -> Result<Option<Live>, StoreError> {
    tx.execute(sql, &params![arg])?
        .first()
        .map(|r| {
            Ok(Live {
                id: r.text("id")?,
                referrer_id: r.text("referrer_id")?,
                state: r.text("state")?,
                hold_until: r.opt_text("hold_until")?,
                purchase_id: r.opt_text("purchase_id")?,
            })
        })
        .transpose()
}

/// The member whose referral code is `code`, unless erased.
pub fn referrer_of(tx: &dyn Sql, code: &str) -> Result<Option<String>, StoreError> {
    tx.execute(
        "SELECT id FROM members WHERE referral_code = ? AND erased_at IS NULL",
        &params![code],
    )?
    .first()
    .map(|r| r.text("id"))
    .transpose()
}

/// A referral code as typed in a purchase body (`ref_code`): well formed
/// and belonging to a member who has not erased their data, else 422
/// `INVALID_REFERRAL_CODE` / `REFERRAL_CODE_UNKNOWN` on `field`.
pub fn live_code(sql: &dyn Sql, raw: &str, field: &str) -> Result<String, ReferralError> {
    let code = crate::types::parse_referral_code(raw).map_err(|e| e.at(field))?;
    match referrer_of(sql, &code)? {
        Some(_) => Ok(code),
        None => Err(InvalidValue::new(
            "REFERRAL_CODE_UNKNOWN",
            field,
            "no member has this referral code",
        )
        .into()),
    }
}

/// What a capture did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Captured {
    /// The referral's id.
    pub id: String,
    /// `tracked` or `rejected`.
    pub state: &'static str,
    /// Why it was rejected.
    pub reason: Option<Reason>,
}

/// Captures `referred_id` as referred by the owner of `code`, inside the
/// caller's transaction. `None` when the code belongs to nobody (or an
/// erased member), or the pair was captured before (the first capture
/// stands). A pair that breaks a rule is stored `rejected` with its reason,
/// so admins see every attempt.
pub fn capture(
    tx: &dyn Sql,
    now: DateTime<Utc>,
    random: &dyn Random,
    settings: &ReferralSettings,
    referred_id: &str,
    code: &str,
    source: Source,
) -> Result<Option<Captured>, StoreError> {
    let Some(referrer_id) = referrer_of(tx, code)? else {
        return Ok(None);
    };
    let (Some(referrer), Some(referred)) = (party(tx, &referrer_id)?, party(tx, referred_id)?)
    else {
        return Ok(None);
    };
    let live = live_of(tx, referred_id)?;
    if live.as_ref().is_some_and(|l| l.referrer_id == referrer_id) {
        return Ok(None);
    }
    let pair = Pair {
        shared_device: referrer_id != referred_id && shares_device(tx, &referrer_id, referred_id)?,
        already_referred: live.is_some(),
        referrer,
        referred,
    };
    let reason = screen(&pair, &settings.excluded_domains);
    let state = if reason.is_some() {
        "rejected"
    } else {
        "tracked"
    };
    let id = Id::at(now, random).to_text();
    tx.execute(
        "INSERT INTO referrals (id, referrer_id, referred_id, code, source, state, reason, created_at, updated_at) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
        &params![
            id.as_str(),
            referrer_id.as_str(),
            referred_id,
            code,
            source.as_str(),
            state,
            reason.map(Reason::as_str),
            ts(now),
            ts(now)
        ],
    )?;
    if tx.changes()? == 0 {
        return Ok(None);
    }
    Ok(Some(Captured { id, state, reason }))
}

fn day_start(now: DateTime<Utc>) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(now.year(), now.month(), now.day(), 0, 0, 0)
        .single()
        .unwrap_or(now)
}

fn month_start(now: DateTime<Utc>) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(now.year(), now.month(), 1, 0, 0, 0)
        .single()
        .unwrap_or(now)
}

fn count(tx: &dyn Sql, sql: &str, args: &[crate::ports::SqlValue]) -> Result<i64, StoreError> {
    tx.execute(sql, args)?.first().map_or(Ok(0), |r| r.i64("n"))
}

fn reject(
    tx: &dyn Sql,
    now: DateTime<Utc>,
    id: &str,
    from: &str,
    reason: Reason,
) -> Result<bool, StoreError> {
    tx.execute(
        "UPDATE referrals SET state = 'rejected', reason = ?, updated_at = ? WHERE id = ? AND state = ?",
        &params![reason.as_str(), ts(now), id, from],
    )?;
    Ok(tx.changes()? == 1)
}

/// Brings `member_id`'s referral up to date after a paid purchase, inside
/// the caller's transaction: captures it from the member's first purchase's
/// `ref_code` when there is none yet, and moves a `tracked` referral to
/// `paid` (on hold until `points_hold_days` have passed) on the first
/// purchase of at least `referral_min_purchase` — after screening the pair
/// again (an e-mail or device may have appeared since) and the referrer's
/// caps. Idempotent: a second call changes nothing.
pub fn settle_member(
    tx: &dyn Sql,
    now: DateTime<Utc>,
    random: &dyn Random,
    settings: &ReferralSettings,
    member_id: &str,
) -> Result<Value, StoreError> {
    let mut live = live_of(tx, member_id)?;
    if live.is_none() {
        let first = tx.execute(
            "SELECT ref_code FROM purchases WHERE member_id = ? ORDER BY paid_at, id LIMIT 1",
            &params![member_id],
        )?;
        if let Some(code) = first
            .first()
            .map(|r| r.opt_text("ref_code"))
            .transpose()?
            .flatten()
        {
            capture(
                tx,
                now,
                random,
                settings,
                member_id,
                &code,
                Source::Purchase,
            )?;
            live = live_of(tx, member_id)?;
        }
    }
    let Some(l) = live.filter(|l| l.state == "tracked") else {
        return Ok(Value::Null);
    };
    let qualifying = tx.execute(
        "SELECT id, amount FROM purchases WHERE member_id = ? AND amount - refunded_amount >= ? \
         ORDER BY paid_at, id LIMIT 1",
        &params![member_id, settings.min_purchase],
    )?;
    let Some(q) = qualifying.first() else {
        return Ok(json!({ "referral_id": l.id, "state": "tracked" }));
    };
    let (purchase_id, amount) = (q.text("id")?, q.i64("amount")?);
    let (referrer, referred) = match (party(tx, &l.referrer_id)?, party(tx, member_id)?) {
        (Some(a), Some(b)) => (a, b),
        _ => {
            reject(tx, now, &l.id, "tracked", Reason::Erased)?;
            return Ok(json!({ "referral_id": l.id, "state": "rejected", "reason": "erased" }));
        }
    };
    let pair = Pair {
        shared_device: shares_device(tx, &l.referrer_id, member_id)?,
        already_referred: false,
        referrer,
        referred,
    };
    let today = count(
        tx,
        "SELECT COUNT(*) AS n FROM referrals WHERE referrer_id = ? AND paid_at >= ?",
        &params![l.referrer_id.as_str(), ts(day_start(now))],
    )?;
    let month = count(
        tx,
        "SELECT COUNT(*) AS n FROM referrals WHERE referrer_id = ? AND paid_at >= ?",
        &params![l.referrer_id.as_str(), ts(month_start(now))],
    )?;
    let reason = screen(&pair, &settings.excluded_domains)
        .or_else(|| cap_reason(today, month, settings.daily_cap, settings.monthly_cap));
    if let Some(reason) = reason {
        reject(tx, now, &l.id, "tracked", reason)?;
        return Ok(json!({ "referral_id": l.id, "state": "rejected", "reason": reason.as_str() }));
    }
    tx.execute(
        "UPDATE referrals SET state = 'paid', purchase_id = ?, purchase_amount = ?, paid_at = ?, hold_until = ?, \
         updated_at = ? WHERE id = ? AND state = 'tracked'",
        &params![
            purchase_id.as_str(),
            amount,
            ts(now),
            ts(now + Duration::days(settings.hold_days)),
            ts(now),
            l.id.as_str()
        ],
    )?;
    Ok(json!({ "referral_id": l.id, "state": "paid" }))
}

/// [`settle_member`] in its own transaction, for callers whose purchase
/// transaction has committed (the till, a reservation's commit).
pub fn settle_member_now(env: &ReferralEnv<'_>, member_id: &str) -> Result<Value, StoreError> {
    immediate(env.sql, |tx| {
        settle_member(tx, env.clock.now(), env.random, env.settings, member_id)
    })
}

/// [`settle_member_now`] for the buyer of `purchase_id` (unknown ids do
/// nothing).
pub fn settle_purchase_now(env: &ReferralEnv<'_>, purchase_id: &str) -> Result<Value, StoreError> {
    let member = env
        .sql
        .execute(
            "SELECT member_id FROM purchases WHERE id = ?",
            &params![purchase_id],
        )?
        .first()
        .map(|r| r.text("member_id"))
        .transpose()?;
    match member {
        Some(m) => settle_member_now(env, &m),
        None => Ok(Value::Null),
    }
}

/// What releasing a due referral did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Released {
    /// Both rewards were paid.
    Rewarded,
    /// The hold passed; an admin must pay it (manual mode).
    AwaitingPayout,
    /// Refused (refund within the hold, erased member).
    Rejected(Reason),
    /// Another caller moved it first, or it is not due.
    Unchanged,
}

fn voucher_code(random: &dyn Random) -> String {
    use crate::types::CODE_ALPHABET as ALPHABET;
    let mut b = [0u8; 10];
    random.fill(&mut b);
    // 256 is a multiple of 32, so `% 32` is uniform.
    let tail: String = b
        .iter()
        .map(|v| char::from(ALPHABET[usize::from(v % 32)]))
        .collect();
    format!("REF-{tail}")
}

// Pays `l` (state `paid`, hold passed), or parks it for an admin in manual
// mode when `admin` is `None`.
fn release(
    env: &ReferralEnv<'_>,
    tx: &dyn Sql,
    now: DateTime<Utc>,
    l: &Live,
    admin: Option<&str>,
) -> Result<Released, ReferralError> {
    let s = env.settings;
    let kept = match &l.purchase_id {
        Some(p) => count(
            tx,
            "SELECT amount - refunded_amount AS n FROM purchases WHERE id = ?",
            &params![p.as_str()],
        )?,
        None => 0,
    };
    if kept < s.min_purchase {
        return Ok(if reject(tx, now, &l.id, "paid", Reason::Refunded)? {
            Released::Rejected(Reason::Refunded)
        } else {
            Released::Unchanged
        });
    }
    let referred_id = tx
        .execute(
            "SELECT referred_id FROM referrals WHERE id = ?",
            &params![l.id.as_str()],
        )?
        .first()
        .map(|r| r.text("referred_id"))
        .transpose()?
        .unwrap_or_default();
    if party(tx, &l.referrer_id)?.is_none() || party(tx, &referred_id)?.is_none() {
        return Ok(if reject(tx, now, &l.id, "paid", Reason::Erased)? {
            Released::Rejected(Reason::Erased)
        } else {
            Released::Unchanged
        });
    }
    if admin.is_none() && s.payout_mode == PayoutMode::Manual {
        tx.execute(
            "UPDATE referrals SET payout = 'manual', updated_at = ? WHERE id = ? AND state = 'paid' AND payout IS NULL",
            &params![ts(now), l.id.as_str()],
        )?;
        return Ok(if tx.changes()? == 1 {
            Released::AwaitingPayout
        } else {
            Released::Unchanged
        });
    }
    let voucher = (s.reward_type == RewardType::Voucher && s.reward_referrer > 0)
        .then(|| voucher_code(env.random));
    let referrer_points = if s.reward_type == RewardType::Points {
        s.reward_referrer
    } else {
        0
    };
    let how = if admin.is_some() { "manual" } else { "auto" };
    tx.execute(
        "UPDATE referrals SET state = 'rewarded', payout = ?, reward_type = ?, referrer_points = ?, referred_points = ?, \
         voucher_code = ?, paid_out_by = ?, rewarded_at = ?, updated_at = ? WHERE id = ? AND state = 'paid'",
        &params![
            how,
            s.reward_type.as_str(),
            referrer_points,
            s.reward_referred,
            voucher.as_deref(),
            admin,
            ts(now),
            ts(now),
            l.id.as_str()
        ],
    )?;
    if tx.changes()? != 1 {
        return Ok(Released::Unchanged);
    }
    let actor = match admin {
        Some(a) => Actor {
            role: "admin",
            id: Some(a.to_string()),
        },
        None => Actor {
            role: "system",
            id: Some("job:referral-settle".into()),
        },
    };
    let credit = |member: &str, points: i64, what: &str| -> Result<(), StoreError> {
        if points <= 0 {
            return Ok(());
        }
        ledger::credit(
            tx,
            now,
            env.random,
            &Posting {
                member_id: member,
                business_id: None,
                cause_type: CauseType::Reward,
                cause_id: &l.id,
                actor: &actor,
                reason: None,
                description: Some(what),
            },
            EntryKind::Reward,
            points,
            None,
            now,
            s.ttl_days,
        )?;
        Ok(())
    };
    credit(
        &l.referrer_id,
        referrer_points,
        "Reward for a referred friend",
    )?;
    credit(
        &referred_id,
        s.reward_referred,
        "Welcome reward for joining by referral",
    )?;
    if let Some(code) = &voucher {
        let raw: RawPromo = serde_json::from_value(json!({
            "code": code, "name": "Referral reward", "kind": "fixed", "value": s.reward_referrer,
            "limits": { "total": 1, "per_member": 1 },
        }))
        .map_err(|e| StoreError::Other(format!("voucher promo: {e}")))?;
        let penv = PromoEnv {
            sql: tx,
            clock: env.clock,
            random: env.random,
            request_id: env.request_id,
        };
        let who = Manager::Admin {
            id: admin.unwrap_or("system:referral").to_string(),
        };
        promo_store::create_in(&penv, tx, &who, &raw)?;
    }
    let rewarded = count(
        tx,
        "SELECT COUNT(*) AS n FROM referrals WHERE referrer_id = ? AND state = 'rewarded'",
        &params![l.referrer_id.as_str()],
    )?;
    let facts = BadgeFacts {
        registered: true,
        referrals: Some(u32::try_from(rewarded).unwrap_or(u32::MAX)),
        ..BadgeFacts::default()
    };
    badges::award(
        tx,
        &l.referrer_id,
        &badges::earned(&facts),
        "referral",
        Some(&l.id),
        now,
    )?;
    audit::record(
        tx,
        env.clock,
        env.random,
        &AuditEntry {
            actor_id: actor.id.as_deref(),
            actor_role: actor.role,
            action: "referral.rewarded",
            subject_type: "referral",
            subject_id: &l.id,
            details: json!({
                "payout": how, "reward_type": s.reward_type.as_str(), "referrer_points": referrer_points,
                "referred_points": s.reward_referred, "voucher": voucher.is_some(),
            }),
            request_id: env.request_id,
        },
    )?;
    Ok(Released::Rewarded)
}

/// What one run of the `referral-settle` job did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SettleReport {
    /// Referrals moved to `paid` from purchases the callers did not settle.
    pub paid: u64,
    /// Rewards paid.
    pub rewarded: u64,
    /// Parked for an admin (manual mode).
    pub awaiting_payout: u64,
    /// Rejected at the end of the hold.
    pub rejected: u64,
}

/// The `referral-settle` job: settles members whose qualifying purchase no
/// caller settled (a parked payment credited later, a crash between two
/// transactions), then releases every referral whose hold has passed —
/// paid at once in `auto` mode, parked for an admin in `manual` mode (and
/// paid by a later run if the mode becomes `auto`). Each referral in its own
/// transaction; safe to run twice at once.
pub fn settle_due(env: &ReferralEnv<'_>) -> Result<SettleReport, StoreError> {
    let now = env.clock.now();
    let mut report = SettleReport::default();
    let tracked = env.sql.execute(
        "SELECT DISTINCT r.referred_id FROM referrals r JOIN purchases p ON p.member_id = r.referred_id \
         WHERE r.state = 'tracked' AND p.amount - p.refunded_amount >= ? LIMIT 500",
        &params![env.settings.min_purchase],
    )?;
    for r in tracked.iter() {
        let member = r.text("referred_id")?;
        let out = settle_member_now(env, &member)?;
        if out["state"] == "paid" {
            report.paid += 1;
        }
    }
    let manual_again = env.settings.payout_mode == PayoutMode::Auto;
    let due = env.sql.execute(
        "SELECT id FROM referrals WHERE state = 'paid' AND hold_until <= ? \
         AND (payout IS NULL OR (payout = 'manual' AND CAST(? AS BIGINT) = 1)) ORDER BY hold_until LIMIT 500",
        &params![ts(now), manual_again],
    )?;
    for r in due.iter() {
        let id = r.text("id")?;
        let result = immediate(env.sql, |tx| -> Result<Released, ReferralError> {
            match by_id(tx, &id)? {
                Some(l) if l.state == "paid" => release(env, tx, now, &l, None),
                _ => Ok(Released::Unchanged),
            }
        });
        match result {
            Ok(Released::Rewarded) => report.rewarded += 1,
            Ok(Released::AwaitingPayout) => report.awaiting_payout += 1,
            Ok(Released::Rejected(_)) => report.rejected += 1,
            Ok(Released::Unchanged) => {}
            Err(ReferralError::Unknown(e)) => return Err(e),
            // A voucher the promo engine refused stays due; the next run retries.
            Err(_) => {}
        }
    }
    Ok(report)
}

/// `POST /admin/referrals/{id}/payout`: an admin pays a due referral.
/// Refused: unknown (404), rejected (409 `REFERRAL_REJECTED`), paid
/// already (409 `REFERRAL_ALREADY_PAID`), no qualifying purchase or still
/// on hold (409 `REFERRAL_NOT_DUE`).
pub fn payout(
    env: &ReferralEnv<'_>,
    admin_id: &str,
    id: &str,
) -> Result<super::reads::View, ReferralError> {
    let now = env.clock.now();
    immediate(env.sql, |tx| {
        let l = by_id(tx, id)?.ok_or(ReferralError::NotFound)?;
        match l.state.as_str() {
            "rejected" => {
                let reason = tx
                    .execute("SELECT reason FROM referrals WHERE id = ?", &params![id])?
                    .first()
                    .map(|r| r.opt_text("reason"))
                    .transpose()?
                    .flatten()
                    .unwrap_or_default();
                return Err(ReferralError::Rejected { reason });
            }
            "rewarded" => return Err(ReferralError::AlreadyPaid),
            "tracked" => return Err(ReferralError::NotDue),
            _ => {}
        }
        let held = match &l.hold_until {
            Some(h) => parse_ts(h)? > now,
            None => true,
        };
        if held {
            return Err(ReferralError::NotDue);
        }
        if let Released::Rejected(reason) = release(env, tx, now, &l, Some(admin_id))? {
            // The rejection is the outcome: commit it, and say so.
            return Ok(Err(ReferralError::Rejected {
                reason: reason.as_str().into(),
            }));
        }
        Ok(Ok(()))
    })
    .and_then(|r: Result<(), ReferralError>| r)?;
    super::reads::one(env.sql, id)?.ok_or(ReferralError::NotFound)
}
