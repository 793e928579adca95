//! Wallet and POS end to end through the host: the member's card and QR
//! code, earning at the till, maturing by job, redeeming, the ledger, tiers
//! moving with the 365-day window, races on one balance and on one
//! Idempotency-Key, who may use the till, and bad input on every route.

use std::{thread, time::Duration};

use krug_e2e::{spawn_auth_app, AuthApp, Cast, Club, TestResponse, Tokens};
use serde_json::{json, Value};

const MEMBER: &str = "+79161110001";
const STAFF_A: &str = "+79161110002";
const STAFF_B: &str = "+79161110003";
const DAY: Duration = Duration::from_secs(24 * 3600);

/// Business A (beauty) with a manager and an API key, business B
/// (gastronomy) with a manager, and one member.
fn club() -> Club {
    Club::open(
        spawn_auth_app(),
        &Cast {
            a: ("Salon A", "beauty"),
            b: ("Bistro B", "gastronomy"),
            role: "manager",
            phones: [STAFF_A, STAFF_B, MEMBER],
        },
    )
}

const WRITTEN: [&str; 8] = [
    "purchases",
    "ledger_entries",
    "point_lots",
    "redemptions",
    "compensations",
    "events_budget_entries",
    "idempotency_keys",
    "audit_log",
];

fn snapshot(app: &AuthApp) -> Vec<i64> {
    WRITTEN
        .iter()
        .map(|t| app.count(&format!("SELECT COUNT(*) FROM {t}")))
        .collect()
}

fn qr(app: &AuthApp, member: &Tokens) -> String {
    let resp = app
        .client
        .get("/api/v1/wallet/qr")
        .bearer(&member.access)
        .send();
    assert_eq!(resp.status, 200, "{}", resp.text());
    resp.json()["token"].as_str().unwrap().to_string()
}

fn wallet(app: &AuthApp, member: &Tokens) -> Value {
    let resp = app
        .client
        .get("/api/v1/wallet")
        .bearer(&member.access)
        .send();
    assert_eq!(resp.status, 200, "{}", resp.text());
    resp.json()
}

fn pos(app: &AuthApp, bearer: &str, route: &str, key: &str, body: &Value) -> TestResponse {
    app.client
        .post(&format!("/api/v1/pos/{route}"))
        .bearer(bearer)
        .header("idempotency-key", key)
        .json(body)
        .send()
}

/// The member's card number, from their wallet.
fn card_of(app: &AuthApp, member: &Tokens) -> String {
    wallet(app, member)["card_number"]
        .as_str()
        .unwrap()
        .to_string()
}

/// Credits `points` to `card` as a compensation, so a test has a balance to
/// spend without waiting for points to mature.
fn gift(app: &AuthApp, bearer: &str, card: &str, points: i64, key: &str) {
    let resp = pos(
        app,
        bearer,
        "compensations",
        key,
        &json!({ "member": { "card_number": card }, "points": points, "reason": "goodwill", "order_ref": key }),
    );
    assert_eq!(resp.status, 201, "{}", resp.text());
}

fn buy(app: &AuthApp, bearer: &str, card: &str, amount: i64, key: &str) -> Value {
    let resp = pos(
        app,
        bearer,
        "purchases",
        key,
        &json!({ "member": { "card_number": card }, "amount": amount }),
    );
    assert_eq!(resp.status, 201, "{}", resp.text());
    resp.json()
}

// An independent EAN-13 check digit, so the test does not trust the code it
// tests.
fn ean13_digit(first12: &str) -> u32 {
    let sum: u32 = first12
        .chars()
        .map(|c| c.to_digit(10).unwrap())
        .enumerate()
        .map(|(i, x)| if i % 2 == 0 { x } else { 3 * x })
        .sum();
    (10 - sum % 10) % 10
}

fn ean13_ok(card: &str) -> bool {
    card.len() == 13
        && card.chars().all(|c| c.is_ascii_digit())
        && ean13_digit(&card[..12]) == card[12..].parse::<u32>().unwrap()
}

fn with_bad_check_digit(card: &str) -> String {
    let last = card.chars().last().unwrap().to_digit(10).unwrap();
    format!("{}{}", &card[..12], (last + 1) % 10)
}

#[test]
fn login_earn_mature_redeem_and_see_it_all_in_the_ledger() {
    let c = club();
    let app = &c.app;

    let w = wallet(app, &c.member);
    let card = w["card_number"].as_str().unwrap().to_string();
    assert!(ean13_ok(&card), "card {card} fails the EAN-13 check");
    assert_eq!(w["tier"], "insider");
    assert_eq!(w["balance"]["available"], 0);
    assert_eq!(w["progress"]["next_tier"], "vip");

    let resp = app
        .client
        .get("/api/v1/wallet/qr")
        .bearer(&c.member.access)
        .send();
    assert_eq!(resp.status, 200);
    assert_eq!(resp.header("cache-control"), Some("no-store"));
    let body = resp.json();
    assert!(body["svg"].as_str().unwrap().contains("<svg"));
    let token = body["token"].as_str().unwrap();

    // Staff see first name, tier and balance; never the phone.
    let resp = app
        .client
        .post("/api/v1/pos/identify")
        .bearer(&c.staff_a.access)
        .json(&json!({ "qr_token": token }))
        .send();
    assert_eq!(resp.status, 200, "{}", resp.text());
    let seen = resp.json();
    assert_eq!(seen["member_id"], c.member.member_id.as_str());
    assert_eq!(seen["first_name"], "Test");
    assert_eq!(seen["tier"], "insider");
    assert_eq!(seen["available"], 0);
    assert!(
        !seen.to_string().contains(&MEMBER[2..]),
        "phone leaked: {seen}"
    );

    // 1 000 ₽ at a beauty salon: 5 % × 1.5 for the first purchase in the
    // category = 75 ₽ of points, pending.
    let earned = buy(app, &c.key_a, &card, 100_000, "sale-1");
    assert_eq!(earned["points_earned"], 7_500);
    let w = wallet(app, &c.member);
    assert_eq!(w["balance"]["pending"], 7_500);
    assert_eq!(w["balance"]["available"], 0);

    // Two weeks on, the job makes them available (the access token has long
    // expired, so log in again).
    app.host.advance_clock(15 * DAY);
    let report = app.run_job("mature-points");
    assert_eq!(report["report"]["affected"], 1, "{report}");
    let member = app.login(MEMBER);
    let w = wallet(app, &member);
    assert_eq!(w["balance"]["available"], 7_500);
    assert_eq!(w["balance"]["pending"], 0);
    assert_eq!(w["expiring"][0]["amount"], 7_500);

    let token = qr(app, &member);
    let resp = pos(
        app,
        &c.key_a,
        "redemptions",
        "spend-1",
        &json!({ "member": { "qr_token": token }, "points": 2_000, "order_ref": "A-1" }),
    );
    assert_eq!(resp.status, 201, "{}", resp.text());
    assert_eq!(resp.json()["available"], 5_500);

    let ledger = app
        .client
        .get("/api/v1/wallet/ledger")
        .bearer(&member.access)
        .send()
        .json();
    let kinds: Vec<(&str, i64)> = ledger["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["kind"].as_str().unwrap(), e["amount"].as_i64().unwrap()))
        .collect();
    assert_eq!(kinds, vec![("spend", -2_000), ("earn", 7_500)]);
    assert_eq!(ledger["items"][1]["business_id"], c.a.as_str());
    assert!(ledger["next_cursor"].is_null());

    // Pagination: one per page, the cursor walks to the end.
    let first = app
        .client
        .get("/api/v1/wallet/ledger?limit=1")
        .bearer(&member.access)
        .send()
        .json();
    assert_eq!(first["items"][0]["kind"], "spend");
    let cursor = first["next_cursor"].as_str().expect("a next page");
    let second = app
        .client
        .get(&format!("/api/v1/wallet/ledger?limit=1&cursor={cursor}"))
        .bearer(&member.access)
        .send()
        .json();
    assert_eq!(second["items"][0]["kind"], "earn");
    assert!(second["next_cursor"].is_null());

    let coupons = app
        .client
        .get("/api/v1/wallet/coupons")
        .bearer(&member.access)
        .send();
    assert_eq!(coupons.status, 200);
    assert_eq!(coupons.json(), json!({ "items": [], "next_cursor": null }));
    app.assert_ledger_sound();
}

#[test]
fn expired_forged_and_missing_qr_tokens_are_refused() {
    let c = club();
    let app = &c.app;
    let card = card_of(app, &c.member);
    gift(app, &c.key_a, &card, 1_000, "gift");

    let token = qr(app, &c.member);
    let mut forged = token.clone().into_bytes();
    let mid = forged.len() / 2;
    forged[mid] = if forged[mid] == b'A' { b'B' } else { b'A' };
    let forged = String::from_utf8(forged).unwrap();
    let before = snapshot(app);

    let spend = |token: &str, key: &str| {
        pos(
            app,
            &c.key_a,
            "redemptions",
            key,
            &json!({ "member": { "qr_token": token }, "points": 100, "order_ref": "A-10" }),
        )
    };
    let resp = spend(&forged, "k-forged");
    assert_eq!(
        (resp.status, resp.error_code().as_str()),
        (422, "INVALID_QR_TOKEN")
    );
    let resp = pos(
        app,
        &c.key_a,
        "redemptions",
        "k-card",
        &json!({ "member": { "card_number": card }, "points": 100, "order_ref": "A-10" }),
    );
    assert_eq!(
        (resp.status, resp.error_code().as_str()),
        (422, "QR_TOKEN_REQUIRED")
    );

    app.host.advance_clock(Duration::from_secs(61));
    let resp = spend(&token, "k-late");
    assert_eq!(
        (resp.status, resp.error_code().as_str()),
        (422, "QR_TOKEN_EXPIRED")
    );
    let resp = app
        .client
        .post("/api/v1/pos/identify")
        .bearer(&c.key_a)
        .json(&json!({ "qr_token": token }))
        .send();
    assert_eq!(
        (resp.status, resp.error_code().as_str()),
        (422, "QR_TOKEN_EXPIRED")
    );
    assert_eq!(
        snapshot(app),
        before,
        "a refused redemption wrote something"
    );
}

#[test]
fn a_hundred_parallel_redemptions_of_ten_against_five_hundred_spend_exactly_fifty() {
    let c = club();
    let app = &c.app;
    let card = card_of(app, &c.member);
    gift(app, &c.key_a, &card, 500, "seed");
    let token = qr(app, &c.member);

    let results = krug_e2e::redeem_burst(&[app.client], &c.key_a, &token, 100, 10);
    let (ok, short) = krug_e2e::redemption_tally(&results);
    assert_eq!(
        ok,
        50,
        "statuses: {:?}",
        results.iter().map(|r| r.status).collect::<Vec<_>>()
    );
    assert_eq!(short, 50);
    assert_eq!(wallet(app, &c.member)["balance"]["available"], 0);
    assert_eq!(app.count("SELECT COUNT(*) FROM redemptions"), 50);
    app.assert_ledger_sound();
}

#[test]
fn one_idempotency_key_sent_twenty_times_at_once_records_one_purchase() {
    let c = club();
    let app = &c.app;
    let card = card_of(app, &c.member);
    let body =
        json!({ "member": { "card_number": card }, "amount": 250_000, "external_id": "chk-77" });
    let handles: Vec<_> = (0..20)
        .map(|_| {
            let client = app.client;
            let key = c.key_a.clone();
            let body = body.clone();
            thread::spawn(move || {
                client
                    .post("/api/v1/pos/purchases")
                    .bearer(&key)
                    .header("idempotency-key", "same-sale")
                    .json(&body)
                    .send()
            })
        })
        .collect();
    let results: Vec<TestResponse> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    let ids: std::collections::BTreeSet<String> = results
        .iter()
        .filter(|r| r.status == 201)
        .map(|r| r.json()["purchase_id"].as_str().unwrap().to_string())
        .collect();
    assert!(
        results.iter().all(|r| r.status == 201 || r.status == 409),
        "statuses: {:?}",
        results.iter().map(|r| r.status).collect::<Vec<_>>()
    );
    assert_eq!(ids.len(), 1, "one purchase id for every replay");
    assert_eq!(app.count("SELECT COUNT(*) FROM purchases"), 1);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM ledger_entries WHERE kind = 'earn'"),
        1
    );

    // The same body under the same key later is a replay; a different body
    // under it is refused.
    let again = pos(app, &c.key_a, "purchases", "same-sale", &body);
    assert_eq!(again.status, 201);
    assert_eq!(
        again.json()["purchase_id"].as_str(),
        ids.iter().next().map(String::as_str)
    );
    let other = pos(
        app,
        &c.key_a,
        "purchases",
        "same-sale",
        &json!({ "member": { "card_number": card }, "amount": 1 }),
    );
    assert_eq!(
        (other.status, other.error_code().as_str()),
        (422, "IDEMPOTENCY_KEY_REUSED")
    );
    // A new key with the same external_id is the same sale too.
    let dup = pos(app, &c.key_a, "purchases", "other-key", &body);
    assert_eq!(dup.status, 200, "{}", dup.text());
    assert_eq!(dup.json()["status"], "duplicate");
    assert_eq!(app.count("SELECT COUNT(*) FROM purchases"), 1);
    app.assert_ledger_sound();
}

#[test]
fn the_till_serves_its_own_business_only() {
    let c = club();
    let app = &c.app;
    let card = card_of(app, &c.member);
    let before = snapshot(app);
    let sale = |bearer: &str, business: Option<&str>, key: &str| {
        let mut body = json!({ "member": { "card_number": card }, "amount": 10_000 });
        if let Some(b) = business {
            body["business_id"] = json!(b);
        }
        pos(app, bearer, "purchases", key, &body)
    };

    // Staff of A naming B, A's key naming B, and a plain member: refused.
    let resp = sale(&c.staff_a.access, Some(&c.b), "x1");
    assert_eq!(
        (resp.status, resp.error_code().as_str()),
        (403, "FORBIDDEN")
    );
    let resp = sale(&c.key_a, Some(&c.b), "x2");
    assert_eq!(
        (resp.status, resp.error_code().as_str()),
        (403, "FORBIDDEN")
    );
    let resp = sale(&c.member.access, None, "x3");
    assert_eq!(
        (resp.status, resp.error_code().as_str()),
        (403, "FORBIDDEN")
    );
    let resp = sale(&c.member.access, Some(&c.a), "x4");
    assert_eq!(
        (resp.status, resp.error_code().as_str()),
        (403, "FORBIDDEN")
    );
    let resp = sale("garbage", None, "x5");
    assert_eq!(
        (resp.status, resp.error_code().as_str()),
        (401, "UNAUTHORIZED")
    );
    let resp = app
        .client
        .post("/api/v1/pos/purchases")
        .header("idempotency-key", "x6")
        .json(&json!({ "member": { "card_number": card }, "amount": 10_000 }))
        .send();
    assert_eq!(resp.status, 401);
    // A member's wallet is not for API keys.
    let resp = app.client.get("/api/v1/wallet").bearer(&c.key_a).send();
    assert_eq!(resp.status, 403);
    assert_eq!(snapshot(app), before, "a refused request wrote something");

    // Each business's own staff earn at their own business; an admin may
    // name any business.
    let resp = sale(&c.staff_b.access, None, "b1");
    assert_eq!(resp.status, 201, "{}", resp.text());
    let resp = sale(&c.admin.access, Some(&c.a), "adm1");
    assert_eq!(resp.status, 201, "{}", resp.text());
    let resp = sale(&c.admin.access, None, "adm2");
    assert_eq!(resp.status, 403, "an admin must name the business");
    let at = |b: &str| {
        app.count(&format!(
            "SELECT COUNT(*) FROM purchases WHERE business_id = '{b}'"
        ))
    };
    assert_eq!((at(&c.a), at(&c.b)), (1, 1));
}

#[test]
fn tier_reaches_vip_in_three_categories_and_falls_when_the_window_passes() {
    let app = spawn_auth_app();
    let admin = app.admin();
    let keys: Vec<String> = [("S", "beauty"), ("F", "floristry"), ("O", "optics")]
        .iter()
        .map(|(name, cat)| {
            let b = app.create_business(&admin, name, cat);
            app.issue_api_key(&admin, &b).1
        })
        .collect();
    let member = app.login(MEMBER);
    let card = card_of(&app, &member);
    let identify = |key: &str| {
        app.client
            .post("/api/v1/pos/identify")
            .bearer(key)
            .json(&json!({ "card_number": card }))
            .send()
            .json()
    };

    // 29 999 ₽ in three categories: still insider.
    buy(&app, &keys[0], &card, 1_000_000, "t1");
    buy(&app, &keys[1], &card, 1_000_000, "t2");
    buy(&app, &keys[2], &card, 999_900, "t3");
    assert_eq!(identify(&keys[0])["tier"], "insider");
    // One more rouble crosses 30 000 ₽.
    buy(&app, &keys[2], &card, 100, "t4");
    assert_eq!(identify(&keys[0])["tier"], "vip");
    let w = wallet(&app, &member);
    assert_eq!(w["tier"], "vip");
    assert_eq!(w["progress"]["next_tier"], "elite");

    // A year and a day later the window is empty and the nightly job drops
    // the tier.
    app.host.advance_clock(366 * DAY);
    let report = app.run_job("recompute-tiers");
    assert_eq!(report["report"]["affected"], 1, "{report}");
    assert_eq!(identify(&keys[0])["tier"], "insider");
    app.assert_ledger_sound();
}

#[test]
fn compensations_are_capped_per_order() {
    let c = club();
    let app = &c.app;
    let card = card_of(app, &c.member);
    let give = |points: i64, key: &str| {
        pos(
            app,
            &c.staff_a.access,
            "compensations",
            key,
            &json!({ "member": { "card_number": card }, "points": points, "reason": "under-weight delivery", "order_ref": "ORD-5" }),
        )
    };
    assert_eq!(give(30_000, "c1").status, 201);
    let resp = give(20_001, "c2");
    assert_eq!(
        (resp.status, resp.error_code().as_str()),
        (422, "COMPENSATION_CAP_EXCEEDED")
    );
    assert_eq!(give(20_000, "c3").status, 201);
    assert_eq!(wallet(app, &c.member)["balance"]["available"], 50_000);
    app.assert_ledger_sound();
}

#[test]
fn bad_input_is_refused_with_a_clear_4xx_and_writes_nothing() {
    let c = club();
    let app = &c.app;
    let card = card_of(app, &c.member);
    let token = qr(app, &c.member);
    let unknown_card = {
        // A well-formed card number nobody holds.
        let first12 = "200000000001";
        format!("{first12}{}", ean13_digit(first12))
    };
    let before = snapshot(app);
    let purchase = |body: Value| pos(app, &c.key_a, "purchases", "bad", &body);
    let m = json!({ "card_number": card });
    let cases: Vec<(TestResponse, u16, &str)> = vec![
        (
            purchase(json!({ "member": m, "amount": 0 })),
            422,
            "INVALID_AMOUNT",
        ),
        (
            purchase(json!({ "member": m, "amount": -500 })),
            422,
            "INVALID_AMOUNT",
        ),
        (
            purchase(json!({ "member": m, "amount": 1_000_000_001i64 })),
            422,
            "INVALID_AMOUNT",
        ),
        (
            purchase(json!({ "member": m, "amount": 10.5 })),
            422,
            "INVALID_FIELD",
        ),
        (
            purchase(json!({ "member": m, "amount": "100" })),
            422,
            "INVALID_FIELD",
        ),
        (purchase(json!({ "member": m })), 422, "INVALID_FIELD"),
        (
            purchase(json!({ "member": m, "amount": 100, "tip": 1 })),
            422,
            "INVALID_FIELD",
        ),
        (
            purchase(json!({ "member": m, "amount": 100, "category": "cars" })),
            422,
            "INVALID_CATEGORY",
        ),
        (
            purchase(json!({ "member": {}, "amount": 100 })),
            422,
            "INVALID_FIELD",
        ),
        (
            purchase(
                json!({ "member": { "card_number": with_bad_check_digit(&card) }, "amount": 100 }),
            ),
            422,
            "INVALID_CARD_NUMBER",
        ),
        (
            purchase(json!({ "member": { "card_number": "12345" }, "amount": 100 })),
            422,
            "INVALID_CARD_NUMBER",
        ),
        (
            purchase(json!({ "member": { "phone": "12" }, "amount": 100 })),
            422,
            "INVALID_PHONE",
        ),
        (
            purchase(json!({ "member": { "card_number": unknown_card }, "amount": 100 })),
            404,
            "MEMBER_NOT_FOUND",
        ),
        (
            purchase(json!({ "member": { "phone": "+79990009999" }, "amount": 100 })),
            404,
            "MEMBER_NOT_FOUND",
        ),
        (
            purchase(json!({ "business_id": "not-a-uuid", "member": m, "amount": 100 })),
            422,
            "INVALID_ID",
        ),
        (
            pos(
                app,
                &c.key_a,
                "redemptions",
                "bad",
                &json!({ "member": { "qr_token": token }, "points": 10.5, "order_ref": "x" }),
            ),
            422,
            "INVALID_FIELD",
        ),
        (
            pos(
                app,
                &c.key_a,
                "redemptions",
                "bad",
                &json!({ "member": { "qr_token": token }, "points": 0, "order_ref": "x" }),
            ),
            422,
            "INVALID_POINTS",
        ),
        (
            pos(
                app,
                &c.key_a,
                "redemptions",
                "bad",
                &json!({ "member": { "qr_token": token }, "points": 10, "order_ref": "" }),
            ),
            422,
            "INVALID_ORDER_REF",
        ),
        (
            pos(
                app,
                &c.key_a,
                "redemptions",
                "bad",
                &json!({ "member": { "qr_token": token }, "points": 999_999, "order_ref": "x" }),
            ),
            409,
            "INSUFFICIENT_POINTS",
        ),
        (
            pos(
                app,
                &c.key_a,
                "compensations",
                "bad",
                &json!({ "member": m, "points": 10, "reason": "", "order_ref": "x" }),
            ),
            422,
            "INVALID_FIELD",
        ),
        (
            app.client
                .post("/api/v1/pos/purchases")
                .bearer(&c.key_a)
                .header("idempotency-key", "bad")
                .raw_json("{\"member\":")
                .send(),
            400,
            "MALFORMED_JSON",
        ),
        (
            app.client
                .post("/api/v1/pos/purchases")
                .bearer(&c.key_a)
                .header("idempotency-key", "bad")
                .body("amount=1")
                .send(),
            415,
            "UNSUPPORTED_MEDIA_TYPE",
        ),
        (
            app.client
                .post("/api/v1/pos/purchases")
                .bearer(&c.key_a)
                .header("idempotency-key", "bad")
                .raw_json(format!("{{\"pad\":\"{}\"}}", "x".repeat(2 << 20)))
                .send(),
            413,
            "PAYLOAD_TOO_LARGE",
        ),
        (
            app.client
                .post("/api/v1/pos/purchases")
                .bearer(&c.key_a)
                .json(&json!({ "member": m, "amount": 100 }))
                .send(),
            400,
            "IDEMPOTENCY_KEY_REQUIRED",
        ),
        (
            app.client
                .post("/api/v1/pos/identify")
                .bearer(&c.key_a)
                .json(&json!({ "phone": "+79161110001" }))
                .send(),
            422,
            "INVALID_FIELD",
        ),
        (app.client.get("/api/v1/wallet").send(), 401, "UNAUTHORIZED"),
        (
            app.client.get("/api/v1/wallet/qr").bearer("x.y.z").send(),
            401,
            "UNAUTHORIZED",
        ),
        (
            app.client
                .get("/api/v1/wallet/ledger?limit=1000")
                .bearer(&c.member.access)
                .send(),
            422,
            "INVALID_LIMIT",
        ),
        (
            app.client
                .get("/api/v1/wallet/ledger?cursor=zzz")
                .bearer(&c.member.access)
                .send(),
            422,
            "INVALID_CURSOR",
        ),
        (
            app.client
                .delete("/api/v1/wallet")
                .bearer(&c.member.access)
                .send(),
            405,
            "METHOD_NOT_ALLOWED",
        ),
    ];
    for (i, (resp, status, code)) in cases.iter().enumerate() {
        assert_eq!(
            (resp.status, resp.error_code().as_str()),
            (*status, *code),
            "case {i}: {}",
            resp.text()
        );
    }
    assert_eq!(snapshot(app), before, "bad input wrote something");
}
