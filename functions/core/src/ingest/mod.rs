//! Partner ingest: transactions from a partner's JSON batch, a CSV upload or
//! a CRM connector, each row through the shared purchase pipeline exactly
//! once per `(business_id, external_id)`; app events from members; and the
//! integrations that sync a partner's CRM on a schedule.
//!
//! Every source turns its input into [`Parsed`] rows first, so one bad row
//! carries its reason to the report and never blocks the good ones.

// `params!` builds a Vec that is then borrowed as the statement's slice.
#![allow(clippy::useless_vec)]

pub mod app_events;
pub mod batch;
pub mod connectors;
pub mod csv_file;
pub mod integrations;
pub mod normalize;
pub mod pipeline;
pub mod sync;

use chrono::{DateTime, Utc};

use crate::error::InvalidValue;
use crate::types::Phone;
use crate::wallet::lines::PurchaseLine;
use crate::wallet::Category;

/// Most rows one JSON batch may carry.
pub const MAX_BATCH_ROWS: usize = 1_000;

/// Largest CSV upload, bytes (10 MiB).
pub const MAX_CSV_BYTES: usize = 10 * 1024 * 1024;

/// How a row names its customer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Customer {
    /// A phone in E.164 form.
    Phone(Phone),
    /// A member card number as printed on the card.
    Card(String),
    /// SHA-256 (lower-case hex) of the E.164 phone: how medical partners
    /// name a patient without sending the number.
    PhoneSha256(String),
}

/// One normalised partner transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transaction {
    /// The partner's id of the sale (or of the refund), unique per business.
    pub external_id: String,
    /// When the sale happened.
    pub occurred_at: DateTime<Utc>,
    /// Paid (or refunded) amount, kopecks, > 0.
    pub amount: i64,
    /// Who bought.
    pub customer: Customer,
    /// Category; the business's own when `None`.
    pub category: Option<Category>,
    /// Free text; never kept for medical businesses.
    pub description: Option<String>,
    /// The sale's lines; never kept for medical businesses.
    pub items: Vec<PurchaseLine>,
    /// For a refund: the `external_id` of the sale it returns.
    pub refund_of: Option<String>,
}

/// One input row after parsing: its position, the external id when it
/// could be read, and the transaction or the reason it was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parsed {
    /// 1-based row number in the input (the CSV header is row 0; a JSON
    /// batch's first element is row 1; a connector's first record is row 1).
    pub row: usize,
    /// The external id, when the row had a readable one.
    pub external_id: Option<String>,
    /// The transaction, or why the row was refused.
    pub result: Result<Transaction, InvalidValue>,
}
