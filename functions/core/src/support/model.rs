//! Pure rules: ticket statuses and the moves between them, priorities, who
//! the caller is, and the limits on text fields.

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;

use super::error::SupportError;
use crate::auth::Principal;
use crate::error::InvalidValue;

/// A ticket's status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Waiting for support.
    Open,
    /// Someone is on it.
    InProgress,
    /// Support considers it solved; the member may still reopen it.
    Resolved,
    /// Done.
    Closed,
}

/// How long after resolving or closing a ticket its member may reopen it.
pub const REOPEN_WINDOW_DAYS: i64 = 7;

impl Status {
    /// Storage and wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Open => "open",
            Status::InProgress => "in_progress",
            Status::Resolved => "resolved",
            Status::Closed => "closed",
        }
    }

    /// Parses the wire name.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "open" => Some(Status::Open),
            "in_progress" => Some(Status::InProgress),
            "resolved" => Some(Status::Resolved),
            "closed" => Some(Status::Closed),
            _ => None,
        }
    }

    /// True while support still owes the member an answer.
    pub fn is_active(self) -> bool {
        matches!(self, Status::Open | Status::InProgress)
    }
}

/// Checks a status change. Forward moves along open → in_progress →
/// resolved → closed may skip steps and are for support staff, except that
/// the member may close their own ticket. Going back to `open` is a reopen:
/// allowed from resolved or closed within [`REOPEN_WINDOW_DAYS`] of
/// `settled_at` (when it was resolved or closed), for the member and staff.
pub fn transition(
    from: Status,
    to: Status,
    by_staff: bool,
    settled_at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<(), SupportError> {
    let invalid = || SupportError::InvalidTransition {
        from: from.as_str(),
        to: to.as_str(),
    };
    if to == Status::Open {
        if !matches!(from, Status::Resolved | Status::Closed) {
            return Err(invalid());
        }
        let since = settled_at.unwrap_or(now);
        if now - since > Duration::days(REOPEN_WINDOW_DAYS) {
            return Err(SupportError::ReopenWindowPassed);
        }
        return Ok(());
    }
    if to <= from {
        return Err(invalid());
    }
    if !by_staff && to != Status::Closed {
        return Err(SupportError::Forbidden);
    }
    Ok(())
}

/// A ticket's priority, lowest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Priority {
    /// Whenever.
    Low,
    /// The default.
    Normal,
    /// Soon.
    High,
    /// Now.
    Urgent,
}

impl Priority {
    /// Every priority, lowest first.
    pub const ALL: [Priority; 4] = [
        Priority::Low,
        Priority::Normal,
        Priority::High,
        Priority::Urgent,
    ];

    /// Storage and wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Priority::Low => "low",
            Priority::Normal => "normal",
            Priority::High => "high",
            Priority::Urgent => "urgent",
        }
    }

    /// Parses the wire name (case-insensitive, surrounding spaces ignored).
    pub fn parse(s: &str) -> Option<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "low" => Some(Priority::Low),
            "normal" => Some(Priority::Normal),
            "high" => Some(Priority::High),
            "urgent" => Some(Priority::Urgent),
            _ => None,
        }
    }

    /// Parses `field` or fails with `INVALID_PRIORITY`.
    pub fn parse_field(s: &str, field: &str) -> Result<Self, InvalidValue> {
        Self::parse(s).ok_or_else(|| {
            InvalidValue::new(
                "INVALID_PRIORITY",
                field,
                "priority must be low, normal, high or urgent",
            )
        })
    }

    /// One step up (urgent stays urgent): what an escalation does.
    pub fn raised(self) -> Self {
        match self {
            Priority::Low => Priority::Normal,
            Priority::Normal => Priority::High,
            Priority::High | Priority::Urgent => Priority::Urgent,
        }
    }
}

/// Who calls a support route, as far as visibility goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// The member id.
    pub member_id: String,
    /// The business they are staff of.
    pub business_id: Option<String>,
    /// Platform admin.
    pub admin: bool,
}

impl Caller {
    /// The caller behind a principal; API keys are not support callers.
    pub fn from_principal(p: &Principal) -> Option<Self> {
        Some(Self {
            member_id: p.member_id()?.to_string(),
            business_id: p.business_id().map(str::to_string),
            admin: p.is_admin(),
        })
    }

    /// True when the caller works on tickets of `business_id` (an admin on
    /// every ticket).
    pub fn is_support_for(&self, business_id: Option<&str>) -> bool {
        self.admin || (business_id.is_some() && self.business_id.as_deref() == business_id)
    }

    /// The role a message or decision by this caller is recorded with.
    pub fn staff_role(&self) -> &'static str {
        if self.admin {
            "admin"
        } else {
            "staff"
        }
    }
}

/// Longest ticket subject, in characters.
pub const MAX_SUBJECT: usize = 200;
/// Longest message body, in characters.
pub const MAX_BODY: usize = 10_000;

/// A trimmed single-line text of 1..=`max` characters without control
/// characters (`code` otherwise).
pub fn line(
    input: &str,
    field: &str,
    code: &'static str,
    max: usize,
) -> Result<String, InvalidValue> {
    let s = input.trim();
    if s.is_empty() || s.chars().count() > max || s.chars().any(char::is_control) {
        return Err(InvalidValue::new(
            code,
            field,
            format!("{field} must be 1-{max} characters on one line"),
        ));
    }
    Ok(s.to_string())
}

/// A trimmed multi-line text of 1..=`max` characters; newlines and tabs are
/// kept, other control characters refused (`code` otherwise).
pub fn text(
    input: &str,
    field: &str,
    code: &'static str,
    max: usize,
) -> Result<String, InvalidValue> {
    let s = input.trim();
    if s.is_empty()
        || s.chars().count() > max
        || s.chars()
            .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
    {
        return Err(InvalidValue::new(
            code,
            field,
            format!("{field} must be 1-{max} characters"),
        ));
    }
    Ok(s.replace("\r\n", "\n"))
}

/// Validates a ticket subject.
pub fn subject(input: &str) -> Result<String, InvalidValue> {
    line(input, "subject", "INVALID_SUBJECT", MAX_SUBJECT)
}

/// Validates a message body.
pub fn body(input: &str) -> Result<String, InvalidValue> {
    text(input, "body", "INVALID_BODY", MAX_BODY)
}
