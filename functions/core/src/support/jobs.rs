//! The SLA escalation job and the support agents' mapping.

use serde::Serialize;

use super::error::SupportError;
use super::model::Priority;
use super::outbox::{self, Kind};
use super::sla::SupportSettings;
use crate::db::{immediate, ts};
use crate::jobs::{JobEnv, JobError, JobReport};
use crate::params;
use crate::ports::{Clock, Sql};

/// Escalates every active ticket whose first response is overdue, once per
/// breach: priority one step up, a new deadline from now at that priority,
/// and an escalation message queued for the chat — all in one conditional
/// update keyed on the old deadline, so two runs at once escalate once.
pub fn escalate(env: &JobEnv<'_>) -> Result<JobReport, JobError> {
    let settings = SupportSettings::from_variables(env.variables).map_err(JobError::Other)?;
    let now = env.clock.now();
    let overdue = env.sql.execute(
        "SELECT id, subject, priority, first_response_due_at FROM support_tickets \
         WHERE first_response_at IS NULL AND first_response_due_at <= ? \
         AND status IN ('open', 'in_progress') ORDER BY first_response_due_at LIMIT 500",
        &params![ts(now)],
    )?;
    let mut escalated = 0u64;
    for r in overdue.iter() {
        let id = r.text("id")?;
        let subject = r.text("subject")?;
        let old_due = r.text("first_response_due_at")?;
        let priority = Priority::parse(&r.text("priority")?)
            .unwrap_or(Priority::Normal)
            .raised();
        let done = immediate(env.sql, |tx| -> Result<bool, JobError> {
            tx.execute(
                "UPDATE support_tickets SET priority = ?, first_response_due_at = ?, escalations = escalations + 1, \
                 updated_at = ? WHERE id = ? AND first_response_due_at = ? AND first_response_at IS NULL \
                 AND status IN ('open', 'in_progress')",
                &params![priority.as_str(), ts(settings.due(priority, now)), ts(now), id.as_str(), old_due.as_str()],
            )?;
            if tx.changes()? == 0 {
                return Ok(false);
            }
            outbox::enqueue(
                tx,
                now,
                env.random,
                &id,
                Kind::Escalation,
                &outbox::escalation_text(&id, &subject, priority),
            )?;
            Ok(true)
        })?;
        if done {
            escalated += 1;
        }
    }
    Ok(JobReport {
        affected: escalated,
        note: "overdue tickets escalated".into(),
    })
}

/// A Telegram user mapped to a member who answers in the support chat.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Agent {
    /// Member id.
    pub member_id: String,
    /// Telegram user id.
    pub telegram_user_id: i64,
    /// Mapped at.
    pub created_at: String,
}

/// `POST /admin/support/agents`: maps (or re-maps) a Telegram user to an
/// existing member; returns the mapping and whether it is new.
pub fn map_agent(
    sql: &dyn Sql,
    clock: &dyn Clock,
    member_id: &str,
    telegram_user_id: i64,
) -> Result<(Agent, bool), SupportError> {
    let member_id = crate::types::Id::parse(member_id, "member_id")?.to_text();
    if telegram_user_id <= 0 {
        return Err(crate::error::InvalidValue::new(
            "INVALID_TELEGRAM_USER_ID",
            "telegram_user_id",
            "telegram_user_id must be a positive integer",
        )
        .into());
    }
    let now = ts(clock.now());
    immediate(sql, |tx| {
        let exists = tx.execute(
            "SELECT id FROM members WHERE id = ? AND erased_at IS NULL",
            &params![member_id.as_str()],
        )?;
        if exists.is_empty() {
            return Err(SupportError::MemberNotFound);
        }
        let before = tx.execute(
            "SELECT member_id FROM support_agents WHERE telegram_user_id = ?",
            &params![telegram_user_id],
        )?;
        tx.execute(
            "INSERT INTO support_agents (telegram_user_id, member_id, created_at) VALUES (?, ?, ?) \
             ON CONFLICT (telegram_user_id) DO UPDATE SET member_id = excluded.member_id",
            &params![telegram_user_id, member_id.as_str(), now.as_str()],
        )?;
        let rows = tx.execute(
            "SELECT member_id, telegram_user_id, created_at FROM support_agents WHERE telegram_user_id = ?",
            &params![telegram_user_id],
        )?;
        let r = rows.first().ok_or(SupportError::MemberNotFound)?;
        Ok((
            Agent {
                member_id: r.text("member_id")?,
                telegram_user_id: r.i64("telegram_user_id")?,
                created_at: r.text("created_at")?,
            },
            before.is_empty(),
        ))
    })
}
