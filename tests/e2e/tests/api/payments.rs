//! Payment webhooks end to end through the host: signed generic events and
//! YooKassa notifications read back from a mock YooKassa API, exactly-once
//! effects under racing redeliveries, refunds (early, partial, full),
//! reservations committed by payment, commission, and a bounded load test.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    thread,
};

use krug_core::payments::signature;
use krug_e2e::{spawn_auth_app_with, AuthApp, MockServer, TestResponse, Tokens};
use serde_json::{json, Value};

const SECRET: &str = "whsec_e2e";
const MEMBER: &str = "+79163330001";
const YOOKASSA_IP: &str = "127.0.0.5";

struct Pay {
    app: AuthApp,
    admin: Tokens,
    shop: String,
    member: Tokens,
    yookassa: MockServer,
    objects: Arc<Mutex<HashMap<String, Value>>>,
}

fn pay() -> Pay {
    let objects: Arc<Mutex<HashMap<String, Value>>> = Arc::default();
    let served = objects.clone();
    let yookassa = MockServer::start_with(move |r| match served.lock().unwrap().get(&r.path) {
        Some(v) => (200, v.to_string()),
        None => (404, r#"{"type":"error","code":"not_found"}"#.into()),
    });
    let app = spawn_auth_app_with(HashMap::from([
        ("payments_webhook_secret".to_string(), SECRET.to_string()),
        ("yookassa_api_url".to_string(), yookassa.url()),
        ("yookassa_shop_id".to_string(), "shop-1".to_string()),
        ("yookassa_secret_key".to_string(), "live_secret".to_string()),
        (
            "yookassa_allowed_ips".to_string(),
            format!("{YOOKASSA_IP}/32,2a02:5180::/32"),
        ),
        // One member buys thousands of times here; the anti-abuse caps are
        // the wallet suite's subject, not this one's.
        (
            "max_purchases_per_business_day".to_string(),
            "1000000".to_string(),
        ),
        (
            "max_points_per_day".to_string(),
            "1000000000000".to_string(),
        ),
    ]));
    let admin = app.admin();
    let shop = app.create_business(&admin, "Market", "gastronomy");
    let member = app.login(MEMBER);
    Pay {
        app,
        admin,
        shop,
        member,
        yookassa,
        objects,
    }
}

fn deliver(app: &AuthApp, body: &Value) -> TestResponse {
    deliver_at(app, body, 0)
}

// Signed `offset` seconds from now: the host's clock may have been moved on.
fn deliver_at(app: &AuthApp, body: &Value, offset: i64) -> TestResponse {
    krug_e2e::deliver_generic(&app.client, SECRET, body.to_string(), offset)
}

fn event(id: &str, kind: &str, data: Value) -> Value {
    json!({ "id": id, "type": kind, "created": krug_e2e::unix_now(), "data": data })
}

fn paid(p: &Pay, event_id: &str, payment_id: &str, amount: i64) -> Value {
    event(
        event_id,
        "payment.succeeded",
        json!({ "payment_id": payment_id, "order_ref": format!("o-{payment_id}"), "business_id": p.shop,
                "amount": amount, "currency": "RUB", "member_id": p.member.member_id }),
    )
}

fn refund(p: &Pay, event_id: &str, payment_id: &str, refund_id: &str, amount: i64) -> Value {
    event(
        event_id,
        "refund.succeeded",
        json!({ "payment_id": payment_id, "business_id": p.shop, "amount": amount, "currency": "RUB",
                "refund_id": refund_id }),
    )
}

fn wallet(p: &Pay) -> Value {
    p.app
        .client
        .get("/api/v1/wallet")
        .bearer(&p.member.access)
        .send()
        .json()
}

#[test]
fn a_paid_event_records_the_purchase_commits_the_reservation_and_the_commission() {
    let p = pay();
    let app = &p.app;
    // 3 % from yesterday on; a cross-promo makes the sale engaged.
    let r = app
        .client
        .post("/api/v1/admin/commission-rates")
        .bearer(&p.admin.access)
        .json(&json!({ "business_id": p.shop, "rate_bp": 300, "effective_from": "2020-01-01T00:00:00Z" }))
        .send();
    assert_eq!(r.status, 201, "{}", r.text());
    let r = app
        .client
        .post("/api/v1/admin/promos")
        .bearer(&p.admin.access)
        .json(&json!({ "code": "PAYME", "name": "x", "kind": "fixed", "value": 5_000, "limits": { "total": 1 } }))
        .send();
    assert_eq!(r.status, 201, "{}", r.text());
    let r = app
        .client
        .post("/api/v1/checkout/reservations")
        .bearer(&p.member.access)
        .json(&json!({ "business_id": p.shop, "channel": "web", "order_ref": "web-1", "promo_codes": ["PAYME"],
                       "items": [{ "sku": "CHEESE", "category": "gastronomy", "quantity": 1, "unit_price": 305_000 }] }))
        .send();
    assert_eq!(r.status, 201, "{}", r.text());
    let reservation = r.json()["reservation_id"].as_str().unwrap().to_string();

    let mut e = paid(&p, "evt_1", "pay_1", 300_000);
    e["data"]["reservation_id"] = json!(reservation);
    e["data"]["ref_code"] = json!("abcd2345");
    let r = deliver(app, &e);
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json(), json!({ "status": "processed" }));
    let w = wallet(&p);
    assert_eq!(
        w["balance"]["pending"], 22_500,
        "5 % × 1.5 of 3 000 ₽, pending"
    );
    let res = app
        .client
        .get(&format!("/api/v1/checkout/reservations/{reservation}"))
        .bearer(&p.member.access)
        .send();
    assert_eq!(res.json()["status"], "committed");
    assert_eq!(
        app.count("SELECT COUNT(*) FROM promo_uses WHERE status = 'committed'"),
        1
    );
    assert_eq!(
        app.count("SELECT COALESCE(SUM(amount), 0) FROM events_budget_entries"),
        6_000
    );
    assert_eq!(
        app.count(
            "SELECT COUNT(*) FROM purchases WHERE source = 'webhook' AND external_id = 'pay_1'"
        ),
        1
    );
    // The referral code is kept, normalised, for the referral capability.
    assert_eq!(
        app.count(
            "SELECT COUNT(*) FROM payments WHERE payment_id = 'pay_1' AND ref_code = 'ABCD2345'"
        ),
        1
    );
    // Not engaged: no commission.
    assert_eq!(app.count("SELECT COUNT(*) FROM commissions"), 0);

    // An engaged sale (a cross-promo coupon) is charged 3 %.
    let other = app.create_business(&p.admin, "Florist", "floristry");
    let r = app
        .client
        .post("/api/v1/admin/cross-promos")
        .bearer(&p.admin.access)
        .json(&json!({ "from_business_id": other, "to_business_id": p.shop, "title": "Cheese after flowers" }))
        .send();
    assert_eq!(r.status, 201, "{}", r.text());
    let mut e = paid(&p, "evt_2", "pay_2", 10_000);
    e["data"]["business_id"] = json!(other);
    assert_eq!(deliver(app, &e).json()["status"], "processed");
    let coupon = app
        .client
        .get("/api/v1/wallet/coupons")
        .bearer(&p.member.access)
        .send()
        .json()["items"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let code = app
        .client
        .post(&format!("/api/v1/wallet/coupons/{coupon}/activate"))
        .bearer(&p.member.access)
        .send()
        .json()["activation_code"]
        .as_str()
        .unwrap()
        .to_string();
    let mut e = paid(&p, "evt_3", "pay_3", 100_000);
    e["data"]["coupon_code"] = json!(code);
    assert_eq!(deliver(app, &e).json()["status"], "processed");
    assert_eq!(app.count("SELECT amount FROM commissions"), 3_000);
    // Refunding half reverses half of it.
    assert_eq!(
        deliver(app, &refund(&p, "evt_4", "pay_3", "ref_3a", 50_000)).json()["status"],
        "processed"
    );
    assert_eq!(app.count("SELECT SUM(amount) FROM commissions"), 1_500);
    app.assert_ledger_sound();
}

#[test]
fn one_event_delivered_fifty_times_at_once_has_one_effect() {
    let p = pay();
    let app = &p.app;
    let body = paid(&p, "evt_same", "pay_same", 50_000);
    let mut statuses: HashMap<String, usize> = HashMap::new();
    for r in krug_e2e::deliver_generic_burst(&[app.client], SECRET, &body.to_string(), 50) {
        assert_eq!(r.status, 200, "{}", r.text());
        *statuses
            .entry(r.json()["status"].as_str().unwrap().to_string())
            .or_default() += 1;
    }
    assert_eq!(statuses.get("processed"), Some(&1), "{statuses:?}");
    assert_eq!(statuses.get("duplicate"), Some(&49), "{statuses:?}");
    assert_eq!(app.count("SELECT COUNT(*) FROM purchases"), 1);
    assert_eq!(app.count("SELECT COUNT(*) FROM ledger_entries"), 1);
    // The analytics rollups count the sale once too.
    assert_eq!(app.count("SELECT SUM(purchases) FROM analytics_daily"), 1);
    assert_eq!(
        app.count("SELECT SUM(purchases) FROM analytics_customers"),
        1
    );
    assert_eq!(
        app.count("SELECT count FROM webhook_counters WHERE outcome = 'duplicate'"),
        49
    );
    // Another event id for the same payment is a duplicate too.
    assert_eq!(
        deliver(app, &paid(&p, "evt_other", "pay_same", 50_000)).json()["status"],
        "duplicate"
    );
    assert_eq!(app.count("SELECT COUNT(*) FROM purchases"), 1);
}

#[test]
fn refunds_wait_for_their_payment_accumulate_and_claw_back_into_debt() {
    let p = pay();
    let app = &p.app;
    // Before the payment: a retryable 409, nothing written.
    let early = refund(&p, "evt_r1", "pay_r", "ref_1", 40_000);
    let r = deliver(app, &early);
    assert_eq!(
        (r.status, r.error_code().as_str()),
        (409, "PAYMENT_NOT_SEEN")
    );
    assert_eq!(app.count("SELECT COUNT(*) FROM payment_events"), 0);
    // 1 000 ₽ paid: 7 500 points pending.
    assert_eq!(
        deliver(app, &paid(&p, "evt_p", "pay_r", 100_000)).json()["status"],
        "processed"
    );
    assert_eq!(
        deliver(app, &early).json()["status"],
        "processed",
        "the retry now succeeds"
    );
    assert_eq!(
        wallet(&p)["balance"]["pending"],
        4_500,
        "40 % refunded: 3 000 points clawed back"
    );
    assert_eq!(
        deliver(app, &refund(&p, "evt_r2", "pay_r", "ref_2", 30_000)).json()["status"],
        "processed"
    );
    let r = deliver(app, &refund(&p, "evt_r3", "pay_r", "ref_3", 30_001));
    assert_eq!(
        (r.status, r.error_code().as_str()),
        (422, "REFUND_TOO_LARGE")
    );
    assert_eq!(app.count("SELECT refunded_amount FROM payments"), 70_000);
    // The points mature and are spent; the final refund makes a debt.
    app.host
        .advance_clock(std::time::Duration::from_secs(15 * 24 * 3600));
    app.run_job("mature-points");
    let member = app.login(MEMBER);
    let (_, key) = app.issue_api_key(&app.admin(), &p.shop);
    let qr = app
        .client
        .get("/api/v1/wallet/qr")
        .bearer(&member.access)
        .send()
        .json()["token"]
        .as_str()
        .unwrap()
        .to_string();
    let r = app
        .client
        .post("/api/v1/pos/redemptions")
        .bearer(&key)
        .header("idempotency-key", "spend-all")
        .json(&json!({ "member": { "qr_token": qr }, "points": 2_250, "order_ref": "x" }))
        .send();
    assert_eq!(r.status, 201, "{}", r.text());
    let r = deliver_at(
        app,
        &refund(&p, "evt_r4", "pay_r", "ref_4", 30_000),
        15 * 24 * 3600,
    );
    assert_eq!(r.json()["status"], "processed", "{}", r.text());
    let w = app
        .client
        .get("/api/v1/wallet")
        .bearer(&member.access)
        .send()
        .json();
    assert_eq!(w["balance"]["available"], 0);
    assert_eq!(w["balance"]["debt"], 2_250);
    app.assert_ledger_sound();
}

#[test]
fn a_full_refund_restores_the_promo_uses() {
    let p = pay();
    let app = &p.app;
    let r = app
        .client
        .post("/api/v1/admin/promos")
        .bearer(&p.admin.access)
        .json(&json!({ "code": "ONCE", "name": "x", "kind": "percent", "value": 10, "limits": { "total": 1 } }))
        .send();
    assert_eq!(r.status, 201);
    let reserve = |order: &str| {
        app.client
            .post("/api/v1/checkout/reservations")
            .bearer(&p.member.access)
            .json(&json!({ "business_id": p.shop, "channel": "app", "order_ref": order, "promo_codes": ["ONCE"],
                           "items": [{ "sku": "A", "category": "gastronomy", "quantity": 1, "unit_price": 10_000 }] }))
            .send()
    };
    let r = reserve("a");
    assert_eq!(r.status, 201, "{}", r.text());
    let mut e = paid(&p, "evt_a", "pay_a", 9_000);
    e["data"]["reservation_id"] = r.json()["reservation_id"].clone();
    assert_eq!(deliver(app, &e).json()["status"], "processed");
    assert_eq!(reserve("b").status, 409, "the only use is committed");
    assert_eq!(
        deliver(app, &refund(&p, "evt_b", "pay_a", "ref_a", 9_000)).json()["status"],
        "processed"
    );
    assert_eq!(reserve("b").status, 201, "a full refund gives the use back");
}

#[test]
fn a_canceled_payment_releases_its_reservation() {
    let p = pay();
    let app = &p.app;
    let r = app
        .client
        .post("/api/v1/checkout/reservations")
        .bearer(&p.member.access)
        .json(&json!({ "business_id": p.shop, "channel": "app", "order_ref": "c",
                       "items": [{ "sku": "A", "category": "gastronomy", "quantity": 1, "unit_price": 10_000 }] }))
        .send();
    let id = r.json()["reservation_id"].as_str().unwrap().to_string();
    let mut e = event(
        "evt_c",
        "payment.canceled",
        json!({ "payment_id": "pay_c", "business_id": p.shop, "amount": 10_000, "currency": "RUB",
                "member_id": p.member.member_id, "reservation_id": id }),
    );
    assert_eq!(deliver(app, &e).json()["status"], "processed");
    let res = app
        .client
        .get(&format!("/api/v1/checkout/reservations/{id}"))
        .bearer(&p.member.access)
        .send();
    assert_eq!(res.json()["status"], "released");
    e["type"] = json!("payment.waiting_for_capture");
    e["id"] = json!("evt_w");
    assert_eq!(deliver(app, &e).json()["status"], "ignored");
}

#[test]
fn an_unknown_phone_is_parked_and_credited_when_it_registers() {
    let p = pay();
    let app = &p.app;
    let mut e = paid(&p, "evt_ph", "pay_ph", 20_000);
    e["data"].as_object_mut().unwrap().remove("member_id");
    e["data"]["customer_phone"] = json!("8 (916) 444-00-01");
    assert_eq!(deliver(app, &e).json()["status"], "processed");
    assert_eq!(
        app.count("SELECT COUNT(*) FROM payments WHERE status = 'parked'"),
        1
    );
    assert_eq!(app.count("SELECT COUNT(*) FROM purchases"), 0);
    let newcomer = app.login("+79164440001");
    let report = app.run_job("credit-parked-payments");
    assert_eq!(report["report"]["affected"], 1, "{report}");
    let w = app
        .client
        .get("/api/v1/wallet")
        .bearer(&newcomer.access)
        .send()
        .json();
    assert_eq!(w["balance"]["pending"], 1_500);
    assert_eq!(
        app.run_job("credit-parked-payments")["report"]["affected"],
        0
    );
}

#[test]
fn signatures_are_checked_on_the_raw_body_before_parsing() {
    let p = pay();
    let app = &p.app;
    let body = paid(&p, "evt_s", "pay_s", 10_000).to_string();
    let send = |sig: &str, raw: &str| {
        app.client
            .post("/webhooks/payments/generic")
            .header("krug-signature", sig)
            .raw_json(raw.to_string())
            .send()
    };
    let cases = [
        (
            send(
                &signature::sign("wrong", krug_e2e::unix_now(), body.as_bytes()),
                &body,
            ),
            401,
        ),
        (
            send(
                &signature::sign(SECRET, krug_e2e::unix_now() - 301, body.as_bytes()),
                &body,
            ),
            401,
        ),
        (
            send(
                &signature::sign(SECRET, krug_e2e::unix_now() + 301, body.as_bytes()),
                &body,
            ),
            401,
        ),
        (
            send(
                &signature::sign(SECRET, krug_e2e::unix_now(), body.as_bytes()),
                &body.replace("10000", "99999"),
            ),
            401,
        ),
        (send("t=1,v1=zz", &body), 401),
        (
            app.client
                .post("/webhooks/payments/generic")
                .raw_json(body.clone())
                .send(),
            401,
        ),
        (
            send(
                &signature::sign(SECRET, krug_e2e::unix_now(), b"{not json"),
                "{not json",
            ),
            400,
        ),
        (
            send(
                &signature::sign(SECRET, krug_e2e::unix_now(), b"{\"id\":1}"),
                "{\"id\":1}",
            ),
            422,
        ),
    ];
    for (i, (r, status)) in cases.iter().enumerate() {
        assert_eq!(r.status, *status, "case {i}: {}", r.text());
    }
    let mut bad = paid(&p, "evt_bad", "pay_bad", 10_000);
    bad["data"]["amount"] = json!(-5);
    assert_eq!(deliver(app, &bad).status, 422);
    bad["data"]["amount"] = json!(10_000);
    bad["data"]["currency"] = json!("USD");
    assert_eq!(deliver(app, &bad).status, 422);
    bad["data"]["currency"] = json!("RUB");
    bad["data"]["business_id"] = json!("0191e6a0-0000-7000-8000-000000000000");
    assert_eq!(deliver(app, &bad).status, 422);
    let mut bad = paid(&p, "evt_bad_ref", "pay_bad_ref", 10_000);
    bad["data"]["ref_code"] = json!("not a code");
    let r = deliver(app, &bad);
    assert_eq!(
        (r.status, r.error_code().as_str()),
        (422, "INVALID_REFERRAL_CODE")
    );
    assert_eq!(app.count("SELECT COUNT(*) FROM payment_events"), 0);
    assert_eq!(app.count("SELECT COUNT(*) FROM payments"), 0);
    assert_eq!(app.count("SELECT COUNT(*) FROM purchases"), 0);
    assert!(app.count("SELECT count FROM webhook_counters WHERE outcome = 'rejected'") >= 10);
}

fn notification(event: &str, id: &str, value: &str) -> Value {
    json!({ "type": "notification", "event": event,
            "object": { "id": id, "status": "succeeded", "amount": { "value": value, "currency": "RUB" } } })
}

#[test]
fn yookassa_notifications_are_read_back_and_only_the_read_back_counts() {
    let p = pay();
    let app = &p.app;
    let payment = json!({ "id": "2d1f-ok", "status": "succeeded", "amount": { "value": "3000.00", "currency": "RUB" },
                          "metadata": { "business_id": p.shop, "member_id": p.member.member_id, "order_ref": "yk-1" } });
    p.objects
        .lock()
        .unwrap()
        .insert("/v3/payments/2d1f-ok".into(), payment.clone());
    let send = |ip: &str, body: &Value| {
        app.client
            .post("/webhooks/payments/yookassa")
            .source_ip(ip)
            .json(body)
            .send()
    };

    // Not from YooKassa's addresses: refused before anything else.
    let r = send(
        "127.0.0.1",
        &notification("payment.succeeded", "2d1f-ok", "3000.00"),
    );
    assert_eq!(
        (r.status, r.error_code().as_str()),
        (403, "FORBIDDEN_SOURCE")
    );
    assert!(p.yookassa.requests().is_empty());

    // The notification claims 999 999 ₽; YooKassa says 3 000 ₽.
    let r = send(
        YOOKASSA_IP,
        &notification("payment.succeeded", "2d1f-ok", "999999.00"),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["status"], "processed");
    assert_eq!(app.count("SELECT amount FROM purchases"), 300_000);
    let req = &p.yookassa.requests()[0];
    assert_eq!(req.path, "/v3/payments/2d1f-ok");
    assert_eq!(
        req.header("authorization"),
        Some("Basic c2hvcC0xOmxpdmVfc2VjcmV0")
    );
    assert_eq!(
        send(
            YOOKASSA_IP,
            &notification("payment.succeeded", "2d1f-ok", "3000.00")
        )
        .json()["status"],
        "duplicate"
    );

    // A refund read back, with its payment.
    p.objects.lock().unwrap().insert(
        "/v3/refunds/rf-1".into(),
        json!({ "id": "rf-1", "payment_id": "2d1f-ok", "status": "succeeded", "amount": { "value": "1000.50", "currency": "RUB" } }),
    );
    let r = send(
        YOOKASSA_IP,
        &notification("refund.succeeded", "rf-1", "1.00"),
    );
    assert_eq!(r.json()["status"], "processed", "{}", r.text());
    assert_eq!(app.count("SELECT refunded_amount FROM purchases"), 100_050);

    // A payment YooKassa does not confirm is not acted on.
    let mut pending = payment.clone();
    pending["id"] = json!("2d1f-pending");
    pending["status"] = json!("pending");
    p.objects
        .lock()
        .unwrap()
        .insert("/v3/payments/2d1f-pending".into(), pending);
    let r = send(
        YOOKASSA_IP,
        &notification("payment.succeeded", "2d1f-pending", "5.00"),
    );
    assert_eq!((r.status, r.error_code().as_str()), (409, "NOT_CONFIRMED"));
    let r = send(
        YOOKASSA_IP,
        &notification("payment.succeeded", "2d1f-unknown", "5.00"),
    );
    assert_eq!(r.status, 503, "{}", r.text());
    let r = send(
        YOOKASSA_IP,
        &json!({ "type": "notification", "event": "payment.waiting_for_capture", "object": { "id": "x" } }),
    );
    assert_eq!(r.json()["status"], "ignored");
    let r = send(YOOKASSA_IP, &json!({ "event": "payment.succeeded" }));
    assert_eq!(r.status, 422);
    assert_eq!(app.count("SELECT COUNT(*) FROM purchases"), 1);
}

#[test]
fn five_thousand_shuffled_deliveries_with_thirty_percent_duplicates_keep_the_ledger_exact() {
    let p = pay();
    let app = &p.app;
    // 3 500 distinct payments of 100–4 999 ₽, 1 500 redeliveries, shuffled
    // with a fixed seed; 16 senders.
    let mut bodies: Vec<String> = (0..3_500)
        .map(|i| {
            paid(
                &p,
                &format!("evt_{i}"),
                &format!("pay_{i}"),
                10_000 + (i * 137) % 490_000,
            )
            .to_string()
        })
        .collect();
    let mut seed: u64 = 0x5eed;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for _ in 0..1_500 {
        let i = usize::try_from(next() % 3_500).unwrap();
        bodies.push(bodies[i].clone());
    }
    for i in (1..bodies.len()).rev() {
        let j = usize::try_from(next() % (i as u64 + 1)).unwrap();
        bodies.swap(i, j);
    }
    let queue = Arc::new(Mutex::new(bodies));
    let handles: Vec<_> = (0..16)
        .map(|_| {
            let client = app.client;
            let queue = queue.clone();
            thread::spawn(move || {
                let mut seen: HashMap<String, usize> = HashMap::new();
                loop {
                    let Some(raw) = queue.lock().unwrap().pop() else {
                        break;
                    };
                    // A delivery shed under load (503 BUSY, Retry-After) is
                    // sent again later, as providers redeliver a non-2xx.
                    let mut r;
                    let mut sheds = 0;
                    loop {
                        r = client
                            .post("/webhooks/payments/generic")
                            .header(
                                "krug-signature",
                                &signature::sign(SECRET, krug_e2e::unix_now(), raw.as_bytes()),
                            )
                            .raw_json(raw.clone())
                            .send();
                        if r.status != 503 || sheds == 10 {
                            break;
                        }
                        assert_eq!(r.json()["error"]["code"], "BUSY", "{}", r.text());
                        let wait: u64 = r.header("retry-after").unwrap().parse().unwrap();
                        sheds += 1;
                        *seen.entry("shed, sent again".into()).or_default() += 1;
                        thread::sleep(std::time::Duration::from_secs(wait));
                    }
                    let status = if r.status == 200 {
                        r.json()["status"].as_str().unwrap().to_string()
                    } else {
                        r.status.to_string()
                    };
                    *seen.entry(status).or_default() += 1;
                }
                seen
            })
        })
        .collect();
    let mut total: HashMap<String, usize> = HashMap::new();
    for h in handles {
        for (k, v) in h.join().unwrap() {
            *total.entry(k).or_default() += v;
        }
    }
    // Shed deliveries are rare and reported, not counted as outcomes.
    eprintln!("storm outcomes: {total:?}");
    assert_eq!(total.get("processed"), Some(&3_500), "{total:?}");
    assert_eq!(total.get("duplicate"), Some(&1_500), "{total:?}");
    assert_eq!(app.count("SELECT COUNT(*) FROM purchases"), 3_500);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM ledger_entries WHERE kind = 'earn'"),
        3_500
    );
    let expected: i64 = (0..3_500).map(|i| 10_000 + (i * 137) % 490_000).sum();
    assert_eq!(app.count("SELECT SUM(amount) FROM purchases"), expected);
    assert_eq!(
        app.count(
            "SELECT SUM(count) FROM webhook_counters WHERE outcome IN ('processed', 'duplicate')"
        ),
        5_000
    );
    app.assert_ledger_sound();
}
