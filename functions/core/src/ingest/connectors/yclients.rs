//! YCLIENTS: the paid visits among one company's records.
//!
//! Facts from the YCLIENTS REST API documentation this relies on:
//! - Base URL `https://api.yclients.com`; records of a company are
//!   `GET /api/v1/records/{company_id}` with `start_date` / `end_date`
//!   (`YYYY-MM-DD`, session date), `page` (from 1) and `count` (page size).
//! - Headers `Accept: application/vnd.yclients.v2+json` and
//!   `Authorization: Bearer <partner token>, User <user token>`.
//! - Answers are `{"success", "data", "meta"}`; the record list's `meta`
//!   carries `total_count`. Errors carry `meta.message`.
//! - A record has `id`, `date` (local `YYYY-MM-DD HH:MM:SS`), `datetime`
//!   (ISO 8601 with offset), `attendance` (`1` — the client came and the
//!   services were rendered; `2` confirmed, `0` waiting, `-1` no-show),
//!   `visit_attendance`, `deleted`, `paid_full`, `client {phone}`,
//!   `services[] {title, cost}` and `goods_transactions[] {type, cost}`,
//!   where `cost` is the line's price after its discount and goods `type`
//!   `1` is a sale (`2` is consumables written off).
//! - The limit is 200 requests a minute or 5 a second per IP: requests are
//!   spaced 200 ms apart.
//!
//! Readings where the documentation is unclear:
//! - `paid_full` is listed as a 0/1 flag without a description; `1` is
//!   read as "paid in full". Only records with `attendance` (or, when it is
//!   absent, `visit_attendance`) `1` and `paid_full` `1` that are not
//!   `deleted` count; the others are skipped, not reported.
//! - The amount is the sum of `services[].cost` plus the `cost` of the
//!   goods sold in the visit (`goods_transactions` of type 1).
//! - Paging follows `meta.total_count` when given (a page may be shorter
//!   than asked for); without it a short page ends the list. An empty page
//!   always ends it.
//! - The window is asked for by the business's local dates, so records of
//!   the boundary days outside the window come too; ingest is idempotent
//!   per external id, and a visit marked paid late is still picked up.
//! - No purchase lines are built: service titles go to the description.

use std::fmt;
use std::time::Duration;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use serde_json::{Map, Value};

use super::{
    base_url_or, credential, get, setting, url, Client, Connector, FetchCtx, Kind, SyncError,
};
use crate::error::InvalidValue;
use crate::ingest::normalize;
use crate::ingest::{Parsed, Transaction};

/// Settings that are credentials.
pub const SECRETS: &[&str] = &["partner_token", "user_token"];

/// The public API's address.
pub const DEFAULT_BASE_URL: &str = "https://api.yclients.com";

/// Records asked for per page.
pub const PAGE_SIZE: usize = 200;

/// Spacing between requests (5 requests a second).
pub const INTERVAL: Duration = Duration::from_millis(200);

/// The `Accept` value that selects version 2 of the response format.
pub const ACCEPT: &str = "application/vnd.yclients.v2+json";

/// One YCLIENTS company (branch).
#[derive(Clone)]
pub struct Yclients {
    base_url: String,
    company_id: String,
    partner_token: String,
    user_token: String,
}

impl fmt::Debug for Yclients {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Yclients")
            .field("base_url", &self.base_url)
            .field("company_id", &self.company_id)
            .field("partner_token", &"<hidden>")
            .field("user_token", &"<hidden>")
            .finish()
    }
}

impl Yclients {
    /// Checks the settings: `company_id` (digits), `partner_token`,
    /// `user_token`, and an optional `base_url` (the public API by default).
    pub fn configure(settings: &Value) -> Result<Self, InvalidValue> {
        let base_url = base_url_or(settings, DEFAULT_BASE_URL)?;
        let company_id = setting(settings, "company_id")?;
        if company_id.len() > 18 || !company_id.bytes().all(|b| b.is_ascii_digit()) {
            return Err(InvalidValue::new(
                "INVALID_SETTINGS",
                "settings.company_id",
                "company_id must be the company's numeric id",
            ));
        }
        let token = |name: &str| credential(settings, name, &[',', ' ']);
        Ok(Self {
            base_url,
            partner_token: token("partner_token")?,
            user_token: token("user_token")?,
            company_id,
        })
    }

    fn headers(&self) -> Vec<(String, String)> {
        vec![
            ("Accept".into(), ACCEPT.into()),
            ("Content-Type".into(), "application/json".into()),
            (
                "Authorization".into(),
                format!("Bearer {}, User {}", self.partner_token, self.user_token),
            ),
        ]
    }
}

impl Connector for Yclients {
    fn kind(&self) -> Kind {
        Kind::Yclients
    }

    fn fetch(&self, ctx: &FetchCtx<'_>) -> Result<Vec<Parsed>, SyncError> {
        let client = Client::new(ctx, INTERVAL);
        let day = |t: DateTime<Utc>| t.with_timezone(&ctx.tz).format("%Y-%m-%d").to_string();
        let (start, end) = (day(ctx.window.from), day(ctx.window.to));
        let path = format!("/api/v1/records/{}", self.company_id);
        let mut out = Vec::new();
        let mut read = 0usize;
        for page in 1usize.. {
            let request = get(
                url(
                    &self.base_url,
                    &path,
                    &[
                        ("start_date", start.clone()),
                        ("end_date", end.clone()),
                        ("page", page.to_string()),
                        ("count", PAGE_SIZE.to_string()),
                    ],
                ),
                self.headers(),
            );
            let body = client.json(request)?;
            if body.get("success").and_then(Value::as_bool) != Some(true) {
                let message = body
                    .pointer("/meta/message")
                    .and_then(Value::as_str)
                    .unwrap_or("success is not true");
                return Err(SyncError::Malformed(format!("YCLIENTS refused: {message}")));
            }
            let data = body
                .get("data")
                .and_then(Value::as_array)
                .ok_or_else(|| SyncError::Malformed("data is not an array of records".into()))?;
            for record in data {
                read += 1;
                if let Some(parsed) = parse_record(read, record, ctx.tz) {
                    out.push(parsed);
                }
            }
            let total = body
                .pointer("/meta/total_count")
                .and_then(|v| v.as_u64().or_else(|| v.as_str()?.parse().ok()));
            let done = match total {
                Some(total) => read as u64 >= total,
                None => data.len() < PAGE_SIZE,
            };
            if data.is_empty() || done {
                break;
            }
        }
        Ok(out)
    }
}

// A record as a row, or `None` when it is not a paid visit.
fn parse_record(row: usize, value: &Value, tz: Tz) -> Option<Parsed> {
    let at = |f: &str| format!("data[{}].{f}", row - 1);
    let Some(obj) = value.as_object() else {
        return Some(Parsed {
            row,
            external_id: None,
            result: Err(InvalidValue::new(
                "INVALID_FIELD",
                format!("data[{}]", row - 1),
                "a record must be an object",
            )),
        });
    };
    let attendance = obj
        .get("attendance")
        .filter(|v| !v.is_null())
        .or_else(|| obj.get("visit_attendance"));
    let deleted = obj.get("deleted").filter(|v| !v.is_null());
    if deleted.is_some() && flag(deleted) != Some(0) {
        return None;
    }
    if flag(attendance) != Some(1) || flag(obj.get("paid_full")) != Some(1) {
        return None;
    }
    let external_id = text(obj.get("id")).and_then(|s| normalize::external_id(&s, &at("id")).ok());
    let result = (|| {
        let external_id =
            normalize::external_id(&text(obj.get("id")).unwrap_or_default(), &at("id"))?;
        let when = obj
            .get("datetime")
            .and_then(Value::as_str)
            .filter(|s| !s.trim().is_empty())
            .map(|s| (s, "datetime"))
            .or_else(|| obj.get("date").and_then(Value::as_str).map(|s| (s, "date")))
            .unwrap_or(("", "datetime"));
        let occurred_at = normalize::occurred_at(when.0, tz, &at(when.1))?;
        let amount = normalize::check_amount(amount(obj, &at("services"))?, &at("services"))?;
        let customer = match value.pointer("/client/phone").and_then(Value::as_str) {
            Some(p) if !p.trim().is_empty() => normalize::phone_customer(p, &at("client.phone"))?,
            _ => {
                return Err(InvalidValue::new(
                    "MISSING_CUSTOMER",
                    at("client.phone"),
                    "the record names no client phone",
                ))
            }
        };
        Ok(Transaction {
            external_id,
            occurred_at,
            amount,
            customer,
            category: None,
            description: description(obj),
            items: Vec::new(),
            refund_of: None,
        })
    })();
    Some(Parsed {
        row,
        external_id,
        result,
    })
}

// Kopecks paid: services' costs plus goods sold.
fn amount(obj: &Map<String, Value>, field: &str) -> Result<i64, InvalidValue> {
    let bad = || {
        InvalidValue::new(
            "INVALID_AMOUNT",
            field,
            "a service or goods cost is not a non-negative amount of rubles",
        )
    };
    let list = |name: &str| {
        obj.get(name)
            .and_then(Value::as_array)
            .map_or(&[][..], Vec::as_slice)
    };
    let mut total = 0i64;
    for service in list("services") {
        total = total
            .checked_add(kopecks(service.get("cost")).ok_or_else(bad)?)
            .ok_or_else(bad)?;
    }
    for goods in list("goods_transactions") {
        if flag(goods.get("type")) == Some(1) {
            total = total
                .checked_add(kopecks(goods.get("cost")).ok_or_else(bad)?)
                .ok_or_else(bad)?;
        }
    }
    Ok(total)
}

fn description(obj: &Map<String, Value>) -> Option<String> {
    let titles: Vec<&str> = obj
        .get("services")
        .and_then(Value::as_array)
        .map(|l| {
            l.iter()
                .filter_map(|s| s.get("title").and_then(Value::as_str))
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .collect()
        })
        .unwrap_or_default();
    normalize::description(&titles.join(", "))
}

// An integer flag written as a number, a boolean or digits.
fn flag(v: Option<&Value>) -> Option<i64> {
    match v? {
        Value::Number(n) => n.as_i64(),
        Value::Bool(b) => Some(i64::from(*b)),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn text(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) if n.is_i64() || n.is_u64() => Some(n.to_string()),
        _ => None,
    }
}

// Rubles (number or decimal string) to kopecks; zero allowed, negative not.
fn kopecks(v: Option<&Value>) -> Option<i64> {
    let rubles = match v? {
        Value::Number(n) => n.as_f64()?,
        Value::String(s) => s.trim().replace(',', ".").parse::<f64>().ok()?,
        _ => return None,
    };
    let k = (rubles * 100.0).round();
    (k.is_finite() && (0.0..=normalize::MAX_AMOUNT as f64).contains(&k)).then_some(k as i64)
}

#[cfg(test)]
mod tests {
    use super::super::fake::{at, fetch_day, header, pairs, path, query, FakeHttp};
    use super::*;
    use crate::ingest::Customer;
    use crate::types::Phone;
    use serde_json::json;

    const PAGE1: &str = include_str!("fixtures/yclients_records_page1.json");
    const PAGE2: &str = include_str!("fixtures/yclients_records_page2.json");

    fn connector() -> Yclients {
        Yclients::configure(&json!({
            "company_id": 412345,
            "partner_token": "ptok123",
            "user_token": "utok456"
        }))
        .unwrap()
    }

    fn run(
        http: &FakeHttp,
        max_requests: usize,
    ) -> (Result<Vec<Parsed>, SyncError>, Vec<Duration>) {
        fetch_day(&connector(), http, max_requests)
    }

    #[test]
    fn follows_pages_with_documented_headers_and_pacing() {
        let http = FakeHttp::new();
        http.json(200, PAGE1).json(200, PAGE2);
        let (out, waits) = run(&http, 10);
        assert!(out.is_ok());
        let sent = http.requests();
        assert_eq!(sent.len(), 2);
        for (i, req) in sent.iter().enumerate() {
            assert_eq!(req.method, "GET");
            assert_eq!(
                path(&req.url),
                "https://api.yclients.com/api/v1/records/412345"
            );
            let page = (i + 1).to_string();
            assert_eq!(
                query(&req.url),
                pairs(&[
                    ("start_date", "2026-11-30"),
                    ("end_date", "2026-11-30"),
                    ("page", &page),
                    ("count", "200"),
                ])
            );
            assert_eq!(
                header(req, "accept"),
                Some("application/vnd.yclients.v2+json")
            );
            assert_eq!(
                header(req, "authorization"),
                Some("Bearer ptok123, User utok456")
            );
        }
        assert_eq!(waits, vec![Duration::from_millis(200)]);
    }

    #[test]
    fn keeps_only_attended_paid_visits() {
        let http = FakeHttp::new();
        http.json(200, PAGE1).json(200, PAGE2);
        let rows = run(&http, 10).0.unwrap();
        let kept: Vec<(usize, Option<&str>)> = rows
            .iter()
            .map(|p| (p.row, p.external_id.as_deref()))
            .collect();
        assert_eq!(
            kept,
            vec![
                (1, Some("501101")),
                (5, Some("501105")),
                (6, Some("501106"))
            ]
        );

        let first = rows[0].result.as_ref().unwrap();
        assert_eq!(
            first.amount, 466_550,
            "2500 + 1275.50 + 890 sold, consumables not counted"
        );
        assert_eq!(first.occurred_at, at("2026-11-30T08:00:00Z"));
        assert_eq!(
            first.customer,
            Customer::Phone(Phone::parse("+79161234567").unwrap())
        );
        assert_eq!(
            first.description.as_deref(),
            Some("Стрижка женская, Укладка")
        );
        assert!(first.items.is_empty());

        let missing = rows[1].result.as_ref().unwrap_err();
        assert_eq!(
            (missing.code, missing.field.as_str()),
            ("MISSING_CUSTOMER", "data[4].client.phone")
        );

        let local = rows[2].result.as_ref().unwrap();
        assert_eq!(local.amount, 220_000);
        assert_eq!(
            local.occurred_at,
            at("2026-11-30T13:45:00Z"),
            "a local date is Moscow time"
        );
        assert_eq!(
            local.customer,
            Customer::Phone(Phone::parse("+79035550101").unwrap())
        );
    }

    #[test]
    fn a_short_page_ends_the_list_without_a_total() {
        let http = FakeHttp::new();
        http.json(
            200,
            r#"{"success": true, "data": [{"id": 7, "attendance": 1, "paid_full": 1, "deleted": false,
                "datetime": "2026-11-30T10:00:00+03:00", "services": [{"title": "Брови", "cost": 0}],
                "client": {"phone": "+79161234567"}}], "meta": {}}"#,
        );
        let rows = run(&http, 10).0.unwrap();
        assert_eq!(http.requests().len(), 1);
        assert_eq!(rows[0].result.as_ref().unwrap_err().code, "INVALID_AMOUNT");

        let http = FakeHttp::new();
        http.json(
            200,
            r#"{"success": true, "data": [], "meta": {"total_count": 50}}"#,
        );
        assert_eq!(run(&http, 10).0, Ok(Vec::new()));
        assert_eq!(http.requests().len(), 1);
    }

    #[test]
    fn provider_failures_map_to_sync_errors() {
        let http = FakeHttp::new();
        http.respond(429, &[("Retry-After", "60")], "");
        assert_eq!(
            run(&http, 10).0,
            Err(SyncError::RateLimited {
                retry_after: Some(60)
            })
        );

        let http = FakeHttp::new();
        http.json(
            500,
            r#"{"success": false, "data": null, "meta": {"message": "Внутренняя ошибка сервера"}}"#,
        );
        assert_eq!(
            run(&http, 10).0,
            Err(SyncError::Status {
                status: 500,
                message: "Внутренняя ошибка сервера".into()
            })
        );

        let http = FakeHttp::new();
        http.json(200, r#"{"success": false, "data": null, "meta": {"message": "Нет прав на просмотр записей"}}"#);
        assert_eq!(
            run(&http, 10).0,
            Err(SyncError::Malformed(
                "YCLIENTS refused: Нет прав на просмотр записей".into()
            ))
        );

        for body in [r#"{"success": true, "data": {}}"#, "not json", "[]"] {
            let http = FakeHttp::new();
            http.respond(200, &[], body);
            assert!(
                matches!(run(&http, 10).0, Err(SyncError::Malformed(_))),
                "{body}"
            );
        }
    }

    #[test]
    fn too_many_pages_fail_the_run() {
        let http = FakeHttp::new();
        http.json(200, PAGE1).json(200, PAGE2);
        assert_eq!(run(&http, 1).0, Err(SyncError::TooManyRequests(1)));
        assert_eq!(http.requests().len(), 1);
    }

    #[test]
    fn bad_settings_are_refused() {
        let refused = |v: Value| {
            let e = Yclients::configure(&v).unwrap_err();
            assert_eq!(e.code, "INVALID_SETTINGS");
            e.field
        };
        assert_eq!(
            refused(json!({"partner_token": "p", "user_token": "u"})),
            "settings.company_id"
        );
        assert_eq!(
            refused(json!({"company_id": "12a", "partner_token": "p", "user_token": "u"})),
            "settings.company_id"
        );
        assert_eq!(
            refused(json!({"company_id": 1, "user_token": "u"})),
            "settings.partner_token"
        );
        assert_eq!(
            refused(json!({"company_id": 1, "partner_token": "p", "user_token": "a, User b"})),
            "settings.user_token"
        );
        assert_eq!(
            refused(
                json!({"company_id": 1, "partner_token": "p", "user_token": "u", "base_url": "api.yclients.com"})
            ),
            "settings.base_url"
        );
        let custom = Yclients::configure(&json!({
            "company_id": "1", "partner_token": "p", "user_token": "u", "base_url": "http://127.0.0.1:9000/"
        }))
        .unwrap();
        assert_eq!(custom.base_url, "http://127.0.0.1:9000");
        assert!(!format!("{:?}", connector()).contains("ptok123"));
        assert_eq!(SECRETS, &["partner_token", "user_token"]);
    }
}
