//! Request bodies. Every struct denies unknown fields; amounts and points
//! are JSON integers.

use serde::Deserialize;

/// `POST /support/tickets`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewTicket {
    pub subject: String,
    pub body: String,
    #[serde(default)]
    pub business_id: Option<String>,
    #[serde(default)]
    pub purchase_id: Option<String>,
    #[serde(default)]
    pub priority: Option<String>,
}

/// `POST /support/tickets/{id}/messages`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewMessage {
    pub body: String,
}

/// `PATCH /support/tickets/{id}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TicketPatch {
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub priority: Option<String>,
}

/// `POST /support/disputes`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewDispute {
    pub purchase_id: String,
    pub reason: String,
    pub requested: String,
    #[serde(default)]
    pub amount: Option<i64>,
}

/// `POST /support/disputes/{id}/decision`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Decision {
    pub decision: String,
    #[serde(default)]
    pub points: Option<i64>,
    pub note: String,
}

/// `POST /admin/faq` and `PATCH /admin/faq/{id}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaqEntry {
    #[serde(default)]
    pub question: Option<String>,
    #[serde(default)]
    pub answer: Option<String>,
    #[serde(default)]
    pub position: Option<i64>,
}

/// `POST /admin/support/agents`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Agent {
    pub member_id: String,
    pub telegram_user_id: i64,
}
