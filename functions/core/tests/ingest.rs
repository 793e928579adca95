//! Partner ingest against real SQLite: a batch's exact report and ledger,
//! refunds, parking and crediting, medical partners by phone hash, a
//! refused row leaving nothing behind, integrations (credentials kept and
//! never shown), sync runs (watermark, failures, Retry-After, the lease,
//! alerts) and app events.

// `params!` builds a Vec that is then borrowed as the statement's slice.
#![allow(clippy::useless_vec)]

#[path = "wallet/support.rs"]
#[allow(dead_code)]
mod support;

use std::cell::RefCell;
use std::collections::VecDeque;

use chrono::Duration;
use krug_core::{
    crypto::sha256_hex,
    db::ts,
    ingest::{
        app_events, batch,
        integrations::{self, AdminEnv, IntegrationError},
        normalize,
        pipeline::{self, Report},
        sync::{self, SyncEnv},
    },
    params,
    payments::webhook::{self, WebhookEnv},
    ports::{Http, HttpError, OutboundRequest, OutboundResponse, Pause, Sql as _},
    wallet::{ledger::Actor, member::Business, WalletSettings},
};
use serde_json::{json, Value};
use support::World;

fn env<'a>(w: &'a World, settings: &'a WalletSettings) -> WebhookEnv<'a> {
    WebhookEnv {
        sql: &w.sql,
        clock: &w.clock,
        random: &w.random,
        settings,
        request_id: None,
        orders: &[],
        referral: Box::leak(Box::default()),
    }
}

fn key() -> Actor {
    Actor {
        role: "api_key",
        id: Some("key-1".into()),
    }
}

fn ingest(w: &World, b: &Business, body: Value) -> Report {
    let settings = WalletSettings::default();
    let rows = batch::parse(&body, normalize::zone("Europe/Moscow")).unwrap();
    pipeline::ingest(&env(w, &settings), &b.id, &key(), rows).unwrap()
}

fn sale(ext: &str, phone: &str, amount: i64) -> Value {
    json!({"external_id": ext, "occurred_at": "2026-01-09T15:00:00Z", "amount": amount, "customer": {"phone": phone}})
}

fn phone_of(w: &World, m: &krug_core::wallet::member::Member) -> String {
    w.sql
        .execute(
            "SELECT phone FROM members WHERE id = ?",
            &params![m.id.as_str()],
        )
        .unwrap()
        .first()
        .unwrap()
        .text("phone")
        .unwrap()
}

fn assert_reason(r: &Report, i: usize, code: &str) {
    let reason = r.rows[i].reason.as_deref().unwrap_or_default();
    assert!(reason.starts_with(code), "row {i}: {reason}");
}

fn statuses(r: &Report) -> Vec<(&str, &str)> {
    r.rows
        .iter()
        .map(|x| (x.external_id.as_deref().unwrap_or("-"), x.status))
        .collect()
}

#[test]
fn a_batch_reports_every_row_and_records_each_sale_once() {
    let w = World::new();
    let shop = w.business("gastronomy", 1.0, false);
    let m = w.member();
    let phone = phone_of(&w, &m);
    let body = json!({"transactions": [
        sale("s1", &phone, 150_000),
        sale("s1", &phone, 150_000),
        {"external_id": "s2", "occurred_at": "yesterday", "amount": 100, "customer": {"phone": phone}},
        sale("s3", "+79990000001", 50_000),
        {"external_id": "s4", "occurred_at": "2026-01-09", "amount": 20_000, "customer": {"card_number": m.card_number.clone().unwrap()},
         "items": [{"sku": "tea", "quantity": 2, "unit_price": 10_000}], "description": "two teas"},
        {"external_id": "s5", "occurred_at": "2026-01-09", "amount": 100, "customer": {"card_number": "2000000000000"}},
        {"external_id": "s6", "occurred_at": "2027-01-09", "amount": 100, "customer": {"phone": phone}},
    ]});
    let r = ingest(&w, &shop, body.clone());
    assert_eq!(
        statuses(&r),
        vec![
            ("s1", "accepted"),
            ("s1", "duplicate"),
            ("s2", "rejected"),
            ("s3", "parked"),
            ("s4", "accepted"),
            ("s5", "rejected"),
            ("s6", "rejected"),
        ]
    );
    assert_eq!(
        (r.accepted, r.duplicates, r.rejected, r.parked),
        (2, 1, 3, 1)
    );
    assert_reason(&r, 2, "INVALID_DATE");
    assert_reason(&r, 5, "UNKNOWN_CARD");
    assert_eq!(r.rows[1].purchase_id, r.rows[0].purchase_id);
    // The ledger: two purchases with their points, one parked payment.
    assert_eq!(
        w.count("SELECT COUNT(*) FROM purchases WHERE source = 'ingest'"),
        2
    );
    assert_eq!(
        w.count("SELECT COUNT(*) FROM purchases WHERE external_id = 's1' AND paid_at LIKE '2026-01-09T15:00%'"),
        1,
        "kept at the time of the sale"
    );
    assert_eq!(w.count("SELECT COUNT(*) FROM point_lots"), 2);
    assert_eq!(w.count("SELECT COUNT(*) FROM purchase_lines"), 1);
    assert_eq!(
        w.count("SELECT COUNT(*) FROM payments WHERE status = 'parked'"),
        1
    );
    // The same batch again: nothing new.
    let again = ingest(&w, &shop, body);
    assert_eq!((again.accepted, again.duplicates, again.parked), (0, 4, 0));
    assert_eq!(w.count("SELECT COUNT(*) FROM purchases"), 2);
    assert_eq!(w.count("SELECT COUNT(*) FROM payments"), 3);
    w.assert_sound();
}

#[test]
fn a_sale_the_till_recorded_is_a_duplicate() {
    let w = World::new();
    let shop = w.business("beauty", 1.0, false);
    let m = w.member();
    let mut till = support::pos_sale(&m, &shop, 30_000);
    till.external_id = Some("chk-9".into());
    let recorded = w.record(&till);
    let r = ingest(
        &w,
        &shop,
        json!({"transactions": [sale("chk-9", &phone_of(&w, &m), 30_000)]}),
    );
    assert_eq!(statuses(&r), vec![("chk-9", "duplicate")]);
    assert_eq!(
        r.rows[0].purchase_id.as_deref(),
        Some(recorded.purchase_id.as_str())
    );
    assert_eq!(w.count("SELECT COUNT(*) FROM purchases"), 1);
}

#[test]
fn refunds_claw_back_and_a_refused_row_leaves_nothing() {
    let w = World::new();
    let shop = w.business("gastronomy", 1.0, false);
    let m = w.member();
    let phone = phone_of(&w, &m);
    ingest(
        &w,
        &shop,
        json!({"transactions": [sale("s1", &phone, 100_000)]}),
    );
    let refund = |ext: &str, of: &str, amount: i64| {
        json!({"external_id": ext, "occurred_at": "2026-01-10T10:00:00Z", "amount": amount,
               "customer": {"phone": phone}, "refund_of": of})
    };
    let r = ingest(
        &w,
        &shop,
        json!({"transactions": [refund("r1", "s1", 40_000), refund("r1", "s1", 40_000), refund("r2", "s1", 70_000), refund("r3", "nope", 1_000)]}),
    );
    assert_eq!(
        statuses(&r),
        vec![
            ("r1", "accepted"),
            ("r1", "duplicate"),
            ("r2", "rejected"),
            ("r3", "rejected")
        ]
    );
    assert_reason(&r, 2, "REFUND_TOO_LARGE");
    assert_reason(&r, 3, "REFUND_OF_UNKNOWN");
    assert_eq!(r.rows[0].purchase_id, r.rows[1].purchase_id);
    assert_eq!(w.count("SELECT refunded_amount FROM purchases"), 40_000);
    assert_eq!(w.count("SELECT COUNT(*) FROM refunds"), 1);
    // The refused rows' savepoints rolled back their event records.
    assert_eq!(
        w.count("SELECT COUNT(*) FROM payment_events WHERE event_id LIKE '%:r2' OR event_id LIKE '%:r3'"),
        0
    );
    w.assert_sound();
}

#[test]
fn parked_rows_are_credited_when_the_phone_registers() {
    let w = World::new();
    let settings = WalletSettings::default();
    let shop = w.business("floristry", 1.0, false);
    let r = ingest(
        &w,
        &shop,
        json!({"transactions": [sale("p1", "+79990002233", 80_000)]}),
    );
    assert_eq!(r.parked, 1);
    let m = w.member();
    w.sql
        .execute(
            "UPDATE members SET phone = '+79990002233' WHERE id = ?",
            &params![m.id.as_str()],
        )
        .unwrap();
    assert_eq!(webhook::credit_parked(&env(&w, &settings)).unwrap(), 1);
    assert_eq!(
        w.count("SELECT COUNT(*) FROM purchases WHERE source = 'ingest' AND external_id = 'p1'"),
        1,
        "credited under the partner's own id"
    );
    // A later sync that re-reads the row finds it done.
    let again = ingest(
        &w,
        &shop,
        json!({"transactions": [sale("p1", "+79990002233", 80_000)]}),
    );
    assert_eq!(statuses(&again), vec![("p1", "duplicate")]);
    w.assert_sound();
}

#[test]
fn medical_partners_match_by_phone_hash_and_keep_no_details() {
    let w = World::new();
    let settings = WalletSettings::default();
    let clinic = w.business("medicine", 1.0, true);
    let m = w.member();
    let phone = phone_of(&w, &m);
    // Members registered before the hash column get it from the sync job.
    w.sql
        .execute("UPDATE members SET phone_sha256 = NULL", &[])
        .unwrap();
    let http = Script::new(vec![]);
    let senv = sync_env(&w, &settings, &http);
    assert_eq!(sync::run_due(&senv).unwrap().hashed, 1);
    let body = json!({"transactions": [
        {"external_id": "v1", "occurred_at": "2026-01-09", "amount": 250_000, "customer": {"phone_sha256": sha256_hex(phone.as_bytes())},
         "description": "consultation of a cardiologist", "items": [{"sku": "ecg", "name": "ECG", "quantity": 1, "unit_price": 250_000}]},
        {"external_id": "v2", "occurred_at": "2026-01-09", "amount": 9_000, "customer": {"phone_sha256": sha256_hex(b"+79990009999")}},
    ]});
    let r = ingest(&w, &clinic, body);
    assert_eq!(statuses(&r), vec![("v1", "accepted"), ("v2", "parked")]);
    assert_eq!(
        w.count("SELECT COUNT(*) FROM purchases WHERE description IS NOT NULL"),
        0
    );
    assert_eq!(w.count("SELECT COUNT(*) FROM purchase_lines"), 0);
    assert_eq!(
        w.count("SELECT COUNT(*) FROM payments WHERE customer_phone IS NULL AND customer_phone_sha256 IS NOT NULL"),
        2
    );
    let audit = w.sql.execute("SELECT details FROM audit_log", &[]).unwrap();
    for row in audit.iter() {
        let d = row.text("details").unwrap();
        assert!(!d.contains("cardiologist") && !d.contains("ECG"), "{d}");
    }
}

// ---------------------------------------------------------------- integrations and sync

/// Answers queued responses in order and records the requests.
struct Script {
    answers: RefCell<VecDeque<Result<OutboundResponse, HttpError>>>,
    sent: RefCell<Vec<OutboundRequest>>,
}

impl Script {
    fn new(answers: Vec<Result<OutboundResponse, HttpError>>) -> Self {
        Self {
            answers: RefCell::new(answers.into()),
            sent: RefCell::new(Vec::new()),
        }
    }
}

impl Http for Script {
    fn send(&self, req: OutboundRequest) -> Result<OutboundResponse, HttpError> {
        self.sent.borrow_mut().push(req);
        self.answers
            .borrow_mut()
            .pop_front()
            .unwrap_or_else(|| Err(HttpError::Failed("no scripted answer".into())))
    }
}

fn sync_env<'a>(w: &'a World, settings: &'a WalletSettings, http: &'a Script) -> SyncEnv<'a> {
    SyncEnv {
        pipeline: env(w, settings),
        http,
        pause: &NoPause,
    }
}

struct NoPause;

impl Pause for NoPause {
    fn pause(&self, _: std::time::Duration) {}
}

fn answer(
    status: u16,
    headers: &[(&str, &str)],
    body: &str,
) -> Result<OutboundResponse, HttpError> {
    Ok(OutboundResponse {
        status,
        headers: headers
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        body: body.as_bytes().to_vec(),
    })
}

fn admin_env(w: &World) -> AdminEnv<'_> {
    AdminEnv {
        sql: &w.sql,
        clock: &w.clock,
        random: &w.random,
        request_id: None,
    }
}

fn owner() -> Actor {
    Actor {
        role: "staff",
        id: Some("owner-1".into()),
    }
}

#[test]
fn credentials_are_stored_kept_on_edit_and_never_shown() {
    let w = World::new();
    let shop = w.business("beauty", 1.0, false);
    let put = |body: Value| integrations::put(&admin_env(&w), &owner(), &shop.id, &body);
    let v = put(json!({"type": "csv_url", "settings": {"url": "https://files.example.ru/sales.csv?f=csv", "authorization": "Bearer s3cret"}, "enabled": true})).unwrap();
    assert_eq!(v.secrets_set, vec!["authorization".to_string()]);
    assert!(!serde_json::to_string(&v).unwrap().contains("s3cret"));
    assert_eq!(v.watermark, ts(w.now() - Duration::days(30)));
    // Edited without the credential: the stored one stays.
    put(json!({"type": "csv_url", "settings": {"url": "https://files.example.ru/v2.csv"}, "enabled": false})).unwrap();
    let stored = integrations::stored(&w.sql, &shop.id).unwrap().unwrap();
    assert_eq!(stored.settings["authorization"], "Bearer s3cret");
    assert!(!stored.enabled);
    assert_eq!(
        integrations::get(&w.sql, &shop.id).unwrap().status,
        "disabled"
    );
    // Refused: unknown type, missing settings, unknown field, unknown business.
    let code = |r: Result<_, IntegrationError>| match r {
        Err(e) => krug_core::error::UseCaseError::code(&e),
        Ok(_) => "ok",
    };
    assert_eq!(
        code(put(json!({"type": "bitrix", "settings": {}}))),
        "INVALID_INTEGRATION_TYPE"
    );
    assert_eq!(
        code(put(json!({"type": "onec", "settings": {}}))),
        "INVALID_SETTINGS"
    );
    assert_eq!(
        code(put(
            json!({"type": "csv_url", "settings": {"url": "https://x.ru/a.csv"}, "colour": 1})
        )),
        "INVALID_FIELD"
    );
    assert_eq!(
        code(integrations::put(
            &admin_env(&w),
            &owner(),
            "0190a000-0000-7000-8000-000000000000",
            &json!({"type": "csv_url", "settings": {"url": "https://x.ru/a.csv"}})
        )),
        "BUSINESS_NOT_FOUND"
    );
    assert_eq!(w.count("SELECT COUNT(*) FROM integrations"), 1);
}

fn csv_body(rows: &[(&str, &str, &str)]) -> String {
    let mut s = String::from("external_id;date;customer_phone;amount;category;description\r\n");
    for (id, date, phone) in rows {
        s.push_str(&format!("{id};{date};{phone};1500,50;;\r\n"));
    }
    s
}

#[test]
fn sync_runs_move_the_watermark_only_after_storing_and_record_failures() {
    let w = World::new();
    let settings = WalletSettings::default();
    let shop = w.business("gastronomy", 1.0, false);
    let m = w.member();
    let phone = phone_of(&w, &m);
    integrations::put(
        &admin_env(&w),
        &owner(),
        &shop.id,
        &json!({"type": "csv_url", "settings": {"url": "http://127.0.0.1:9/sales.csv"}, "since": ts(w.now() - Duration::days(2))}),
    )
    .unwrap();
    let before = integrations::stored(&w.sql, &shop.id)
        .unwrap()
        .unwrap()
        .watermark;
    let good = csv_body(&[("c1", "2026-01-09", &phone), ("c2", "09.01.2026", &phone)]);
    let http = Script::new(vec![
        answer(500, &[], r#"{"message": "internal error"}"#),
        answer(429, &[("retry-after", "120")], ""),
        Err(HttpError::Failed("timed out".into())),
        answer(200, &[("content-type", "text/csv")], &good),
        answer(200, &[("content-type", "text/csv")], &good),
    ]);
    let senv = sync_env(&w, &settings, &http);
    let first = sync::run(&senv, &shop.id, "manual").unwrap();
    assert_eq!(
        (first.status.as_str(), first.error.as_deref()),
        ("failed", Some("HTTP 500: internal error"))
    );
    let second = sync::run(&senv, &shop.id, "manual").unwrap();
    assert_eq!(second.status, "failed");
    let it = integrations::get(&w.sql, &shop.id).unwrap();
    assert_eq!(
        it.not_before,
        Some(ts(w.now() + Duration::seconds(120))),
        "Retry-After is honoured"
    );
    // The scheduled pass waits out Retry-After.
    let pass = sync::run_due(&senv).unwrap();
    assert_eq!((pass.succeeded, pass.failed), (0, 0));
    w.advance(Duration::minutes(3));
    let pass = sync::run_due(&senv).unwrap();
    assert_eq!((pass.failed, pass.now_failing), (1, 1));
    let it = integrations::get(&w.sql, &shop.id).unwrap();
    assert_eq!((it.status, it.failures), ("failing", 3));
    assert_eq!(
        it.watermark,
        ts(before),
        "failed runs never move the watermark"
    );
    assert_eq!(integrations::alerts(&w.sql).unwrap().len(), 1);
    assert_eq!(w.count("SELECT COUNT(*) FROM purchases"), 0);
    // Recovery: stored, then the watermark moves; the overlap re-reads harmlessly.
    let ok = sync::run(&senv, &shop.id, "manual").unwrap();
    assert_eq!(
        (ok.status.as_str(), ok.fetched, ok.accepted),
        ("succeeded", 2, 2)
    );
    let it = integrations::get(&w.sql, &shop.id).unwrap();
    assert_eq!(
        (it.status, it.failures, it.watermark.clone()),
        ("ok", 0, ts(w.now()))
    );
    assert!(integrations::alerts(&w.sql).unwrap().is_empty());
    let again = sync::run(&senv, &shop.id, "schedule").unwrap();
    assert_eq!((again.accepted, again.duplicates), (0, 2));
    assert_eq!(w.count("SELECT COUNT(*) FROM purchases"), 2);
    let runs = integrations::runs(&w.sql, &shop.id, None, 10).unwrap();
    assert_eq!(runs.items.len(), 5);
    assert_eq!(runs.items[0].started_by, "schedule");
    w.assert_sound();
}

#[test]
fn one_failing_integration_never_stops_the_others() {
    let w = World::new();
    let settings = WalletSettings::default();
    let (a, b) = (
        w.business("gastronomy", 1.0, false),
        w.business("beauty", 1.0, false),
    );
    let m = w.member();
    let phone = phone_of(&w, &m);
    // A's watermark is older, so the pass reaches it first.
    for (shop, days) in [(&a, 3), (&b, 2)] {
        integrations::put(
            &admin_env(&w),
            &owner(),
            &shop.id,
            &json!({"type": "csv_url", "settings": {"url": "http://127.0.0.1:9/s.csv"}, "since": ts(w.now() - Duration::days(days))}),
        )
        .unwrap();
    }
    let http = Script::new(vec![
        Err(HttpError::Failed("connection refused".into())),
        answer(200, &[], &csv_body(&[("b1", "2026-01-09", &phone)])),
    ]);
    let senv = sync_env(&w, &settings, &http);
    let pass = sync::run_due(&senv).unwrap();
    assert_eq!((pass.succeeded, pass.failed), (1, 1));
    assert_eq!(integrations::get(&w.sql, &a.id).unwrap().failures, 1);
    assert_eq!(
        w.count(&format!(
            "SELECT COUNT(*) FROM purchases WHERE business_id = '{}'",
            b.id
        )),
        1
    );
}

#[test]
fn two_runs_of_one_integration_never_overlap() {
    let w = World::new();
    let settings = WalletSettings::default();
    let shop = w.business("gastronomy", 1.0, false);
    integrations::put(
        &admin_env(&w),
        &owner(),
        &shop.id,
        &json!({"type": "csv_url", "settings": {"url": "http://127.0.0.1:9/a.csv"}}),
    )
    .unwrap();
    w.sql
        .execute(
            "UPDATE integrations SET lease_until = ? WHERE business_id = ?",
            &params![ts(w.now() + Duration::minutes(5)), shop.id.as_str()],
        )
        .unwrap();
    let http = Script::new(vec![]);
    let senv = sync_env(&w, &settings, &http);
    assert!(matches!(
        sync::run(&senv, &shop.id, "manual"),
        Err(IntegrationError::Running)
    ));
    assert_eq!(sync::run_due(&senv).unwrap().succeeded, 0);
    assert!(http.sent.borrow().is_empty());
    // The history keeps 90 days.
    w.sql
        .execute(
            "INSERT INTO sync_runs (id, business_id, started_by, status, window_from, window_to, started_at) \
             VALUES ('old', ?, 'schedule', 'succeeded', ?, ?, ?)",
            &params![shop.id.as_str(), ts(w.now()), ts(w.now()), ts(w.now() - Duration::days(91))],
        )
        .unwrap();
    assert_eq!(sync::run_due(&senv).unwrap().purged, 1);
    // A crashed run's lease lapses.
    w.advance(Duration::minutes(6));
    http.answers
        .borrow_mut()
        .push_back(answer(200, &[], &csv_body(&[])));
    assert_eq!(
        sync::run(&senv, &shop.id, "manual").unwrap().status,
        "succeeded"
    );
    assert_eq!(w.count("SELECT COUNT(*) FROM sync_runs"), 1);
}

#[test]
fn app_events_are_checked_whole_and_stored_once_per_id() {
    let w = World::new();
    let m = w.member();
    let at = ts(w.now() - Duration::hours(1));
    let id = "0190a000-0000-7000-8000-0000000000aa";
    let body = json!({"events": [
        {"id": id, "type": "banner_click", "occurred_at": at, "properties": {"banner_id": "b1", "position": 2}},
        {"type": "screen_view", "occurred_at": at},
    ]});
    let s = app_events::store(&w.sql, &w.clock, &w.random, &m.id, &body).unwrap();
    assert_eq!((s.accepted, s.duplicates), (2, 0));
    let s = app_events::store(
        &w.sql,
        &w.clock,
        &w.random,
        &m.id,
        &json!({"events": [body["events"][0].clone()]}),
    )
    .unwrap();
    assert_eq!((s.accepted, s.duplicates), (0, 1));
    for bad in [
        json!({"events": [{"type": "teleport", "occurred_at": at}]}),
        json!({"events": [{"type": "share", "occurred_at": "2020-01-01T00:00:00Z"}]}),
        json!({"events": [{"type": "share", "occurred_at": at, "properties": {"nested": {"a": 1}}}]}),
        json!({"events": []}),
        json!({"events": [{"type": "share", "occurred_at": at}], "more": 1}),
    ] {
        assert!(
            app_events::store(&w.sql, &w.clock, &w.random, &m.id, &bad).is_err(),
            "{bad}"
        );
    }
    assert_eq!(w.count("SELECT COUNT(*) FROM app_events"), 2);
}
