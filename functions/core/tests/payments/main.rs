//! Payment events against real SQLite: exactly-once under racing
//! deliveries, refunds before and after their payment, parking unknown
//! phones, commission with effective dates, YooKassa read-back.

// `params!` builds a Vec that is then borrowed as the statement's slice.
#![allow(clippy::useless_vec)]

#[path = "../wallet/support.rs"]
#[allow(dead_code)]
mod support;

use std::sync::Arc;

use chrono::Duration;
use krug_core::{
    error::UseCaseError,
    native::{NativeSql, SeqRandom, SystemClock},
    payments::{
        commission,
        providers::{self, Notification, YooKassaApi},
        webhook::{self, Event, Kind, Payer, WebhookEnv},
    },
    ports::{Http, HttpError, OutboundRequest, OutboundResponse, Sql as _},
    types::Phone,
    wallet::{ledger, WalletSettings},
};
use serde_json::json;

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

fn paid(id: &str, payment: &str, business: &str, member: &str, amount: i64) -> Event {
    Event {
        provider: "generic",
        event_id: id.into(),
        kind: Kind::PaymentSucceeded,
        payment_id: payment.into(),
        refund_id: None,
        business_id: business.into(),
        amount,
        payer: Some(Payer::Member(member.into())),
        order_ref: None,
        reservation_id: None,
        category: None,
        coupon_code: None,
        ref_code: None,
        items: Vec::new(),
        ingested: None,
    }
}

fn refund(id: &str, payment: &str, business: &str, refund_id: &str, amount: i64) -> Event {
    Event {
        kind: Kind::RefundSucceeded,
        refund_id: Some(refund_id.into()),
        payer: None,
        ..paid(id, payment, business, "", amount)
    }
}

#[test]
fn racing_deliveries_of_one_event_have_one_effect() {
    let dir = tempfile::tempdir().unwrap();
    let path = Arc::new(dir.path().join("db"));
    let w = World::file(&path);
    let shop = w.business("gastronomy", 1.0, false);
    let m = w.member();
    let handles: Vec<_> = (0..24)
        .map(|i| {
            let path = path.clone();
            let e = paid("evt_1", "pay_1", &shop.id, &m.id, 100_000);
            std::thread::spawn(move || {
                let sql = NativeSql::open(&path).unwrap();
                let random = SeqRandom::new(900 + i);
                let settings = WalletSettings::default();
                let env = WebhookEnv {
                    sql: &sql,
                    clock: &SystemClock,
                    random: &random,
                    settings: &settings,
                    request_id: None,
                    orders: &[],
                    referral: &Default::default(),
                };
                webhook::process(&env, &e).unwrap().status
            })
        })
        .collect();
    let statuses: Vec<&str> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == "processed").count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(statuses.iter().filter(|s| **s == "duplicate").count(), 23);
    assert_eq!(w.count("SELECT COUNT(*) FROM purchases"), 1);
    assert_eq!(w.count("SELECT SUM(count) FROM webhook_counters"), 24);
    w.assert_sound();
}

#[test]
fn refunds_need_their_payment_and_never_exceed_it() {
    let w = World::new();
    let settings = WalletSettings::default();
    let e = env(&w, &settings);
    let shop = w.business("gastronomy", 1.0, false);
    let m = w.member();
    let early = refund("evt_r", "pay_2", &shop.id, "ref_1", 30_000);
    let err = webhook::process(&e, &early).unwrap_err();
    assert_eq!(err.code(), "PAYMENT_NOT_SEEN");
    assert_eq!(
        w.count("SELECT COUNT(*) FROM payment_events"),
        0,
        "nothing written"
    );
    webhook::process(&e, &paid("evt_p", "pay_2", &shop.id, &m.id, 100_000)).unwrap();
    assert_eq!(webhook::process(&e, &early).unwrap().status, "processed");
    assert_eq!(webhook::process(&e, &early).unwrap().status, "duplicate");
    let err =
        webhook::process(&e, &refund("evt_r2", "pay_2", &shop.id, "ref_2", 70_001)).unwrap_err();
    assert_eq!(err.code(), "REFUND_TOO_LARGE");
    webhook::process(&e, &refund("evt_r3", "pay_2", &shop.id, "ref_3", 70_000)).unwrap();
    assert_eq!(w.count("SELECT refunded_amount FROM purchases"), 100_000);
    assert_eq!(ledger::balance(&w.sql, &m.id).unwrap().pending, 0);
    w.assert_sound();
}

// Records what the webhook hands it, in a table of the test's own, so a
// rolled-back event leaves no trace either.
struct Recorder;

impl webhook::OrderSettler for Recorder {
    fn prefix(&self) -> &'static str {
        "test"
    }

    fn paid(
        &self,
        tx: &dyn krug_core::ports::Sql,
        o: &webhook::PaidOrder<'_>,
    ) -> Result<serde_json::Value, krug_core::ports::StoreError> {
        tx.execute(
            "INSERT INTO settled (seq, kind, order_id, amount, purchase_id) \
             VALUES ((SELECT COALESCE(MAX(seq), 0) + 1 FROM settled), 'paid', ?, ?, ?)",
            &[o.id.into(), o.amount.into(), o.purchase_id.into()],
        )?;
        Ok(json!({ "settled": o.id }))
    }

    fn refunded(
        &self,
        tx: &dyn krug_core::ports::Sql,
        o: &webhook::RefundedOrder<'_>,
    ) -> Result<serde_json::Value, krug_core::ports::StoreError> {
        tx.execute(
            "INSERT INTO settled (seq, kind, order_id, amount, purchase_id) \
             VALUES ((SELECT COALESCE(MAX(seq), 0) + 1 FROM settled), ?, ?, ?, NULL)",
            &[
                (if o.full {
                    "refunded_full"
                } else {
                    "refunded_part"
                })
                .into(),
                o.id.into(),
                o.amount.into(),
            ],
        )?;
        Ok(json!({ "refunded": o.id }))
    }
}

#[test]
fn orders_with_a_known_prefix_are_settled_once_by_their_capability() {
    let w = World::new();
    w.sql
        .execute(
            "CREATE TABLE settled (seq BIGINT PRIMARY KEY, kind TEXT, order_id TEXT, amount BIGINT, purchase_id TEXT)",
            &[],
        )
        .unwrap();
    let settings = WalletSettings::default();
    let orders: [&dyn webhook::OrderSettler; 1] = [&Recorder];
    let e = WebhookEnv {
        orders: &orders,
        referral: &Default::default(),
        ..env(&w, &settings)
    };
    let shop = w.business("gastronomy", 1.0, false);
    let m = w.member();
    let mut pay = paid("evt_o1", "pay_o1", &shop.id, &m.id, 50_000);
    pay.order_ref = Some("test:reg-1".into());
    for _ in 0..3 {
        webhook::process(&e, &pay).unwrap();
    }
    // Another prefix, and a plain order reference, are not the settler's.
    let mut other = paid("evt_o2", "pay_o2", &shop.id, &m.id, 10_000);
    other.order_ref = Some("preorder:x".into());
    webhook::process(&e, &other).unwrap();
    let mut plain = paid("evt_o3", "pay_o3", &shop.id, &m.id, 10_000);
    plain.order_ref = Some("A-17".into());
    webhook::process(&e, &plain).unwrap();
    webhook::process(&e, &refund("evt_o4", "pay_o1", &shop.id, "r1", 20_000)).unwrap();
    webhook::process(&e, &refund("evt_o5", "pay_o1", &shop.id, "r2", 30_000)).unwrap();
    let rows = w
        .sql
        .execute(
            "SELECT s.kind, s.order_id, s.amount, s.purchase_id = p.id AS linked \
             FROM settled s LEFT JOIN purchases p ON p.external_id = 'pay_o1' ORDER BY s.seq",
            &[],
        )
        .unwrap();
    let got: Vec<(String, String, i64)> = rows
        .iter()
        .map(|r| {
            (
                r.text("kind").unwrap(),
                r.text("order_id").unwrap(),
                r.i64("amount").unwrap(),
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            ("paid".into(), "reg-1".into(), 50_000),
            ("refunded_part".into(), "reg-1".into(), 20_000),
            ("refunded_full".into(), "reg-1".into(), 30_000),
        ]
    );
    assert_eq!(
        rows.first().unwrap().i64("linked").unwrap(),
        1,
        "the purchase is handed over"
    );
    // The paid order also went through the purchase pipeline.
    assert_eq!(w.count("SELECT COUNT(*) FROM purchases"), 3);
    w.assert_sound();
}

#[test]
fn unknown_phones_park_until_they_register_or_expire() {
    let w = World::new();
    let settings = WalletSettings::default();
    let e = env(&w, &settings);
    let shop = w.business("gastronomy", 1.0, false);
    let newcomer = Phone::parse("+79990001122").unwrap();
    let mut ev = paid("evt_x", "pay_x", &shop.id, "", 10_000);
    ev.payer = Some(Payer::Phone(newcomer.clone()));
    webhook::process(&e, &ev).unwrap();
    assert_eq!(webhook::credit_parked(&e).unwrap(), 0, "no such member yet");
    let m = w.member();
    w.sql
        .execute(
            "UPDATE members SET phone = ? WHERE id = ?",
            &krug_core::params![newcomer.as_str(), m.id.as_str()],
        )
        .unwrap();
    assert_eq!(webhook::credit_parked(&e).unwrap(), 1);
    assert_eq!(webhook::credit_parked(&e).unwrap(), 0);
    assert_eq!(w.count("SELECT COUNT(*) FROM purchases"), 1);
    // A second parked payment lapses after 30 days.
    let mut late = paid("evt_y", "pay_y", &shop.id, "", 10_000);
    late.payer = Some(Payer::Phone(Phone::parse("+79990003344").unwrap()));
    webhook::process(&e, &late).unwrap();
    w.advance(Duration::days(31));
    webhook::credit_parked(&e).unwrap();
    assert_eq!(
        w.count("SELECT COUNT(*) FROM payments WHERE status = 'expired'"),
        1
    );
}

#[test]
fn commission_rates_follow_the_schedule_and_admin_rates() {
    let w = World::new();
    let shop = w.business("gastronomy", 1.0, false);
    // Joined at t0: 0 % for six months, then 2 %.
    assert_eq!(
        commission::rate_at(&w.sql, &shop.id, w.now() + Duration::days(100)).unwrap(),
        0
    );
    assert_eq!(
        commission::rate_at(&w.sql, &shop.id, w.now() + Duration::days(200)).unwrap(),
        200
    );
    let raw: commission::RawRate = serde_json::from_value(json!({
        "business_id": shop.id, "rate_bp": 450, "effective_from": "2026-03-01T00:00:00Z"
    }))
    .unwrap();
    commission::set_rate(&w.sql, &w.clock, &w.random, "admin", None, &raw).unwrap();
    let march = chrono::DateTime::parse_from_rfc3339("2026-03-02T00:00:00Z")
        .unwrap()
        .to_utc();
    assert_eq!(commission::rate_at(&w.sql, &shop.id, march).unwrap(), 450);
    let bad: commission::RawRate = serde_json::from_value(json!({
        "business_id": shop.id, "rate_bp": 10_001, "effective_from": "2026-03-01T00:00:00Z"
    }))
    .unwrap();
    assert_eq!(
        commission::set_rate(&w.sql, &w.clock, &w.random, "admin", None, &bad)
            .unwrap_err()
            .code(),
        "INVALID_VALUE"
    );
}

struct FakeYooKassa(serde_json::Value);

impl Http for FakeYooKassa {
    fn send(&self, req: OutboundRequest) -> Result<OutboundResponse, HttpError> {
        let path = req
            .url
            .splitn(4, '/')
            .nth(3)
            .map(|p| format!("/{p}"))
            .unwrap_or_default();
        match self.0.get(&path) {
            Some(v) => Ok(OutboundResponse {
                status: 200,
                headers: vec![],
                body: v.to_string().into_bytes(),
            }),
            None => Ok(OutboundResponse {
                status: 404,
                headers: vec![],
                body: b"{}".to_vec(),
            }),
        }
    }
}

#[test]
fn yookassa_events_come_from_the_read_back_only() {
    let business = "01a20e2a-0000-7000-8000-000000000001";
    let member = "01a20e2a-0000-7000-8000-000000000002";
    let http = FakeYooKassa(json!({
        "/v3/payments/p-1": { "id": "p-1", "status": "succeeded", "amount": { "value": "1500.50", "currency": "RUB" },
                              "metadata": { "business_id": business, "member_id": member } },
        "/v3/refunds/r-1": { "id": "r-1", "payment_id": "p-1", "status": "succeeded", "amount": { "value": "0.50", "currency": "RUB" } },
        "/v3/payments/p-usd": { "id": "p-usd", "status": "succeeded", "amount": { "value": "5.00", "currency": "USD" },
                                "metadata": { "business_id": business, "member_id": member } },
    }));
    let api = YooKassaApi {
        url: "http://yookassa.test".into(),
        shop_id: "s".into(),
        secret_key: "k".into(),
    };
    let n = |kind, id: &str| Notification {
        kind,
        object_id: id.into(),
    };
    let e = providers::yookassa_read_back(&http, &api, &n(Kind::PaymentSucceeded, "p-1")).unwrap();
    assert_eq!(
        (e.amount, e.event_id.as_str(), e.business_id.as_str()),
        (150_050, "p-1:payment.succeeded", business)
    );
    let r = providers::yookassa_read_back(&http, &api, &n(Kind::RefundSucceeded, "r-1")).unwrap();
    assert_eq!(
        (r.amount, r.payment_id.as_str(), r.refund_id.as_deref()),
        (50, "p-1", Some("r-1"))
    );
    assert!(
        providers::yookassa_read_back(&http, &api, &n(Kind::PaymentCanceled, "p-1")).is_err(),
        "not canceled"
    );
    assert!(
        providers::yookassa_read_back(&http, &api, &n(Kind::PaymentSucceeded, "p-usd")).is_err()
    );
    assert!(
        providers::yookassa_read_back(&http, &api, &n(Kind::PaymentSucceeded, "../x")).is_err()
    );
}
