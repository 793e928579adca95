//! The delivery job: sends pending outbox rows with `sendMessage`, in order
//! per ticket, keeping Telegram's message ids; retries with exponential
//! backoff on 5xx and transport failures, waits out 429 `retry_after`
//! (for the whole chat), and marks a row `failed` after
//! `telegram_max_attempts`.
//!
//! Safe to run concurrently with itself: rows are claimed with a lease in a
//! `BEGIN IMMEDIATE` transaction, and a ticket's row is eligible only when
//! no earlier row of that ticket is still pending.

use chrono::{DateTime, Duration, Utc};

use super::sla::SupportSettings;
use super::telegram::{self, SendOutcome};
use crate::db::{immediate, ts};
use crate::jobs::{JobEnv, JobError, JobReport};
use crate::params;
use crate::ports::{Http, OutboundRequest, Sql, StoreError};

/// Rows claimed per round.
const BATCH: i64 = 50;
/// Rounds per run (a ticket's rows go one per round).
const MAX_ROUNDS: usize = 40;
/// How long a claim holds a row against other runs.
const LEASE_SECS: i64 = 120;

struct Claimed {
    id: String,
    ticket_id: String,
    parts: Vec<String>,
    parts_sent: usize,
    with_buttons: bool,
    attempts: i64,
    root: Option<i64>,
}

fn claim(sql: &dyn Sql, now: DateTime<Utc>) -> Result<Vec<Claimed>, StoreError> {
    immediate(sql, |tx| {
        let rows = tx.execute(
            "SELECT o.id, o.ticket_id, o.parts, o.parts_sent, o.with_buttons, o.attempts, t.tg_message_id \
             FROM support_outbox o JOIN support_tickets t ON t.id = o.ticket_id \
             WHERE o.status = 'pending' AND o.next_attempt_at <= ? \
             AND (o.lease_until IS NULL OR o.lease_until <= ?) \
             AND NOT EXISTS (SELECT 1 FROM support_outbox p WHERE p.ticket_id = o.ticket_id \
                             AND p.status = 'pending' AND p.seq < o.seq) \
             ORDER BY o.next_attempt_at, o.created_at, o.id LIMIT ?",
            &params![ts(now), ts(now), BATCH],
        )?;
        let lease = ts(now + Duration::seconds(LEASE_SECS));
        let mut out = Vec::new();
        for r in rows.iter() {
            let id = r.text("id")?;
            tx.execute(
                "UPDATE support_outbox SET lease_until = ? WHERE id = ?",
                &params![lease.as_str(), id.as_str()],
            )?;
            out.push(Claimed {
                id,
                ticket_id: r.text("ticket_id")?,
                parts: serde_json::from_str(&r.text("parts")?).unwrap_or_default(),
                parts_sent: usize::try_from(r.i64("parts_sent")?).unwrap_or(0),
                with_buttons: r.bool("with_buttons")?,
                attempts: r.i64("attempts")?,
                root: r.opt_i64("tg_message_id")?,
            });
        }
        Ok(out)
    })
}

fn record_part(
    sql: &dyn Sql,
    now: DateTime<Utc>,
    row: &Claimed,
    chat_id: &str,
    part: usize,
    message_id: i64,
) -> Result<(), StoreError> {
    let done = part + 1 == row.parts.len();
    immediate(sql, |tx| {
        tx.execute(
            "INSERT INTO support_tg_messages (chat_id, message_id, ticket_id) VALUES (?, ?, ?) \
             ON CONFLICT (chat_id, message_id) DO NOTHING",
            &params![chat_id, message_id, row.ticket_id.as_str()],
        )?;
        tx.execute(
            "UPDATE support_tickets SET tg_message_id = COALESCE(tg_message_id, ?) WHERE id = ?",
            &params![message_id, row.ticket_id.as_str()],
        )?;
        tx.execute(
            "UPDATE support_outbox SET parts_sent = ?, message_id = COALESCE(message_id, ?), \
             status = CASE WHEN CAST(? AS BIGINT) = 1 THEN 'sent' ELSE status END, sent_at = CASE WHEN CAST(? AS BIGINT) = 1 THEN ? ELSE sent_at END, \
             lease_until = CASE WHEN CAST(? AS BIGINT) = 1 THEN NULL ELSE lease_until END WHERE id = ?",
            &params![
                i64::try_from(part + 1).unwrap_or(i64::MAX),
                message_id,
                done,
                done,
                ts(now),
                done,
                row.id.as_str()
            ],
        )?;
        Ok(())
    })
}

fn record_failure(
    sql: &dyn Sql,
    now: DateTime<Utc>,
    row: &Claimed,
    settings: &SupportSettings,
    wait_secs: Option<i64>,
    error: &str,
) -> Result<bool, StoreError> {
    let attempts = row.attempts + 1;
    let failed = wait_secs.is_none() && attempts >= settings.telegram_max_attempts;
    let wait = wait_secs.unwrap_or_else(|| telegram::backoff_secs(attempts));
    let next = ts(now + Duration::seconds(wait));
    immediate(sql, |tx| {
        // A 429 is flood control, not this row's fault: it does not count
        // as an attempt, and the whole chat waits.
        let counted = if wait_secs.is_some() {
            row.attempts
        } else {
            attempts
        };
        tx.execute(
            "UPDATE support_outbox SET attempts = ?, status = ?, next_attempt_at = ?, lease_until = NULL, \
             last_error = ? WHERE id = ?",
            &params![
                counted,
                if failed { "failed" } else { "pending" },
                next.as_str(),
                error,
                row.id.as_str()
            ],
        )?;
        if wait_secs.is_some() {
            tx.execute(
                "UPDATE support_outbox SET next_attempt_at = ? WHERE status = 'pending' AND next_attempt_at < ?",
                &params![next.as_str(), next.as_str()],
            )?;
        }
        Ok(())
    })?;
    Ok(failed)
}

/// Runs one delivery pass with `http` (the job's Bot API client).
pub fn deliver(env: &JobEnv<'_>, http: &dyn Http) -> Result<JobReport, JobError> {
    let settings = SupportSettings::from_variables(env.variables).map_err(JobError::Other)?;
    if settings.telegram_bot_token.is_empty() || settings.telegram_chat_id.is_empty() {
        return Ok(JobReport {
            affected: 0,
            note: "telegram_bot_token or telegram_chat_id is not set; nothing sent".into(),
        });
    }
    let url = format!(
        "{}/bot{}/sendMessage",
        settings.telegram_api_url, settings.telegram_bot_token
    );
    let chat = settings.telegram_chat_id.as_str();
    let (mut sent, mut retried, mut failed) = (0u64, 0u64, 0u64);
    'rounds: for _ in 0..MAX_ROUNDS {
        let batch = claim(env.sql, env.clock.now())?;
        if batch.is_empty() {
            break;
        }
        let mut progressed = false;
        for row in &batch {
            let mut root = row.root;
            for part in row.parts_sent..row.parts.len() {
                let body = telegram::send_message_body(
                    chat,
                    &row.parts[part],
                    (row.with_buttons && part == 0).then_some(row.ticket_id.as_str()),
                    root,
                );
                let bytes = body.to_string().into_bytes();
                let outcome = match http.send(OutboundRequest {
                    method: "POST".into(),
                    url: url.clone(),
                    headers: vec![
                        ("content-type".into(), "application/json".into()),
                        ("content-length".into(), bytes.len().to_string()),
                    ],
                    body: bytes,
                }) {
                    Ok(resp) => telegram::parse_send_response(resp.status, &resp.body),
                    Err(e) => SendOutcome::Failed(e.to_string()),
                };
                let now = env.clock.now();
                match outcome {
                    SendOutcome::Sent { message_id } => {
                        record_part(env.sql, now, row, chat, part, message_id)?;
                        root = root.or(Some(message_id));
                        if part + 1 == row.parts.len() {
                            sent += 1;
                            progressed = true;
                        }
                    }
                    SendOutcome::RetryAfter(secs) => {
                        record_failure(
                            env.sql,
                            now,
                            row,
                            &settings,
                            Some(secs),
                            "429 retry_after",
                        )?;
                        retried += 1;
                        // Flood control holds the whole chat: stop here and
                        // release what this run still holds.
                        release(env.sql, &batch)?;
                        break 'rounds;
                    }
                    SendOutcome::Failed(error) => {
                        if record_failure(env.sql, now, row, &settings, None, &error)? {
                            failed += 1;
                        } else {
                            retried += 1;
                        }
                        break;
                    }
                }
            }
        }
        if !progressed {
            break;
        }
    }
    Ok(JobReport {
        affected: sent,
        note: format!("{sent} sent, {retried} to retry, {failed} failed"),
    })
}

// Drops the leases of a batch's rows that are still pending.
fn release(sql: &dyn Sql, batch: &[Claimed]) -> Result<(), StoreError> {
    for row in batch {
        sql.execute(
            "UPDATE support_outbox SET lease_until = NULL WHERE id = ? AND status = 'pending'",
            &params![row.id.as_str()],
        )?;
    }
    Ok(())
}
