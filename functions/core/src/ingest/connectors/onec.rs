//! 1C through the partner's REST extension.
//!
//! The extension is the shape the project's requirements fix, not a
//! vendor API: `GET {base_url}/api/transactions?dateFrom=…&dateTo=…` with
//! HTTP basic authentication, answering
//! `{"Transactions": [{"ID", "Total", "Date", "CustomerPhone", "Items"}]}`.
//!
//! Readings where the shape leaves room:
//! - `dateFrom` / `dateTo` are local date-times of the business's zone
//!   without an offset (`2026-11-30T00:00:00`), both inclusive; 1C keeps
//!   documents in local time.
//! - There is no paging: one request covers the window. An HTTP 204 is
//!   read as "no documents".
//! - `Total` is rubles, a JSON number or a string (`"1 200,50"`); `Date`
//!   is ISO 8601 with or without an offset (without one it is local).
//! - `Items[]` elements carry `SKU` (or `Code`), `Name`, `Quantity` and a
//!   unit `Price` in rubles. An item that cannot become a purchase line
//!   (no SKU, a fractional or out-of-range quantity such as goods sold by
//!   weight, a negative price) is left out of the lines; the sale itself
//!   still counts with its `Total`. Lines take the purchase's category.
//! - No rate limit is documented; requests are still spaced 100 ms apart.

use std::fmt;
use std::time::Duration;

use base64::{engine::general_purpose::STANDARD, Engine as _};
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use serde_json::{Map, Value};

use super::{
    base_url, credential, get, setting, url, Client, Connector, FetchCtx, Kind, SyncError,
};
use crate::error::InvalidValue;
use crate::ingest::normalize;
use crate::ingest::{Customer, Parsed, Transaction};
use crate::wallet::lines::{self, PurchaseLine, MAX_LINES};

/// Settings that are credentials.
pub const SECRETS: &[&str] = &["password"];

/// Spacing between requests (no documented limit; kept polite).
pub const INTERVAL: Duration = Duration::from_millis(100);

/// A 1C database reached through its REST extension.
#[derive(Clone)]
pub struct OneC {
    base_url: String,
    username: String,
    password: String,
}

impl fmt::Debug for OneC {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OneC")
            .field("base_url", &self.base_url)
            .field("username", &self.username)
            .field("password", &"<hidden>")
            .finish()
    }
}

impl OneC {
    /// Checks the settings: `base_url` (http or https), `username` (no
    /// `:`, as basic authentication requires) and `password`.
    pub fn configure(settings: &Value) -> Result<Self, InvalidValue> {
        let base_url = base_url(&setting(settings, "base_url")?, "settings.base_url")?;
        // Basic authentication cannot carry a ':' in the user name.
        let username = credential(settings, "username", &[':'])?;
        let password = setting(settings, "password")?;
        Ok(Self {
            base_url,
            username,
            password,
        })
    }

    fn authorization(&self) -> String {
        let pair = format!("{}:{}", self.username, self.password);
        format!("Basic {}", STANDARD.encode(pair.as_bytes()))
    }
}

impl Connector for OneC {
    fn kind(&self) -> Kind {
        Kind::OneC
    }

    fn fetch(&self, ctx: &FetchCtx<'_>) -> Result<Vec<Parsed>, SyncError> {
        let client = Client::new(ctx, INTERVAL);
        let local = |t: DateTime<Utc>| {
            t.with_timezone(&ctx.tz)
                .naive_local()
                .format("%Y-%m-%dT%H:%M:%S")
                .to_string()
        };
        let request = get(
            url(
                &self.base_url,
                "/api/transactions",
                &[
                    ("dateFrom", local(ctx.window.from)),
                    ("dateTo", local(ctx.window.to)),
                ],
            ),
            vec![
                ("Authorization".into(), self.authorization()),
                ("Accept".into(), "application/json".into()),
            ],
        );
        let resp = client.send(request)?;
        if resp.status == 204 {
            return Ok(Vec::new());
        }
        let body: Value = serde_json::from_slice(&resp.body)
            .map_err(|e| SyncError::Malformed(format!("body is not JSON: {e}")))?;
        let list = body
            .get("Transactions")
            .and_then(Value::as_array)
            .ok_or_else(|| {
                SyncError::Malformed("expected an object with a Transactions array".into())
            })?;
        Ok(list
            .iter()
            .enumerate()
            .map(|(i, t)| parse_transaction(i + 1, t, ctx.tz))
            .collect())
    }
}

fn parse_transaction(row: usize, value: &Value, tz: Tz) -> Parsed {
    let at = |f: &str| format!("Transactions[{}].{f}", row - 1);
    let Some(obj) = value.as_object() else {
        return Parsed {
            row,
            external_id: None,
            result: Err(InvalidValue::new(
                "INVALID_FIELD",
                format!("Transactions[{}]", row - 1),
                "a transaction must be an object",
            )),
        };
    };
    let external_id = text(obj.get("ID")).and_then(|s| normalize::external_id(&s, &at("ID")).ok());
    let result = (|| {
        let external_id =
            normalize::external_id(&text(obj.get("ID")).unwrap_or_default(), &at("ID"))?;
        let amount = match obj.get("Total") {
            Some(Value::Number(n)) => {
                normalize::rubles_number(n.as_f64().unwrap_or(f64::NAN), &at("Total"))?
            }
            Some(Value::String(s)) => normalize::rubles(s, &at("Total"))?,
            _ => {
                return Err(InvalidValue::new(
                    "INVALID_AMOUNT",
                    at("Total"),
                    "Total must be a number or a string of rubles",
                ))
            }
        };
        let date = obj.get("Date").and_then(Value::as_str).unwrap_or("");
        let occurred_at = normalize::occurred_at(date, tz, &at("Date"))?;
        let customer = customer(obj, &at("CustomerPhone"))?;
        Ok(Transaction {
            external_id,
            occurred_at,
            amount,
            customer,
            category: None,
            description: None,
            items: items(obj),
            refund_of: None,
        })
    })();
    Parsed {
        row,
        external_id,
        result,
    }
}

fn customer(obj: &Map<String, Value>, field: &str) -> Result<Customer, InvalidValue> {
    match text(obj.get("CustomerPhone")) {
        Some(phone) if !phone.trim().is_empty() => normalize::phone_customer(&phone, field),
        _ => Err(InvalidValue::new(
            "MISSING_CUSTOMER",
            field,
            "the sale names no customer phone",
        )),
    }
}

// The sale's lines; items that cannot be mapped are left out (see the
// module notes).
fn items(obj: &Map<String, Value>) -> Vec<PurchaseLine> {
    obj.get("Items")
        .and_then(Value::as_array)
        .map(|list| list.iter().filter_map(item).take(MAX_LINES).collect())
        .unwrap_or_default()
}

fn item(value: &Value) -> Option<PurchaseLine> {
    let obj = value.as_object()?;
    let code = text(obj.get("SKU")).or_else(|| text(obj.get("Code")))?;
    let sku = lines::sku(&code, "SKU").ok()?;
    let name = obj
        .get("Name")
        .and_then(Value::as_str)
        .map(|n| n.trim().chars().take(200).collect::<String>())
        .filter(|n| !n.is_empty());
    let quantity = whole(obj.get("Quantity")?).filter(|q| (1..=10_000).contains(q))?;
    let unit_price = kopecks(obj.get("Price")?)?;
    Some(PurchaseLine {
        sku,
        name,
        category: String::new(),
        quantity,
        unit_price,
    })
}

// A string, or an integer written as a number, as text.
fn text(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) if n.is_i64() || n.is_u64() => Some(n.to_string()),
        _ => None,
    }
}

// A whole count: an integer number (`2`, `2.0`) or digits in a string.
fn whole(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64().or_else(|| {
            n.as_f64()
                .filter(|f| f.fract() == 0.0 && f.abs() < 1e12)
                .map(|f| f as i64)
        }),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

// Rubles (number or string) to kopecks, zero allowed, at most
// `normalize::MAX_AMOUNT`.
fn kopecks(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => {
            let k = (n.as_f64()? * 100.0).round();
            (k.is_finite() && (0.0..=normalize::MAX_AMOUNT as f64).contains(&k)).then_some(k as i64)
        }
        Value::String(s) => {
            let t = s.trim();
            if t.starts_with('0') && t.chars().all(|c| matches!(c, '0' | '.' | ',')) {
                Some(0)
            } else {
                normalize::rubles(t, "Price").ok()
            }
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::super::fake::{at, fetch_day, header, pairs, path, query, FakeHttp};
    use super::*;
    use crate::ports::HttpError;
    use crate::types::Phone;
    use serde_json::json;

    const FIXTURE: &str = include_str!("fixtures/onec_transactions.json");

    fn connector() -> OneC {
        OneC::configure(&json!({
            "base_url": "https://1c.example.ru/trade/hs/",
            "username": "kassa",
            "password": "s3cret"
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
    fn sends_one_basic_auth_request_with_local_window_bounds() {
        let http = FakeHttp::new();
        http.json(200, FIXTURE);
        let (out, waits) = run(&http, 10);
        assert_eq!(out.unwrap().len(), 5);
        let sent = http.requests();
        assert_eq!(sent.len(), 1);
        assert_eq!(sent[0].method, "GET");
        assert_eq!(
            path(&sent[0].url),
            "https://1c.example.ru/trade/hs/api/transactions"
        );
        assert_eq!(
            query(&sent[0].url),
            pairs(&[
                ("dateFrom", "2026-11-30T00:00:00"),
                ("dateTo", "2026-11-30T23:59:59")
            ])
        );
        assert_eq!(
            header(&sent[0], "authorization"),
            Some("Basic a2Fzc2E6czNjcmV0")
        );
        assert_eq!(header(&sent[0], "accept"), Some("application/json"));
        assert!(waits.is_empty(), "no pause before the first request");
    }

    #[test]
    fn normalises_sales_lines_and_refuses_bad_rows() {
        let http = FakeHttp::new();
        http.json(200, FIXTURE);
        let rows = run(&http, 10).0.unwrap();

        let first = rows[0].result.as_ref().unwrap();
        assert_eq!(rows[0].row, 1);
        assert_eq!(first.external_id, "ЧК-000123");
        assert_eq!(first.amount, 345_050);
        assert_eq!(first.occurred_at, at("2026-11-30T11:05:00Z"));
        assert_eq!(
            first.customer,
            Customer::Phone(Phone::parse("+79161234567").unwrap())
        );
        assert_eq!(first.category, None);
        let skus: Vec<(&str, i64, i64)> = first
            .items
            .iter()
            .map(|l| (l.sku.as_str(), l.quantity, l.unit_price))
            .collect();
        assert_eq!(
            skus,
            vec![
                ("CR-001", 2, 22_525),
                ("LT-010", 1, 300_000),
                ("GIFT-1", 1, 0)
            ]
        );
        assert_eq!(first.items[0].name.as_deref(), Some("Круассан миндальный"));
        assert!(first.items.iter().all(|l| l.category.is_empty()));

        let second = rows[1].result.as_ref().unwrap();
        assert_eq!(second.external_id, "102");
        assert_eq!(second.amount, 120_000);
        assert_eq!(second.occurred_at, at("2026-11-30T13:30:00Z"));
        assert_eq!(
            second.customer,
            Customer::Phone(Phone::parse("+79035550101").unwrap())
        );
        assert!(second.items.is_empty());

        let codes: Vec<(usize, Option<&str>, &str, &str)> = rows[2..]
            .iter()
            .map(|p| {
                let e = p.result.as_ref().unwrap_err();
                (p.row, p.external_id.as_deref(), e.code, e.field.as_str())
            })
            .collect();
        assert_eq!(
            codes,
            vec![
                (
                    3,
                    Some("ЧК-000125"),
                    "MISSING_CUSTOMER",
                    "Transactions[2].CustomerPhone"
                ),
                (
                    4,
                    Some("ЧК-000126"),
                    "INVALID_AMOUNT",
                    "Transactions[3].Total"
                ),
                (5, Some("ЧК-000127"), "INVALID_DATE", "Transactions[4].Date"),
            ]
        );
    }

    #[test]
    fn odd_elements_become_error_rows_and_204_is_empty() {
        let http = FakeHttp::new();
        http.json(200, r#"{"Transactions": [42, {"Total": 10, "Date": "2026-11-30", "CustomerPhone": "+79161234567"}]}"#);
        let rows = run(&http, 10).0.unwrap();
        assert_eq!(rows[0].result.as_ref().unwrap_err().code, "INVALID_FIELD");
        assert_eq!(rows[1].external_id, None);
        assert_eq!(
            rows[1].result.as_ref().unwrap_err().code,
            "INVALID_EXTERNAL_ID"
        );

        let http = FakeHttp::new();
        http.respond(204, &[], "");
        assert_eq!(run(&http, 10).0, Ok(Vec::new()));
    }

    #[test]
    fn provider_failures_map_to_sync_errors() {
        let http = FakeHttp::new();
        http.respond(429, &[("Retry-After", "30")], "");
        assert_eq!(
            run(&http, 10).0,
            Err(SyncError::RateLimited {
                retry_after: Some(30)
            })
        );

        let http = FakeHttp::new();
        http.json(500, r#"{"error": "Информационная база заблокирована"}"#);
        assert_eq!(
            run(&http, 10).0,
            Err(SyncError::Status {
                status: 500,
                message: "Информационная база заблокирована".into()
            })
        );

        for body in [r#"{"transactions": []}"#, "<html>ошибка</html>", r#"[]"#] {
            let http = FakeHttp::new();
            http.respond(200, &[], body);
            assert!(
                matches!(run(&http, 10).0, Err(SyncError::Malformed(_))),
                "{body}"
            );
        }

        let http = FakeHttp::new();
        http.fail(HttpError::Failed("connection refused".into()));
        assert_eq!(
            run(&http, 10).0,
            Err(SyncError::Transport("connection refused".into()))
        );

        let http = FakeHttp::new();
        http.fail(HttpError::NotAllowed("https://1c.example.ru".into()));
        assert!(
            matches!(run(&http, 10).0, Err(SyncError::Transport(m)) if m.contains("not allowed"))
        );

        let http = FakeHttp::new();
        assert_eq!(run(&http, 0).0, Err(SyncError::TooManyRequests(0)));
        assert!(http.requests().is_empty());
    }

    #[test]
    fn bad_settings_are_refused_and_secrets_stay_hidden() {
        let field = |v: Value| OneC::configure(&v).unwrap_err().field;
        assert_eq!(
            field(json!({"username": "u", "password": "p"})),
            "settings.base_url"
        );
        assert_eq!(
            field(json!({"base_url": "ftp://1c", "username": "u", "password": "p"})),
            "settings.base_url"
        );
        assert_eq!(
            field(json!({"base_url": "https://1c.ru", "password": "p"})),
            "settings.username"
        );
        assert_eq!(
            field(json!({"base_url": "https://1c.ru", "username": "a:b", "password": "p"})),
            "settings.username"
        );
        assert_eq!(
            field(json!({"base_url": "https://1c.ru", "username": "u", "password": ""})),
            "settings.password"
        );
        let err =
            OneC::configure(&json!({"base_url": "https://1c.ru", "username": "u"})).unwrap_err();
        assert_eq!(err.code, "INVALID_SETTINGS");
        assert!(!format!("{:?}", connector()).contains("s3cret"));
        assert_eq!(SECRETS, &["password"]);
    }

    #[test]
    fn non_ascii_credentials_are_utf8_in_basic_auth() {
        let c = OneC::configure(&json!({
            "base_url": "https://1c.ru", "username": "kassa", "password": "пароль"
        }))
        .unwrap();
        assert_eq!(c.authorization(), "Basic a2Fzc2E60L/QsNGA0L7Qu9GM");
    }
}
