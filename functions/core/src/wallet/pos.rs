//! POS use cases: identify a member, record a purchase, redeem points, grant
//! a compensation. Every write runs in one `BEGIN IMMEDIATE` transaction
//! together with its `Idempotency-Key` record, so a retried or duplicated
//! request either replays the stored response or is processed exactly once.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::{json, Value};

use super::cashback::Ratio;
use super::category::Category;
use super::error::WalletError;
use super::ledger::{self, Actor, CauseType, EntryKind, LedgerError, Posting};
use super::member::{self, Business, MemberRef};
use super::purchases::{self, NewPurchase, Recorded, Source};
use super::qr::QrKey;
use super::settings::WalletSettings;
use super::tiers::Tier;
use crate::audit::{self, AuditEntry};
use crate::db::{immediate, ts};
use crate::error::InvalidValue;
use crate::idempotency::{self, Begin};
use crate::params;
use crate::ports::{Clock, Random, Sql};
use crate::types::Id;

/// The ports and settings a POS use case needs.
pub struct PosEnv<'a> {
    /// SQLite.
    pub sql: &'a dyn Sql,
    /// Clock.
    pub clock: &'a dyn Clock,
    /// CSPRNG.
    pub random: &'a dyn Random,
    /// QR verification key.
    pub qr_key: &'a QrKey,
    /// Wallet settings.
    pub settings: &'a WalletSettings,
    /// The business the caller acts for (already authorised).
    pub business_id: &'a str,
    /// Who is calling.
    pub actor: &'a Actor,
    /// Request id, for the audit log.
    pub request_id: Option<&'a str>,
}

/// The client's idempotency key and the request fingerprint.
#[derive(Debug, Clone)]
pub struct Keyed {
    /// `Idempotency-Key`.
    pub key: String,
    /// [`idempotency::request_hash`] of the request.
    pub request_hash: String,
}

/// A response to send (fresh or replayed).
#[derive(Debug, Clone, PartialEq)]
pub struct Reply {
    /// HTTP status.
    pub status: u16,
    /// JSON body.
    pub body: Value,
}

/// The idempotency scope of a business's POS calls.
pub fn scope(business_id: &str) -> String {
    format!("pos:{business_id}")
}

// Claims the key and runs `f` in the same transaction; a replay answers from
// the stored response without running `f`. When `f` fails, the transaction
// (key record included) rolls back, so a retry is processed afresh.
fn keyed(
    env: &PosEnv<'_>,
    keyed: &Keyed,
    mut f: impl FnMut(&dyn Sql) -> Result<Reply, WalletError>,
) -> Result<Reply, WalletError> {
    idempotency::validate_key(&keyed.key)?;
    let scope = scope(env.business_id);
    immediate(env.sql, |tx| {
        match idempotency::begin(tx, env.clock, &scope, &keyed.key, &keyed.request_hash)? {
            Begin::Replay { status, body } => Ok(Reply {
                status,
                body: serde_json::from_str(&body).unwrap_or(Value::Null),
            }),
            Begin::Fresh => {
                let reply = f(tx)?;
                idempotency::complete(
                    tx,
                    &scope,
                    &keyed.key,
                    reply.status,
                    &reply.body.to_string(),
                )?;
                Ok(reply)
            }
        }
    })
}

fn business(sql: &dyn Sql, id: &str) -> Result<Business, WalletError> {
    member::business(sql, id)?.ok_or(WalletError::BusinessNotFound)
}

/// What staff see of a member: never the phone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Identified {
    /// Member id.
    pub member_id: String,
    /// First name (may be absent).
    pub first_name: Option<String>,
    /// Tier.
    pub tier: Tier,
    /// Available points.
    pub available: i64,
}

/// `POST /pos/identify`: read-only; a QR token or a card number.
pub fn identify(env: &PosEnv<'_>, who: &MemberRef) -> Result<Identified, WalletError> {
    if matches!(who, MemberRef::Phone(_)) {
        return Err(InvalidValue::new(
            "INVALID_FIELD",
            "member",
            "identify takes qr_token or card_number",
        )
        .into());
    }
    business(env.sql, env.business_id)?;
    let m = member::resolve(env.sql, env.qr_key, env.clock.now(), who)?;
    let balance = ledger::balance(env.sql, &m.id)?;
    Ok(Identified {
        member_id: m.id,
        first_name: m.first_name,
        tier: m.tier,
        available: balance.available,
    })
}

/// A POS purchase.
#[derive(Debug, Clone)]
pub struct PurchaseCmd {
    /// The buyer.
    pub member: MemberRef,
    /// Paid amount (validated).
    pub amount: i64,
    /// Category, default the business's.
    pub category: Option<Category>,
    /// The business's sale id.
    pub external_id: Option<String>,
    /// Free text (dropped for medical businesses).
    pub description: Option<String>,
    /// Activation code of a cross-promo coupon for this business.
    pub coupon_code: Option<String>,
    /// The referral code the buyer came with (checked, upper case).
    pub ref_code: Option<String>,
}

/// `POST /pos/purchases` → 201 (200 for a repeated `external_id`).
pub fn purchase(env: &PosEnv<'_>, key: &Keyed, cmd: &PurchaseCmd) -> Result<Reply, WalletError> {
    purchase_with_lines(env, key, cmd, &[])
}

/// [`purchase`] with the sale's lines (the body's `items`), kept with the
/// purchase unless the business is medical.
pub fn purchase_with_lines(
    env: &PosEnv<'_>,
    key: &Keyed,
    cmd: &PurchaseCmd,
    lines: &[super::lines::PurchaseLine],
) -> Result<Reply, WalletError> {
    keyed(env, key, |tx| {
        let b = business(tx, env.business_id)?;
        let m = member::resolve(tx, env.qr_key, env.clock.now(), &cmd.member)?;
        let recorded: Recorded = purchases::record_with_lines(
            tx,
            env.clock,
            env.random,
            env.settings,
            &NewPurchase {
                member: m,
                business: b,
                amount: cmd.amount,
                category: cmd.category,
                external_id: cmd.external_id.clone(),
                description: cmd.description.clone(),
                source: Source::Pos,
                promo_multiplier: Ratio::ONE,
                coupon_code: cmd.coupon_code.clone(),
                actor: env.actor.clone(),
                request_id: env.request_id.map(str::to_string),
                ref_code: cmd.ref_code.clone(),
                paid_at: None,
            },
            lines,
        )?;
        let status = if recorded.status == "duplicate" {
            200
        } else {
            201
        };
        Ok(Reply {
            status,
            body: serde_json::to_value(&recorded).unwrap_or(Value::Null),
        })
    })
}

/// A redemption at the POS.
#[derive(Debug, Clone)]
pub struct RedeemCmd {
    /// Must be a QR token.
    pub member: MemberRef,
    /// Points to spend (validated positive).
    pub points: i64,
    /// The business's order reference.
    pub order_ref: String,
    /// The check total, needed when the business caps the points share.
    pub check_amount: Option<i64>,
}

/// `POST /pos/redemptions` → 201 `{redemption_id, points, available, ...}`.
pub fn redeem(env: &PosEnv<'_>, key: &Keyed, cmd: &RedeemCmd) -> Result<Reply, WalletError> {
    if !matches!(cmd.member, MemberRef::QrToken(_)) {
        return Err(WalletError::QrRequired);
    }
    keyed(env, key, |tx| {
        let now = env.clock.now();
        let b = business(tx, env.business_id)?;
        let m = member::resolve(tx, env.qr_key, now, &cmd.member)?;
        if let Some(pct) = b.max_points_share_pct {
            let check = cmd.check_amount.ok_or(WalletError::CheckAmountRequired)?;
            // Floor: the cap is a ceiling, never rounded up in the member's favour.
            let max = i64::try_from(i128::from(check) * i128::from(pct) / 100).unwrap_or(i64::MAX);
            if cmd.points > max {
                return Err(WalletError::PointsShareExceeded { max });
            }
        }
        // Points held by a live checkout reservation are not spendable here.
        let held = crate::promo::checkout::held_points(tx, &m.id, now)?;
        if held > 0 {
            let free = ledger::balance(tx, &m.id)?.available - held;
            if cmd.points > free {
                return Err(WalletError::InsufficientPoints {
                    available: free.max(0),
                });
            }
        }
        let redemption_id = spend_for_order(
            tx,
            now,
            env.random,
            env.actor,
            &m.id,
            &b,
            cmd.points,
            &cmd.order_ref,
            cmd.check_amount,
        )
        .map_err(|e| match e {
            LedgerError::Insufficient { available } => {
                WalletError::InsufficientPoints { available }
            }
            LedgerError::Store(s) => WalletError::Unknown(s),
        })?;
        audit_money(
            env,
            tx,
            now,
            "points.redeemed",
            &m.id,
            json!({
                "redemption_id": redemption_id, "business_id": b.id, "points": cmd.points,
                "order_ref": cmd.order_ref,
            }),
        )?;
        let available = ledger::balance(tx, &m.id)?.available;
        Ok(Reply {
            status: 201,
            body: json!({
                "redemption_id": redemption_id, "member_id": m.id, "points": cmd.points,
                "order_ref": cmd.order_ref, "available": available, "created_at": ts(now),
            }),
        })
    })
}

/// Goodwill points for an order.
#[derive(Debug, Clone)]
pub struct CompensateCmd {
    /// The member.
    pub member: MemberRef,
    /// Points (validated positive).
    pub points: i64,
    /// Why (validated 1–500 characters).
    pub reason: String,
    /// The order it is for.
    pub order_ref: String,
}

/// `POST /pos/compensations` → 201; refused beyond the per-order cap.
pub fn compensate(
    env: &PosEnv<'_>,
    key: &Keyed,
    cmd: &CompensateCmd,
) -> Result<Reply, WalletError> {
    keyed(env, key, |tx| {
        let now = env.clock.now();
        let b = business(tx, env.business_id)?;
        let m = member::resolve(tx, env.qr_key, now, &cmd.member)?;
        let granted = grant_compensation(
            tx,
            env.clock,
            env.random,
            env.settings,
            &Goodwill {
                actor: env.actor,
                business: &b,
                member_id: &m.id,
                points: cmd.points,
                reason: &cmd.reason,
                order_ref: &cmd.order_ref,
                request_id: env.request_id,
            },
        )?;
        Ok(Reply {
            status: 201,
            body: json!({
                "compensation_id": granted.compensation_id, "member_id": m.id, "points": cmd.points,
                "order_ref": cmd.order_ref, "available": granted.available,
                "debt_repaid": granted.debt_repaid, "created_at": ts(now),
            }),
        })
    })
}

/// Goodwill points to grant for an order.
#[derive(Debug, Clone, Copy)]
pub struct Goodwill<'a> {
    /// Who grants them.
    pub actor: &'a Actor,
    /// The business whose order it is.
    pub business: &'a Business,
    /// The member.
    pub member_id: &'a str,
    /// Points (validated positive).
    pub points: i64,
    /// Why.
    pub reason: &'a str,
    /// The order it is for.
    pub order_ref: &'a str,
    /// Request id, for the audit log.
    pub request_id: Option<&'a str>,
}

/// What [`grant_compensation`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Granted {
    /// The `compensations` row.
    pub compensation_id: String,
    /// The member's available points afterwards.
    pub available: i64,
    /// Part of the points that repaid debt.
    pub debt_repaid: i64,
}

/// The wallet's compensation rules, in the caller's transaction: refused
/// beyond `compensation_cap_per_order` for (business, order), credited at
/// once as a `compensation` entry, recorded and audit-logged. Shared by the
/// till and support disputes.
pub fn grant_compensation(
    tx: &dyn Sql,
    clock: &dyn crate::ports::Clock,
    random: &dyn Random,
    settings: &WalletSettings,
    g: &Goodwill<'_>,
) -> Result<Granted, WalletError> {
    let now = clock.now();
    let b = g.business;
    let given = tx
        .execute(
            "SELECT COALESCE(SUM(points), 0) AS s FROM compensations WHERE business_id = ? AND order_ref = ?",
            &params![b.id.as_str(), g.order_ref],
        )?
        .first()
        .map_or(Ok(0), |r| r.i64("s"))?;
    let remaining = (settings.compensation_cap_per_order - given).max(0);
    if g.points > remaining {
        return Err(WalletError::CompensationCapExceeded { remaining });
    }
    let compensation_id = Id::at(now, random).to_text();
    let description = format!("Compensation from {}", b.name);
    // Goodwill points are available at once: there is no sale to refund.
    let credited = ledger::credit(
        tx,
        now,
        random,
        &Posting {
            member_id: g.member_id,
            business_id: Some(&b.id),
            cause_type: CauseType::Compensation,
            cause_id: &compensation_id,
            actor: g.actor,
            reason: Some(g.reason),
            description: Some(&description),
        },
        EntryKind::Compensation,
        g.points,
        None,
        now,
        settings.ttl_days,
    )?;
    tx.execute(
        "INSERT INTO compensations (id, member_id, business_id, order_ref, points, reason, entry_id, \
         actor_role, actor_id, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        &params![
            compensation_id.as_str(),
            g.member_id,
            b.id.as_str(),
            g.order_ref,
            g.points,
            g.reason,
            credited.entry_id.as_str(),
            g.actor.role,
            g.actor.id.as_deref(),
            ts(now)
        ],
    )?;
    audit::record(
        tx,
        clock,
        random,
        &AuditEntry {
            actor_id: g.actor.id.as_deref(),
            actor_role: g.actor.role,
            action: "points.compensated",
            subject_type: "member",
            subject_id: g.member_id,
            details: json!({
                "compensation_id": compensation_id, "business_id": b.id, "points": g.points,
                "order_ref": g.order_ref, "reason": g.reason,
            }),
            request_id: g.request_id,
        },
    )?;
    let available = ledger::balance(tx, g.member_id)?.available;
    Ok(Granted {
        compensation_id,
        available,
        debt_repaid: credited.settled_debt,
    })
}

/// Spends `points` of `member_id` at `business` for an order: the debit
/// (earliest-expiring lots first) and its `redemptions` row, in the
/// caller's transaction. Shared by the till and checkout commits; returns
/// the redemption id.
#[allow(clippy::too_many_arguments)]
pub fn spend_for_order(
    tx: &dyn Sql,
    now: DateTime<Utc>,
    random: &dyn Random,
    actor: &Actor,
    member_id: &str,
    business: &Business,
    points: i64,
    order_ref: &str,
    check_amount: Option<i64>,
) -> Result<String, LedgerError> {
    let redemption_id = Id::at(now, random).to_text();
    let description = format!("Paid with points at {}", business.name);
    let entry_id = ledger::debit(
        tx,
        now,
        random,
        &Posting {
            member_id,
            business_id: Some(&business.id),
            cause_type: CauseType::Redemption,
            cause_id: &redemption_id,
            actor,
            reason: None,
            description: Some(&description),
        },
        EntryKind::Spend,
        points,
    )?;
    tx.execute(
        "INSERT INTO redemptions (id, member_id, business_id, order_ref, points, check_amount, \
         entry_id, actor_role, actor_id, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        &params![
            redemption_id.as_str(),
            member_id,
            business.id.as_str(),
            order_ref,
            points,
            check_amount,
            entry_id.as_str(),
            actor.role,
            actor.id.as_deref(),
            ts(now)
        ],
    )?;
    Ok(redemption_id)
}

fn audit_money(
    env: &PosEnv<'_>,
    tx: &dyn Sql,
    _now: DateTime<Utc>,
    action: &str,
    member_id: &str,
    details: Value,
) -> Result<(), WalletError> {
    audit::record(
        tx,
        env.clock,
        env.random,
        &AuditEntry {
            actor_id: env.actor.id.as_deref(),
            actor_role: env.actor.role,
            action,
            subject_type: "member",
            subject_id: member_id,
            details,
            request_id: env.request_id,
        },
    )?;
    Ok(())
}

// Trimmed text of 1..=max characters without control characters.
fn bounded_text(
    input: &str,
    field: &str,
    code: &'static str,
    max: usize,
) -> Result<String, InvalidValue> {
    crate::types::display_text(input, field, code, max)
}

/// Validates an `order_ref` (1–255 characters, no control characters).
pub fn order_ref(input: &str, field: &str) -> Result<String, InvalidValue> {
    bounded_text(input, field, "INVALID_ORDER_REF", 255)
}

/// Validates a business's sale id (1–255 characters, no control characters).
pub fn external_id(input: &str, field: &str) -> Result<String, InvalidValue> {
    bounded_text(input, field, "INVALID_EXTERNAL_ID", 255)
}

/// Validates a free-text description or reason (1–500 characters).
pub fn note(input: &str, field: &str) -> Result<String, InvalidValue> {
    bounded_text(input, field, "INVALID_FIELD", 500)
}

/// Validates a points amount: a positive integer up to 10 000 000 ₽.
pub fn points(v: i64, field: &str) -> Result<i64, InvalidValue> {
    crate::types::Kopecks::positive(v, field)
        .map(crate::types::Kopecks::get)
        .map_err(|e| InvalidValue::new("INVALID_POINTS", e.field, e.reason))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_fields_are_trimmed_bounded_and_free_of_control_characters() {
        assert_eq!(order_ref("  A-1 ", "order_ref").unwrap(), "A-1");
        assert_eq!(order_ref(&"x".repeat(255), "f").unwrap().len(), 255);
        for bad in ["", "   ", "a\nb", "\u{7}"] {
            assert_eq!(
                order_ref(bad, "order_ref").unwrap_err().code,
                "INVALID_ORDER_REF"
            );
        }
        assert!(order_ref(&"x".repeat(256), "f").is_err());
        assert_eq!(
            external_id(&"y".repeat(256), "external_id")
                .unwrap_err()
                .code,
            "INVALID_EXTERNAL_ID"
        );
        assert_eq!(note(&"z".repeat(500), "reason").unwrap().len(), 500);
        let e = note(&"z".repeat(501), "reason").unwrap_err();
        assert_eq!((e.code, e.field.as_str()), ("INVALID_FIELD", "reason"));
    }

    #[test]
    fn points_are_positive_and_bounded() {
        assert_eq!(points(1, "points").unwrap(), 1);
        assert_eq!(points(1_000_000_000, "points").unwrap(), 1_000_000_000);
        for bad in [0, -1, 1_000_000_001] {
            assert_eq!(points(bad, "points").unwrap_err().code, "INVALID_POINTS");
        }
    }
}
