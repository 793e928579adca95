//! `POST /webhooks/saleor`: a Saleor shop's order events, verified with the
//! shop's signing keys and mapped onto the same exactly-once payment
//! processing as the other providers (provider `saleor`), so a paid order
//! records a purchase, earns points and settles the buyer's referral.
//!
//! - The signature is checked on the raw body before anything is parsed
//!   ([`crate::saleor::verify_with_cache`]); a bad one writes nothing.
//! - `order_paid` with a charge status other than `FULL` or `OVERCHARGED`
//!   (a partial payment) is acknowledged and ignored: the order counts once
//!   it is paid in full. One order is one payment, keyed by the order id:
//!   a later `order_paid` of the same order is a duplicate.
//! - The buyer is the member with the order's e-mail (case-insensitive),
//!   else the order's phone (parked until that phone registers, like any
//!   payment), else nobody: the event is acknowledged and ignored.
//! - `order_fully_refunded` refunds what is left of the order's payment; a
//!   refund for an order not seen yet is a retryable 409 with nothing
//!   written.

use serde_json::Value;

use super::webhook::{self, Event, Kind, Outcome, Payer, WebhookEnv, WebhookError};
use crate::error::{ErrorClass, InvalidValue, UseCaseError};
use crate::params;
use crate::ports::{Http, KeyValue, StoreError};
use crate::saleor::{self, OrderEvent, SaleorError, SaleorOrder};
use crate::types::Phone;
use crate::wallet::lines::{self, LineBody};

/// The provider name payments and counters are kept under.
pub const PROVIDER: &str = "saleor";

/// Where the shop is and whose sales it makes.
#[derive(Debug, Clone, Copy)]
pub struct SaleorShop<'a> {
    /// `saleor_api_url`: the shop's origin (its keys are at
    /// `{origin}/.well-known/jwks.json`).
    pub origin: &'a str,
    /// `saleor_business_id`: the partner business the shop belongs to.
    pub business_id: &'a str,
}

/// A Saleor delivery as received.
#[derive(Debug, Clone, Copy)]
pub struct Delivery<'a> {
    /// `Saleor-Signature`.
    pub signature: Option<&'a str>,
    /// `Saleor-Event`.
    pub event: Option<&'a str>,
    /// The raw body.
    pub body: &'a [u8],
}

/// Why a delivery was refused (nothing written).
#[derive(Debug, thiserror::Error)]
pub enum SaleorWebhookError {
    /// Signature, keys or payload (see [`SaleorError`]).
    #[error(transparent)]
    Saleor(#[from] SaleorError),
    /// A field of the order is invalid for a purchase.
    #[error(transparent)]
    Invalid(#[from] InvalidValue),
    /// Processing refused (a refund for an order not seen yet, ...).
    #[error(transparent)]
    Webhook(#[from] WebhookError),
    /// The (verified) body is not JSON (or not UTF-8).
    #[error("malformed JSON: {0}")]
    Malformed(String),
    /// Storage failed.
    #[error(transparent)]
    Unknown(#[from] StoreError),
}

impl UseCaseError for SaleorWebhookError {
    fn code(&self) -> &'static str {
        match self {
            Self::Saleor(e) => e.code(),
            Self::Invalid(e) => e.code,
            Self::Webhook(e) => e.code(),
            Self::Malformed(_) => "MALFORMED_JSON",
            Self::Unknown(e) => e.code(),
        }
    }

    fn class(&self) -> ErrorClass {
        match self {
            Self::Saleor(e) => e.class(),
            Self::Invalid(e) => e.class(),
            Self::Webhook(e) => e.class(),
            Self::Malformed(_) => ErrorClass::Malformed,
            Self::Unknown(e) => e.class(),
        }
    }
}

impl SaleorWebhookError {
    /// True when the request is not proven to come from the shop.
    pub fn is_signature_failure(&self) -> bool {
        matches!(self, Self::Saleor(e) if e.is_signature_failure())
    }
}

fn ignored() -> Outcome {
    Outcome {
        status: "ignored",
        detail: Value::Null,
    }
}

/// Verifies and processes one delivery exactly once.
pub fn receive(
    env: &WebhookEnv<'_>,
    http: &dyn Http,
    kv: &dyn KeyValue,
    shop: &SaleorShop<'_>,
    d: &Delivery<'_>,
) -> Result<Outcome, SaleorWebhookError> {
    let signature = d
        .signature
        .ok_or(SaleorError::Malformed("no Saleor-Signature header"))?;
    saleor::verify_with_cache(http, kv, shop.origin, signature, d.body)?;
    // Signed, so now the body may be read: JSON (UTF-8, no lone
    // surrogates) with an object at the top, like every other body.
    match serde_json::from_slice::<Value>(d.body) {
        Ok(Value::Object(_)) => {}
        Ok(_) => {
            return Err(SaleorError::InvalidPayload {
                field: "$".into(),
                reason: "must be a JSON object",
            }
            .into())
        }
        Err(e) => return Err(SaleorWebhookError::Malformed(e.to_string())),
    }
    let name = d.event.unwrap_or_default();
    let Some(order) = saleor::parse_order_event(name, d.body)? else {
        webhook::count(env.sql, PROVIDER, "ignored")?;
        return Ok(ignored());
    };
    let Some(event) = to_event(env, shop, &order)? else {
        webhook::count(env.sql, PROVIDER, "ignored")?;
        return Ok(ignored());
    };
    Ok(webhook::process(env, &event)?)
}

// The payment event of an order, or `None` when there is nothing to do.
fn to_event(
    env: &WebhookEnv<'_>,
    shop: &SaleorShop<'_>,
    o: &SaleorOrder,
) -> Result<Option<Event>, SaleorWebhookError> {
    let base = Event {
        provider: PROVIDER,
        event_id: o.idempotency_key.clone(),
        kind: Kind::PaymentSucceeded,
        payment_id: o.order_id.clone(),
        refund_id: None,
        business_id: shop.business_id.to_string(),
        amount: o.total.get(),
        payer: None,
        order_ref: Some(crate::wallet::pos::order_ref(
            &format!("saleor-{}", o.number.as_deref().unwrap_or(&o.order_id)),
            "order.number",
        )?),
        reservation_id: None,
        category: None,
        coupon_code: None,
        items: Vec::new(),
        ref_code: o.ref_code.clone(),
        ingested: None,
    };
    match o.event {
        OrderEvent::Paid => {
            let partial = o
                .charge_status
                .as_deref()
                .is_some_and(|s| !matches!(s, "FULL" | "OVERCHARGED"));
            if partial || o.total.get() <= 0 {
                return Ok(None);
            }
            let Some(payer) = payer(env, o)? else {
                return Ok(None);
            };
            let items: Vec<LineBody> = o
                .lines
                .iter()
                .filter_map(|l| {
                    l.sku.as_ref().map(|sku| LineBody {
                        sku: sku.clone(),
                        name: Some(l.name.clone()),
                        category: None,
                        quantity: i64::from(l.quantity),
                        unit_price: l.unit_price.get(),
                    })
                })
                .collect();
            Ok(Some(Event {
                payer: Some(payer),
                items: lines::parse(&items, "order.lines", None)?,
                ..base
            }))
        }
        OrderEvent::FullyRefunded => {
            let rows = env.sql.execute(
                "SELECT amount - refunded_amount AS left_over FROM payments WHERE provider = ? AND payment_id = ?",
                &params![PROVIDER, o.order_id.as_str()],
            )?;
            let Some(r) = rows.first() else {
                return Err(WebhookError::PaymentNotSeen.into());
            };
            let left = r.i64("left_over")?;
            if left <= 0 {
                return Ok(None);
            }
            Ok(Some(Event {
                kind: Kind::RefundSucceeded,
                refund_id: Some(format!("{}:full-refund", o.order_id)),
                amount: left,
                ..base
            }))
        }
    }
}

// The member with the order's e-mail, else the order's phone.
fn payer(env: &WebhookEnv<'_>, o: &SaleorOrder) -> Result<Option<Payer>, StoreError> {
    if let Some(email) = &o.email {
        let rows = env.sql.execute(
            "SELECT id FROM members WHERE lower(email) = ? AND erased_at IS NULL",
            &params![email.to_lowercase()],
        )?;
        if let Some(r) = rows.first() {
            return Ok(Some(Payer::Member(r.text("id")?)));
        }
    }
    Ok(o.phone
        .as_deref()
        .and_then(|p| Phone::parse(p).ok())
        .map(Payer::Phone))
}
