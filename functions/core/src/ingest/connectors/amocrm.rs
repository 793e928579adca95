//! amoCRM: leads won in one pipeline.
//!
//! Facts from the amoCRM API v4 documentation this relies on:
//! - Requests go to the account's own address (`https://<subdomain>.amocrm.ru`)
//!   with `Authorization: Bearer <access token>`.
//! - `GET /api/v4/leads` takes `with=contacts`, `limit` (at most 250),
//!   `page`, and filters: `filter[statuses][i][pipeline_id]` together with
//!   `filter[statuses][i][status_id]`, and the range
//!   `filter[closed_at][from]` / `filter[closed_at][to]` (Unix seconds).
//! - A list answers `{"_page", "_links": {"self", "next"}, "_embedded":
//!   {"leads": [...]}}`; the next page is `_links.next.href`, absent on the
//!   last page. An empty result is HTTP 204 No Content.
//! - A lead has `id`, `name`, `price` (integer, the account's currency),
//!   `status_id`, `pipeline_id`, `closed_at` (Unix seconds), `is_deleted`
//!   and, with `with=contacts`, `_embedded.contacts[] {id, is_main}`.
//! - Status 142 is "won" and 143 "lost", the same ids in every pipeline;
//!   a status filter names a pipeline, so `pipeline_id` is required.
//! - `GET /api/v4/contacts?filter[id][]=…` lists contacts by id; a phone
//!   is the `custom_fields_values[]` entry with `field_code` `PHONE`, its
//!   numbers in `values[].value`.
//! - At most 7 requests a second: requests are spaced 143 ms apart.
//!
//! Readings where the documentation leaves room:
//! - Only leads with `status_id` 142 in the configured pipeline count,
//!   whatever the filter returned; others are skipped, not reported.
//! - The buyer is the lead's main contact (`is_main`), else its first
//!   contact; the first of its phone numbers that is a valid Russian number
//!   is used. The contacts of one page of leads are fetched in one request.
//! - `price` is read as rubles.
//! - A next link must stay on the account's origin (a path-only link is
//!   resolved against it); anything else is a malformed answer.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

use super::{
    base_url, credential, get, origin, setting, url, Client, Connector, FetchCtx, Kind, SyncError,
};
use crate::error::InvalidValue;
use crate::ingest::normalize;
use crate::ingest::{Customer, Parsed, Transaction};

/// Settings that are credentials.
pub const SECRETS: &[&str] = &["access_token"];

/// Leads asked for per page (the documented maximum).
pub const PAGE_SIZE: usize = 250;

/// The system status "won" ("успешно реализовано").
pub const WON: i64 = 142;

/// Spacing between requests (7 requests a second).
pub const INTERVAL: Duration = Duration::from_millis(143);

/// One amoCRM account's pipeline.
#[derive(Clone)]
pub struct AmoCrm {
    base_url: String,
    access_token: String,
    pipeline_id: i64,
}

impl fmt::Debug for AmoCrm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AmoCrm")
            .field("base_url", &self.base_url)
            .field("pipeline_id", &self.pipeline_id)
            .field("access_token", &"<hidden>")
            .finish()
    }
}

impl AmoCrm {
    /// Checks the settings: `base_url` (the account's address),
    /// `access_token` and `pipeline_id` (a positive integer).
    pub fn configure(settings: &Value) -> Result<Self, InvalidValue> {
        let base_url = base_url(&setting(settings, "base_url")?, "settings.base_url")?;
        let access_token = credential(settings, "access_token", &[' '])?;
        let pipeline_id = setting(settings, "pipeline_id")?
            .parse::<i64>()
            .ok()
            .filter(|p| *p > 0)
            .ok_or_else(|| {
                InvalidValue::new(
                    "INVALID_SETTINGS",
                    "settings.pipeline_id",
                    "pipeline_id must be the pipeline's numeric id",
                )
            })?;
        Ok(Self {
            base_url,
            access_token,
            pipeline_id,
        })
    }

    fn headers(&self) -> Vec<(String, String)> {
        vec![
            (
                "Authorization".into(),
                format!("Bearer {}", self.access_token),
            ),
            ("Accept".into(), "application/hal+json".into()),
        ]
    }

    fn first_page(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> String {
        url(
            &self.base_url,
            "/api/v4/leads",
            &[
                ("with", "contacts".into()),
                (
                    "filter[statuses][0][pipeline_id]",
                    self.pipeline_id.to_string(),
                ),
                ("filter[statuses][0][status_id]", WON.to_string()),
                ("filter[closed_at][from]", from.timestamp().to_string()),
                ("filter[closed_at][to]", to.timestamp().to_string()),
                ("limit", PAGE_SIZE.to_string()),
                ("page", "1".into()),
            ],
        )
    }

    // The next page's URL, kept on the account's origin.
    fn next_page(&self, body: &Value) -> Result<Option<String>, SyncError> {
        let Some(href) = body.pointer("/_links/next/href") else {
            return Ok(None);
        };
        let href = href
            .as_str()
            .ok_or_else(|| SyncError::Malformed("_links.next.href is not a string".into()))?;
        let own = origin(&self.base_url);
        if href.starts_with('/') && !href.starts_with("//") {
            return Ok(Some(format!("{own}{href}")));
        }
        if origin(href).eq_ignore_ascii_case(own) && href.len() > own.len() {
            return Ok(Some(href.to_string()));
        }
        Err(SyncError::Malformed(format!(
            "the next page link leaves the account's origin {own}"
        )))
    }

    // Phones of the contacts `ids`, by contact id.
    fn phones(
        &self,
        client: &Client<'_>,
        ids: &BTreeSet<i64>,
    ) -> Result<BTreeMap<i64, Vec<String>>, SyncError> {
        if ids.is_empty() {
            return Ok(BTreeMap::new());
        }
        let mut query: Vec<(&str, String)> = ids
            .iter()
            .map(|id| ("filter[id][]", id.to_string()))
            .collect();
        query.push(("limit", PAGE_SIZE.to_string()));
        let resp = client.send(get(
            url(&self.base_url, "/api/v4/contacts", &query),
            self.headers(),
        ))?;
        if resp.status == 204 {
            return Ok(BTreeMap::new());
        }
        let body: Value = serde_json::from_slice(&resp.body)
            .map_err(|e| SyncError::Malformed(format!("body is not JSON: {e}")))?;
        let contacts = body
            .pointer("/_embedded/contacts")
            .and_then(Value::as_array)
            .ok_or_else(|| SyncError::Malformed("_embedded.contacts is not an array".into()))?;
        Ok(contacts
            .iter()
            .filter_map(|c| Some((c.get("id")?.as_i64()?, contact_phones(c))))
            .collect())
    }
}

impl Connector for AmoCrm {
    fn kind(&self) -> Kind {
        Kind::AmoCrm
    }

    fn fetch(&self, ctx: &FetchCtx<'_>) -> Result<Vec<Parsed>, SyncError> {
        let client = Client::new(ctx, INTERVAL);
        let mut out = Vec::new();
        let mut row = 0usize;
        let mut next = Some(self.first_page(ctx.window.from, ctx.window.to));
        while let Some(page_url) = next.take() {
            let resp = client.send(get(page_url, self.headers()))?;
            if resp.status == 204 {
                break;
            }
            let body: Value = serde_json::from_slice(&resp.body)
                .map_err(|e| SyncError::Malformed(format!("body is not JSON: {e}")))?;
            let leads = body
                .pointer("/_embedded/leads")
                .and_then(Value::as_array)
                .ok_or_else(|| SyncError::Malformed("_embedded.leads is not an array".into()))?;
            // Won leads of this page with their row numbers and buyers.
            let mut won: Vec<(usize, &Map<String, Value>, Option<i64>)> = Vec::new();
            for lead in leads {
                row += 1;
                let Some(obj) = lead.as_object() else {
                    out.push(Parsed {
                        row,
                        external_id: None,
                        result: Err(InvalidValue::new(
                            "INVALID_FIELD",
                            format!("_embedded.leads[{}]", row - 1),
                            "a lead must be an object",
                        )),
                    });
                    continue;
                };
                if self.counts(obj) {
                    won.push((row, obj, main_contact(obj)));
                }
            }
            let ids: BTreeSet<i64> = won.iter().filter_map(|(_, _, c)| *c).collect();
            let phones = self.phones(&client, &ids)?;
            for (row, obj, contact) in won {
                let numbers = contact
                    .and_then(|c| phones.get(&c))
                    .map_or(&[][..], Vec::as_slice);
                out.push(parse_lead(row, obj, numbers));
            }
            next = self.next_page(&body)?;
        }
        Ok(out)
    }
}

impl AmoCrm {
    // Won, in the configured pipeline, not deleted.
    fn counts(&self, lead: &Map<String, Value>) -> bool {
        let int = |k: &str| lead.get(k).and_then(Value::as_i64);
        int("status_id") == Some(WON)
            && int("pipeline_id").is_none_or(|p| p == self.pipeline_id)
            && lead.get("is_deleted").and_then(Value::as_bool) != Some(true)
    }
}

// The lead's main contact, else its first one.
fn main_contact(lead: &Map<String, Value>) -> Option<i64> {
    let contacts = lead.get("_embedded")?.get("contacts")?.as_array()?;
    contacts
        .iter()
        .find(|c| c.get("is_main").and_then(Value::as_bool) == Some(true))
        .or_else(|| contacts.first())
        .and_then(|c| c.get("id")?.as_i64())
}

// The contact's phone numbers, in order.
fn contact_phones(contact: &Value) -> Vec<String> {
    contact
        .get("custom_fields_values")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|f| f.get("field_code").and_then(Value::as_str) == Some("PHONE"))
        .filter_map(|f| f.get("values")?.as_array())
        .flatten()
        .filter_map(|v| v.get("value")?.as_str())
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_string)
        .collect()
}

fn parse_lead(row: usize, lead: &Map<String, Value>, phones: &[String]) -> Parsed {
    let at = |f: &str| format!("_embedded.leads[{}].{f}", row - 1);
    let id = lead.get("id").and_then(|v| {
        v.as_i64()
            .map(|i| i.to_string())
            .or_else(|| v.as_str().map(str::to_string))
    });
    let external_id = id
        .as_deref()
        .and_then(|s| normalize::external_id(s, &at("id")).ok());
    let result = (|| {
        let external_id = normalize::external_id(id.as_deref().unwrap_or(""), &at("id"))?;
        let amount = match lead.get("price") {
            Some(Value::Number(n)) => match n.as_i64() {
                Some(rubles) => normalize::check_amount(rubles.saturating_mul(100), &at("price"))?,
                None => normalize::rubles_number(n.as_f64().unwrap_or(f64::NAN), &at("price"))?,
            },
            _ => {
                return Err(InvalidValue::new(
                    "INVALID_AMOUNT",
                    at("price"),
                    "the lead has no price",
                ))
            }
        };
        let occurred_at = lead
            .get("closed_at")
            .and_then(|v| v.as_i64().or_else(|| v.as_str()?.trim().parse().ok()))
            .and_then(|s| DateTime::<Utc>::from_timestamp(s, 0))
            .ok_or_else(|| {
                InvalidValue::new(
                    "INVALID_DATE",
                    at("closed_at"),
                    "closed_at must be Unix seconds",
                )
            })?;
        Ok(Transaction {
            external_id,
            occurred_at,
            amount,
            customer: customer(phones, &at("_embedded.contacts"))?,
            category: None,
            description: lead
                .get("name")
                .and_then(Value::as_str)
                .and_then(normalize::description),
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

// The first valid number; the first one's error when none is valid.
fn customer(phones: &[String], field: &str) -> Result<Customer, InvalidValue> {
    let mut first_error = None;
    for p in phones {
        match normalize::phone_customer(p, field) {
            Ok(c) => return Ok(c),
            Err(e) => {
                first_error.get_or_insert(e);
            }
        }
    }
    Err(first_error.unwrap_or_else(|| {
        InvalidValue::new(
            "MISSING_CUSTOMER",
            field,
            "the lead's main contact has no phone",
        )
    }))
}

#[cfg(test)]
mod tests {
    use super::super::fake::{at, fetch_day, header, pairs, path, query, FakeHttp};
    use super::*;
    use crate::types::Phone;
    use serde_json::json;

    const LEADS1: &str = include_str!("fixtures/amocrm_leads_page1.json");
    const CONTACTS1: &str = include_str!("fixtures/amocrm_contacts_page1.json");
    const LEADS2: &str = include_str!("fixtures/amocrm_leads_page2.json");
    const CONTACTS2: &str = include_str!("fixtures/amocrm_contacts_page2.json");

    fn connector() -> AmoCrm {
        AmoCrm::configure(&json!({
            "base_url": "https://mebel-lux.amocrm.ru",
            "access_token": "eyJ0eXAiOiJKV1Qi.abc",
            "pipeline_id": 7001234
        }))
        .unwrap()
    }

    fn run(
        http: &FakeHttp,
        max_requests: usize,
    ) -> (Result<Vec<Parsed>, SyncError>, Vec<Duration>) {
        fetch_day(&connector(), http, max_requests)
    }

    fn full(http: &FakeHttp) -> &FakeHttp {
        http.json(200, LEADS1)
            .json(200, CONTACTS1)
            .json(200, LEADS2)
            .json(200, CONTACTS2)
    }

    #[test]
    fn asks_for_won_leads_closed_in_the_window_and_their_contacts() {
        let http = FakeHttp::new();
        let (out, waits) = run(full(&http), 10);
        assert!(out.is_ok());
        let sent = http.requests();
        assert_eq!(sent.len(), 4);
        assert_eq!(
            path(&sent[0].url),
            "https://mebel-lux.amocrm.ru/api/v4/leads"
        );
        assert_eq!(
            query(&sent[0].url),
            pairs(&[
                ("with", "contacts"),
                ("filter[statuses][0][pipeline_id]", "7001234"),
                ("filter[statuses][0][status_id]", "142"),
                ("filter[closed_at][from]", "1795986000"),
                ("filter[closed_at][to]", "1796072399"),
                ("limit", "250"),
                ("page", "1"),
            ])
        );
        assert_eq!(
            path(&sent[1].url),
            "https://mebel-lux.amocrm.ru/api/v4/contacts"
        );
        assert_eq!(
            query(&sent[1].url),
            pairs(&[
                ("filter[id][]", "3300001"),
                ("filter[id][]", "3300002"),
                ("limit", "250")
            ]),
            "only the main contacts of won leads"
        );
        assert_eq!(
            sent[2].url,
            "https://mebel-lux.amocrm.ru/api/v4/leads?with=contacts&limit=250&page=2"
        );
        assert_eq!(
            query(&sent[3].url),
            pairs(&[
                ("filter[id][]", "3300003"),
                ("filter[id][]", "3300004"),
                ("limit", "250")
            ])
        );
        for req in &sent {
            assert_eq!(req.method, "GET");
            assert_eq!(
                header(req, "authorization"),
                Some("Bearer eyJ0eXAiOiJKV1Qi.abc")
            );
        }
        assert_eq!(waits, vec![INTERVAL; 3]);
    }

    #[test]
    fn only_won_leads_count_with_the_main_contacts_phone() {
        let http = FakeHttp::new();
        let rows = run(full(&http), 10).0.unwrap();
        let seen: Vec<(usize, Option<&str>)> = rows
            .iter()
            .map(|p| (p.row, p.external_id.as_deref()))
            .collect();
        assert_eq!(
            seen,
            vec![
                (1, Some("2150001")),
                (3, Some("2150003")),
                (4, Some("2150004")),
                (5, Some("2150005")),
                (6, Some("2150006")),
            ],
            "lead 2150002 is lost (143) and never counts"
        );

        let won = rows[0].result.as_ref().unwrap();
        assert_eq!(won.amount, 4_500_000);
        assert_eq!(won.occurred_at, at("2026-11-30T09:15:00Z"));
        assert_eq!(
            won.customer,
            Customer::Phone(Phone::parse("+79161234567").unwrap())
        );
        assert_eq!(
            won.description.as_deref(),
            Some("Кухня на заказ — Смирнова")
        );

        let codes: Vec<&str> = rows[1..]
            .iter()
            .map(|p| p.result.as_ref().map_or_else(|e| e.code, |_| "OK"))
            .collect();
        assert_eq!(
            codes,
            vec![
                "INVALID_AMOUNT",
                "MISSING_CUSTOMER",
                "OK",
                "MISSING_CUSTOMER"
            ]
        );
        let fourth = rows[3].result.as_ref().unwrap();
        assert_eq!(
            fourth.customer,
            Customer::Phone(Phone::parse("+79265554433").unwrap())
        );
        assert_eq!(fourth.amount, 760_000);
    }

    #[test]
    fn stray_statuses_and_pipelines_are_dropped_even_if_returned() {
        let http = FakeHttp::new();
        http.json(
            200,
            r#"{"_embedded": {"leads": [
                {"id": 1, "price": 100, "status_id": 143, "pipeline_id": 7001234, "closed_at": 1796030100},
                {"id": 2, "price": 100, "status_id": 142, "pipeline_id": 9, "closed_at": 1796030100},
                {"id": 3, "price": 100, "status_id": 142, "pipeline_id": 7001234, "closed_at": 1796030100, "is_deleted": true}
            ]}}"#,
        );
        assert_eq!(run(&http, 10).0, Ok(Vec::new()));
        assert_eq!(
            http.requests().len(),
            1,
            "no contacts asked for when nothing is won"
        );
    }

    #[test]
    fn no_content_means_no_leads() {
        let http = FakeHttp::new();
        http.respond(204, &[], "");
        assert_eq!(run(&http, 10).0, Ok(Vec::new()));
        assert_eq!(http.requests().len(), 1);
    }

    #[test]
    fn provider_failures_map_to_sync_errors() {
        let http = FakeHttp::new();
        http.respond(429, &[("Retry-After", "2")], "");
        assert_eq!(
            run(&http, 10).0,
            Err(SyncError::RateLimited {
                retry_after: Some(2)
            })
        );

        let http = FakeHttp::new();
        http.respond(
            500,
            &[("content-type", "application/problem+json")],
            r#"{"title": "Internal Server Error", "status": 500, "detail": "Сервис временно недоступен"}"#,
        );
        assert_eq!(
            run(&http, 10).0,
            Err(SyncError::Status {
                status: 500,
                message: "Сервис временно недоступен".into()
            })
        );

        for body in [
            r#"{"_embedded": {}}"#,
            "<html></html>",
            r#"{"_embedded": {"leads": {}}}"#,
        ] {
            let http = FakeHttp::new();
            http.respond(200, &[], body);
            assert!(
                matches!(run(&http, 10).0, Err(SyncError::Malformed(_))),
                "{body}"
            );
        }

        let http = FakeHttp::new();
        http.json(200, LEADS1)
            .json(200, r#"{"_embedded": {"contacts": null}}"#);
        assert!(matches!(run(&http, 10).0, Err(SyncError::Malformed(_))));
    }

    #[test]
    fn next_links_must_stay_on_the_account() {
        let foreign = LEADS1.replace(
            "\"next\": { \"href\": \"https://mebel-lux.amocrm.ru/",
            "\"next\": { \"href\": \"https://evil.example.com/",
        );
        assert_ne!(foreign, LEADS1);
        let http = FakeHttp::new();
        http.json(200, &foreign).json(200, CONTACTS1);
        assert!(matches!(run(&http, 10).0, Err(SyncError::Malformed(m)) if m.contains("origin")));
        assert_eq!(http.requests().len(), 2);

        let relative = LEADS1.replace(
            "\"next\": { \"href\": \"https://mebel-lux.amocrm.ru/",
            "\"next\": { \"href\": \"/",
        );
        let http = FakeHttp::new();
        http.json(200, &relative)
            .json(200, CONTACTS1)
            .json(200, LEADS2)
            .json(200, CONTACTS2);
        assert!(run(&http, 10).0.is_ok());
        assert_eq!(
            http.requests()[2].url,
            "https://mebel-lux.amocrm.ru/api/v4/leads?with=contacts&limit=250&page=2"
        );
    }

    #[test]
    fn too_many_pages_fail_the_run() {
        let http = FakeHttp::new();
        full(&http);
        assert_eq!(run(&http, 3).0, Err(SyncError::TooManyRequests(3)));
        assert_eq!(http.requests().len(), 3);
    }

    #[test]
    fn bad_settings_are_refused() {
        let refused = |v: Value| {
            let e = AmoCrm::configure(&v).unwrap_err();
            assert_eq!(e.code, "INVALID_SETTINGS");
            e.field
        };
        assert_eq!(
            refused(json!({"access_token": "t", "pipeline_id": 1})),
            "settings.base_url"
        );
        assert_eq!(
            refused(json!({"base_url": "https://a.amocrm.ru", "pipeline_id": 1})),
            "settings.access_token"
        );
        assert_eq!(
            refused(json!({"base_url": "https://a.amocrm.ru", "access_token": "t"})),
            "settings.pipeline_id"
        );
        assert_eq!(
            refused(
                json!({"base_url": "https://a.amocrm.ru", "access_token": "t", "pipeline_id": "воронка"})
            ),
            "settings.pipeline_id"
        );
        assert_eq!(
            refused(
                json!({"base_url": "https://a.amocrm.ru", "access_token": "t", "pipeline_id": -5})
            ),
            "settings.pipeline_id"
        );
        assert!(AmoCrm::configure(&json!({
            "base_url": "https://a.amocrm.ru", "access_token": "t", "pipeline_id": "42"
        }))
        .is_ok());
        assert!(!format!("{:?}", connector()).contains("eyJ0eXAi"));
        assert_eq!(SECRETS, &["access_token"]);
    }
}
