//! Field checks shared by events and proposals.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::error::InvalidValue;
use crate::types::{display_text, is_display_safe};

/// One line of a programme: `{time: "HH:MM", activity}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProgramItem {
    /// Local time, `HH:MM`.
    pub time: String,
    /// What happens.
    pub activity: String,
}

/// A speaker: `{name, title}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Speaker {
    /// Name.
    pub name: String,
    /// Who they are ("Сомелье").
    pub title: String,
}

pub(crate) fn line(input: &str, field: &str, max: usize) -> Result<String, InvalidValue> {
    display_text(input, field, "INVALID_FIELD", max)
}

/// Text with line breaks: trimmed, 1–`max` characters, display-safe apart
/// from `\n`.
pub(crate) fn text(input: &str, field: &str, max: usize) -> Result<String, InvalidValue> {
    let s = input.trim();
    let n = s.chars().count();
    if n == 0 || n > max {
        return Err(InvalidValue::new(
            "INVALID_FIELD",
            field,
            format!("{field} must be 1 to {max} characters"),
        ));
    }
    if !s.chars().all(|c| c == '\n' || is_display_safe(c)) {
        return Err(InvalidValue::new(
            "INVALID_FIELD",
            field,
            format!("{field} contains control or invisible formatting characters"),
        ));
    }
    Ok(s.to_string())
}

pub(crate) fn instant(input: &str, field: &str) -> Result<DateTime<Utc>, InvalidValue> {
    crate::db::parse_instant(input.trim())
        .ok_or_else(|| InvalidValue::new("INVALID_TIME", field, "give an RFC 3339 time"))
}

pub(crate) fn date(input: &str, field: &str) -> Result<NaiveDate, InvalidValue> {
    NaiveDate::parse_from_str(input.trim(), "%Y-%m-%d")
        .map_err(|_| InvalidValue::new("INVALID_DATE", field, "give a date as YYYY-MM-DD"))
}

pub(crate) fn capacity(v: i64, field: &str) -> Result<i64, InvalidValue> {
    if (1..=super::MAX_CAPACITY).contains(&v) {
        Ok(v)
    } else {
        Err(InvalidValue::new(
            "INVALID_CAPACITY",
            field,
            format!("{field} must be from 1 to {}", super::MAX_CAPACITY),
        ))
    }
}

pub(crate) fn amount(v: i64, field: &str) -> Result<i64, InvalidValue> {
    if (0..=super::MAX_PRICE).contains(&v) {
        Ok(v)
    } else {
        Err(InvalidValue::new(
            "INVALID_AMOUNT",
            field,
            format!("{field} must be from 0 to {} kopecks", super::MAX_PRICE),
        ))
    }
}

pub(crate) fn program(
    items: &[ProgramItem],
    field: &str,
) -> Result<Vec<ProgramItem>, InvalidValue> {
    if items.len() > 50 {
        return Err(InvalidValue::new(
            "INVALID_FIELD",
            field,
            "at most 50 items",
        ));
    }
    items
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let t = p.time.trim();
            // HH:MM in ASCII digits: chrono alone also takes "00: 0".
            let digits = t.len() == 5
                && t.bytes().enumerate().all(|(i, b)| {
                    if i == 2 {
                        b == b':'
                    } else {
                        b.is_ascii_digit()
                    }
                });
            let ok = digits && chrono::NaiveTime::parse_from_str(t, "%H:%M").is_ok();
            if !ok {
                return Err(InvalidValue::new(
                    "INVALID_FIELD",
                    format!("{field}[{i}].time"),
                    "time is HH:MM",
                ));
            }
            Ok(ProgramItem {
                time: t.to_string(),
                activity: line(&p.activity, &format!("{field}[{i}].activity"), 200)?,
            })
        })
        .collect()
}

pub(crate) fn speakers(items: &[Speaker], field: &str) -> Result<Vec<Speaker>, InvalidValue> {
    if items.len() > 20 {
        return Err(InvalidValue::new(
            "INVALID_FIELD",
            field,
            "at most 20 speakers",
        ));
    }
    items
        .iter()
        .enumerate()
        .map(|(i, s)| {
            Ok(Speaker {
                name: line(&s.name, &format!("{field}[{i}].name"), 100)?,
                title: line(&s.title, &format!("{field}[{i}].title"), 100)?,
            })
        })
        .collect()
}

pub(crate) fn strings(items: &[String], field: &str) -> Result<Vec<String>, InvalidValue> {
    if items.len() > 20 {
        return Err(InvalidValue::new(
            "INVALID_FIELD",
            field,
            "at most 20 items",
        ));
    }
    items
        .iter()
        .enumerate()
        .map(|(i, s)| line(s, &format!("{field}[{i}]"), 200))
        .collect()
}

pub(crate) fn url(input: &str, field: &str) -> Result<String, InvalidValue> {
    let s = input.trim();
    let ok = s.len() <= 2_000
        && s.len() > "https://".len()
        && s.starts_with("https://")
        && s.chars().all(|c| c.is_ascii_graphic());
    if ok {
        Ok(s.to_string())
    } else {
        Err(InvalidValue::new(
            "INVALID_URL",
            field,
            "give an https:// URL of at most 2000 characters",
        ))
    }
}

pub(crate) fn uuid(input: &str, field: &str) -> Result<String, InvalidValue> {
    crate::types::Id::parse(input, field).map(|i| i.to_text())
}
