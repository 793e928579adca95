//! Test doubles shared by the connector tests: an [`Http`] that answers
//! from a queue and remembers every request, a [`Pause`] that records the
//! waits it was asked for, and small helpers to build a [`FetchCtx`] and
//! to read back what was sent.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::time::Duration;

use chrono::{DateTime, Utc};

use super::{Connector, FetchCtx, SyncError, Window};
use crate::ingest::Parsed;
use crate::ports::{Http, HttpError, OutboundRequest, OutboundResponse, Pause};

/// Answers requests from a queue, in order, and records them.
#[derive(Default)]
pub(crate) struct FakeHttp {
    answers: RefCell<VecDeque<Result<OutboundResponse, HttpError>>>,
    sent: RefCell<Vec<OutboundRequest>>,
}

impl FakeHttp {
    /// An empty fake: every request fails until answers are queued.
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// Queues a response with `status`, `headers` and `body`.
    pub(crate) fn respond(&self, status: u16, headers: &[(&str, &str)], body: &str) -> &Self {
        self.answers.borrow_mut().push_back(Ok(OutboundResponse {
            status,
            headers: headers
                .iter()
                .map(|(n, v)| (n.to_ascii_lowercase(), (*v).to_string()))
                .collect(),
            body: body.as_bytes().to_vec(),
        }));
        self
    }

    /// Queues a JSON response with `status`.
    pub(crate) fn json(&self, status: u16, body: &str) -> &Self {
        self.respond(status, &[("content-type", "application/json")], body)
    }

    /// Queues a transport failure.
    pub(crate) fn fail(&self, err: HttpError) -> &Self {
        self.answers.borrow_mut().push_back(Err(err));
        self
    }

    /// Every request sent so far, in order.
    pub(crate) fn requests(&self) -> Vec<OutboundRequest> {
        self.sent.borrow().clone()
    }
}

impl Http for FakeHttp {
    fn send(&self, req: OutboundRequest) -> Result<OutboundResponse, HttpError> {
        self.sent.borrow_mut().push(req);
        self.answers
            .borrow_mut()
            .pop_front()
            .unwrap_or_else(|| Err(HttpError::Failed("no response queued".into())))
    }
}

/// Records each pause instead of sleeping.
#[derive(Default)]
pub(crate) struct RecordingPause {
    waits: RefCell<Vec<Duration>>,
}

impl RecordingPause {
    /// The pauses asked for so far, in order.
    pub(crate) fn waits(&self) -> Vec<Duration> {
        self.waits.borrow().clone()
    }
}

impl Pause for RecordingPause {
    fn pause(&self, d: Duration) {
        self.waits.borrow_mut().push(d);
    }
}

/// An RFC 3339 instant.
pub(crate) fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_else(|e| panic!("bad test instant {s}: {e}"))
}

/// A fetch context over `http` and `pause` for the window `[from, to]`
/// (RFC 3339), in Moscow time, allowing `max_requests` requests.
pub(crate) fn ctx<'a>(
    http: &'a FakeHttp,
    pause: &'a RecordingPause,
    from: &str,
    to: &str,
    max_requests: usize,
) -> FetchCtx<'a> {
    FetchCtx {
        http,
        pause,
        window: Window {
            from: at(from),
            to: at(to),
        },
        tz: chrono_tz::Europe::Moscow,
        max_requests,
    }
}

/// Runs `connector` over the Moscow day of 30 November 2026 (the window
/// the connector tests share) with at most `max_requests`; returns what it
/// fetched and the pauses it asked for.
pub(crate) fn fetch_day(
    connector: &dyn Connector,
    http: &FakeHttp,
    max_requests: usize,
) -> (Result<Vec<Parsed>, SyncError>, Vec<Duration>) {
    let pause = RecordingPause::default();
    let ctx = ctx(
        http,
        &pause,
        "2026-11-29T21:00:00Z",
        "2026-11-30T20:59:59Z",
        max_requests,
    );
    let out = connector.fetch(&ctx);
    (out, pause.waits())
}

/// The value of header `name` (any case) of `req`.
pub(crate) fn header<'r>(req: &'r OutboundRequest, name: &str) -> Option<&'r str> {
    req.headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// The part of `url` before `?`.
pub(crate) fn path(url: &str) -> &str {
    url.split('?').next().unwrap_or(url)
}

/// The query (or a form body) of `url` as decoded `(key, value)` pairs,
/// in order.
pub(crate) fn query(url: &str) -> Vec<(String, String)> {
    match url.split_once('?') {
        Some((_, q)) => form(q),
        None => Vec::new(),
    }
}

/// A `k=v&...` string as decoded pairs, in order.
pub(crate) fn form(s: &str) -> Vec<(String, String)> {
    s.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (decode(k), decode(v))
        })
        .collect()
}

fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let escaped = (bytes[i] == b'%')
            .then(|| bytes.get(i + 1..i + 3))
            .flatten()
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (escaped, bytes[i]) {
            (Some(b), _) => {
                out.push(b);
                i += 3;
            }
            (None, b'+') => {
                out.push(b' ');
                i += 1;
            }
            (None, b) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Owned `(key, value)` pairs from string slices, for comparisons.
pub(crate) fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
    items
        .iter()
        .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
        .collect()
}
