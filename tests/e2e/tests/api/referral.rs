//! The referral program end to end through the host: A invites B, B's first
//! paid purchase arrives by webhook, both are rewarded after the hold; the
//! same payment delivered thirty times in parallel with a second purchase
//! racing it pays one reward pair; self-referral by device; manual payouts;
//! the admins' list and CSV; bad input on every route.

use std::{collections::HashMap, sync::Arc, thread, time::Duration};

use krug_e2e::{spawn_auth_app_with, AuthApp, TestResponse, Tokens};
use serde_json::{json, Value};

const SECRET: &str = "referral-webhook-secret";
const A: &str = "+79165550001";
const B: &str = "+79165550002";
const C: &str = "+79165550003";
const D: &str = "+79165550004";
const STAFF: &str = "+79165550005";
const HOLD: Duration = Duration::from_secs(15 * 24 * 3600);

struct Program {
    app: AuthApp,
    admin: Tokens,
    shop: String,
}

fn program(mode: &str) -> Program {
    let app = spawn_auth_app_with(HashMap::from([
        ("payments_webhook_secret".to_string(), SECRET.to_string()),
        ("referral_payout_mode".to_string(), mode.to_string()),
        ("referral_min_purchase".to_string(), "100000".to_string()),
        ("referral_reward_referrer".to_string(), "30000".to_string()),
        ("referral_reward_referred".to_string(), "10000".to_string()),
    ]));
    let admin = app.admin();
    let shop = app.create_business(&admin, "Market", "gastronomy");
    Program { app, admin, shop }
}

/// Registers `phone` with the referral code `code`, from `device`.
fn register(p: &Program, phone: &str, code: Option<&str>, device: Option<&str>) -> TestResponse {
    let otp = p.app.request_code(phone);
    let mut body = json!({
        "phone": phone, "code": otp, "first_name": "Friend",
        "consents": { "personal_data": true, "marketing": false },
    });
    if let Some(c) = code {
        body["referral_code"] = json!(c);
    }
    let mut req = p.app.client.post("/api/v1/auth/verify").json(&body);
    if let Some(d) = device {
        req = req.header("x-device-id", d);
    }
    req.send()
}

fn tokens(resp: &TestResponse) -> Tokens {
    assert_eq!(resp.status, 200, "{}", resp.text());
    krug_e2e::tokens_from(&resp.json())
}

fn me(p: &Program, who: &Tokens) -> Value {
    let resp = p
        .app
        .client
        .get("/api/v1/referrals/me")
        .bearer(&who.access)
        .send();
    assert_eq!(resp.status, 200, "{}", resp.text());
    resp.json()
}

fn paid_event(p: &Program, event: &str, payment: &str, member: &Tokens, amount: i64) -> Value {
    json!({ "id": event, "type": "payment.succeeded", "created": krug_e2e::unix_now(), "data": {
        "payment_id": payment, "order_ref": format!("o-{payment}"), "business_id": p.shop,
        "amount": amount, "currency": "RUB", "member_id": member.member_id } })
}

fn deliver(p: &Program, body: &Value, offset: i64) -> TestResponse {
    krug_e2e::deliver_generic(&p.app.client, SECRET, body.to_string(), offset)
}

fn list(p: &Program, query: &str) -> Value {
    let resp = p
        .app
        .client
        .get(&format!("/api/v1/admin/referrals{query}"))
        .bearer(&p.admin.access)
        .send();
    assert_eq!(resp.status, 200, "{}", resp.text());
    resp.json()
}

fn rewards(p: &Program, member: &Tokens) -> i64 {
    p.app.count(&format!(
        "SELECT COALESCE(SUM(amount), 0) FROM ledger_entries WHERE member_id = '{}' AND kind = 'reward'",
        member.member_id
    ))
}

#[test]
fn a_friends_first_paid_purchase_rewards_both_after_the_hold() {
    let p = program("auto");
    let a = p.app.login(A);
    let code = me(&p, &a)["code"].as_str().unwrap().to_string();
    let b = tokens(&register(
        &p,
        B,
        Some(&code.to_lowercase()),
        Some("phone-of-b"),
    ));
    assert_eq!(me(&p, &a)["invited"], 1);
    // Below the minimum: nothing yet.
    assert_eq!(
        deliver(&p, &paid_event(&p, "evt_1", "pay_1", &b, 99_999), 0).status,
        200
    );
    assert_eq!(me(&p, &a)["converted"], 0);
    assert_eq!(
        deliver(&p, &paid_event(&p, "evt_2", "pay_2", &b, 150_000), 0).status,
        200
    );
    let shown = me(&p, &a);
    assert_eq!(
        (
            shown["converted"].as_i64(),
            shown["pending_rewards"].as_i64()
        ),
        (Some(1), Some(1))
    );
    // The hold job pays nothing before the hold ends.
    p.app.run_job("referral-settle");
    assert_eq!(rewards(&p, &a), 0);
    p.app.host.advance_clock(HOLD);
    let report = p.app.run_job("referral-settle");
    assert_eq!(report["report"]["affected"], 1, "{report}");
    // Tokens issued before the clock moved have expired.
    let a = p.app.login(A);
    assert_eq!((rewards(&p, &a), rewards(&p, &b)), (30_000, 10_000));
    let shown = me(&p, &a);
    assert_eq!(
        (
            shown["rewarded"].as_i64(),
            shown["pending_rewards"].as_i64()
        ),
        (Some(1), Some(0))
    );
    // The rewards are spendable points in the wallet.
    let wallet = p
        .app
        .client
        .get("/api/v1/wallet")
        .bearer(&a.access)
        .send()
        .json();
    assert!(
        wallet["balance"]["available"].as_i64().unwrap() >= 30_000,
        "{wallet}"
    );
    p.app.run_job("referral-settle");
    assert_eq!(rewards(&p, &a), 30_000, "a second run pays nothing");
    p.app.assert_ledger_sound();
}

#[test]
fn thirty_deliveries_and_a_racing_second_purchase_pay_one_reward_pair() {
    let p = Arc::new(program("auto"));
    let a = p.app.login(A);
    let code = me(&p, &a)["code"].as_str().unwrap().to_string();
    let b = tokens(&register(&p, B, Some(&code), None));
    let first = paid_event(&p, "evt_race", "pay_race", &b, 200_000);
    let second = paid_event(&p, "evt_second", "pay_second", &b, 300_000);
    let handles: Vec<_> = (0..31)
        .map(|i| {
            let (p, body) = (
                Arc::clone(&p),
                if i == 15 {
                    second.clone()
                } else {
                    first.clone()
                },
            );
            thread::spawn(move || deliver(&p, &body, 0).status)
        })
        .collect();
    for h in handles {
        assert_eq!(h.join().unwrap(), 200);
    }
    assert_eq!(
        p.app
            .count("SELECT COUNT(*) FROM referrals WHERE state = 'paid'"),
        1
    );
    p.app.host.advance_clock(HOLD);
    let jobs: Vec<_> = (0..2)
        .map(|_| {
            let p = Arc::clone(&p);
            thread::spawn(move || p.app.run_job("referral-settle"))
        })
        .collect();
    for j in jobs {
        j.join().unwrap();
    }
    assert_eq!((rewards(&p, &a), rewards(&p, &b)), (30_000, 10_000));
    assert_eq!(
        p.app
            .count("SELECT COUNT(*) FROM ledger_entries WHERE kind = 'reward'"),
        2,
        "one reward pair"
    );
    p.app.assert_ledger_sound();
}

#[test]
fn self_referral_by_device_is_refused_with_its_reason() {
    let p = program("auto");
    let a = tokens(&register(&p, A, None, Some("shared-tablet")));
    let code = me(&p, &a)["code"].as_str().unwrap().to_string();
    let c = tokens(&register(&p, C, Some(&code), Some("shared-tablet")));
    let rows = list(&p, "?state=rejected");
    assert_eq!(rows["items"].as_array().unwrap().len(), 1, "{rows}");
    assert_eq!(rows["items"][0]["reason"], "same_device");
    assert_eq!(rows["items"][0]["referred_id"], c.member_id);
    assert_eq!(rows["totals"]["rejected"], 1);
    assert_eq!(me(&p, &a)["invited"], 0);
    // The rejected friend's purchase rewards nobody.
    deliver(&p, &paid_event(&p, "evt_c", "pay_c", &c, 500_000), 0);
    p.app.host.advance_clock(HOLD);
    p.app.run_job("referral-settle");
    assert_eq!(rewards(&p, &a), 0);
    // Only a hash of the device id is stored.
    assert_eq!(
        p.app
            .count("SELECT COUNT(*) FROM member_devices WHERE device_hash = 'shared-tablet'"),
        0
    );
    assert_eq!(p.app.count("SELECT COUNT(*) FROM member_devices"), 2);
}

fn payout(p: &Program, who: &Tokens, id: &str) -> TestResponse {
    p.app
        .client
        .post(&format!("/api/v1/admin/referrals/{id}/payout"))
        .bearer(&who.access)
        .send()
}

#[test]
fn manual_mode_waits_for_an_admin_who_pays_once() {
    let p = program("manual");
    let a = p.app.login(A);
    let code = me(&p, &a)["code"].as_str().unwrap().to_string();
    let b = tokens(&register(&p, B, Some(&code), None));
    deliver(&p, &paid_event(&p, "evt_m", "pay_m", &b, 100_000), 0);
    let id = list(&p, "")["items"][0]["id"].as_str().unwrap().to_string();
    let early = payout(&p, &p.admin, &id);
    assert_eq!(
        (early.status, early.error_code().as_str()),
        (409, "REFERRAL_NOT_DUE")
    );
    p.app.host.advance_clock(HOLD);
    p.app.run_job("referral-settle");
    assert_eq!(rewards(&p, &a), 0, "manual mode waits");
    // Tokens issued before the clock moved have expired.
    let p = Program {
        admin: p.app.admin(),
        ..p
    };
    // A signs in again, from a tablet D will register from later.
    let a = tokens(&register(&p, A, None, Some("family-tablet")));
    assert_eq!(list(&p, "")["items"][0]["payout"], "manual");
    let before = p.app.table_counts();
    assert_eq!(payout(&p, &a, &id).status, 403, "members cannot pay");
    assert_eq!(
        p.app
            .client
            .post(&format!("/api/v1/admin/referrals/{id}/payout"))
            .send()
            .status,
        401
    );
    assert_eq!(p.app.table_counts(), before);
    let paid = payout(&p, &p.admin, &id);
    assert_eq!(paid.status, 200, "{}", paid.text());
    assert_eq!(paid.json()["state"], "rewarded");
    assert_eq!(paid.json()["paid_out_by"], p.admin.member_id);
    assert_eq!((rewards(&p, &a), rewards(&p, &b)), (30_000, 10_000));
    let again = payout(&p, &p.admin, &id);
    assert_eq!(
        (again.status, again.error_code().as_str()),
        (409, "REFERRAL_ALREADY_PAID")
    );
    assert_eq!(
        payout(&p, &p.admin, "0190f0f0-0000-7000-8000-000000000000").status,
        404
    );
    assert_eq!(payout(&p, &p.admin, "not-an-id").status, 404);
    // A rejected referral (D shares A's tablet) is never paid.
    let d = tokens(&register(&p, D, Some(&code), Some("family-tablet")));
    let rejected = list(&p, "?state=rejected")["items"][0].clone();
    assert_eq!(rejected["referred_id"], d.member_id);
    let refused = payout(&p, &p.admin, rejected["id"].as_str().unwrap());
    assert_eq!(
        (refused.status, refused.error_code().as_str()),
        (409, "REFERRAL_REJECTED")
    );
    assert_eq!(
        p.app
            .count("SELECT COUNT(*) FROM audit_log WHERE action = 'referral.rewarded'"),
        1
    );
    assert_eq!(rewards(&p, &a), 30_000);
}

#[test]
fn the_admin_list_filters_pages_and_exports_csv_that_parses_back() {
    let p = program("auto");
    let a = p.app.login(A);
    let code = me(&p, &a)["code"].as_str().unwrap().to_string();
    let friends: Vec<Tokens> = [B, C, D]
        .iter()
        .map(|ph| tokens(&register(&p, ph, Some(&code), None)))
        .collect();
    deliver(
        &p,
        &paid_event(&p, "evt_l", "pay_l", &friends[0], 100_000),
        0,
    );
    let page = list(&p, "?limit=2");
    assert_eq!(page["items"].as_array().unwrap().len(), 2);
    assert_eq!(
        page["totals"],
        json!({"tracked": 2, "paid": 1, "rewarded": 0, "rejected": 0})
    );
    let next = page["next_cursor"].as_str().unwrap();
    let rest = list(&p, &format!("?limit=2&cursor={next}"));
    assert_eq!(rest["items"].as_array().unwrap().len(), 1);
    assert!(rest["next_cursor"].is_null());
    assert_eq!(
        list(&p, "?state=paid")["items"].as_array().unwrap().len(),
        1
    );
    assert_eq!(
        list(&p, &format!("?referrer={}", friends[1].member_id))["items"]
            .as_array()
            .unwrap()
            .len(),
        0
    );
    let csv = p
        .app
        .client
        .get("/api/v1/admin/referrals/export.csv")
        .bearer(&p.admin.access)
        .send();
    assert_eq!(csv.status, 200);
    assert!(csv.header("content-type").unwrap().starts_with("text/csv"));
    let text = csv.text();
    let text = text.strip_prefix('\u{feff}').expect("a byte-order mark");
    let rows: Vec<Vec<&str>> = text
        .split("\r\n")
        .filter(|l| !l.is_empty())
        .map(|l| l.split(',').collect())
        .collect();
    assert_eq!(rows[0][..4], ["id", "created_at", "state", "reason"]);
    assert_eq!(rows.len(), 4);
    let states: Vec<&str> = rows[1..].iter().map(|r| r[2]).collect();
    assert_eq!(states.iter().filter(|s| **s == "paid").count(), 1);
    assert!(rows[1..]
        .iter()
        .all(|r| r.len() == rows[0].len() && r[4] == a.member_id));
}

#[test]
fn bad_input_is_refused_with_nothing_written() {
    let p = program("auto");
    let a = p.app.login(A);
    let code = me(&p, &a)["code"].as_str().unwrap().to_string();
    let staff = p.app.staff_login(&p.admin, &p.shop, STAFF, "manager");
    let b = p.app.login(B);
    let card = p
        .app
        .client
        .get("/api/v1/wallet")
        .bearer(&b.access)
        .send()
        .json()["card_number"]
        .as_str()
        .unwrap()
        .to_string();
    let buy = |ref_code: &str| {
        p.app
            .client
            .post("/api/v1/pos/purchases")
            .bearer(&staff.access)
            .header("idempotency-key", &krug_e2e::random_hex(8))
            .json(&json!({ "member": { "card_number": card }, "amount": 150_000, "ref_code": ref_code }))
            .send()
    };
    let before = p.app.table_counts();
    for (bad, code_expected) in [
        ("12", "INVALID_REFERRAL_CODE"),
        ("IIIIIIII", "INVALID_REFERRAL_CODE"),
        ("ZZZZZZZZ", "REFERRAL_CODE_UNKNOWN"),
    ] {
        let resp = buy(bad);
        assert_eq!(
            (resp.status, resp.error_code().as_str()),
            (422, code_expected),
            "{bad}"
        );
        assert_eq!(resp.json()["error"]["details"]["field"], "ref_code");
    }
    // A code of an erased member.
    let c = p.app.login(C);
    let c_code = me(&p, &c)["code"].as_str().unwrap().to_string();
    let erased = p.app.client.delete("/api/v1/me").bearer(&c.access).send();
    assert!(erased.status < 300, "{}", erased.text());
    let before_erased = p.app.table_counts();
    let resp = buy(&c_code);
    assert_eq!(
        (resp.status, resp.error_code().as_str()),
        (422, "REFERRAL_CODE_UNKNOWN")
    );
    assert_eq!(p.app.table_counts(), before_erased);
    let _ = before;
    // A malformed device id at login.
    let otp = p.app.request_code(D);
    let resp = p
        .app
        .client
        .post("/api/v1/auth/verify")
        .header("x-device-id", "has spaces")
        .json(&json!({ "phone": D, "code": otp, "consents": { "personal_data": true, "marketing": false } }))
        .send();
    assert_eq!(resp.status, 422, "{}", resp.text());
    assert_eq!(
        p.app
            .count(&format!("SELECT COUNT(*) FROM members WHERE phone = '{D}'")),
        0
    );
    // Admin routes: filters, roles, auth.
    for q in [
        "?state=lost",
        "?from=yesterday",
        "?from=2026-02-01T00:00:00Z&to=2026-01-01T00:00:00Z",
        "?referrer=x",
        "?limit=0",
        "?cursor=",
    ] {
        let resp = p
            .app
            .client
            .get(&format!("/api/v1/admin/referrals{q}"))
            .bearer(&p.admin.access)
            .send();
        assert_eq!(resp.status, 422, "{q}: {}", resp.text());
    }
    for path in [
        "/api/v1/admin/referrals",
        "/api/v1/admin/referrals/export.csv",
    ] {
        assert_eq!(p.app.client.get(path).send().status, 401);
        assert_eq!(p.app.client.get(path).bearer(&a.access).send().status, 403);
        assert_eq!(
            p.app.client.get(path).bearer(&staff.access).send().status,
            403
        );
    }
    assert_eq!(p.app.client.get("/api/v1/referrals/me").send().status, 401);
    assert_eq!(
        p.app
            .client
            .get("/api/v1/referrals/me")
            .bearer("garbage")
            .send()
            .status,
        401
    );
    let (_, key) = p.app.issue_api_key(&p.admin, &p.shop);
    assert_eq!(
        p.app
            .client
            .get("/api/v1/referrals/me")
            .bearer(&key)
            .send()
            .status,
        403
    );
    // The erased member has no code any more.
    let gone = p
        .app
        .client
        .get("/api/v1/referrals/me")
        .bearer(&c.access)
        .send();
    assert!(gone.status == 401 || gone.status == 404, "{}", gone.text());
    let _ = code;
}

#[test]
fn the_referral_flag_gates_the_members_route() {
    let p = program("auto");
    let a = p.app.login(A);
    let off = p
        .app
        .client
        .request("PUT", "/api/v1/admin/flags/referral")
        .bearer(&p.admin.access)
        .json(&json!({ "enabled": false }))
        .send();
    assert_eq!(off.status, 200, "{}", off.text());
    let resp = p
        .app
        .client
        .get("/api/v1/referrals/me")
        .bearer(&a.access)
        .send();
    assert_eq!(
        (resp.status, resp.error_code().as_str()),
        (404, "FEATURE_DISABLED")
    );
    // The admins' list is not gated.
    assert_eq!(list(&p, "")["items"], json!([]));
}

mod saleor {
    //! Saleor's signed order webhooks: a payload signed with a test RSA key
    //! served by a mock JWKS endpoint is processed once; a tampered body, an
    //! unknown key, `alg: none` or HS256 is 401 with nothing written; a new
    //! `kid` is fetched once and accepted.

    use krug_e2e::saleor::{b64, first_key, jwk, rotated_key, sign, Jwks};
    use krug_e2e::{spawn_auth_app_with, AuthApp, TestResponse, Tokens};
    use serde_json::{json, Value};
    use std::collections::HashMap;

    struct Shop {
        app: AuthApp,
        jwks: Jwks,
        business: String,
    }

    fn shop() -> Shop {
        let jwks = Jwks::start();
        let app = spawn_auth_app_with(HashMap::from([
            ("saleor_api_url".to_string(), jwks.server.url()),
            ("saleor_business_id".to_string(), BUSINESS.to_string()),
            ("referral_payout_mode".to_string(), "auto".to_string()),
        ]));
        let admin = app.admin();
        let business = app.create_business(&admin, "Saleor Shop", "home");
        // Settings are read when the host starts, before any business
        // exists: give the new business the id the shop was configured with.
        let renamed = rusqlite_exec(
            &app,
            &format!("UPDATE businesses SET id = '{BUSINESS}' WHERE id = '{business}'"),
        );
        assert_eq!(renamed, 1);
        Shop {
            app,
            jwks,
            business: BUSINESS.to_string(),
        }
    }

    const BUSINESS: &str = "0190f0f0-0000-7000-8000-00000000beef";

    fn rusqlite_exec(app: &AuthApp, sql: &str) -> usize {
        let conn = rusqlite::Connection::open(app.db_path()).unwrap();
        conn.execute(sql, []).unwrap()
    }

    fn order(event_total: &str, email: &str, ref_code: Option<&str>) -> Value {
        let mut metadata = vec![json!({ "key": "source", "value": "app" })];
        if let Some(c) = ref_code {
            metadata.push(json!({ "key": "ref_code", "value": c }));
        }
        json!({ "order": {
            "id": "T3JkZXI6MQ==", "number": "1001", "created": "2026-12-01T10:00:00+00:00",
            "chargeStatus": "FULL", "userEmail": email, "user": { "email": email },
            "billingAddress": { "phone": "+79160000000" },
            "total": { "gross": { "amount": event_total.parse::<f64>().unwrap(), "currency": "RUB" } },
            "metadata": metadata,
            "lines": [{ "productSku": "DRESS-1", "productName": "Платье", "quantity": 1,
                        "unitPrice": { "gross": { "amount": event_total.parse::<f64>().unwrap() } } }],
        } })
    }

    fn deliver(s: &Shop, event: &str, body: &[u8], signature: &str) -> TestResponse {
        s.app
            .client
            .post("/webhooks/saleor")
            .header("saleor-event", event)
            .header("saleor-signature", signature)
            .header(
                "saleor-api-url",
                &format!("{}/graphql/", s.jwks.server.url()),
            )
            .raw_json(body.to_vec())
            .send()
    }

    fn jwks_fetches(s: &Shop) -> usize {
        s.jwks.fetches()
    }

    fn referral_code(s: &Shop, who: &Tokens) -> String {
        s.app
            .client
            .get("/api/v1/referrals/me")
            .bearer(&who.access)
            .send()
            .json()["code"]
            .as_str()
            .unwrap()
            .to_string()
    }

    #[test]
    fn a_signed_paid_order_is_a_purchase_and_captures_the_referral_once() {
        let s = shop();
        let a = s.app.login(super::A);
        let b = s.app.login(super::B);
        let set = s
            .app
            .client
            .patch("/api/v1/me")
            .bearer(&b.access)
            .json(&json!({ "email": "Boris@Shop.ru" }))
            .send();
        assert_eq!(set.status, 200, "{}", set.text());
        let body = order(
            "1500.50",
            "boris@shop.ru",
            Some(&referral_code(&s, &a).to_lowercase()),
        )
        .to_string();
        let sig = sign(first_key(), "k1", body.as_bytes());
        let first = deliver(&s, "order_paid", body.as_bytes(), &sig);
        assert_eq!(
            (first.status, first.json()["status"].as_str()),
            (200, Some("processed")),
            "{}",
            first.text()
        );
        for _ in 0..3 {
            assert_eq!(
                deliver(&s, "order_paid", body.as_bytes(), &sig).json()["status"],
                "duplicate"
            );
        }
        assert_eq!(jwks_fetches(&s), 1, "the key set is cached");
        assert_eq!(
            s.app.count(&format!(
                "SELECT COUNT(*) FROM purchases WHERE member_id = '{}' AND amount = 150050 AND business_id = '{}'",
                b.member_id, s.business
            )),
            1
        );
        assert_eq!(
            s.app
                .count("SELECT COUNT(*) FROM purchase_lines WHERE sku = 'DRESS-1'"),
            1
        );
        assert_eq!(
            s.app.count(&format!(
                "SELECT COUNT(*) FROM referrals WHERE referrer_id = '{}' AND referred_id = '{}' AND source = 'purchase' AND state = 'paid'",
                a.member_id, b.member_id
            )),
            1
        );
        // A full refund within the hold: the purchase is refunded and the
        // referral is rejected when the hold ends.
        let refund = order("1500.50", "boris@shop.ru", None).to_string();
        let resp = deliver(
            &s,
            "order_fully_refunded",
            refund.as_bytes(),
            &sign(first_key(), "k1", refund.as_bytes()),
        );
        assert_eq!(resp.json()["status"], "processed", "{}", resp.text());
        assert_eq!(
            s.app
                .count("SELECT refunded_amount FROM purchases WHERE amount = 150050"),
            150_050
        );
        s.app.host.advance_clock(super::HOLD);
        s.app.run_job("referral-settle");
        assert_eq!(
            s.app.count(
                "SELECT COUNT(*) FROM referrals WHERE state = 'rejected' AND reason = 'refunded'"
            ),
            1
        );
        // Events Krug does not handle are acknowledged.
        let other = br#"{"order":{"id":"x"}}"#;
        assert_eq!(
            deliver(&s, "order_created", other, &sign(first_key(), "k1", other)).json()["status"],
            "ignored"
        );
        s.app.assert_ledger_sound();
    }

    #[test]
    fn bad_signatures_are_401_and_write_nothing() {
        let s = shop();
        let body = order("1000", "nobody@shop.ru", None).to_string();
        let good = sign(first_key(), "k1", body.as_bytes());
        let before = s.app.table_counts();
        let tampered = body.replace("1000", "9000");
        let header = |h: &str| format!("{}..{}", b64(h), b64(b"sig"));
        let hs256 = hmac_free::hs256(&header(r#"{"alg":"HS256","kid":"k1"}"#));
        for (what, sig, payload) in [
            ("tampered body", good.clone(), tampered.clone()),
            (
                "unknown key",
                sign(rotated_key(), "k9", body.as_bytes()),
                body.clone(),
            ),
            (
                "alg none",
                header(r#"{"alg":"none","b64":false,"crit":["b64"],"kid":"k1"}"#),
                body.clone(),
            ),
            ("HS256", hs256, body.clone()),
            ("garbage", "not-a-jws".to_string(), body.clone()),
        ] {
            let resp = deliver(&s, "order_paid", payload.as_bytes(), &sig);
            assert_eq!(resp.status, 401, "{what}: {}", resp.text());
        }
        let missing = s
            .app
            .client
            .post("/webhooks/saleor")
            .header("saleor-event", "order_paid")
            .raw_json(body.clone())
            .send();
        assert_eq!(missing.status, 401);
        // Only the rejection counters moved.
        let mut after = s.app.table_counts();
        let mut expected = before.clone();
        expected.insert("webhook_counters".into(), after["webhook_counters"]);
        after.insert("webhook_counters".into(), after["webhook_counters"]);
        assert_eq!(after, expected);
        assert_eq!(s.app.count("SELECT count FROM webhook_counters WHERE provider = 'saleor' AND outcome = 'rejected'"), 6);
        // The unknown kid cost exactly one refetch.
        assert_eq!(jwks_fetches(&s), 2);
    }

    #[test]
    fn a_rotated_key_is_fetched_once_and_accepted() {
        let s = shop();
        let b = s.app.login(super::B);
        s.app
            .client
            .patch("/api/v1/me")
            .bearer(&b.access)
            .json(&json!({ "email": "b@shop.ru" }))
            .send();
        let body = order("2000", "b@shop.ru", None).to_string();
        assert_eq!(
            deliver(
                &s,
                "order_paid",
                body.as_bytes(),
                &sign(first_key(), "k1", body.as_bytes())
            )
            .status,
            200
        );
        assert_eq!(jwks_fetches(&s), 1);
        // The shop rotates to k2.
        s.jwks.keys.lock().unwrap().push(jwk(rotated_key(), "k2"));
        let refund = order("2000", "b@shop.ru", None).to_string();
        let resp = deliver(
            &s,
            "order_fully_refunded",
            refund.as_bytes(),
            &sign(rotated_key(), "k2", refund.as_bytes()),
        );
        assert_eq!(resp.status, 200, "{}", resp.text());
        assert_eq!(jwks_fetches(&s), 2, "one refetch for the new kid");
        let again = b"{\"order\":{\"id\":\"y\"}}";
        deliver(
            &s,
            "order_created",
            again,
            &sign(rotated_key(), "k2", again),
        );
        assert_eq!(jwks_fetches(&s), 2, "the new key is cached");
    }

    #[test]
    fn without_a_configured_shop_the_route_is_404() {
        let app = spawn_auth_app_with(HashMap::new());
        let resp = app.client.post("/webhooks/saleor").raw_json("{}").send();
        assert_eq!(
            (resp.status, resp.error_code().as_str()),
            (404, "SALEOR_NOT_CONFIGURED")
        );
    }

    mod hmac_free {
        //! The classic confusion: an HS256 "signature" keyed with the
        //! public key's bytes. Built with SHA-256 by hand (HMAC's two
        //! passes), so the test needs no HMAC crate.
        use krug_e2e::saleor::{b64, first_key};
        use rsa::traits::PublicKeyParts;
        use sha2::{Digest, Sha256};

        pub fn hs256(header_and_sig: &str) -> String {
            let protected = header_and_sig.split("..").next().unwrap().to_string();
            let key = first_key().n().to_bytes_be();
            let mut k = if key.len() > 64 {
                Sha256::digest(&key).to_vec()
            } else {
                key
            };
            k.resize(64, 0);
            let inner: Vec<u8> = k.iter().map(|b| b ^ 0x36).collect();
            let outer: Vec<u8> = k.iter().map(|b| b ^ 0x5c).collect();
            let mut h = Sha256::new();
            h.update(&inner);
            h.update(format!("{protected}.").as_bytes());
            let inner_hash = h.finalize();
            let mut h = Sha256::new();
            h.update(&outer);
            h.update(inner_hash);
            format!("{protected}..{}", b64(h.finalize()))
        }
    }
}
