//! Every ingested row through the shared purchase pipeline — exactly as a
//! provider payment: points, tiers, badges, events budget, cross-promo,
//! commission, referral, parking of unknown phones, refunds — once per
//! `(business_id, external_id)`.
//!
//! Rows are applied in transactions of [`CHUNK`] rows, each row inside its
//! own savepoint: a refused row leaves nothing behind and never blocks the
//! rows after it, and a retried upload (or a sync window that overlaps the
//! last one) only finds duplicates.

use chrono::Duration;
use serde::Serialize;
use serde_json::Value;

pub use super::Parsed;
use super::{Customer, Transaction};
use crate::db::immediate;
use crate::error::{ErrorClass, InvalidValue, UseCaseError};
use crate::params;
use crate::payments::webhook::{
    self, Event, Ingested, Kind, Payer, WebhookEnv, WebhookError, INGEST,
};
use crate::ports::{Sql, StoreError};
use crate::wallet::ledger::Actor;
use crate::wallet::member::{self, Business};

/// Rows applied per write transaction: long enough to amortise the commit,
/// short enough that tills and webhooks never wait long for the lock.
pub const CHUNK: usize = 100;

/// Oldest sale accepted, days before now (the points' lifetime).
pub const MAX_AGE_DAYS: i64 = 365;

/// What happened to one row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RowReport {
    /// The row's number in the input.
    pub row: usize,
    /// The partner's id, when readable.
    pub external_id: Option<String>,
    /// `accepted`, `duplicate`, `rejected` or `parked`.
    pub status: &'static str,
    /// Why a row was rejected: `CODE: field: reason`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The purchase the row recorded, refunded or repeats.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub purchase_id: Option<String>,
}

/// The report of one batch, upload or sync run.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Report {
    /// Rows recorded (sales and refunds).
    pub accepted: u64,
    /// Rows seen before.
    pub duplicates: u64,
    /// Rows refused, each with its reason.
    pub rejected: u64,
    /// Sales of unknown phones, waiting for them to register.
    pub parked: u64,
    /// One entry per row, in input order.
    pub rows: Vec<RowReport>,
}

impl Report {
    fn push(&mut self, r: RowReport) {
        match r.status {
            "accepted" => self.accepted += 1,
            "duplicate" => self.duplicates += 1,
            "parked" => self.parked += 1,
            _ => self.rejected += 1,
        }
        self.rows.push(r);
    }
}

/// Why a whole ingest was refused (nothing written).
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// The input is invalid as a whole.
    #[error(transparent)]
    Invalid(#[from] InvalidValue),
    /// The business does not exist.
    #[error("no such business")]
    BusinessNotFound,
    /// Storage failed.
    #[error(transparent)]
    Unknown(#[from] StoreError),
}

impl UseCaseError for IngestError {
    fn code(&self) -> &'static str {
        match self {
            IngestError::Invalid(e) => e.code,
            IngestError::BusinessNotFound => "BUSINESS_NOT_FOUND",
            IngestError::Unknown(e) => e.code(),
        }
    }

    fn class(&self) -> ErrorClass {
        match self {
            IngestError::Invalid(e) => e.class(),
            IngestError::BusinessNotFound => ErrorClass::NotFound,
            IngestError::Unknown(e) => e.class(),
        }
    }
}

/// Applies `rows` for `business_id` on behalf of `actor`.
pub fn ingest(
    env: &WebhookEnv<'_>,
    business_id: &str,
    actor: &Actor,
    rows: Vec<Parsed>,
) -> Result<Report, IngestError> {
    let business = member::business(env.sql, business_id)?.ok_or(IngestError::BusinessNotFound)?;
    let mut report = Report::default();
    for chunk in rows.chunks(CHUNK) {
        let done = immediate(env.sql, |tx| -> Result<Vec<RowReport>, StoreError> {
            let env = WebhookEnv { sql: tx, ..*env };
            chunk
                .iter()
                .map(|row| apply_row(&env, &business, actor, row))
                .collect()
        })?;
        for r in done {
            report.push(r);
        }
    }
    Ok(report)
}

/// The payment key of a partner's sale: unique across businesses.
pub fn payment_key(business_id: &str, external_id: &str) -> String {
    format!("{business_id}:{external_id}")
}

fn rejected(row: &Parsed, code: &str, field: &str, reason: &str) -> RowReport {
    RowReport {
        row: row.row,
        external_id: row.external_id.clone(),
        status: "rejected",
        reason: Some(if field.is_empty() {
            format!("{code}: {reason}")
        } else {
            format!("{code}: {field}: {reason}")
        }),
        purchase_id: None,
    }
}

// One row inside a savepoint of the chunk's transaction. Only a storage
// failure escapes (and rolls the chunk back); every refusal is a report.
fn apply_row(
    env: &WebhookEnv<'_>,
    business: &Business,
    actor: &Actor,
    row: &Parsed,
) -> Result<RowReport, StoreError> {
    let t = match &row.result {
        Ok(t) => t,
        Err(e) => return Ok(rejected(row, e.code, &e.field, &e.reason)),
    };
    let now = env.clock.now();
    if t.occurred_at > now + Duration::days(1) {
        return Ok(rejected(
            row,
            "INVALID_DATE",
            "date",
            "the sale is in the future",
        ));
    }
    if t.occurred_at < now - Duration::days(MAX_AGE_DAYS) {
        return Ok(rejected(
            row,
            "INVALID_DATE",
            "date",
            "the sale is older than 365 days",
        ));
    }
    // A sale the till or a webhook already recorded under the same id.
    let seen = env.sql.execute(
        "SELECT id FROM purchases WHERE business_id = ? AND external_id = ?",
        &params![business.id.as_str(), t.external_id.as_str()],
    )?;
    if let Some(p) = seen.first() {
        return Ok(RowReport {
            row: row.row,
            external_id: Some(t.external_id.clone()),
            status: "duplicate",
            reason: None,
            purchase_id: Some(p.text("id")?),
        });
    }
    let payer = match &t.customer {
        Customer::Phone(p) => Payer::Phone(p.clone()),
        Customer::PhoneSha256(h) => Payer::PhoneSha256(h.clone()),
        Customer::Card(c) => {
            let rows = env.sql.execute(
                "SELECT id FROM members WHERE card_number = ? AND erased_at IS NULL",
                &params![c.as_str()],
            )?;
            match rows.first() {
                Some(r) => Payer::Member(r.text("id")?),
                None => {
                    return Ok(rejected(
                        row,
                        "UNKNOWN_CARD",
                        "card_number",
                        "no member has this card",
                    ))
                }
            }
        }
    };
    let event = event_for(business, actor, t, payer);
    env.sql.execute("SAVEPOINT ingest_row", &[])?;
    match webhook::apply_ingested(env, env.sql, &event) {
        Ok(outcome) => {
            env.sql.execute("RELEASE ingest_row", &[])?;
            report_for(
                env.sql,
                &business.id,
                row,
                t,
                outcome.status,
                &outcome.detail,
            )
        }
        Err(e) => {
            env.sql.execute("ROLLBACK TO ingest_row", &[])?;
            env.sql.execute("RELEASE ingest_row", &[])?;
            if matches!(e.class(), ErrorClass::Unknown) {
                if let WebhookError::Unknown(s) = e {
                    return Err(s);
                }
            }
            let reason = match &e {
                WebhookError::PaymentNotSeen => "the refunded sale is unknown".to_string(),
                other => other.to_string(),
            };
            let code = match &e {
                WebhookError::PaymentNotSeen => "REFUND_OF_UNKNOWN",
                other => other.code(),
            };
            Ok(rejected(
                row,
                code,
                if t.refund_of.is_some() {
                    "refund_of"
                } else {
                    ""
                },
                &reason,
            ))
        }
    }
}

fn event_for(business: &Business, actor: &Actor, t: &Transaction, payer: Payer) -> Event {
    let key = payment_key(&business.id, &t.external_id);
    let (kind, payment_id, refund_id, payer) = match &t.refund_of {
        Some(of) => (
            Kind::RefundSucceeded,
            payment_key(&business.id, of),
            Some(t.external_id.clone()),
            None,
        ),
        None => (Kind::PaymentSucceeded, key.clone(), None, Some(payer)),
    };
    Event {
        provider: INGEST,
        event_id: key,
        kind,
        payment_id,
        refund_id,
        business_id: business.id.clone(),
        amount: t.amount,
        payer,
        order_ref: None,
        reservation_id: None,
        category: t.category,
        coupon_code: None,
        items: t.items.clone(),
        ref_code: None,
        ingested: Some(Ingested {
            external_id: t.external_id.clone(),
            actor: actor.clone(),
            paid_at: t.occurred_at,
            description: t.description.clone(),
        }),
    }
}

fn report_for(
    sql: &dyn Sql,
    business_id: &str,
    row: &Parsed,
    t: &Transaction,
    status: &str,
    detail: &Value,
) -> Result<RowReport, StoreError> {
    let parked = status != "duplicate" && detail["payment"] == "parked";
    let status = match status {
        "duplicate" => "duplicate",
        _ if parked => "parked",
        _ => "accepted",
    };
    // A sale names its purchase; a refund names the refunded sale's.
    let purchase_id = match detail["sale"]["purchase_id"].as_str() {
        Some(p) => Some(p.to_string()),
        None if parked => None,
        None => {
            let key = payment_key(
                business_id,
                t.refund_of.as_deref().unwrap_or(&t.external_id),
            );
            sql.execute(
                "SELECT purchase_id FROM payments WHERE provider = ? AND payment_id = ?",
                &params![INGEST, key.as_str()],
            )?
            .first()
            .map(|r| r.opt_text("purchase_id"))
            .transpose()?
            .flatten()
        }
    };
    Ok(RowReport {
        row: row.row,
        external_id: Some(t.external_id.clone()),
        status,
        reason: None,
        purchase_id,
    })
}
