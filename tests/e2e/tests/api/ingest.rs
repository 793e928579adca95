//! Partner ingest through the host: a JSON batch's exact report and ledger;
//! one CSV uploaded many times at once landing once; every connector type
//! synced from a mock CRM speaking its provider's format; a CRM that fails,
//! rate-limits and recovers without a doubled row or a lost one; a medical
//! partner's sync keeping no service text; app events; and bad input of
//! every kind refused with nothing written.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{Duration, SecondsFormat, Utc};
use krug_e2e::crm::{self, CrmMock, CrmSale, Fault, Provider};
use krug_e2e::{spawn_auth_app_with, Cast, Club, TestResponse, Tokens};
use serde_json::{json, Value};

struct World {
    club: Club,
    crm: CrmMock,
    phone: String,
}

const MEMBER_PHONE: &str = "+79995550003";

fn world() -> World {
    let crm = CrmMock::start();
    let app = spawn_auth_app_with(HashMap::from([(
        "partner_crm_host_1".to_string(),
        crm.url(),
    )]));
    let club = Club::open(
        app,
        &Cast {
            a: ("Ingest Bistro", "gastronomy"),
            b: ("Ingest Salon", "beauty"),
            role: "owner",
            phones: ["+79995550001", "+79995550002", MEMBER_PHONE],
        },
    );
    World {
        club,
        crm,
        phone: MEMBER_PHONE.to_string(),
    }
}

fn at(hours_ago: i64) -> String {
    (Utc::now() - Duration::hours(hours_ago)).to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn row(ext: &str, phone: &str, amount: i64) -> Value {
    json!({"external_id": ext, "occurred_at": at(2), "amount": amount, "customer": {"phone": phone}})
}

fn post_batch(w: &World, bearer: &str, query: &str, body: &Value) -> TestResponse {
    w.club
        .app
        .client
        .post(&format!("/api/v1/ingest/transactions{query}"))
        .bearer(bearer)
        .json(body)
        .send()
}

fn post_csv(w: &World, bearer: &str, csv: impl Into<Vec<u8>>) -> TestResponse {
    w.club
        .app
        .client
        .post("/api/v1/ingest/transactions.csv")
        .bearer(bearer)
        .header("content-type", "text/csv; charset=utf-8")
        .body(csv)
        .send()
}

fn statuses(report: &Value) -> Vec<(String, String)> {
    report["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["external_id"].as_str().unwrap_or("-").to_string(),
                r["status"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

#[test]
fn a_json_batch_reports_each_row_and_the_ledger_matches() {
    let w = world();
    let app = &w.club.app;
    let body = json!({"transactions": [
        row("b-1", &w.phone, 120_000),
        row("b-1", &w.phone, 120_000),
        {"external_id": "b-2", "occurred_at": "someday", "amount": 100, "customer": {"phone": w.phone}},
        {"external_id": "b-3", "occurred_at": at(1), "amount": "100", "customer": {"phone": w.phone}},
        row("b-4", "+79995559999", 40_000),
        {"external_id": "b-5", "occurred_at": at(3), "amount": 30_000, "customer": {"phone": w.phone},
         "items": [{"sku": "soup", "quantity": 1, "unit_price": 30_000}]},
    ]});
    let resp = post_batch(&w, &w.club.key_a, "", &body);
    assert_eq!(resp.status, 200, "{}", resp.text());
    let r = resp.json();
    assert_eq!(
        statuses(&r),
        pairs(&[
            ("b-1", "accepted"),
            ("b-1", "duplicate"),
            ("b-2", "rejected"),
            ("b-3", "rejected"),
            ("b-4", "parked"),
            ("b-5", "accepted")
        ])
    );
    assert_eq!(
        (
            r["accepted"].as_i64(),
            r["duplicates"].as_i64(),
            r["rejected"].as_i64(),
            r["parked"].as_i64()
        ),
        (Some(2), Some(1), Some(2), Some(1))
    );
    assert!(r["rows"][2]["reason"]
        .as_str()
        .unwrap()
        .starts_with("INVALID_DATE"));
    assert!(r["rows"][0]["purchase_id"].is_string());
    // Exactly the accepted sales, with their points, at the partner's business.
    assert_eq!(
        app.count("SELECT COUNT(*) FROM purchases WHERE source = 'ingest'"),
        2
    );
    assert_eq!(app.count("SELECT SUM(amount) FROM purchases"), 150_000);
    assert_eq!(app.count("SELECT COUNT(*) FROM point_lots"), 2);
    assert_eq!(app.count("SELECT COUNT(*) FROM purchase_lines"), 1);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM payments WHERE status = 'parked'"),
        1
    );
    let wallet = app
        .client
        .get("/api/v1/wallet")
        .bearer(&w.club.member.access)
        .send();
    assert_eq!(wallet.status, 200, "{}", wallet.text());
    assert!(
        wallet.json()["balance"]["pending"].as_i64().unwrap_or(0) > 0,
        "{}",
        wallet.text()
    );
    // The staff of the business (no ?business_id needed) sends the same batch: all seen.
    let again = post_batch(&w, &w.club.staff_a.access, "", &body);
    assert_eq!(again.status, 200, "{}", again.text());
    assert_eq!(again.json()["accepted"], 0);
    assert_eq!(app.count("SELECT COUNT(*) FROM purchases"), 2);
    // An admin names the business; the parked phone registers and is credited.
    let admin = post_batch(
        &w,
        &w.club.admin.access,
        &format!("?business_id={}", w.club.a),
        &json!({"transactions": [row("b-6", &w.phone, 10_000)]}),
    );
    assert_eq!(admin.json()["accepted"], 1, "{}", admin.text());
    app.login("+79995559999");
    app.run_job("credit-parked-payments");
    assert_eq!(
        app.count("SELECT COUNT(*) FROM purchases WHERE external_id = 'b-4' AND source = 'ingest'"),
        1
    );
    app.assert_ledger_sound();
}

fn csv_of(rows: usize, phone: &str) -> String {
    let mut s =
        String::from("\u{feff}external_id;date;customer_phone;amount;category;description\r\n");
    let day = (Utc::now() - Duration::days(1)).format("%d.%m.%Y");
    for i in 0..rows {
        s.push_str(&format!(
            "csv-{i};{day} 12:{:02};{phone};{},50;gastronomy;\"Обед; \"\"бизнес\"\"\"\r\n",
            i % 60,
            100 + i
        ));
    }
    s
}

#[test]
fn the_same_csv_uploaded_at_once_lands_once() {
    let w = Arc::new(world());
    let csv = Arc::new(csv_of(150, MEMBER_PHONE));
    let handles: Vec<_> = (0..6)
        .map(|_| {
            let (w, csv) = (w.clone(), csv.clone());
            std::thread::spawn(move || {
                let resp = post_csv(&w, &w.club.key_a, csv.as_bytes().to_vec());
                assert_eq!(resp.status, 200, "{}", resp.text());
                resp.json()
            })
        })
        .collect();
    let reports: Vec<Value> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    let sum = |k: &str| reports.iter().map(|r| r[k].as_i64().unwrap()).sum::<i64>();
    assert_eq!(
        sum("accepted"),
        150,
        "every row recorded by exactly one upload"
    );
    assert_eq!(sum("duplicates"), 5 * 150);
    assert_eq!(sum("rejected"), 0);
    let app = &w.club.app;
    assert_eq!(app.count("SELECT COUNT(*) FROM purchases"), 150);
    assert_eq!(
        app.count("SELECT COUNT(DISTINCT external_id) FROM purchases"),
        150
    );
    assert_eq!(
        app.count("SELECT SUM(amount) FROM purchases"),
        (0..150).map(|i| (100 + i) * 100 + 50).sum::<i64>()
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM purchases WHERE description = 'Обед; \"бизнес\"'"),
        150
    );
    app.assert_ledger_sound();
}

fn configure(w: &World, business: &str, provider: Provider, days: i64) -> TestResponse {
    let kind = match provider {
        Provider::OneC => "onec",
        Provider::Yclients => "yclients",
        Provider::AmoCrm => "amocrm",
        Provider::Renovatio => "renovatio",
        Provider::Csv => "csv_url",
    };
    w.club
        .app
        .client
        .request("PUT", &format!("/api/v1/admin/businesses/{business}/integration"))
        .bearer(&w.club.admin.access)
        .json(&json!({"type": kind, "settings": w.crm.settings(provider), "enabled": true, "since": at(days * 24)}))
        .send()
}

fn sync_now(w: &World, who: &Tokens, business: &str) -> TestResponse {
    w.club
        .app
        .client
        .post(&format!(
            "/api/v1/admin/businesses/{business}/integration/sync"
        ))
        .bearer(&who.access)
        .send()
}

fn sales(prefix: &str, phone: &str, n: usize) -> Vec<CrmSale> {
    (0..n)
        .map(|i| CrmSale {
            id: format!("{}{}", prefix, 1000 + i),
            phone: phone.to_string(),
            rubles: 1_000 + 100 * i as i64,
            at: Utc::now() - Duration::hours(3 + i as i64),
            service: format!("Service number {i}"),
        })
        .collect()
}

#[test]
fn every_connector_type_syncs_into_purchases_with_points() {
    let w = world();
    let app = &w.club.app;
    let kinds = [
        (Provider::OneC, "gastronomy", "1c-"),
        (Provider::Yclients, "beauty", ""),
        (Provider::AmoCrm, "home", ""),
        (Provider::Renovatio, "dentistry", ""),
        (Provider::Csv, "floristry", "csv-"),
    ];
    for (i, (provider, category, prefix)) in kinds.into_iter().enumerate() {
        let business = app.create_business(&w.club.admin, &format!("Synced {i}"), category);
        let prefix = if prefix.is_empty() {
            format!("{}", 7 + i)
        } else {
            prefix.to_string()
        };
        w.crm.set_sales(provider, sales(&prefix, &w.phone, 3));
        let put = configure(&w, &business, provider, 2);
        assert_eq!(put.status, 200, "{}", put.text());
        assert!(put.json()["secrets_set"].as_array().is_some());
        let run = sync_now(&w, &w.club.admin, &business);
        assert_eq!(run.status, 200, "{}", run.text());
        let run = run.json();
        assert_eq!(run["status"], "succeeded", "{provider:?}: {run}");
        assert_eq!(run["accepted"], 3, "{provider:?}: {run}");
        let n = app.count(&format!(
            "SELECT COUNT(*) FROM purchases WHERE business_id = '{business}' AND source = 'ingest' AND points_earned > 0"
        ));
        assert_eq!(n, 3, "{provider:?}");
        // A second run re-reads only the overlap (an hour for amoCRM, days
        // for the others): whatever it finds again is a duplicate.
        let again = sync_now(&w, &w.club.admin, &business).json();
        assert_eq!(again["status"], "succeeded", "{provider:?}: {again}");
        assert_eq!(again["accepted"], 0, "{provider:?}: {again}");
        assert_eq!(
            again["duplicates"], again["fetched"],
            "{provider:?}: {again}"
        );
    }
    let listing = app
        .client
        .get(&format!(
            "/api/v1/admin/businesses/{}/integration",
            w.club.a
        ))
        .bearer(&w.club.admin.access)
        .send();
    assert_eq!(listing.status, 404, "business A has no integration");
    app.assert_ledger_sound();
}

#[test]
fn a_failing_crm_is_recorded_and_recovers_without_doubling() {
    let w = world();
    let app = &w.club.app;
    w.crm.set_sales(Provider::OneC, sales("f-", &w.phone, 4));
    assert_eq!(configure(&w, &w.club.a, Provider::OneC, 2).status, 200);
    let watermark = |w: &World| -> String {
        let v = w
            .club
            .app
            .client
            .get(&format!(
                "/api/v1/admin/businesses/{}/integration",
                w.club.a
            ))
            .bearer(&w.club.staff_a.access)
            .send();
        assert_eq!(v.status, 200, "{}", v.text());
        v.json()["watermark"].as_str().unwrap().to_string()
    };
    let start = watermark(&w);
    w.crm.fail_next(vec![
        Fault::Status(500),
        Fault::Malformed,
        Fault::RateLimited { retry_after: 1 },
    ]);
    for expected in ["HTTP 500", "malformed", "rate limited"] {
        let run = sync_now(&w, &w.club.staff_a, &w.club.a).json();
        assert_eq!(run["status"], "failed", "{run}");
        assert!(run["error"].as_str().unwrap().contains(expected), "{run}");
        assert_eq!(
            watermark(&w),
            start,
            "a failed run never moves the watermark"
        );
    }
    assert_eq!(app.count("SELECT COUNT(*) FROM purchases"), 0);
    let alerts = app
        .client
        .get("/api/v1/admin/alerts")
        .bearer(&w.club.admin.access)
        .send();
    assert_eq!(alerts.status, 200, "{}", alerts.text());
    assert_eq!(alerts.json()["items"][0]["business_id"], w.club.a.as_str());
    assert_eq!(alerts.json()["items"][0]["failures"], 3);
    // Retry-After passed: the scheduled job recovers it.
    std::thread::sleep(std::time::Duration::from_millis(1_100));
    let job = app.run_job("partner-sync");
    assert!(job.to_string().contains("1 succeeded"), "{job}");
    assert_eq!(app.count("SELECT COUNT(*) FROM purchases"), 4);
    assert_ne!(watermark(&w), start);
    let alerts = app
        .client
        .get("/api/v1/admin/alerts")
        .bearer(&w.club.admin.access)
        .send();
    assert_eq!(alerts.json()["items"], json!([]));
    // Manual and scheduled runs again: nothing doubled.
    sync_now(&w, &w.club.staff_a, &w.club.a);
    app.run_job("partner-sync");
    assert_eq!(app.count("SELECT COUNT(*) FROM purchases"), 4);
    let runs = app
        .client
        .get(&format!(
            "/api/v1/admin/businesses/{}/integration/sync-runs?limit=3",
            w.club.a
        ))
        .bearer(&w.club.admin.access)
        .send();
    assert_eq!(runs.status, 200, "{}", runs.text());
    let runs = runs.json();
    assert_eq!(runs["items"].as_array().unwrap().len(), 3);
    assert!(runs["next_cursor"].is_string());
    app.assert_ledger_sound();
}

#[test]
fn a_medical_partner_sync_keeps_no_service_text() {
    let w = world();
    let app = &w.club.app;
    let clinic = {
        let resp = app
            .client
            .post("/api/v1/admin/businesses")
            .bearer(&w.club.admin.access)
            .json(&json!({"name": "Ingest Clinic", "category": "medicine", "medical": true}))
            .send();
        assert_eq!(resp.status, 201, "{}", resp.text());
        resp.json()["id"].as_str().unwrap().to_string()
    };
    let mut s = sales("", &w.phone, 2);
    s[0].service = "Cardiologist consultation".into();
    s[1].service = "Colonoscopy".into();
    w.crm.set_sales(Provider::Renovatio, s);
    assert_eq!(configure(&w, &clinic, Provider::Renovatio, 2).status, 200);
    let run = sync_now(&w, &w.club.admin, &clinic).json();
    assert_eq!(
        (run["status"].as_str(), run["accepted"].as_i64()),
        (Some("succeeded"), Some(2)),
        "{run}"
    );
    // The database file and its write-ahead log, byte for byte.
    let db = app.db_path();
    let mut text = String::new();
    for suffix in ["", "-wal"] {
        let path = format!("{}{suffix}", db.display());
        if let Ok(bytes) = std::fs::read(&path) {
            text.push_str(&String::from_utf8_lossy(&bytes));
        }
    }
    assert!(
        text.contains("Ingest Clinic"),
        "the dump reads the stored data"
    );
    let mut private = vec![
        "Cardiologist",
        "Colonoscopy",
        "consultation",
        crm::RENOVATIO_DOCTOR,
        crm::RENOVATIO_DIAGNOSIS,
    ];
    private.extend(crm::RENOVATIO_PATIENT_NAMES);
    for secret in private {
        assert!(!text.contains(secret), "{secret} reached the database");
    }
    assert_eq!(
        app.count(&format!(
            "SELECT COUNT(*) FROM purchases WHERE business_id = '{clinic}' AND description IS NULL"
        )),
        2
    );
}

#[test]
fn app_events_are_stored_once_per_id() {
    let w = world();
    let app = &w.club.app;
    let id = "0190a000-0000-7000-8000-0000000000bb";
    let body = json!({"events": [
        {"id": id, "type": "coupon_impression", "occurred_at": at(1), "properties": {"coupon": "c1"}},
        {"type": "share", "occurred_at": at(1)},
    ]});
    let post = |b: &Value, bearer: &str| {
        app.client
            .post("/api/v1/ingest/events")
            .bearer(bearer)
            .json(b)
            .send()
    };
    let first = post(&body, &w.club.member.access);
    assert_eq!(first.status, 200, "{}", first.text());
    assert_eq!(first.json(), json!({"accepted": 2, "duplicates": 0}));
    let again = post(
        &json!({"events": [body["events"][0].clone()]}),
        &w.club.member.access,
    );
    assert_eq!(again.json(), json!({"accepted": 0, "duplicates": 1}));
    let unknown = post(
        &json!({"events": [{"type": "teleport", "occurred_at": at(1)}]}),
        &w.club.member.access,
    );
    assert_eq!(
        (unknown.status, unknown.error_code()),
        (422, "UNKNOWN_EVENT_TYPE".to_string())
    );
    assert_eq!(post(&body, &w.club.key_a).status, 403);
    assert_eq!(app.count("SELECT COUNT(*) FROM app_events"), 2);
}

#[test]
fn bad_input_is_refused_with_nothing_written() {
    let w = world();
    let app = &w.club.app;
    assert_eq!(configure(&w, &w.club.b, Provider::Csv, 2).status, 200);
    let before = app.table_counts();
    let one = row("x-1", &w.phone, 1_000);
    let many: Vec<Value> = (0..1001)
        .map(|i| row(&format!("m-{i}"), &w.phone, 1_000))
        .collect();
    let c = &app.client;
    let cases: Vec<(&str, TestResponse, u16, &str)> = vec![
        ("1 001 rows", post_batch(&w, &w.club.key_a, "", &json!({"transactions": many})), 422, "TOO_MANY_ROWS"),
        ("no token", c.post("/api/v1/ingest/transactions").json(&json!({"transactions": [one]})).send(), 401, "UNAUTHORIZED"),
        ("member token", post_batch(&w, &w.club.member.access, &format!("?business_id={}", w.club.a), &json!({"transactions": [one]})), 403, "FORBIDDEN"),
        ("staff of B for A", post_batch(&w, &w.club.staff_b.access, &format!("?business_id={}", w.club.a), &json!({"transactions": [one]})), 403, "FORBIDDEN"),
        ("key of A for B", post_batch(&w, &w.club.key_a, &format!("?business_id={}", w.club.b), &json!({"transactions": [one]})), 403, "FORBIDDEN"),
        ("admin without business", post_batch(&w, &w.club.admin.access, "", &json!({"transactions": [one]})), 422, "INVALID_FIELD"),
        ("malformed JSON", c.post("/api/v1/ingest/transactions").bearer(&w.club.key_a).raw_json("{\"transactions\": [").send(), 400, "MALFORMED_JSON"),
        ("wrong type", post_batch(&w, &w.club.key_a, "", &json!({"transactions": "all of them"})), 422, "INVALID_FIELD"),
        ("JSON over 1 MiB", post_batch(&w, &w.club.key_a, "", &json!({"transactions": [one], "pad": "x".repeat(1_100_000)})), 413, "PAYLOAD_TOO_LARGE"),
        ("CSV over 10 MiB", post_csv(&w, &w.club.key_a, vec![b'a'; 11 * 1024 * 1024]), 413, "PAYLOAD_TOO_LARGE"),
        ("CSV without columns", post_csv(&w, &w.club.key_a, "id;when;who\n1;2;3\n"), 422, "MISSING_COLUMNS"),
        ("CSV in Windows-1251", post_csv(&w, &w.club.key_a, b"external_id;date;customer_phone;amount;category;description\n1;2026-01-01;+79995550003;100;;\xc8\xe2\xe0\xed\xee\xe2\n".to_vec()), 422, "UNSUPPORTED_ENCODING"),
        ("CSV as JSON", c.post("/api/v1/ingest/transactions.csv").bearer(&w.club.key_a).json(&json!({})).send(), 415, "UNSUPPORTED_MEDIA_TYPE"),
        ("unknown business", post_batch(&w, &w.club.admin.access, "?business_id=0190a000-0000-7000-8000-000000000000", &json!({"transactions": [one]})), 404, "BUSINESS_NOT_FOUND"),
        ("unknown integration type", c.request("PUT", &format!("/api/v1/admin/businesses/{}/integration", w.club.a)).bearer(&w.club.admin.access).json(&json!({"type": "bitrix", "settings": {}})).send(), 422, "INVALID_INTEGRATION_TYPE"),
        ("integration without its settings", c.request("PUT", &format!("/api/v1/admin/businesses/{}/integration", w.club.a)).bearer(&w.club.admin.access).json(&json!({"type": "onec", "settings": {"base_url": "ftp://x"}})).send(), 422, "INVALID_SETTINGS"),
        ("integration of another business", c.request("PUT", &format!("/api/v1/admin/businesses/{}/integration", w.club.b)).bearer(&w.club.staff_a.access).json(&json!({"type": "csv_url", "settings": {"url": "https://x.ru/a.csv"}})).send(), 403, "FORBIDDEN"),
        ("integration by a key", c.get(&format!("/api/v1/admin/businesses/{}/integration", w.club.a)).bearer(&w.club.key_a).send(), 403, "FORBIDDEN"),
        ("integration of a bad id", c.get("/api/v1/admin/businesses/not-an-id/integration").bearer(&w.club.admin.access).send(), 404, "BUSINESS_NOT_FOUND"),
        ("runs without token", c.get(&format!("/api/v1/admin/businesses/{}/integration/sync-runs", w.club.b)).send(), 401, "UNAUTHORIZED"),
        ("sync of none", sync_now(&w, &w.club.admin, &w.club.a), 404, "INTEGRATION_NOT_FOUND"),
        ("alerts by staff", c.get("/api/v1/admin/alerts").bearer(&w.club.staff_a.access).send(), 403, "FORBIDDEN"),
        ("events without token", c.post("/api/v1/ingest/events").json(&json!({"events": []})).send(), 401, "UNAUTHORIZED"),
        ("events of a bad shape", c.post("/api/v1/ingest/events").bearer(&w.club.member.access).json(&json!({"events": [{"type": "share"}]})).send(), 422, "INVALID_DATE"),
    ];
    for (name, resp, status, code) in cases {
        assert_eq!(
            (resp.status, resp.error_code()),
            (status, code.to_string()),
            "{name}: {}",
            resp.text()
        );
    }
    assert_eq!(
        app.table_counts(),
        before,
        "a refused request wrote something"
    );
    // The stored credentials never come back.
    let shown = c
        .get(&format!(
            "/api/v1/admin/businesses/{}/integration",
            w.club.b
        ))
        .bearer(&w.club.staff_b.access)
        .send();
    assert_eq!(shown.status, 200, "{}", shown.text());
    let secret = w.crm.settings(Provider::Csv)["authorization"]
        .as_str()
        .unwrap_or("")
        .to_string();
    assert!(
        secret.is_empty() || !shown.text().contains(&secret),
        "{}",
        shown.text()
    );
}
