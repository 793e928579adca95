//! CRM connectors: each fetches a partner's sales of one time window from
//! the partner's system — with that system's real request and response
//! shapes, paging and rate limit — and turns them into [`Parsed`] rows.
//!
//! A connector never writes: the sync run (see `super::sync`) feeds what it
//! returns to the purchase pipeline, and only then moves the watermark.

pub mod amocrm;
pub mod csv_url;
#[cfg(test)]
mod fake;
pub mod onec;
pub mod renovatio;
pub mod yclients;

use std::cell::Cell;
use std::time::Duration;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use serde_json::Value;

use super::Parsed;
use crate::error::InvalidValue;
use crate::ports::{Http, HttpError, OutboundRequest, OutboundResponse, Pause};

/// The integration types a business can configure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// 1C over its REST extension (`GET {base}/api/transactions`).
    OneC,
    /// YCLIENTS records of one company.
    Yclients,
    /// amoCRM won leads.
    AmoCrm,
    /// Renovatio (medical information system): anonymised payments.
    Renovatio,
    /// A CSV file the partner publishes at a URL.
    CsvUrl,
}

impl Kind {
    /// Every kind, in the order the API lists them.
    pub const ALL: [Kind; 5] = [
        Kind::OneC,
        Kind::Yclients,
        Kind::AmoCrm,
        Kind::Renovatio,
        Kind::CsvUrl,
    ];

    /// Parses the wire name (`INVALID_INTEGRATION_TYPE`).
    pub fn parse(input: &str, field: &str) -> Result<Self, InvalidValue> {
        Self::ALL
            .into_iter()
            .find(|k| k.as_str() == input)
            .ok_or_else(|| {
                InvalidValue::new(
                    "INVALID_INTEGRATION_TYPE",
                    field,
                    "type must be one of onec, yclients, amocrm, renovatio, csv_url",
                )
            })
    }

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::OneC => "onec",
            Kind::Yclients => "yclients",
            Kind::AmoCrm => "amocrm",
            Kind::Renovatio => "renovatio",
            Kind::CsvUrl => "csv_url",
        }
    }

    /// Names of the settings that are credentials: stored, never returned.
    pub fn secrets(self) -> &'static [&'static str] {
        match self {
            Kind::OneC => onec::SECRETS,
            Kind::Yclients => yclients::SECRETS,
            Kind::AmoCrm => amocrm::SECRETS,
            Kind::Renovatio => renovatio::SECRETS,
            Kind::CsvUrl => csv_url::SECRETS,
        }
    }

    /// Checks `settings` (a JSON object) and builds the connector.
    pub fn configure(self, settings: &Value) -> Result<Box<dyn Connector>, InvalidValue> {
        if !settings.is_object() {
            return Err(InvalidValue::new(
                "INVALID_FIELD",
                "settings",
                "settings must be an object",
            ));
        }
        Ok(match self {
            Kind::OneC => Box::new(onec::OneC::configure(settings)?),
            Kind::Yclients => Box::new(yclients::Yclients::configure(settings)?),
            Kind::AmoCrm => Box::new(amocrm::AmoCrm::configure(settings)?),
            Kind::Renovatio => Box::new(renovatio::Renovatio::configure(settings)?),
            Kind::CsvUrl => Box::new(csv_url::CsvUrl::configure(settings)?),
        })
    }
}

/// The period one sync run asks for: records whose time (sale, visit,
/// close) is in `[from, to]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// Start, inclusive (the watermark minus the overlap).
    pub from: DateTime<Utc>,
    /// End, inclusive.
    pub to: DateTime<Utc>,
}

/// What a connector may use while fetching.
pub struct FetchCtx<'a> {
    /// Outbound HTTP.
    pub http: &'a dyn Http,
    /// Waits between requests (rate limits).
    pub pause: &'a dyn Pause,
    /// The period to fetch.
    pub window: Window,
    /// The business's zone: provider times without an offset are local.
    pub tz: Tz,
    /// Most requests one run may send; reaching it fails the run.
    pub max_requests: usize,
}

/// Why a fetch failed. Nothing was stored from a failed fetch.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SyncError {
    /// No response: connection refused, timeout, destination not allowed.
    #[error("{0}")]
    Transport(String),
    /// The provider answered with an error status.
    #[error("HTTP {status}: {message}")]
    Status {
        /// HTTP status.
        status: u16,
        /// The provider's message (trimmed to 300 characters).
        message: String,
    },
    /// HTTP 429; `retry_after` seconds from the `Retry-After` header.
    #[error("rate limited (HTTP 429){}", retry_after.map(|s| format!(", retry after {s} s")).unwrap_or_default())]
    RateLimited {
        /// Seconds the provider asked to wait.
        retry_after: Option<u64>,
    },
    /// The response is not the provider's documented shape.
    #[error("malformed response: {0}")]
    Malformed(String),
    /// The window needs more requests than one run may send.
    #[error("more than {0} requests needed for one window")]
    TooManyRequests(usize),
}

/// A partner system that can be asked for the sales of a window.
pub trait Connector {
    /// Which kind this is.
    fn kind(&self) -> Kind;
    /// Fetches every record of `ctx.window`, following the provider's
    /// paging, and normalises each one; a record that cannot be normalised
    /// is a [`Parsed`] with an error, not a failure of the fetch.
    fn fetch(&self, ctx: &FetchCtx<'_>) -> Result<Vec<Parsed>, SyncError>;
}

/// Sends a connector's requests: paces them `interval` apart, counts them
/// against the run's cap and maps error statuses to [`SyncError`].
pub struct Client<'a> {
    ctx: &'a FetchCtx<'a>,
    interval: Duration,
    sent: Cell<usize>,
}

impl<'a> Client<'a> {
    /// A client that keeps at most one request per `interval`.
    pub fn new(ctx: &'a FetchCtx<'a>, interval: Duration) -> Self {
        Self {
            ctx,
            interval,
            sent: Cell::new(0),
        }
    }

    /// Requests sent so far.
    pub fn sent(&self) -> usize {
        self.sent.get()
    }

    /// Sends `req`; a 2xx answer is returned as is (204 included).
    pub fn send(&self, req: OutboundRequest) -> Result<OutboundResponse, SyncError> {
        let n = self.sent.get();
        if n >= self.ctx.max_requests {
            return Err(SyncError::TooManyRequests(self.ctx.max_requests));
        }
        if n > 0 && !self.interval.is_zero() {
            self.ctx.pause.pause(self.interval);
        }
        self.sent.set(n + 1);
        let resp = self.ctx.http.send(req).map_err(|e| match e {
            HttpError::NotAllowed(d) => SyncError::Transport(format!(
                "destination not allowed: {d} (add its origin to the integration hosts)"
            )),
            HttpError::Failed(m) => SyncError::Transport(m),
        })?;
        match resp.status {
            200..=299 => Ok(resp),
            429 => Err(SyncError::RateLimited {
                retry_after: header(&resp, "retry-after").and_then(|v| v.trim().parse().ok()),
            }),
            status => Err(SyncError::Status {
                status,
                message: provider_message(&resp.body),
            }),
        }
    }

    /// Sends `req` and reads a JSON body.
    pub fn json(&self, req: OutboundRequest) -> Result<Value, SyncError> {
        let resp = self.send(req)?;
        serde_json::from_slice(&resp.body)
            .map_err(|e| SyncError::Malformed(format!("body is not JSON: {e}")))
    }
}

/// A response header (names are lower-case).
pub fn header<'r>(resp: &'r OutboundResponse, name: &str) -> Option<&'r str> {
    resp.headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

// The provider's own words for an error: a JSON `message`, `error`,
// `detail` or `title` field when there is one, else the body's start.
fn provider_message(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let from_json = serde_json::from_slice::<Value>(body).ok().and_then(|v| {
        ["message", "error", "detail", "title"]
            .iter()
            .find_map(|k| match v.get(*k) {
                Some(Value::String(s)) => Some(s.clone()),
                Some(Value::Object(o)) => {
                    o.get("message").and_then(Value::as_str).map(str::to_string)
                }
                _ => None,
            })
            .or_else(|| {
                v.get("meta")
                    .and_then(|m| m.get("message"))
                    .and_then(Value::as_str)
                    .map(str::to_string)
            })
    });
    let msg = from_json.unwrap_or_else(|| text.trim().to_string());
    let msg: String = msg.chars().filter(|c| !c.is_control()).take(300).collect();
    if msg.is_empty() {
        "no message".into()
    } else {
        msg
    }
}

/// A GET request with the given headers.
pub fn get(url: String, headers: Vec<(String, String)>) -> OutboundRequest {
    OutboundRequest {
        method: "GET".into(),
        url,
        headers,
        body: Vec::new(),
    }
}

/// Percent-encodes a query component (RFC 3986 unreserved kept).
pub fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// `base` + `path` + `?k=v&...`, each key and value percent-encoded.
pub fn url(base: &str, path: &str, query: &[(&str, String)]) -> String {
    let mut u = format!("{}{}", base.trim_end_matches('/'), path);
    for (i, (k, v)) in query.iter().enumerate() {
        u.push(if i == 0 { '?' } else { '&' });
        u.push_str(&encode(k));
        u.push('=');
        u.push_str(&encode(v));
    }
    u
}

/// Reads a required string setting (1–500 characters, trimmed).
pub fn setting(settings: &Value, name: &str) -> Result<String, InvalidValue> {
    match settings.get(name) {
        Some(Value::String(s)) if !s.trim().is_empty() && s.len() <= 500 => {
            Ok(s.trim().to_string())
        }
        Some(Value::Number(n)) => Ok(n.to_string()),
        _ => Err(InvalidValue::new(
            "INVALID_SETTINGS",
            format!("settings.{name}"),
            format!("{name} is required (a non-empty string of at most 500 characters)"),
        )),
    }
}

/// Reads an optional string setting.
pub fn optional_setting(settings: &Value, name: &str) -> Result<Option<String>, InvalidValue> {
    match settings.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(_) => setting(settings, name).map(Some),
    }
}

/// Reads a required credential: a [`setting`] free of control characters
/// and of the `forbidden` characters that would break the header or form
/// it travels in.
pub fn credential(
    settings: &Value,
    name: &str,
    forbidden: &[char],
) -> Result<String, InvalidValue> {
    let v = setting(settings, name)?;
    if v.contains(forbidden) || v.chars().any(char::is_control) {
        let listed: Vec<String> = forbidden.iter().map(|c| format!("{c:?}")).collect();
        return Err(InvalidValue::new(
            "INVALID_SETTINGS",
            format!("settings.{name}"),
            format!(
                "{name} may not contain {} or control characters",
                listed.join(", ")
            ),
        ));
    }
    Ok(v)
}

/// The `base_url` setting when given (checked by [`base_url`]), else
/// `default`.
pub fn base_url_or(settings: &Value, default: &str) -> Result<String, InvalidValue> {
    match optional_setting(settings, "base_url")? {
        Some(b) => base_url(&b, "settings.base_url"),
        None => Ok(default.to_string()),
    }
}

/// Checks a base URL: `http` or `https`, a host, an optional path, no
/// query, fragment or credentials; returned without a trailing `/`.
pub fn base_url(input: &str, field: &str) -> Result<String, InvalidValue> {
    let bad = || {
        InvalidValue::new(
            "INVALID_SETTINGS",
            field,
            "must be an http(s) URL without query, fragment or credentials",
        )
    };
    let s = input.trim();
    let rest = s
        .strip_prefix("https://")
        .or_else(|| s.strip_prefix("http://"))
        .ok_or_else(bad)?;
    let host = rest.split('/').next().unwrap_or("");
    if host.is_empty()
        || s.len() > 300
        || s.contains(['?', '#', ' '])
        || host.contains('@')
        || s.chars().any(char::is_control)
    {
        return Err(bad());
    }
    Ok(s.trim_end_matches('/').to_string())
}

/// The origin (`scheme://host[:port]`) of an absolute URL.
pub fn origin(url: &str) -> &str {
    let after = url.find("://").map_or(0, |i| i + 3);
    match url[after..].find('/') {
        Some(i) => &url[..after + i],
        None => url,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_built_encoded_and_checked() {
        assert_eq!(
            url(
                "https://h/x/",
                "/api/t",
                &[
                    ("dateFrom", "2026-11-30T00:00:00".into()),
                    ("a b", "c&d".into())
                ]
            ),
            "https://h/x/api/t?dateFrom=2026-11-30T00%3A00%3A00&a%20b=c%26d"
        );
        assert_eq!(
            base_url("https://1c.example.ru/base/", "b"),
            Ok("https://1c.example.ru/base".into())
        );
        for bad in [
            "ftp://x",
            "https://",
            "https://u:p@h",
            "https://h/?q=1",
            "h.ru",
        ] {
            assert!(base_url(bad, "b").is_err(), "{bad}");
        }
        assert_eq!(
            origin("https://a.amocrm.ru/api/v4/leads?page=2"),
            "https://a.amocrm.ru"
        );
        assert_eq!(origin("http://127.0.0.1:8080"), "http://127.0.0.1:8080");
    }

    #[test]
    fn provider_messages_are_read_from_their_json() {
        assert_eq!(
            provider_message(br#"{"success":false,"meta":{"message":"Token invalid"}}"#),
            "Token invalid"
        );
        assert_eq!(
            provider_message(br#"{"title":"Unauthorized","status":401}"#),
            "Unauthorized"
        );
        assert_eq!(provider_message(b"  boom\n"), "boom");
        assert_eq!(provider_message(b""), "no message");
    }
}
