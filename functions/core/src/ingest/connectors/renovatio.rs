//! Renovatio (medical information system): anonymised patient payments.
//!
//! Only the date, the amount, the category and a SHA-256 of the patient's
//! E.164 phone leave this module: no service names, doctors, diagnoses,
//! names or phone numbers. The phone is parsed and hashed in memory here.
//!
//! Facts from Renovatio's public API this relies on:
//! - A method-style API: `{base}/api/public/<method>`, called with a form
//!   body (`application/x-www-form-urlencoded`) that carries `api_key` and
//!   the method's parameters; the public service is `https://app.rnova.org`.
//! - Answers are `{"error": 0, "data": ...}`; a refusal is
//!   `{"error": 1, "data": {"code", "desc"}}` (for example code 403 "No
//!   access to method" when the key lacks the method).
//! - `getPayments` lists the payments of a period: `date_from`, `date_to`
//!   (`dd.mm.yyyy`, inclusive) and an optional `clinic_id`.
//! - `getPatient` with `patient_id` returns the patient, whose mobile
//!   number is `mobile`.
//!
//! Readings where the public material is thin:
//! - The payment record's fields are not published in detail. A payment is
//!   read as `id`, `date` (`dd.mm.yyyy HH:MM` local time, or ISO 8601),
//!   `value` (rubles; `amount` is accepted too), `patient_id` and the
//!   patient's phone in `patient_phone` (or `mobile`). A payment without a
//!   phone but with a `patient_id` is resolved with one `getPatient` per
//!   patient; a patient the system does not return is a `MISSING_CUSTOMER`
//!   row. Negative values (returns) are refused as amounts.
//! - No paging is documented: one `getPayments` request covers the window's
//!   local dates; payments of the boundary days outside the window come too,
//!   which idempotent ingest absorbs.
//! - No rate limit is documented: requests are spaced 200 ms apart.
//! - The key travels in the form body, never in a URL.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use super::{
    base_url_or, credential, encode, optional_setting, Client, Connector, FetchCtx, Kind, SyncError,
};
use crate::error::InvalidValue;
use crate::ingest::normalize;
use crate::ingest::{Customer, Parsed, Transaction};
use crate::ports::OutboundRequest;
use crate::types::Phone;
use crate::wallet::Category;

/// Settings that are credentials.
pub const SECRETS: &[&str] = &["api_key"];

/// The public service's address.
pub const DEFAULT_BASE_URL: &str = "https://app.rnova.org";

/// Spacing between requests (no documented limit).
pub const INTERVAL: Duration = Duration::from_millis(200);

/// One clinic network's Renovatio account.
#[derive(Clone)]
pub struct Renovatio {
    base_url: String,
    api_key: String,
    clinic_id: Option<String>,
    category: Category,
}

impl fmt::Debug for Renovatio {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Renovatio")
            .field("base_url", &self.base_url)
            .field("clinic_id", &self.clinic_id)
            .field("category", &self.category)
            .field("api_key", &"<hidden>")
            .finish()
    }
}

impl Renovatio {
    /// Checks the settings: `api_key`, an optional `base_url` (the public
    /// service by default), an optional numeric `clinic_id`, and the
    /// optional `category` of the payments (`medicine` by default).
    pub fn configure(settings: &Value) -> Result<Self, InvalidValue> {
        let base_url = base_url_or(settings, DEFAULT_BASE_URL)?;
        let api_key = credential(settings, "api_key", &[' '])?;
        let clinic_id = optional_setting(settings, "clinic_id")?;
        if let Some(c) = &clinic_id {
            if c.len() > 18 || !c.bytes().all(|b| b.is_ascii_digit()) {
                return Err(InvalidValue::new(
                    "INVALID_SETTINGS",
                    "settings.clinic_id",
                    "clinic_id must be the clinic's numeric id",
                ));
            }
        }
        let category = match optional_setting(settings, "category")? {
            None => Category::Medicine,
            Some(c) => normalize::category(&c, "settings.category")
                .map_err(|e| InvalidValue::new("INVALID_SETTINGS", "settings.category", e.reason))?
                .unwrap_or(Category::Medicine),
        };
        Ok(Self {
            base_url,
            api_key,
            clinic_id,
            category,
        })
    }

    // A POST of `method` with `params` (and the key) as a form body.
    fn call(&self, method: &str, params: &[(&str, String)]) -> OutboundRequest {
        let mut body = format!("api_key={}", encode(&self.api_key));
        for (k, v) in params {
            body.push_str(&format!("&{}={}", encode(k), encode(v)));
        }
        OutboundRequest {
            method: "POST".into(),
            url: format!("{}/api/public/{method}", self.base_url),
            headers: vec![
                (
                    "Content-Type".into(),
                    "application/x-www-form-urlencoded".into(),
                ),
                ("Accept".into(), "application/json".into()),
            ],
            body: body.into_bytes(),
        }
    }

    // The patient's mobile number; `None` when the system does not know
    // the patient (code 404) or has no number for them.
    fn patient_mobile(
        &self,
        client: &Client<'_>,
        patient_id: &str,
    ) -> Result<Option<String>, SyncError> {
        let body =
            client.json(self.call("getPatient", &[("patient_id", patient_id.to_string())]))?;
        let code = body
            .pointer("/data/code")
            .and_then(|c| c.as_u64().or_else(|| c.as_str()?.trim().parse().ok()));
        if error_flag(&body) == Some(1) && code == Some(404) {
            return Ok(None);
        }
        let data = answer(&body)?;
        let patient = match data {
            Value::Array(list) => list.first(),
            other => Some(other),
        };
        Ok(patient
            .and_then(|p| text(p.get("mobile")))
            .filter(|m| !m.trim().is_empty()))
    }
}

impl Connector for Renovatio {
    fn kind(&self) -> Kind {
        Kind::Renovatio
    }

    fn fetch(&self, ctx: &FetchCtx<'_>) -> Result<Vec<Parsed>, SyncError> {
        let client = Client::new(ctx, INTERVAL);
        let day = |t: DateTime<Utc>| t.with_timezone(&ctx.tz).format("%d.%m.%Y").to_string();
        let mut params = vec![
            ("date_from", day(ctx.window.from)),
            ("date_to", day(ctx.window.to)),
        ];
        if let Some(c) = &self.clinic_id {
            params.push(("clinic_id", c.clone()));
        }
        let body = client.json(self.call("getPayments", &params))?;
        let payments = answer(&body)?
            .as_array()
            .ok_or_else(|| SyncError::Malformed("data is not an array of payments".into()))?;
        let mut mobiles: BTreeMap<String, Option<String>> = BTreeMap::new();
        let mut out = Vec::with_capacity(payments.len());
        for (i, payment) in payments.iter().enumerate() {
            let row = i + 1;
            let Some(obj) = payment.as_object() else {
                out.push(Parsed {
                    row,
                    external_id: None,
                    result: Err(InvalidValue::new(
                        "INVALID_FIELD",
                        format!("data[{i}]"),
                        "a payment must be an object",
                    )),
                });
                continue;
            };
            if flag(obj.get("is_deleted")) || flag(obj.get("deleted")) {
                continue;
            }
            let mut phone = text(obj.get("patient_phone"))
                .or_else(|| text(obj.get("mobile")))
                .filter(|p| !p.trim().is_empty());
            if phone.is_none() {
                if let Some(pid) = text(obj.get("patient_id")).filter(|p| !p.trim().is_empty()) {
                    if !mobiles.contains_key(&pid) {
                        let found = self.patient_mobile(&client, &pid)?;
                        mobiles.insert(pid.clone(), found);
                    }
                    phone = mobiles.get(&pid).cloned().flatten();
                }
            }
            out.push(self.parse_payment(row, obj, phone.as_deref(), ctx.tz));
        }
        Ok(out)
    }
}

impl Renovatio {
    fn parse_payment(
        &self,
        row: usize,
        obj: &Map<String, Value>,
        phone: Option<&str>,
        tz: Tz,
    ) -> Parsed {
        let at = |f: &str| format!("data[{}].{f}", row - 1);
        let id = text(obj.get("id"));
        let external_id = id
            .as_deref()
            .and_then(|s| normalize::external_id(s, &at("id")).ok());
        let result = (|| {
            let external_id = normalize::external_id(id.as_deref().unwrap_or(""), &at("id"))?;
            let (when, when_field) = ["date", "date_created"]
                .iter()
                .find_map(|k| text(obj.get(*k)).map(|s| (s, *k)))
                .unwrap_or_default();
            let when_field = if when_field.is_empty() {
                "date"
            } else {
                when_field
            };
            let occurred_at = normalize::occurred_at(&when, tz, &at(when_field))?;
            let (value, value_field) = ["value", "amount"]
                .iter()
                .find_map(|k| obj.get(*k).filter(|v| !v.is_null()).map(|v| (v, *k)))
                .unwrap_or((&Value::Null, "value"));
            let amount = match value {
                Value::Number(n) => {
                    normalize::rubles_number(n.as_f64().unwrap_or(f64::NAN), &at(value_field))?
                }
                Value::String(s) => normalize::rubles(s, &at(value_field))?,
                _ => {
                    return Err(InvalidValue::new(
                        "INVALID_AMOUNT",
                        at(value_field),
                        "the payment has no amount",
                    ))
                }
            };
            let customer = match phone {
                Some(p) => hashed_phone(p, &at("patient_phone"))?,
                None => {
                    return Err(InvalidValue::new(
                        "MISSING_CUSTOMER",
                        at("patient_phone"),
                        "the payment names no patient phone",
                    ))
                }
            };
            Ok(Transaction {
                external_id,
                occurred_at,
                amount,
                customer,
                category: Some(self.category),
                description: None,
                items: Vec::new(),
                refund_of: None,
            })
        })();
        Parsed {
            row,
            external_id,
            result,
        }
    }
}

// SHA-256 (lower-case hex) of the E.164 form of `raw`.
fn hashed_phone(raw: &str, field: &str) -> Result<Customer, InvalidValue> {
    let phone = Phone::parse(raw).map_err(|e| e.at(field))?;
    let digest = crate::crypto::hex(&Sha256::digest(phone.as_str().as_bytes()));
    normalize::phone_sha256(&digest, field).map(Customer::PhoneSha256)
}

fn error_flag(body: &Value) -> Option<i64> {
    let e = body.get("error")?;
    e.as_i64().or_else(|| e.as_str()?.trim().parse().ok())
}

// The `data` of a successful answer; a refusal as the provider put it.
fn answer(body: &Value) -> Result<&Value, SyncError> {
    match error_flag(body) {
        Some(0) => body
            .get("data")
            .ok_or_else(|| SyncError::Malformed("the answer has no data".into())),
        Some(_) => {
            let code = body
                .pointer("/data/code")
                .and_then(|c| c.as_u64().or_else(|| c.as_str()?.trim().parse().ok()));
            let desc: String = body
                .pointer("/data/desc")
                .and_then(Value::as_str)
                .unwrap_or("no message")
                .chars()
                .filter(|c| !c.is_control())
                .take(300)
                .collect();
            Err(match code {
                Some(429) => SyncError::RateLimited { retry_after: None },
                Some(c @ 400..=599) => SyncError::Status {
                    status: c as u16,
                    message: desc,
                },
                Some(c) => SyncError::Malformed(format!("Renovatio error {c}: {desc}")),
                None => SyncError::Malformed(format!("Renovatio error: {desc}")),
            })
        }
        None => Err(SyncError::Malformed(
            "expected {\"error\": 0, \"data\": ...}".into(),
        )),
    }
}

fn text(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) if n.is_i64() || n.is_u64() => Some(n.to_string()),
        _ => None,
    }
}

fn flag(v: Option<&Value>) -> bool {
    match v {
        Some(Value::Bool(b)) => *b,
        Some(Value::Number(n)) => n.as_i64() == Some(1),
        Some(Value::String(s)) => s.trim() == "1",
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::super::fake::{at, fetch_day, form, header, pairs, FakeHttp};
    use super::*;
    use serde_json::json;

    const PAYMENTS: &str = include_str!("fixtures/renovatio_payments.json");
    const PATIENT: &str = include_str!("fixtures/renovatio_patient.json");
    const NOT_FOUND: &str = include_str!("fixtures/renovatio_patient_not_found.json");
    const NO_ACCESS: &str = include_str!("fixtures/renovatio_no_access.json");

    // Computed outside the code under test: SHA-256 of the E.164 strings.
    const HASH_79161234567: &str =
        "c795313d1a25fea4e552388ce7fb6102f550187a1132baa53b9872e5236dd8c6";
    const HASH_79035550101: &str =
        "e12753a173ad7e78037346d9a278647a37bec7073ec4a2eeca7f50dd252d1ee7";

    fn connector() -> Renovatio {
        Renovatio::configure(&json!({"api_key": "k3y-9f2a", "clinic_id": 3})).unwrap()
    }

    fn run(
        http: &FakeHttp,
        max_requests: usize,
    ) -> (Result<Vec<Parsed>, SyncError>, Vec<Duration>) {
        fetch_day(&connector(), http, max_requests)
    }

    fn full(http: &FakeHttp) -> &FakeHttp {
        http.json(200, PAYMENTS)
            .json(200, PATIENT)
            .json(200, NOT_FOUND)
    }

    fn body(req: &OutboundRequest) -> Vec<(String, String)> {
        form(std::str::from_utf8(&req.body).unwrap())
    }

    #[test]
    fn posts_the_period_with_the_key_in_the_body() {
        let http = FakeHttp::new();
        let (out, waits) = run(full(&http), 10);
        assert!(out.is_ok());
        let sent = http.requests();
        assert_eq!(sent.len(), 3);
        assert_eq!(sent[0].method, "POST");
        assert_eq!(sent[0].url, "https://app.rnova.org/api/public/getPayments");
        assert_eq!(
            header(&sent[0], "content-type"),
            Some("application/x-www-form-urlencoded")
        );
        assert_eq!(
            body(&sent[0]),
            pairs(&[
                ("api_key", "k3y-9f2a"),
                ("date_from", "30.11.2026"),
                ("date_to", "30.11.2026"),
                ("clinic_id", "3"),
            ])
        );
        assert!(
            sent.iter().all(|r| !r.url.contains("k3y")),
            "the key never goes in a URL"
        );
        assert_eq!(sent[1].url, "https://app.rnova.org/api/public/getPatient");
        assert_eq!(
            body(&sent[1]),
            pairs(&[("api_key", "k3y-9f2a"), ("patient_id", "55103")])
        );
        assert_eq!(
            body(&sent[2]),
            pairs(&[("api_key", "k3y-9f2a"), ("patient_id", "55104")])
        );
        assert_eq!(waits, vec![INTERVAL; 2]);
    }

    #[test]
    fn only_date_amount_category_and_phone_hash_leave() {
        let http = FakeHttp::new();
        let rows = run(full(&http), 10).0.unwrap();
        assert_eq!(rows.len(), 5);

        let first = rows[0].result.as_ref().unwrap();
        assert_eq!(first.external_id, "880011");
        assert_eq!(first.amount, 350_000);
        assert_eq!(first.occurred_at, at("2026-11-30T07:15:00Z"));
        assert_eq!(
            first.customer,
            Customer::PhoneSha256(HASH_79161234567.into())
        );
        assert_eq!(first.category, Some(Category::Medicine));
        assert_eq!(first.description, None);
        assert!(first.items.is_empty());

        let second = rows[1].result.as_ref().unwrap();
        assert_eq!(second.external_id, "880012");
        assert_eq!(second.amount, 125_050);
        assert_eq!(
            second.customer,
            Customer::PhoneSha256(HASH_79035550101.into())
        );

        let looked_up = rows[2].result.as_ref().unwrap();
        let expected = crate::crypto::hex(&Sha256::digest(b"+79265554433"));
        assert_eq!(looked_up.customer, Customer::PhoneSha256(expected));

        let refused: Vec<(usize, &str)> = rows[3..]
            .iter()
            .map(|p| (p.row, p.result.as_ref().unwrap_err().code))
            .collect();
        assert_eq!(
            refused,
            vec![(4, "INVALID_AMOUNT"), (5, "MISSING_CUSTOMER")]
        );

        let everything = format!("{rows:?}");
        for secret in [
            "9161234567",
            "Морозова",
            "терапевт",
            "Иванов",
            "J06",
            "Наличные",
            "9265554433",
        ] {
            assert!(!everything.contains(secret), "{secret} left the connector");
        }
    }

    #[test]
    fn each_patient_is_looked_up_once() {
        let http = FakeHttp::new();
        http.json(
            200,
            r#"{"error": 0, "data": [
                {"id": 1, "date": "30.11.2026 10:00", "value": 100, "patient_id": 7},
                {"id": 2, "date": "30.11.2026 11:00", "value": 200, "patient_id": 7}
            ]}"#,
        )
        .json(200, PATIENT);
        let rows = run(&http, 10).0.unwrap();
        assert_eq!(http.requests().len(), 2);
        assert!(rows.iter().all(|p| p.result.is_ok()));
    }

    #[test]
    fn provider_refusals_map_to_sync_errors() {
        let http = FakeHttp::new();
        http.json(200, NO_ACCESS);
        assert_eq!(
            run(&http, 10).0,
            Err(SyncError::Status {
                status: 403,
                message: "No access to method".into()
            })
        );

        let http = FakeHttp::new();
        http.json(
            200,
            r#"{"error": 1, "data": {"code": "429", "desc": "Too many requests"}}"#,
        );
        assert_eq!(
            run(&http, 10).0,
            Err(SyncError::RateLimited { retry_after: None })
        );

        let http = FakeHttp::new();
        http.json(
            200,
            r#"{"error": 1, "data": {"code": 17, "desc": "Неверный формат даты"}}"#,
        );
        assert_eq!(
            run(&http, 10).0,
            Err(SyncError::Malformed(
                "Renovatio error 17: Неверный формат даты".into()
            ))
        );

        let http = FakeHttp::new();
        http.json(200, PAYMENTS).json(200, NO_ACCESS);
        assert_eq!(
            run(&http, 10).0,
            Err(SyncError::Status {
                status: 403,
                message: "No access to method".into()
            }),
            "a key without getPatient fails the run instead of hiding every customer"
        );

        let http = FakeHttp::new();
        http.respond(429, &[("Retry-After", "5")], "");
        assert_eq!(
            run(&http, 10).0,
            Err(SyncError::RateLimited {
                retry_after: Some(5)
            })
        );

        let http = FakeHttp::new();
        http.json(500, r#"{"message": "Сервер МИС недоступен"}"#);
        assert_eq!(
            run(&http, 10).0,
            Err(SyncError::Status {
                status: 500,
                message: "Сервер МИС недоступен".into()
            })
        );

        for b in [
            r#"{"data": []}"#,
            r#"{"error": 0, "data": {}}"#,
            "<html>",
            r#"{"error": 0}"#,
        ] {
            let http = FakeHttp::new();
            http.respond(200, &[], b);
            assert!(
                matches!(run(&http, 10).0, Err(SyncError::Malformed(_))),
                "{b}"
            );
        }
    }

    #[test]
    fn lookups_count_against_the_cap() {
        let http = FakeHttp::new();
        full(&http);
        assert_eq!(run(&http, 2).0, Err(SyncError::TooManyRequests(2)));
        assert_eq!(http.requests().len(), 2);
    }

    #[test]
    fn bad_settings_are_refused() {
        let refused = |v: Value| {
            let e = Renovatio::configure(&v).unwrap_err();
            assert_eq!(e.code, "INVALID_SETTINGS");
            e.field
        };
        assert_eq!(refused(json!({})), "settings.api_key");
        assert_eq!(refused(json!({"api_key": "a b"})), "settings.api_key");
        assert_eq!(
            refused(json!({"api_key": "k", "clinic_id": "третья"})),
            "settings.clinic_id"
        );
        assert_eq!(
            refused(json!({"api_key": "k", "category": "bakery"})),
            "settings.category"
        );
        assert_eq!(
            refused(json!({"api_key": "k", "base_url": "rnova.org"})),
            "settings.base_url"
        );
        let dental = Renovatio::configure(&json!({
            "api_key": "k", "category": "Dentistry", "base_url": "http://127.0.0.1:9100"
        }))
        .unwrap();
        assert_eq!(dental.category, Category::Dentistry);
        assert_eq!(dental.base_url, "http://127.0.0.1:9100");
        assert_eq!(dental.clinic_id, None);
        assert!(!format!("{:?}", connector()).contains("k3y"));
        assert_eq!(SECRETS, &["api_key"]);
    }
}
