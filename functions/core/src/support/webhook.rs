//! `POST /webhooks/telegram`: updates from the support chat. A reply to a
//! ticket's message from a mapped agent becomes a staff message on the
//! ticket; `/close`, `/assign <phone>` and `/priority <p>` as replies act on
//! it; the inline buttons take or close it. Each `update_id` is recorded in
//! the transaction of its effect, so any number of deliveries of one update
//! (even concurrent ones) have exactly one effect. Everything else is
//! acknowledged and ignored: Telegram redelivers anything but a 2xx.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;

use super::error::SupportError;
use super::model::{self, Status};
use super::sla::SupportSettings;
use super::telegram::{self, Button, Command};
use super::tickets::{self, Ticket};
use crate::crypto::{constant_time_eq, sha256_hex};
use crate::db::{immediate, ts};
use crate::params;
use crate::ports::{Clock, Random, Sql, StoreError};
use crate::types::Phone;

/// True when `presented` is the configured secret. Both sides are hashed
/// first, so the comparison takes the same time whatever their lengths; an
/// unset secret accepts nothing.
pub fn secret_matches(configured: &str, presented: Option<&str>) -> bool {
    let Some(presented) = presented else {
        return false;
    };
    if configured.is_empty() {
        return false;
    }
    constant_time_eq(
        sha256_hex(configured.as_bytes()).as_bytes(),
        sha256_hex(presented.as_bytes()).as_bytes(),
    )
}

/// What an update asks for, read from its JSON.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// A message replying to another message.
    Reply {
        /// The chat.
        chat_id: String,
        /// The message replied to.
        reply_to: i64,
        /// Telegram user id of the author.
        from: i64,
        /// Its text.
        text: String,
    },
    /// An inline button was pressed.
    Button {
        /// The chat of the message with the button.
        chat_id: String,
        /// Telegram user id of who pressed it.
        from: i64,
        /// What it asks for.
        button: Button,
    },
    /// Anything else.
    Other,
}

/// Reads the action of an update (without its `update_id`).
pub fn action(update: &Value) -> Action {
    let chat = |m: &Value| m["chat"]["id"].as_i64().map(|c| c.to_string());
    if let Some(m) = update.get("message") {
        if let (Some(chat_id), Some(reply_to), Some(from), Some(text)) = (
            chat(m),
            m["reply_to_message"]["message_id"].as_i64(),
            m["from"]["id"].as_i64(),
            m["text"].as_str(),
        ) {
            return Action::Reply {
                chat_id,
                reply_to,
                from,
                text: text.to_string(),
            };
        }
        return Action::Other;
    }
    if let Some(q) = update.get("callback_query") {
        if let (Some(chat_id), Some(from), Some(button)) = (
            chat(&q["message"]),
            q["from"]["id"].as_i64(),
            q["data"].as_str().and_then(Button::parse),
        ) {
            return Action::Button {
                chat_id,
                from,
                button,
            };
        }
    }
    Action::Other
}

/// The ports and settings the webhook needs.
pub struct WebhookEnv<'a> {
    /// SQLite.
    pub sql: &'a dyn Sql,
    /// Clock.
    pub clock: &'a dyn Clock,
    /// CSPRNG.
    pub random: &'a dyn Random,
    /// Support settings.
    pub settings: &'a SupportSettings,
}

/// What the webhook did with an update.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Handled {
    /// `processed`, `duplicate`, `rejected` (a command that could not
    /// apply) or `ignored`.
    pub status: &'static str,
    /// The ticket it acted on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ticket_id: Option<String>,
}

fn outcome(status: &'static str, ticket_id: Option<String>) -> Handled {
    Handled { status, ticket_id }
}

fn agent(tx: &dyn Sql, telegram_user_id: i64) -> Result<Option<String>, StoreError> {
    let rows = tx.execute(
        "SELECT a.member_id FROM support_agents a JOIN members m ON m.id = a.member_id \
         WHERE a.telegram_user_id = ? AND m.erased_at IS NULL",
        &params![telegram_user_id],
    )?;
    rows.first().map(|r| r.text("member_id")).transpose()
}

fn ticket_of_message(
    tx: &dyn Sql,
    chat_id: &str,
    message_id: i64,
) -> Result<Option<Ticket>, StoreError> {
    let rows = tx.execute(
        "SELECT ticket_id FROM support_tg_messages WHERE chat_id = ? AND message_id = ?",
        &params![chat_id, message_id],
    )?;
    match rows.first() {
        Some(r) => tickets::load(tx, &r.text("ticket_id")?),
        None => Ok(None),
    }
}

fn assign(
    tx: &dyn Sql,
    now: DateTime<Utc>,
    ticket: &Ticket,
    member_id: &str,
) -> Result<(), StoreError> {
    tx.execute(
        "UPDATE support_tickets SET assignee_id = ?, \
         status = CASE WHEN status = 'open' THEN 'in_progress' ELSE status END, updated_at = ? WHERE id = ?",
        &params![member_id, ts(now), ticket.id.as_str()],
    )?;
    Ok(())
}

// The effect of an agent's reply on its ticket; Err(rejected) when it
// cannot apply (nothing written then).
fn on_reply(
    env: &WebhookEnv<'_>,
    tx: &dyn Sql,
    now: DateTime<Utc>,
    ticket: &Ticket,
    agent_id: &str,
    text: &str,
) -> Result<&'static str, SupportError> {
    match telegram::parse_command(text) {
        Some(Command::Close) => {
            tickets::apply_status(tx, now, ticket, Status::Closed, true)?;
            Ok("processed")
        }
        Some(Command::Assign(phone)) => {
            let phone = Phone::parse(&phone)?;
            let rows = tx.execute(
                "SELECT id FROM members WHERE phone = ? AND erased_at IS NULL",
                &params![phone.as_str()],
            )?;
            let member = rows
                .first()
                .ok_or(SupportError::MemberNotFound)?
                .text("id")?;
            assign(tx, now, ticket, &member)?;
            Ok("processed")
        }
        Some(Command::Priority(Some(p))) => {
            tickets::apply_priority(tx, now, env.settings, ticket, p)?;
            Ok("processed")
        }
        Some(Command::Priority(None)) => Ok("rejected"),
        Some(Command::Unknown) => Ok("ignored"),
        None => {
            if ticket.status == Status::Closed {
                return Err(SupportError::TicketClosed);
            }
            let body = model::body(text)?;
            tickets::staff_message(
                tx, now, env.random, ticket, agent_id, "staff", "telegram", &body,
            )?;
            Ok("processed")
        }
    }
}

/// Handles one update body (the secret already checked).
pub fn handle(env: &WebhookEnv<'_>, body: &[u8]) -> Result<Handled, StoreError> {
    let Ok(update) = serde_json::from_slice::<Value>(body) else {
        return Ok(outcome("ignored", None));
    };
    let Some(update_id) = update["update_id"].as_i64() else {
        return Ok(outcome("ignored", None));
    };
    let action = action(&update);
    let chat = env.settings.telegram_chat_id.as_str();
    immediate(env.sql, |tx| {
        let now = env.clock.now();
        let fresh = tx.execute(
            "INSERT INTO support_tg_updates (update_id, outcome, received_at) VALUES (?, 'ignored', ?) \
             ON CONFLICT (update_id) DO NOTHING RETURNING update_id",
            &params![update_id, ts(now)],
        )?;
        if fresh.is_empty() {
            return Ok(outcome("duplicate", None));
        }
        let (from, chat_id, ticket) = match &action {
            Action::Reply {
                chat_id,
                reply_to,
                from,
                ..
            } => (*from, chat_id, ticket_of_message(tx, chat_id, *reply_to)?),
            Action::Button {
                chat_id,
                from,
                button: Button::Take(id) | Button::Close(id),
            } => (*from, chat_id, tickets::load(tx, id)?),
            Action::Other => return Ok(outcome("ignored", None)),
        };
        if chat_id != chat {
            return Ok(outcome("ignored", None));
        }
        let (Some(agent_id), Some(ticket)) = (agent(tx, from)?, ticket) else {
            return Ok(outcome("ignored", None));
        };
        tx.execute("SAVEPOINT effect", &[])?;
        let result = match &action {
            Action::Reply { text, .. } => on_reply(env, tx, now, &ticket, &agent_id, text),
            Action::Button {
                button: Button::Take(_),
                ..
            } => assign(tx, now, &ticket, &agent_id)
                .map(|()| "processed")
                .map_err(SupportError::from),
            Action::Button { .. } => {
                tickets::apply_status(tx, now, &ticket, Status::Closed, true).map(|()| "processed")
            }
            Action::Other => Ok("ignored"),
        };
        let status = match result {
            Ok(s) => {
                tx.execute("RELEASE SAVEPOINT effect", &[])?;
                s
            }
            Err(SupportError::Unknown(e)) => return Err(e),
            Err(_) => {
                tx.execute("ROLLBACK TO SAVEPOINT effect", &[])?;
                tx.execute("RELEASE SAVEPOINT effect", &[])?;
                "rejected"
            }
        };
        tx.execute(
            "UPDATE support_tg_updates SET outcome = ?, ticket_id = ? WHERE update_id = ?",
            &params![status, ticket.id.as_str(), update_id],
        )?;
        Ok(outcome(status, Some(ticket.id)))
    })
}
