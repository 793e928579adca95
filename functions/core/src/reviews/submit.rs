//! The review writes: create, edit, withdraw (the author), decide (an
//! admin), reply (the business's staff). Each runs in one `BEGIN
//! IMMEDIATE` transaction with every effect — the aggregate row, the
//! reward or its clawback, the audit entry.

use chrono::{DateTime, Datelike, Duration, TimeZone, Utc};
use serde_json::json;

use super::moderation::{self, Flag};
use super::reads::{self, Review};
use super::{
    rating, ReviewError, ReviewSettings, Target, TargetKind, Unverified, DAILY_LIMIT, MAX_TEXT,
    REVIEW_WINDOW_DAYS,
};
use crate::audit::{self, AuditEntry};
use crate::db::{immediate, parse_ts, ts};
use crate::error::InvalidValue;
use crate::params;
use crate::ports::{Clock, Random, Sql, StoreError};
use crate::types::Id;
use crate::wallet::ledger::{self, Actor, CauseType, EntryKind, Posting};
use crate::wallet::lines;

/// The ports and settings a review write needs.
pub struct ReviewEnv<'a> {
    /// SQLite.
    pub sql: &'a dyn Sql,
    /// Clock.
    pub clock: &'a dyn Clock,
    /// CSPRNG.
    pub random: &'a dyn Random,
    /// Settings.
    pub settings: &'a ReviewSettings,
    /// Request id, for the audit log.
    pub request_id: Option<&'a str>,
}

/// `POST /reviews` as parsed from the body (validated here).
#[derive(Debug, Clone, Default)]
pub struct NewReview {
    /// `business`, `product` or `event`.
    pub kind: String,
    /// The business (optional: the purchase's).
    pub business_id: Option<String>,
    /// The SKU (products).
    pub sku: Option<String>,
    /// The event (events).
    pub event_id: Option<String>,
    /// The purchase that verifies the review.
    pub purchase_id: Option<String>,
    /// 1–5.
    pub rating: i64,
    /// Up to 2 000 characters.
    pub text: Option<String>,
}

/// `PATCH /reviews/{id}`: what changes.
#[derive(Debug, Clone, Default)]
pub struct ReviewEdit {
    /// New rating.
    pub rating: Option<i64>,
    /// New text (`Some("")` removes it).
    pub text: Option<String>,
}

fn rating_value(r: i64) -> Result<i64, InvalidValue> {
    if (1..=5).contains(&r) {
        Ok(r)
    } else {
        Err(InvalidValue::new(
            "INVALID_FIELD",
            "rating",
            "rating must be an integer from 1 to 5",
        ))
    }
}

fn text_value(t: Option<&str>, field: &str) -> Result<Option<String>, InvalidValue> {
    let Some(t) = t.map(str::trim).filter(|t| !t.is_empty()) else {
        return Ok(None);
    };
    if t.chars().count() > MAX_TEXT {
        return Err(InvalidValue::new(
            "INVALID_FIELD",
            field,
            format!("text is at most {MAX_TEXT} characters"),
        ));
    }
    Ok(Some(t.to_string()))
}

fn flags_json(flags: &[Flag]) -> String {
    serde_json::to_string(&flags.iter().map(|f| f.as_str()).collect::<Vec<_>>())
        .unwrap_or_else(|_| "[]".into())
}

fn member_actor(member_id: &str) -> Actor {
    Actor {
        role: "member",
        id: Some(member_id.to_string()),
    }
}

// The review row the writes need.
struct Stored {
    member_id: String,
    target: Target,
    rating: i64,
    status: String,
    flags: Vec<String>,
    reward_state: String,
    reward_points: i64,
    published_before: bool,
    created_at: DateTime<Utc>,
}

fn load(tx: &dyn Sql, id: &str) -> Result<Option<Stored>, StoreError> {
    let rows = tx.execute(
        "SELECT member_id, business_id, target_type, target_key, rating, status, flags, reward_state, \
         reward_points, published_at, created_at FROM reviews WHERE id = ?",
        &params![id],
    )?;
    let Some(r) = rows.first() else {
        return Ok(None);
    };
    let business_id = r.text("business_id")?;
    let key = r.text("target_key")?;
    let target = match r.text("target_type")?.as_str() {
        "product" => Target::product(&business_id, &key),
        _ => Target::business(&business_id),
    };
    Ok(Some(Stored {
        member_id: r.text("member_id")?,
        target,
        rating: r.i64("rating")?,
        status: r.text("status")?,
        flags: serde_json::from_str(&r.text("flags")?).unwrap_or_default(),
        reward_state: r.text("reward_state")?,
        reward_points: r.i64("reward_points")?,
        published_before: r.opt_text("published_at")?.is_some(),
        created_at: parse_ts(&r.text("created_at")?)?,
    }))
}

fn reload(tx: &dyn Sql, id: &str) -> Result<Review, ReviewError> {
    reads::by_id(tx, id)?.ok_or(ReviewError::NotFound)
}

fn month_start(now: DateTime<Utc>) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(now.year(), now.month(), 1, 0, 0, 0)
        .single()
        .unwrap_or(now)
}

// Makes review `id` published: the aggregate gains its rating and, on its
// first publication, the author earns the reward (within the monthly cap).
fn publish(
    env: &ReviewEnv<'_>,
    tx: &dyn Sql,
    now: DateTime<Utc>,
    id: &str,
    r: &Stored,
    actor: &Actor,
) -> Result<(), ReviewError> {
    tx.execute(
        "UPDATE reviews SET status = 'published', published_at = ?, updated_at = ? WHERE id = ?",
        &params![ts(now), ts(now), id],
    )?;
    rating::shift(tx, &r.target, r.rating, 1)?;
    let points = env.settings.reward_points;
    if r.published_before || r.reward_state != "none" || points <= 0 {
        return Ok(());
    }
    let rewarded = tx
        .execute(
            "SELECT COUNT(*) AS n FROM reviews WHERE member_id = ? AND rewarded_at >= ?",
            &params![r.member_id.as_str(), ts(month_start(now))],
        )?
        .first()
        .map_or(Ok(0), |row| row.i64("n"))?;
    if rewarded >= env.settings.rewards_per_month {
        return Ok(());
    }
    tx.execute(
        "UPDATE reviews SET reward_state = 'credited', reward_points = ?, rewarded_at = ? \
         WHERE id = ? AND reward_state = 'none'",
        &params![points, ts(now), id],
    )?;
    if tx.changes()? != 1 {
        return Ok(());
    }
    ledger::credit(
        tx,
        now,
        env.random,
        &Posting {
            member_id: &r.member_id,
            business_id: Some(&r.target.business_id),
            cause_type: CauseType::Reward,
            cause_id: id,
            actor,
            reason: None,
            description: Some("Reward for a review"),
        },
        EntryKind::Reward,
        points,
        None,
        now,
        env.settings.ttl_days,
    )?;
    Ok(())
}

// Takes review `id` out of the ratings (if it was published) and claws its
// reward back (if one was credited). The caller sets the new status.
fn unpublish(
    env: &ReviewEnv<'_>,
    tx: &dyn Sql,
    now: DateTime<Utc>,
    id: &str,
    r: &Stored,
    actor: &Actor,
) -> Result<(), ReviewError> {
    if r.status == "published" {
        rating::shift(tx, &r.target, r.rating, -1)?;
    }
    if r.reward_state == "credited" {
        tx.execute(
            "UPDATE reviews SET reward_state = 'clawed_back' WHERE id = ? AND reward_state = 'credited'",
            &params![id],
        )?;
        if tx.changes()? == 1 {
            ledger::clawback(
                tx,
                now,
                env.random,
                &Posting {
                    member_id: &r.member_id,
                    business_id: Some(&r.target.business_id),
                    cause_type: CauseType::Reward,
                    cause_id: id,
                    actor,
                    reason: None,
                    description: Some("Review reward returned"),
                },
                r.reward_points,
                None,
            )?;
        }
    }
    Ok(())
}

fn target_of(cmd: &NewReview) -> Result<(TargetKind, Option<String>, Option<String>), ReviewError> {
    let kind = TargetKind::parse(&cmd.kind, "target.type")?;
    let business_id = cmd
        .business_id
        .as_deref()
        .map(|b| Id::parse(b, "target.business_id").map(|i| i.to_text()))
        .transpose()?;
    let sku = match (kind, cmd.sku.as_deref()) {
        (TargetKind::Product, Some(s)) => Some(lines::sku(s, "target.sku")?),
        (TargetKind::Product, None) => {
            return Err(InvalidValue::new(
                "INVALID_FIELD",
                "target.sku",
                "a product review names its sku",
            )
            .into())
        }
        (_, Some(_)) => {
            return Err(InvalidValue::new(
                "INVALID_FIELD",
                "target.sku",
                "sku is only for product reviews",
            )
            .into())
        }
        (_, None) => None,
    };
    if kind == TargetKind::Event {
        return Err(ReviewError::EventsNotAvailable);
    }
    Ok((kind, business_id, sku))
}

/// `POST /reviews` by `member_id` → the new review (`published` when its
/// text is clean, else `pending` with its flags).
pub fn create(
    env: &ReviewEnv<'_>,
    member_id: &str,
    cmd: &NewReview,
) -> Result<Review, ReviewError> {
    let rating_v = rating_value(cmd.rating)?;
    let text = text_value(cmd.text.as_deref(), "text")?;
    let (kind, business_id, sku) = target_of(cmd)?;
    let purchase_id = match cmd.purchase_id.as_deref() {
        Some(p) => Id::parse(p, "purchase_id")?.to_text(),
        None => {
            return Err(InvalidValue::new(
                "INVALID_FIELD",
                "purchase_id",
                "a review names the purchase it is for",
            )
            .into())
        }
    };
    let text_flags = text.as_deref().map(moderation::check).unwrap_or_default();
    let now = env.clock.now();
    let id = immediate(env.sql, |tx| -> Result<String, ReviewError> {
        let rows = tx.execute(
            "SELECT business_id, amount, refunded_amount, paid_at FROM purchases WHERE id = ? AND member_id = ?",
            &params![purchase_id.as_str(), member_id],
        )?;
        let p = rows
            .first()
            .ok_or(ReviewError::NotVerified(Unverified::Unknown))?;
        let bought_at = p.text("business_id")?;
        let business = business_id.clone().unwrap_or_else(|| bought_at.clone());
        if business != bought_at {
            return Err(ReviewError::NotVerified(Unverified::OtherBusiness));
        }
        if p.i64("refunded_amount")? >= p.i64("amount")? {
            return Err(ReviewError::NotVerified(Unverified::Refunded));
        }
        if p.text("paid_at")? <= ts(now - Duration::days(REVIEW_WINDOW_DAYS)) {
            return Err(ReviewError::NotVerified(Unverified::TooOld));
        }
        let target = match (kind, &sku) {
            (TargetKind::Product, Some(s)) => {
                if !lines::has_sku(tx, &purchase_id, s)? {
                    return Err(ReviewError::NotVerified(Unverified::SkuNotInLines));
                }
                Target::product(&business, s)
            }
            _ => Target::business(&business),
        };
        let seen = tx.execute(
            "SELECT 1 FROM reviews WHERE member_id = ? AND purchase_id = ? AND target_type = ? AND target_key = ?",
            &params![member_id, purchase_id.as_str(), target.kind.as_str(), target.key()],
        )?;
        if !seen.is_empty() {
            return Err(ReviewError::AlreadyReviewed);
        }
        let recent = tx.execute(
            "SELECT created_at FROM reviews WHERE member_id = ? AND created_at > ? ORDER BY created_at LIMIT ?",
            &params![member_id, ts(now - Duration::days(1)), DAILY_LIMIT],
        )?;
        if recent.len() as i64 >= DAILY_LIMIT {
            let oldest = recent
                .first()
                .map(|r| r.text("created_at"))
                .transpose()?
                .map(|t| parse_ts(&t))
                .transpose()?
                .unwrap_or(now);
            let wait = (oldest + Duration::days(1) - now).num_seconds().max(1);
            return Err(ReviewError::DailyLimit {
                retry_after_secs: u64::try_from(wait).unwrap_or(1),
            });
        }
        let mut flags = text_flags.clone();
        let lately = tx
            .execute(
                "SELECT COUNT(*) AS n FROM reviews WHERE business_id = ? AND created_at > ?",
                &params![business.as_str(), ts(now - Duration::hours(1))],
            )?
            .first()
            .map_or(Ok(0), |r| r.i64("n"))?;
        if lately >= env.settings.burst_per_hour {
            flags.push(Flag::Burst);
        }
        let id = Id::at(now, env.random).to_text();
        tx.execute(
            "INSERT INTO reviews (id, member_id, business_id, target_type, target_key, purchase_id, rating, \
             body, status, flags, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'pending', ?, ?, ?)",
            &params![
                id.as_str(),
                member_id,
                business.as_str(),
                target.kind.as_str(),
                target.key(),
                purchase_id.as_str(),
                rating_v,
                text.as_deref(),
                flags_json(&flags),
                ts(now),
                ts(now)
            ],
        )
        .map_err(|e| match e {
            StoreError::Constraint(_) => ReviewError::AlreadyReviewed,
            other => other.into(),
        })?;
        if flags.is_empty() {
            let stored = Stored {
                member_id: member_id.to_string(),
                target,
                rating: rating_v,
                status: "pending".into(),
                flags: Vec::new(),
                reward_state: "none".into(),
                reward_points: 0,
                published_before: false,
                created_at: now,
            };
            publish(env, tx, now, &id, &stored, &member_actor(member_id))?;
        }
        Ok(id)
    })?;
    reload(env.sql, &id)
}

/// `PATCH /reviews/{id}` by its author within 48 hours: the new text is
/// moderated again (a flagged edit of a published review takes it back to
/// the queue; a clean one stays or becomes published).
pub fn edit(
    env: &ReviewEnv<'_>,
    member_id: &str,
    id: &str,
    cmd: &ReviewEdit,
) -> Result<Review, ReviewError> {
    let new_rating = cmd.rating.map(rating_value).transpose()?;
    let new_text = cmd
        .text
        .as_deref()
        .map(|t| text_value(Some(t), "text"))
        .transpose()?;
    let now = env.clock.now();
    immediate(env.sql, |tx| -> Result<(), ReviewError> {
        let r = load(tx, id)?
            .filter(|r| r.member_id == member_id)
            .ok_or(ReviewError::NotFound)?;
        if !matches!(r.status.as_str(), "pending" | "published") {
            return Err(ReviewError::WrongStatus { status: r.status });
        }
        if !reads::editable(r.created_at, now) {
            return Err(ReviewError::EditWindowClosed);
        }
        let current_text = tx
            .execute("SELECT body FROM reviews WHERE id = ?", &params![id])?
            .first()
            .map(|row| row.opt_text("body"))
            .transpose()?
            .flatten();
        let text = match &new_text {
            Some(t) => t.clone(),
            None => current_text,
        };
        let rating_v = new_rating.unwrap_or(r.rating);
        let mut flags = text.as_deref().map(moderation::check).unwrap_or_default();
        // A review queued by the burst rule stays queued for a moderator.
        if r.status == "pending" && r.flags.iter().any(|f| f == Flag::Burst.as_str()) {
            flags.push(Flag::Burst);
        }
        let actor = member_actor(member_id);
        if r.status == "published" {
            rating::shift(tx, &r.target, r.rating, -1)?;
        }
        tx.execute(
            "UPDATE reviews SET rating = ?, body = ?, flags = ?, status = 'pending', updated_at = ? WHERE id = ?",
            &params![rating_v, text.as_deref(), flags_json(&flags), ts(now), id],
        )?;
        if flags.is_empty() {
            let stored = Stored {
                rating: rating_v,
                status: "pending".into(),
                ..r
            };
            publish(env, tx, now, id, &stored, &actor)?;
        }
        Ok(())
    })?;
    reload(env.sql, id)
}

/// `DELETE /reviews/{id}` by its author: withdrawn, out of the ratings,
/// reward clawed back. Withdrawing twice is fine.
pub fn withdraw(env: &ReviewEnv<'_>, member_id: &str, id: &str) -> Result<(), ReviewError> {
    let now = env.clock.now();
    immediate(env.sql, |tx| -> Result<(), ReviewError> {
        let r = load(tx, id)?
            .filter(|r| r.member_id == member_id)
            .ok_or(ReviewError::NotFound)?;
        if r.status == "withdrawn" {
            return Ok(());
        }
        unpublish(env, tx, now, id, &r, &member_actor(member_id))?;
        tx.execute(
            "UPDATE reviews SET status = 'withdrawn', updated_at = ? WHERE id = ?",
            &params![ts(now), id],
        )?;
        Ok(())
    })
}

/// A moderator's decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Publish (from pending or rejected).
    Publish,
    /// Reject (from pending or published).
    Reject,
}

impl Decision {
    /// Parses `publish` / `reject`.
    pub fn parse(s: &str) -> Result<Self, InvalidValue> {
        match s {
            "publish" => Ok(Decision::Publish),
            "reject" => Ok(Decision::Reject),
            _ => Err(InvalidValue::new(
                "INVALID_FIELD",
                "decision",
                "decision must be publish or reject",
            )),
        }
    }
}

/// Who moderates: an admin, and the business they are staff of, if any.
#[derive(Debug, Clone)]
pub struct Moderator {
    /// Member id.
    pub member_id: String,
    /// Their business, if they are staff somewhere.
    pub staff_of: Option<String>,
}

/// `POST /admin/reviews/{id}/decision`: publish or reject with a reason,
/// audit-logged. Staff never decide on their own business's reviews.
pub fn decide(
    env: &ReviewEnv<'_>,
    who: &Moderator,
    id: &str,
    decision: Decision,
    reason: Option<&str>,
) -> Result<Review, ReviewError> {
    let reason = reason.map(str::trim).filter(|r| !r.is_empty());
    if let Some(r) = reason {
        if r.chars().count() > 500 {
            return Err(InvalidValue::new(
                "INVALID_FIELD",
                "reason",
                "reason is at most 500 characters",
            )
            .into());
        }
    }
    if decision == Decision::Reject && reason.is_none() {
        return Err(
            InvalidValue::new("INVALID_FIELD", "reason", "a rejection gives its reason").into(),
        );
    }
    let now = env.clock.now();
    immediate(env.sql, |tx| -> Result<(), ReviewError> {
        let r = load(tx, id)?.ok_or(ReviewError::NotFound)?;
        if who.staff_of.as_deref() == Some(r.target.business_id.as_str()) {
            return Err(ReviewError::OwnBusiness);
        }
        let allowed = match decision {
            Decision::Publish => matches!(r.status.as_str(), "pending" | "rejected"),
            Decision::Reject => matches!(r.status.as_str(), "pending" | "published"),
        };
        if !allowed {
            return Err(ReviewError::WrongStatus { status: r.status });
        }
        let actor = Actor {
            role: "admin",
            id: Some(who.member_id.clone()),
        };
        let from = r.status.clone();
        match decision {
            Decision::Publish => publish(env, tx, now, id, &r, &actor)?,
            Decision::Reject => {
                unpublish(env, tx, now, id, &r, &actor)?;
                tx.execute(
                    "UPDATE reviews SET status = 'rejected', updated_at = ? WHERE id = ?",
                    &params![ts(now), id],
                )?;
            }
        }
        tx.execute(
            "UPDATE reviews SET decision_reason = ?, decided_by = ?, decided_at = ? WHERE id = ?",
            &params![reason, who.member_id.as_str(), ts(now), id],
        )?;
        audit::record(
            tx,
            env.clock,
            env.random,
            &AuditEntry {
                actor_id: Some(&who.member_id),
                actor_role: "admin",
                action: match decision {
                    Decision::Publish => "review.published",
                    Decision::Reject => "review.rejected",
                },
                subject_type: "review",
                subject_id: id,
                details: json!({ "from": from, "reason": reason, "business_id": r.target.business_id }),
                request_id: env.request_id,
            },
        )?;
        Ok(())
    })?;
    reload(env.sql, id)
}

/// `PUT /reviews/{id}/reply` by staff of the review's business: one public
/// reply to a published review.
pub fn reply(
    env: &ReviewEnv<'_>,
    staff_id: &str,
    business_id: &str,
    id: &str,
    text: &str,
) -> Result<Review, ReviewError> {
    let text = text_value(Some(text), "text")?
        .ok_or_else(|| InvalidValue::new("INVALID_FIELD", "text", "the reply needs a text"))?;
    let now = env.clock.now();
    immediate(env.sql, |tx| -> Result<(), ReviewError> {
        let r = load(tx, id)?.ok_or(ReviewError::NotFound)?;
        if r.target.business_id != business_id {
            return Err(ReviewError::Forbidden);
        }
        if r.status != "published" {
            return Err(ReviewError::WrongStatus { status: r.status });
        }
        tx.execute(
            "UPDATE reviews SET reply_body = ?, reply_by = ?, replied_at = ?, updated_at = ? \
             WHERE id = ? AND reply_body IS NULL",
            &params![text.as_str(), staff_id, ts(now), ts(now), id],
        )?;
        if tx.changes()? != 1 {
            return Err(ReviewError::ReplyExists);
        }
        Ok(())
    })?;
    reload(env.sql, id)
}
