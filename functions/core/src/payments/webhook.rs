//! Processing a payment provider's event exactly once. The event id is
//! recorded in the same `BEGIN IMMEDIATE` transaction as every effect, so
//! any number of deliveries — sequential or racing — has one effect; a
//! refund for a payment not seen yet is refused with nothing written (the
//! provider retries it later).

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use serde_json::{json, Value};

use super::commission;
use crate::db::{immediate, ts, write_alone};
use crate::error::{ErrorClass, InvalidValue, UseCaseError};
use crate::params;
use crate::ports::{Clock, Random, Sql, StoreError};
use crate::promo::checkout::{self, Sale};
use crate::promo::store::PromoEnv;
use crate::promo::uses::{self, Freed};
use crate::promo::PromoError;
use crate::referral::{rules as referral, ReferralSettings};
use crate::types::Phone;
use crate::wallet::ledger::Actor;
use crate::wallet::member::{self, Member};
use crate::wallet::purchases::{self, NewPurchase, NewRefund, Source};
use crate::wallet::{cashback::Ratio, Category, WalletError, WalletSettings};

/// Days an unknown phone's payment waits for that phone to register.
pub const PARK_DAYS: i64 = 30;

/// What an event is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// The payment went through.
    PaymentSucceeded,
    /// The payment was canceled (releases its reservation).
    PaymentCanceled,
    /// (Part of) a payment was refunded.
    RefundSucceeded,
}

impl Kind {
    /// Parses the provider's event type; `None` for types Krug ignores.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "payment.succeeded" => Some(Kind::PaymentSucceeded),
            "payment.canceled" => Some(Kind::PaymentCanceled),
            "refund.succeeded" => Some(Kind::RefundSucceeded),
            _ => None,
        }
    }

    /// The provider's name of the event type.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::PaymentSucceeded => "payment.succeeded",
            Kind::PaymentCanceled => "payment.canceled",
            Kind::RefundSucceeded => "refund.succeeded",
        }
    }
}

/// Who paid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Payer {
    /// A member id.
    Member(String),
    /// A phone, matched to a member now or when it registers.
    Phone(Phone),
    /// The SHA-256 hex of a phone (medical partners), matched the same way.
    PhoneSha256(String),
}

/// A sale reported by partner ingest rather than by a payment provider:
/// recorded as an `ingest` purchase under the partner's own id, at the time
/// it happened, by the caller that sent it.
#[derive(Debug, Clone)]
pub struct Ingested {
    /// The partner's id of the sale.
    pub external_id: String,
    /// Who sent it (API key, staff member, or the sync job).
    pub actor: Actor,
    /// When the sale happened.
    pub paid_at: DateTime<Utc>,
    /// Free text (dropped for medical businesses).
    pub description: Option<String>,
}

/// The provider name of partner ingest: its payments are keyed
/// `{business_id}:{external_id}`.
pub const INGEST: &str = "ingest";

/// A checked provider event, whatever the provider.
#[derive(Debug, Clone)]
pub struct Event {
    /// `generic` or `yookassa`.
    pub provider: &'static str,
    /// The provider's event id (for YooKassa, derived from the object id and
    /// the event type).
    pub event_id: String,
    /// What happened.
    pub kind: Kind,
    /// The provider's payment id.
    pub payment_id: String,
    /// For refunds, the provider's refund id.
    pub refund_id: Option<String>,
    /// The business paid.
    pub business_id: String,
    /// Amount (kopecks): paid, or refunded.
    pub amount: i64,
    /// Who paid (payments; refunds take it from the payment).
    pub payer: Option<Payer>,
    /// The business's order reference.
    pub order_ref: Option<String>,
    /// A checkout reservation to commit or release.
    pub reservation_id: Option<String>,
    /// Category of the sale (default: the business's).
    pub category: Option<Category>,
    /// A cross-promo coupon's activation code used for this sale.
    pub coupon_code: Option<String>,
    /// The sale's lines (`data.items`), kept with the purchase.
    pub items: Vec<crate::wallet::lines::PurchaseLine>,
    /// The referral code the sale came with (upper case); stored on the
    /// payment for the referral capability to settle.
    pub ref_code: Option<String>,
    /// Set for partner ingest (provider [`INGEST`]).
    pub ingested: Option<Ingested>,
}

/// How an event was handled.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Outcome {
    /// `processed`, `duplicate` or `ignored`.
    pub status: &'static str,
    /// What happened, for logs and tests.
    #[serde(skip_serializing_if = "Value::is_null")]
    pub detail: Value,
}

/// Why an event was refused (nothing written).
#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    /// A field is invalid.
    #[error(transparent)]
    Invalid(#[from] InvalidValue),
    /// The business is not a partner.
    #[error("no such business")]
    BusinessNotFound,
    /// A refund for a payment not seen yet: retry later.
    #[error("refund for a payment not seen yet; retry later")]
    PaymentNotSeen,
    /// A refund beyond what is left of the payment.
    #[error("refund exceeds the unrefunded amount of the payment ({remaining})")]
    RefundTooLarge {
        /// Unrefunded amount.
        remaining: i64,
    },
    /// The purchase pipeline refused.
    #[error(transparent)]
    Wallet(#[from] WalletError),
    /// Checkout refused.
    #[error(transparent)]
    Promo(#[from] PromoError),
    /// Storage failed.
    #[error(transparent)]
    Unknown(#[from] StoreError),
}

impl UseCaseError for WebhookError {
    fn code(&self) -> &'static str {
        match self {
            WebhookError::Invalid(e) => e.code,
            WebhookError::BusinessNotFound => "BUSINESS_NOT_FOUND",
            WebhookError::PaymentNotSeen => "PAYMENT_NOT_SEEN",
            WebhookError::RefundTooLarge { .. } => "REFUND_TOO_LARGE",
            WebhookError::Wallet(e) => e.code(),
            WebhookError::Promo(e) => e.code(),
            WebhookError::Unknown(e) => e.code(),
        }
    }

    fn class(&self) -> ErrorClass {
        match self {
            WebhookError::Invalid(e) => e.class(),
            WebhookError::BusinessNotFound => ErrorClass::Invalid {
                field: Some("data.business_id".into()),
            },
            WebhookError::PaymentNotSeen => ErrorClass::Conflict,
            WebhookError::RefundTooLarge { .. } => ErrorClass::Invalid {
                field: Some("data.amount".into()),
            },
            WebhookError::Wallet(e) => e.class(),
            WebhookError::Promo(e) => e.class(),
            WebhookError::Unknown(e) => e.class(),
        }
    }
}

/// A paid order of a capability that sells through the payment provider.
#[derive(Debug, Clone, Copy)]
pub struct PaidOrder<'a> {
    /// The order id: the `order_ref` after `<prefix>:`.
    pub id: &'a str,
    /// The business paid.
    pub business_id: &'a str,
    /// The member who paid, when known now (`None` for a parked payment).
    pub member_id: Option<&'a str>,
    /// The provider (`generic` or `yookassa`).
    pub provider: &'a str,
    /// The provider's payment id.
    pub payment_id: &'a str,
    /// Amount paid (kopecks).
    pub amount: i64,
    /// The purchase recorded for the payment, when the member is known.
    pub purchase_id: Option<&'a str>,
    /// When the event is processed.
    pub now: DateTime<Utc>,
}

/// A refund of (part of) an order's payment.
#[derive(Debug, Clone, Copy)]
pub struct RefundedOrder<'a> {
    /// The order id: the `order_ref` after `<prefix>:`.
    pub id: &'a str,
    /// The business paid.
    pub business_id: &'a str,
    /// The provider's payment id.
    pub payment_id: &'a str,
    /// Amount refunded by this event (kopecks).
    pub amount: i64,
    /// Whether the payment is now refunded in full.
    pub full: bool,
    /// When the event is processed.
    pub now: DateTime<Utc>,
}

/// A capability that sells through the payment provider (event seats,
/// preorders). Payments whose `order_ref` is `<prefix>:<id>` are settled
/// by it inside the webhook's transaction, after the purchase pipeline
/// has run, so the payment earns points like any sale. The payments
/// module knows only this trait; the webhook component passes the
/// settlers in (capabilities depend on payments, never the reverse).
///
/// Contract: a settler decides its own business outcomes (a lapsed hold,
/// an unknown order) and reports them in the returned detail; it returns
/// an error only when storage fails, so a paid event is never refused
/// for an order's state. Each call happens once per event (the event id
/// is recorded in the same transaction).
pub trait OrderSettler: Sync {
    /// The `order_ref` prefix, without the colon (`event`, `preorder`).
    fn prefix(&self) -> &'static str;
    /// The order's payment went through.
    fn paid(&self, tx: &dyn Sql, order: &PaidOrder<'_>) -> Result<Value, StoreError>;
    /// (Part of) the order's payment was refunded.
    fn refunded(&self, tx: &dyn Sql, order: &RefundedOrder<'_>) -> Result<Value, StoreError>;
}

// The settler for `order_ref`, and the order id after its prefix.
fn settler_for<'a, 'r>(
    orders: &'a [&'a dyn OrderSettler],
    order_ref: Option<&'r str>,
) -> Option<(&'a dyn OrderSettler, &'r str)> {
    let (prefix, id) = order_ref?.split_once(':')?;
    orders
        .iter()
        .find(|s| s.prefix() == prefix)
        .map(|s| (*s, id))
}

/// The ports processing needs.
#[derive(Clone, Copy)]
pub struct WebhookEnv<'a> {
    /// SQLite.
    pub sql: &'a dyn Sql,
    /// Clock.
    pub clock: &'a dyn Clock,
    /// CSPRNG.
    pub random: &'a dyn Random,
    /// Wallet settings.
    pub settings: &'a WalletSettings,
    /// Request id.
    pub request_id: Option<&'a str>,
    /// The capabilities that settle their own orders (see [`OrderSettler`]).
    pub orders: &'a [&'a dyn OrderSettler],
    /// The referral program's settings: a paid purchase settles the
    /// member's referral in the same transaction.
    pub referral: &'a ReferralSettings,
}

fn actor(provider: &str) -> Actor {
    Actor {
        role: "system",
        id: Some(if provider == INGEST {
            INGEST.to_string()
        } else {
            format!("webhook:{provider}")
        }),
    }
}

/// Applies one partner-ingest sale or refund (provider [`INGEST`]) inside
/// the caller's transaction, exactly once per event id, with every effect
/// of a provider payment: the purchase and its points, parking for an
/// unknown phone, commission, referral settlement, refunds of parked or
/// recorded sales. Nothing is counted in the webhook delivery counters.
pub fn apply_ingested(
    env: &WebhookEnv<'_>,
    tx: &dyn Sql,
    e: &Event,
) -> Result<Outcome, WebhookError> {
    process_in(env, tx, e, env.clock.now())
}

/// Adds one to the delivery counter of `provider`/`outcome` outside any
/// transaction (counters are for monitoring, not money): the lone write
/// queues for the lock with the other writers ([`write_alone`]) instead of
/// being overtaken under SQLite's own busy handler.
pub fn count(sql: &dyn Sql, provider: &str, outcome: &str) -> Result<(), StoreError> {
    write_alone(sql, COUNT, &params![provider, outcome])?;
    Ok(())
}

// [`count`] inside the caller's transaction, which already holds the lock.
fn count_in(tx: &dyn Sql, provider: &str, outcome: &str) -> Result<(), StoreError> {
    tx.execute(COUNT, &params![provider, outcome])?;
    Ok(())
}

// The counter upsert of [`count`] and [`count_in`].
const COUNT: &str = "INSERT INTO webhook_counters (provider, outcome, count) VALUES (?, ?, 1) \
     ON CONFLICT (provider, outcome) DO UPDATE SET count = webhook_counters.count + 1";

/// Delivery counters: `(provider, outcome, count)`.
pub fn counters(sql: &dyn Sql) -> Result<Vec<(String, String, i64)>, StoreError> {
    sql.execute(
        "SELECT provider, outcome, count FROM webhook_counters ORDER BY provider, outcome",
        &[],
    )?
    .iter()
    .map(|r| Ok((r.text("provider")?, r.text("outcome")?, r.i64("count")?)))
    .collect()
}

/// Processes `e` exactly once, and counts the delivery (processed or
/// duplicate) in the same transaction.
pub fn process(env: &WebhookEnv<'_>, e: &Event) -> Result<Outcome, WebhookError> {
    let now = env.clock.now();
    // A redelivery of a recorded event is answered without taking the write
    // lock for the whole event; the insert below still decides races.
    let seen = !env
        .sql
        .execute(
            "SELECT 1 FROM payment_events WHERE provider = ? AND event_id = ?",
            &params![e.provider, e.event_id.as_str()],
        )?
        .is_empty();
    if seen {
        count(env.sql, e.provider, "duplicate")?;
        return Ok(Outcome {
            status: "duplicate",
            detail: Value::Null,
        });
    }
    let outcome = immediate(env.sql, |tx| -> Result<Outcome, WebhookError> {
        let outcome = process_in(env, tx, e, now)?;
        count_in(tx, e.provider, outcome.status)?;
        Ok(outcome)
    })?;
    Ok(outcome)
}

fn process_in(
    env: &WebhookEnv<'_>,
    tx: &dyn Sql,
    e: &Event,
    now: DateTime<Utc>,
) -> Result<Outcome, WebhookError> {
    tx.execute(
        "INSERT INTO payment_events (provider, event_id, type, payment_id, outcome, received_at) \
             VALUES (?, ?, ?, ?, 'processed', ?) ON CONFLICT DO NOTHING",
        &params![
            e.provider,
            e.event_id.as_str(),
            e.kind.as_str(),
            e.payment_id.as_str(),
            ts(now)
        ],
    )?;
    if tx.changes()? == 0 {
        return Ok(Outcome {
            status: "duplicate",
            detail: Value::Null,
        });
    }
    let env = WebhookEnv { sql: tx, ..*env };
    let detail = match e.kind {
        Kind::PaymentSucceeded => paid(&env, e, now)?,
        Kind::PaymentCanceled => canceled(&env, e, now)?,
        Kind::RefundSucceeded => refunded(&env, e, now)?,
    };
    if detail.get("duplicate_payment").is_some() {
        tx.execute(
            "UPDATE payment_events SET outcome = 'duplicate' WHERE provider = ? AND event_id = ?",
            &params![e.provider, e.event_id.as_str()],
        )?;
        return Ok(Outcome {
            status: "duplicate",
            detail,
        });
    }
    Ok(Outcome {
        status: "processed",
        detail,
    })
}

fn payment_row(
    tx: &dyn Sql,
    provider: &str,
    payment_id: &str,
) -> Result<Option<Value>, StoreError> {
    let rows = tx.execute(
        "SELECT business_id, member_id, status, amount, refunded_amount, purchase_id, reservation_id, order_ref \
         FROM payments WHERE provider = ? AND payment_id = ?",
        &params![provider, payment_id],
    )?;
    rows.first()
        .map(|r| {
            Ok(json!({
                "business_id": r.text("business_id")?, "member_id": r.opt_text("member_id")?,
                "status": r.text("status")?, "amount": r.i64("amount")?,
                "refunded_amount": r.i64("refunded_amount")?, "purchase_id": r.opt_text("purchase_id")?,
                "reservation_id": r.opt_text("reservation_id")?, "order_ref": r.opt_text("order_ref")?,
            }))
        })
        .transpose()
}

fn member_for(tx: &dyn Sql, payer: &Payer) -> Result<Option<Member>, WalletError> {
    Ok(match payer {
        Payer::Member(id) => member::by_id(tx, id)?,
        Payer::Phone(p) => member_where(tx, "phone", p.as_str())?,
        Payer::PhoneSha256(h) => member_where(tx, "phone_sha256", h)?,
    })
}

fn member_where(tx: &dyn Sql, column: &str, value: &str) -> Result<Option<Member>, WalletError> {
    let rows = tx.execute(
        &format!("SELECT id FROM members WHERE {column} = ? AND erased_at IS NULL"),
        &params![value],
    )?;
    match rows.first() {
        Some(r) => Ok(member::by_id(tx, &r.text("id")?)?),
        None => Ok(None),
    }
}

// Records the purchase of a paid payment (through the reservation when
// there is a live one), and the commission when the sale is engaged.
#[allow(clippy::too_many_arguments)]
fn record_sale(
    env: &WebhookEnv<'_>,
    now: DateTime<Utc>,
    provider: &str,
    m: Member,
    business_id: &str,
    payment_id: &str,
    amount: i64,
    category: Option<Category>,
    coupon_code: Option<String>,
    reservation_id: Option<&str>,
    lines: &[crate::wallet::lines::PurchaseLine],
    ref_code: Option<&str>,
    ingested: Option<&Ingested>,
) -> Result<Value, WebhookError> {
    let b = member::business(env.sql, business_id)?.ok_or(WebhookError::BusinessNotFound)?;
    let actor = ingested.map_or_else(|| actor(provider), |i| i.actor.clone());
    let (source, external_id) = match ingested {
        Some(i) => (Source::Ingest, i.external_id.as_str()),
        None => (Source::Webhook, payment_id),
    };
    let mut committed = Value::Null;
    if let Some(rid) = reservation_id {
        let penv = PromoEnv {
            sql: env.sql,
            clock: env.clock,
            random: env.random,
            request_id: env.request_id,
        };
        let sale = Sale {
            amount: Some(amount),
            external_id: external_id.to_string(),
            source,
            ref_code: ref_code.map(str::to_string),
        };
        match checkout::commit_in(&penv, env.settings, business_id, &actor, rid, &sale) {
            Ok(v) => committed = v,
            // The money was paid: a lapsed or unknown hold does not stop the
            // purchase, it only loses the reserved promo terms.
            Err(PromoError::ReservationNotHeld { .. } | PromoError::ReservationNotFound) => {}
            Err(other) => return Err(other.into()),
        }
    }
    let purchase_id = match committed.get("purchase_id").and_then(Value::as_str) {
        Some(p) => p.to_string(),
        None => {
            let rec = purchases::record_with_lines(
                env.sql,
                env.clock,
                env.random,
                env.settings,
                &NewPurchase {
                    member: m,
                    business: b.clone(),
                    amount,
                    category,
                    external_id: Some(external_id.to_string()),
                    description: ingested.and_then(|i| i.description.clone()),
                    source,
                    promo_multiplier: Ratio::ONE,
                    coupon_code,
                    actor,
                    request_id: env.request_id.map(str::to_string),
                    ref_code: ref_code.map(str::to_string),
                    paid_at: ingested.map(|i| i.paid_at),
                },
                lines,
            )?;
            rec.purchase_id
        }
    };
    let engaged = env
        .sql
        .execute(
            "SELECT ecosystem_engaged FROM purchases WHERE id = ?",
            &params![purchase_id.as_str()],
        )?
        .first()
        .map_or(Ok(0), |r| r.i64("ecosystem_engaged"))?;
    let commission = if engaged == 1 {
        commission::record(env.sql, now, env.random, &b.id, &purchase_id, None, amount)?
    } else {
        None
    };
    let member_id = env
        .sql
        .execute(
            "SELECT member_id FROM purchases WHERE id = ?",
            &params![purchase_id.as_str()],
        )?
        .first()
        .map(|r| r.text("member_id"))
        .transpose()?
        .unwrap_or_default();
    let referral = referral::settle_member(env.sql, now, env.random, env.referral, &member_id)?;
    Ok(json!({
        "purchase_id": purchase_id, "reservation": committed, "commission": commission, "referral": referral,
    }))
}

fn paid(env: &WebhookEnv<'_>, e: &Event, now: DateTime<Utc>) -> Result<Value, WebhookError> {
    if payment_row(env.sql, e.provider, &e.payment_id)?.is_some() {
        // Another event for a payment already recorded.
        return Ok(json!({ "duplicate_payment": e.payment_id }));
    }
    if member::business(env.sql, &e.business_id)?.is_none() {
        return Err(WebhookError::BusinessNotFound);
    }
    let payer = e.payer.clone().ok_or_else(|| {
        InvalidValue::new(
            "INVALID_FIELD",
            "data.member_id",
            "member_id or customer_phone is required",
        )
    })?;
    let found = member_for(env.sql, &payer)?;
    let (phone, phone_sha256) = match &payer {
        Payer::Phone(p) => (Some(p.as_str().to_string()), None),
        Payer::PhoneSha256(h) => (None, Some(h.clone())),
        Payer::Member(_) => (None, None),
    };
    let (status, member_id, purchase, park_until) = match found {
        Some(m) => {
            let id = m.id.clone();
            let sale = record_sale(
                env,
                now,
                e.provider,
                m,
                &e.business_id,
                &e.payment_id,
                e.amount,
                e.category,
                e.coupon_code.clone(),
                e.reservation_id.as_deref(),
                &e.items,
                e.ref_code.as_deref(),
                e.ingested.as_ref(),
            )?;
            ("paid", Some(id), sale, None)
        }
        None => match &payer {
            Payer::Phone(_) | Payer::PhoneSha256(_) => (
                "parked",
                None,
                Value::Null,
                Some(ts(now + Duration::days(PARK_DAYS))),
            ),
            Payer::Member(_) => {
                return Err(InvalidValue::new(
                    "MEMBER_NOT_FOUND",
                    "data.member_id",
                    "no such member",
                )
                .into())
            }
        },
    };
    env.sql.execute(
        "INSERT INTO payments (provider, payment_id, business_id, member_id, customer_phone, customer_phone_sha256, \
         order_ref, reservation_id, category, coupon_code, ref_code, amount, status, purchase_id, park_until, \
         created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        &params![
            e.provider,
            e.payment_id.as_str(),
            e.business_id.as_str(),
            member_id.as_deref(),
            phone.as_deref(),
            phone_sha256.as_deref(),
            e.order_ref.as_deref(),
            e.reservation_id.as_deref(),
            e.category.map(|c| c.as_str()),
            e.coupon_code.as_deref(),
            e.ref_code.as_deref(),
            e.amount,
            status,
            purchase["purchase_id"].as_str(),
            park_until.as_deref(),
            ts(now),
            ts(now)
        ],
    )?;
    let mut out = json!({ "payment": status, "sale": purchase });
    if let Some((settler, id)) = settler_for(env.orders, e.order_ref.as_deref()) {
        let order = PaidOrder {
            id,
            business_id: &e.business_id,
            member_id: member_id.as_deref(),
            provider: e.provider,
            payment_id: &e.payment_id,
            amount: e.amount,
            purchase_id: purchase["purchase_id"].as_str(),
            now,
        };
        out["order"] = settler.paid(env.sql, &order)?;
    }
    Ok(out)
}

fn canceled(env: &WebhookEnv<'_>, e: &Event, now: DateTime<Utc>) -> Result<Value, WebhookError> {
    let mut released = false;
    if let Some(rid) = &e.reservation_id {
        env.sql.execute(
            "UPDATE reservations SET status = 'released', released_at = ? \
             WHERE id = ? AND business_id = ? AND status = 'held'",
            &params![ts(now), rid.as_str(), e.business_id.as_str()],
        )?;
        released = env.sql.changes()? == 1;
        if released {
            uses::release(env.sql, Freed::HeldBy(rid))?;
        }
    }
    env.sql.execute(
        "UPDATE payments SET status = 'canceled', updated_at = ? WHERE provider = ? AND payment_id = ? AND status = 'parked'",
        &params![ts(now), e.provider, e.payment_id.as_str()],
    )?;
    Ok(json!({ "reservation_released": released }))
}

fn refunded(env: &WebhookEnv<'_>, e: &Event, now: DateTime<Utc>) -> Result<Value, WebhookError> {
    let p = payment_row(env.sql, e.provider, &e.payment_id)?.ok_or(WebhookError::PaymentNotSeen)?;
    let amount = p["amount"].as_i64().unwrap_or(0);
    let before = p["refunded_amount"].as_i64().unwrap_or(0);
    let remaining = amount - before;
    if e.amount > remaining {
        return Err(WebhookError::RefundTooLarge { remaining });
    }
    env.sql.execute(
        "UPDATE payments SET refunded_amount = refunded_amount + ?, updated_at = ? WHERE provider = ? AND payment_id = ?",
        &params![e.amount, ts(now), e.provider, e.payment_id.as_str()],
    )?;
    let full = e.amount == remaining;
    let order = match settler_for(env.orders, p["order_ref"].as_str()) {
        Some((settler, id)) => settler.refunded(
            env.sql,
            &RefundedOrder {
                id,
                business_id: p["business_id"].as_str().unwrap_or_default(),
                payment_id: &e.payment_id,
                amount: e.amount,
                full,
                now,
            },
        )?,
        None => Value::Null,
    };
    let Some(purchase_id) = p["purchase_id"].as_str() else {
        // Parked, not yet credited: a full refund ends the wait.
        if full {
            env.sql.execute(
                "UPDATE payments SET status = 'canceled' WHERE provider = ? AND payment_id = ? AND status = 'parked'",
                &params![e.provider, e.payment_id.as_str()],
            )?;
        }
        return Ok(json!({ "parked": true, "full": full, "order": order }));
    };
    let done = purchases::refund(
        env.sql,
        env.clock,
        env.random,
        &NewRefund {
            purchase_id: purchase_id.to_string(),
            amount: e.amount,
            external_id: e.refund_id.clone(),
            actor: actor(e.provider),
        },
    )?;
    let business_id = p["business_id"].as_str().unwrap_or_default();
    let commission = commission::record(
        env.sql,
        now,
        env.random,
        business_id,
        purchase_id,
        Some(&done.refund_id),
        e.amount,
    )?;
    let mut uses_restored = 0;
    if full {
        if let Some(rid) = p["reservation_id"].as_str() {
            uses_restored = uses::release(env.sql, Freed::CommittedBy(rid))?;
        }
    }
    Ok(
        json!({ "refund": done, "commission": commission, "promo_uses_restored": uses_restored, "full": full, "order": order }),
    )
}

/// The `credit-parked-payments` job: payments parked for an unknown phone
/// are credited once that phone belongs to a member, and expire after
/// [`PARK_DAYS`]. Each is handled in its own transaction; safe to run
/// twice at once.
pub fn credit_parked(env: &WebhookEnv<'_>) -> Result<u64, StoreError> {
    let now = env.clock.now();
    let rows = env.sql.execute(
        "SELECT p.provider, p.payment_id, p.business_id, p.amount, p.refunded_amount, p.category, p.coupon_code, p.ref_code, m.id AS member_id \
         FROM payments p JOIN members m ON (m.phone = p.customer_phone OR m.phone_sha256 = p.customer_phone_sha256) \
         AND m.erased_at IS NULL WHERE p.status = 'parked' AND p.park_until > ? LIMIT 500",
        &params![ts(now)],
    )?;
    let mut n = 0;
    for r in rows.iter() {
        let provider = r.text("provider")?;
        let payment_id = r.text("payment_id")?;
        let amount = r.i64("amount")? - r.i64("refunded_amount")?;
        let member_id = r.text("member_id")?;
        let business_id = r.text("business_id")?;
        let category = r
            .opt_text("category")?
            .and_then(|c| Category::parse(&c, "category").ok());
        let coupon = r.opt_text("coupon_code")?;
        let ref_code = r.opt_text("ref_code")?;
        let provider_static: &'static str = match provider.as_str() {
            "yookassa" => "yookassa",
            "saleor" => "saleor",
            INGEST => INGEST,
            _ => "generic",
        };
        // A parked ingest row is credited as the partner's sale, under its
        // own id, by the job.
        let ingested = (provider == INGEST).then(|| Ingested {
            external_id: payment_id
                .split_once(':')
                .map_or(payment_id.as_str(), |(_, ext)| ext)
                .to_string(),
            actor: actor(INGEST),
            paid_at: now,
            description: None,
        });
        let result = immediate(env.sql, |tx| -> Result<bool, WebhookError> {
            // Claim it; a concurrent run that claimed it first wins.
            tx.execute(
                "UPDATE payments SET status = 'credited', member_id = ?, updated_at = ? \
                 WHERE provider = ? AND payment_id = ? AND status = 'parked'",
                &params![
                    member_id.as_str(),
                    ts(now),
                    provider.as_str(),
                    payment_id.as_str()
                ],
            )?;
            if tx.changes()? != 1 || amount <= 0 {
                return Ok(false);
            }
            let Some(m) = member::by_id(tx, &member_id)? else {
                return Ok(false);
            };
            let wenv = WebhookEnv { sql: tx, ..*env };
            let sale = record_sale(
                &wenv,
                now,
                provider_static,
                m,
                &business_id,
                &payment_id,
                amount,
                category,
                coupon.clone(),
                None,
                &[],
                ref_code.as_deref(),
                ingested.as_ref(),
            )?;
            tx.execute(
                "UPDATE payments SET purchase_id = ? WHERE provider = ? AND payment_id = ?",
                &params![
                    sale["purchase_id"].as_str(),
                    provider.as_str(),
                    payment_id.as_str()
                ],
            )?;
            Ok(true)
        });
        match result {
            Ok(true) => n += 1,
            Ok(false) => {}
            Err(WebhookError::Unknown(e)) => return Err(e),
            // A parked sale the pipeline refuses now (e.g. a used coupon)
            // stays parked and is reported by the next run's count.
            Err(_) => {}
        }
    }
    env.sql.execute(
        "UPDATE payments SET status = 'expired', updated_at = ? WHERE status = 'parked' AND park_until <= ?",
        &params![ts(now), ts(now)],
    )?;
    Ok(n)
}
