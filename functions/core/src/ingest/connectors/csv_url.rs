//! A CSV file the partner publishes at a URL — an export link of their
//! accounting system or a shared spreadsheet — in the same format as the
//! CSV upload (see [`crate::ingest::csv_file`]).
//!
//! One GET per run fetches the whole file; the rows of the run's window
//! are kept, and every refused row too, so the partner sees what to fix.

use std::time::Duration;

use serde_json::Value;

use super::{get, setting, Client, Connector, FetchCtx, Kind, SyncError};
use crate::error::InvalidValue;
use crate::ingest::{csv_file, Parsed};

/// Settings that are credentials.
pub const SECRETS: &[&str] = &["authorization"];

/// Longest `url` setting.
const MAX_URL: usize = 500;

/// Longest `authorization` setting (room for a long bearer token).
const MAX_AUTHORIZATION: usize = 4_096;

/// The connector: where the file is and how to authorise the request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CsvUrl {
    url: String,
    authorization: Option<String>,
}

impl CsvUrl {
    /// Checks the settings: `url` (required; `http` or `https`, may have a
    /// query, no fragment or credentials, at most 500 characters) and
    /// `authorization` (optional; the exact `Authorization` header value,
    /// e.g. `Bearer …`; a blank value means none).
    pub fn configure(settings: &Value) -> Result<Self, InvalidValue> {
        let url = check_url(&setting(settings, "url")?)?;
        let authorization = match settings.get("authorization") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) if s.trim().is_empty() => None,
            Some(Value::String(s))
                if s.len() <= MAX_AUTHORIZATION && !s.chars().any(char::is_control) =>
            {
                Some(s.trim().to_string())
            }
            Some(_) => {
                return Err(InvalidValue::new(
                    "INVALID_SETTINGS",
                    "settings.authorization",
                    "authorization must be the Authorization header value, \
                     at most 4096 characters on one line",
                ))
            }
        };
        Ok(Self { url, authorization })
    }

    /// The file's URL.
    pub fn url(&self) -> &str {
        &self.url
    }
}

fn check_url(input: &str) -> Result<String, InvalidValue> {
    let bad = || {
        InvalidValue::new(
            "INVALID_SETTINGS",
            "settings.url",
            "url must be an http(s) URL of at most 500 characters, \
             without a fragment or credentials",
        )
    };
    let s = input.trim();
    let rest = s
        .strip_prefix("https://")
        .or_else(|| s.strip_prefix("http://"))
        .ok_or_else(bad)?;
    let authority = rest.split(['/', '?']).next().unwrap_or_default();
    if authority.is_empty()
        || authority.starts_with(':')
        || authority.contains('@')
        || s.len() > MAX_URL
        || s.contains('#')
        || s.chars().any(|c| c.is_whitespace() || c.is_control())
    {
        return Err(bad());
    }
    Ok(s.to_string())
}

impl Connector for CsvUrl {
    fn kind(&self) -> Kind {
        Kind::CsvUrl
    }

    fn fetch(&self, ctx: &FetchCtx<'_>) -> Result<Vec<Parsed>, SyncError> {
        let client = Client::new(ctx, Duration::ZERO);
        let mut headers = vec![("Accept".to_string(), "text/csv".to_string())];
        if let Some(a) = &self.authorization {
            headers.push(("Authorization".to_string(), a.clone()));
        }
        let resp = client.send(get(self.url.clone(), headers))?;
        if resp.status == 204 {
            return Ok(Vec::new());
        }
        let rows =
            csv_file::parse(&resp.body, ctx.tz).map_err(|e| SyncError::Malformed(e.to_string()))?;
        let window = ctx.window;
        Ok(rows
            .into_iter()
            .filter(|p| match &p.result {
                Ok(t) => window.from <= t.occurred_at && t.occurred_at <= window.to,
                Err(_) => true,
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;
    use std::collections::VecDeque;

    use chrono::{TimeZone, Utc};
    use serde_json::json;

    use super::*;
    use crate::ingest::connectors::Window;
    use crate::ports::{Http, HttpError, OutboundRequest, OutboundResponse, Pause};

    #[derive(Default)]
    struct FakeHttp {
        responses: RefCell<VecDeque<Result<OutboundResponse, HttpError>>>,
        requests: RefCell<Vec<OutboundRequest>>,
    }

    impl FakeHttp {
        fn answering(status: u16, headers: &[(&str, &str)], body: &[u8]) -> Self {
            let fake = Self::default();
            fake.responses.borrow_mut().push_back(Ok(OutboundResponse {
                status,
                headers: headers
                    .iter()
                    .map(|(n, v)| (n.to_string(), v.to_string()))
                    .collect(),
                body: body.to_vec(),
            }));
            fake
        }
    }

    impl Http for FakeHttp {
        fn send(&self, req: OutboundRequest) -> Result<OutboundResponse, HttpError> {
            self.requests.borrow_mut().push(req);
            self.responses
                .borrow_mut()
                .pop_front()
                .unwrap_or_else(|| Err(HttpError::Failed("no canned response".into())))
        }
    }

    #[derive(Default)]
    struct Pauses(RefCell<Vec<Duration>>);

    impl Pause for Pauses {
        fn pause(&self, d: Duration) {
            self.0.borrow_mut().push(d);
        }
    }

    fn window() -> Window {
        Window {
            from: Utc.with_ymd_and_hms(2026, 11, 30, 0, 0, 0).unwrap(),
            to: Utc.with_ymd_and_hms(2026, 11, 30, 23, 59, 59).unwrap(),
        }
    }

    fn fetch(
        connector: &CsvUrl,
        http: &FakeHttp,
        pauses: &Pauses,
    ) -> Result<Vec<Parsed>, SyncError> {
        let ctx = FetchCtx {
            http,
            pause: pauses,
            window: window(),
            tz: chrono_tz::Europe::Moscow,
            max_requests: 10,
        };
        connector.fetch(&ctx)
    }

    fn connector(settings: Value) -> CsvUrl {
        CsvUrl::configure(&settings).unwrap()
    }

    const FILE: &str = "external_id;date;customer_phone;amount\n\
                        before;29.11.2026 23:30;+79991234567;100\n\
                        first;30.11.2026 03:00;+79991234567;200\n\
                        bad;30.11.2026;+79991234567;много\n\
                        last;2026-11-30T23:59:59Z;+79991234567;300\n\
                        after;01.12.2026 03:00;+79991234567;400\n";

    #[test]
    fn sends_one_get_with_accept_and_authorization() {
        let http = FakeHttp::answering(200, &[("content-type", "text/csv")], FILE.as_bytes());
        let pauses = Pauses::default();
        let c = connector(json!({
            "url": " https://crm.example.ru/export?format=csv&key=1 ",
            "authorization": "Bearer xyz",
        }));
        assert_eq!(c.kind(), Kind::CsvUrl);
        fetch(&c, &http, &pauses).unwrap();
        let requests = http.requests.borrow();
        assert_eq!(requests.len(), 1);
        let req = &requests[0];
        assert_eq!(req.method, "GET");
        assert_eq!(req.url, "https://crm.example.ru/export?format=csv&key=1");
        assert!(req.body.is_empty());
        assert_eq!(
            req.headers,
            [
                ("Accept".to_string(), "text/csv".to_string()),
                ("Authorization".to_string(), "Bearer xyz".to_string()),
            ]
        );
        assert!(pauses.0.borrow().is_empty());

        let http = FakeHttp::answering(200, &[], FILE.as_bytes());
        fetch(
            &connector(json!({"url": "http://10.0.0.5:8080/sales.csv"})),
            &http,
            &pauses,
        )
        .unwrap();
        let requests = http.requests.borrow();
        assert_eq!(
            requests[0].headers,
            [("Accept".to_string(), "text/csv".to_string())]
        );
    }

    #[test]
    fn keeps_the_window_and_every_error_row() {
        let http = FakeHttp::answering(200, &[], FILE.as_bytes());
        let rows = fetch(
            &connector(json!({"url": "https://h/f.csv"})),
            &http,
            &Pauses::default(),
        )
        .unwrap();
        let kept: Vec<_> = rows
            .iter()
            .map(|p| (p.row, p.external_id.as_deref(), p.result.is_ok()))
            .collect();
        // 29.11 23:30 Moscow is 20:30 UTC, before the window; 01.12 03:00
        // Moscow is 00:00 UTC, after it. Row numbers stay the file's.
        assert_eq!(
            kept,
            [
                (2, Some("first"), true),
                (3, Some("bad"), false),
                (4, Some("last"), true),
            ]
        );
    }

    #[test]
    fn provider_failures_map_to_sync_errors() {
        let c = connector(json!({"url": "https://h/f.csv"}));
        let http = FakeHttp::answering(500, &[], b"Internal Server Error");
        assert_eq!(
            fetch(&c, &http, &Pauses::default()),
            Err(SyncError::Status {
                status: 500,
                message: "Internal Server Error".into()
            })
        );
        let http = FakeHttp::answering(429, &[("retry-after", "30")], b"");
        assert_eq!(
            fetch(&c, &http, &Pauses::default()),
            Err(SyncError::RateLimited {
                retry_after: Some(30)
            })
        );
        let http = FakeHttp::default();
        assert!(matches!(
            fetch(&c, &http, &Pauses::default()),
            Err(SyncError::Transport(_))
        ));
        let http = FakeHttp::answering(204, &[], b"");
        assert_eq!(fetch(&c, &http, &Pauses::default()), Ok(vec![]));
    }

    #[test]
    fn unreadable_files_are_malformed() {
        let c = connector(json!({"url": "https://h/f.csv"}));
        let mut cp1251 =
            b"external_id;date;customer_phone;amount;description\n1;2026-11-30;+79991234567;10;"
                .to_vec();
        cp1251.extend_from_slice(&[0xC8, 0xE2, 0xE0, 0xED, 0xEE, 0xE2, b'\n']);
        let http = FakeHttp::answering(200, &[], &cp1251);
        assert!(matches!(
            fetch(&c, &http, &Pauses::default()),
            Err(SyncError::Malformed(m)) if m.contains("Windows-1251")
        ));
        let http = FakeHttp::answering(200, &[], b"<html>login</html>\n");
        assert!(matches!(
            fetch(&c, &http, &Pauses::default()),
            Err(SyncError::Malformed(m)) if m.contains("external_id")
        ));
    }

    #[test]
    fn bad_settings_are_refused() {
        let long = format!("https://h/{}", "a".repeat(500));
        for bad in [
            json!({}),
            json!({"url": ""}),
            json!({"url": 5}),
            json!({"url": "ftp://h/f.csv"}),
            json!({"url": "h.ru/f.csv"}),
            json!({"url": "https://"}),
            json!({"url": "https://?x=1"}),
            json!({"url": "https://user:pw@h/f.csv"}),
            json!({"url": "https://h/f.csv#top"}),
            json!({"url": "https://h/a b.csv"}),
            json!({"url": long}),
        ] {
            let e = CsvUrl::configure(&bad).unwrap_err();
            assert_eq!(
                (e.code, e.field.as_str()),
                ("INVALID_SETTINGS", "settings.url"),
                "{bad}"
            );
        }
        for bad in [
            json!("Bearer x\r\nX-Evil: 1"),
            json!(42),
            json!("x".repeat(4_097)),
        ] {
            let e = CsvUrl::configure(&json!({"url": "https://h/f.csv", "authorization": bad}))
                .unwrap_err();
            assert_eq!(
                (e.code, e.field.as_str()),
                ("INVALID_SETTINGS", "settings.authorization")
            );
        }
        let c = connector(json!({"url": "https://h/f.csv", "authorization": "  "}));
        assert_eq!(c.authorization, None);
        assert_eq!(c.url(), "https://h/f.csv");
        assert_eq!(Kind::CsvUrl.secrets(), ["authorization"]);
    }
}
