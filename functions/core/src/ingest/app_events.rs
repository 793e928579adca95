//! Members' app events (`POST /ingest/events`): screen views, banner and
//! coupon impressions and clicks, shares. A batch is checked whole — an
//! unknown type refuses it — and stored in one transaction; an event that
//! carries its own `id` is stored once however often it is sent.

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use serde_json::Value;

use crate::db::{immediate, ts};
use crate::error::{ErrorClass, InvalidValue, UseCaseError};
use crate::params;
use crate::ports::{Clock, Random, Sql, StoreError};
use crate::types::Id;

/// Most events per batch.
pub const MAX_EVENTS: usize = 1_000;

/// The event types the app sends.
pub const TYPES: [&str; 7] = [
    "screen_view",
    "banner_impression",
    "banner_click",
    "coupon_impression",
    "coupon_click",
    "share",
    "search",
];

/// Oldest event accepted (an app offline for a while), days.
pub const MAX_AGE_DAYS: i64 = 30;

const MAX_PROPERTIES: usize = 20;
const MAX_VALUE_CHARS: usize = 200;

/// Why a batch was refused (nothing written).
#[derive(Debug, thiserror::Error)]
pub enum EventsError {
    /// An event is invalid.
    #[error(transparent)]
    Invalid(#[from] InvalidValue),
    /// Storage failed.
    #[error(transparent)]
    Unknown(#[from] StoreError),
}

impl UseCaseError for EventsError {
    fn code(&self) -> &'static str {
        match self {
            EventsError::Invalid(e) => e.code,
            EventsError::Unknown(e) => e.code(),
        }
    }

    fn class(&self) -> ErrorClass {
        match self {
            EventsError::Invalid(e) => e.class(),
            EventsError::Unknown(e) => e.class(),
        }
    }
}

/// What a batch did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Stored {
    /// Events stored.
    pub accepted: u64,
    /// Events whose `id` was stored before.
    pub duplicates: u64,
}

struct AppEvent {
    id: Option<String>,
    kind: String,
    occurred_at: DateTime<Utc>,
    properties: String,
}

fn check(body: &Value, now: DateTime<Utc>) -> Result<Vec<AppEvent>, InvalidValue> {
    let events = body
        .as_object()
        .filter(|o| o.len() == 1)
        .and_then(|o| o.get("events"))
        .and_then(Value::as_array)
        .ok_or_else(|| {
            InvalidValue::new(
                "INVALID_FIELD",
                "events",
                "the body must be {\"events\": [...]}",
            )
        })?;
    if events.is_empty() || events.len() > MAX_EVENTS {
        return Err(InvalidValue::new(
            "INVALID_FIELD",
            "events",
            format!("send 1-{MAX_EVENTS} events per batch"),
        ));
    }
    events
        .iter()
        .enumerate()
        .map(|(i, e)| {
            let at = |f: &str| format!("events[{i}].{f}");
            let o = e
                .as_object()
                .ok_or_else(|| InvalidValue::new("INVALID_FIELD", format!("events[{i}]"), "an event is an object"))?;
            if let Some(k) = o.keys().find(|k| !["id", "type", "occurred_at", "properties"].contains(&k.as_str())) {
                return Err(InvalidValue::new("INVALID_FIELD", at(k), "unknown field"));
            }
            let kind = o.get("type").and_then(Value::as_str).unwrap_or_default();
            if !TYPES.contains(&kind) {
                return Err(InvalidValue::new(
                    "UNKNOWN_EVENT_TYPE",
                    at("type"),
                    format!("type must be one of {}", TYPES.join(", ")),
                ));
            }
            let occurred_at = o
                .get("occurred_at")
                .and_then(Value::as_str)
                .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
                .map(|d| d.with_timezone(&Utc))
                .filter(|d| *d <= now + Duration::minutes(10) && *d >= now - Duration::days(MAX_AGE_DAYS))
                .ok_or_else(|| {
                    InvalidValue::new("INVALID_DATE", at("occurred_at"), "occurred_at must be an RFC 3339 time within the last 30 days")
                })?;
            let id = match o.get("id") {
                None | Some(Value::Null) => None,
                Some(Value::String(s)) => Some(Id::parse(s, &at("id"))?.to_text()),
                Some(_) => return Err(InvalidValue::new("INVALID_FIELD", at("id"), "id must be a UUID string")),
            };
            let properties = match o.get("properties") {
                None | Some(Value::Null) => Value::Object(Default::default()),
                Some(Value::Object(p)) => {
                    if p.len() > MAX_PROPERTIES {
                        return Err(InvalidValue::new("INVALID_FIELD", at("properties"), "at most 20 properties"));
                    }
                    for (k, v) in p {
                        let ok_key = !k.is_empty() && k.len() <= 64 && k.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
                        let ok_value = match v {
                            Value::String(s) => s.chars().count() <= MAX_VALUE_CHARS,
                            Value::Number(_) | Value::Bool(_) | Value::Null => true,
                            _ => false,
                        };
                        if !ok_key || !ok_value {
                            return Err(InvalidValue::new(
                                "INVALID_FIELD",
                                at(&format!("properties.{k}")),
                                "properties are flat: names of letters, digits and _, values strings (≤ 200 characters), numbers or booleans",
                            ));
                        }
                    }
                    Value::Object(p.clone())
                }
                Some(_) => return Err(InvalidValue::new("INVALID_FIELD", at("properties"), "properties must be an object")),
            };
            Ok(AppEvent {
                id,
                kind: kind.to_string(),
                occurred_at,
                properties: properties.to_string(),
            })
        })
        .collect()
}

/// Stores a member's batch.
pub fn store(
    sql: &dyn Sql,
    clock: &dyn Clock,
    random: &dyn Random,
    member_id: &str,
    body: &Value,
) -> Result<Stored, EventsError> {
    let now = clock.now();
    let events = check(body, now)?;
    Ok(immediate(sql, |tx| -> Result<Stored, StoreError> {
        let mut accepted = 0;
        for e in &events {
            let id =
                e.id.clone()
                    .unwrap_or_else(|| Id::at(now, random).to_text());
            tx.execute(
                "INSERT INTO app_events (id, member_id, type, occurred_at, properties, received_at) \
                 VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                &params![id.as_str(), member_id, e.kind.as_str(), ts(e.occurred_at), e.properties.as_str(), ts(now)],
            )?;
            accepted += tx.changes()?;
        }
        Ok(Stored {
            accepted,
            duplicates: events.len() as u64 - accepted,
        })
    })?)
}
