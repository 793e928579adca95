//! Checkout promos end to end through the host: promos created by an admin
//! and an owner, quotes, reservations, commit at the till, release and
//! expiry, limits and budgets under racing checkouts, the unknown-code
//! limit, owners confined to their business, banners, and bad input.

use std::{collections::BTreeMap, thread, time::Duration};

use krug_e2e::{spawn_auth_app, AuthApp, Cast, Club, TestResponse, Tokens};
use serde_json::{json, Value};

const MEMBER: &str = "+79162220001";
const OWNER_A: &str = "+79162220002";
const OWNER_B: &str = "+79162220003";

/// Business A (floristry) and B (optics) with an owner each, an API key of
/// A, and one member.
fn shop() -> Club {
    Club::open(
        spawn_auth_app(),
        &Cast {
            a: ("Flowers A", "floristry"),
            b: ("Optics B", "optics"),
            role: "owner",
            phones: [OWNER_A, OWNER_B, MEMBER],
        },
    )
}

fn create_promo(app: &AuthApp, who: &Tokens, body: Value) -> String {
    let resp = app
        .client
        .post("/api/v1/admin/promos")
        .bearer(&who.access)
        .json(&body)
        .send();
    assert_eq!(resp.status, 201, "{}", resp.text());
    resp.json()["id"].as_str().unwrap().to_string()
}

fn cart(business: &str, codes: &[&str]) -> Value {
    json!({
        "business_id": business,
        "channel": "app",
        "items": [
            { "sku": "ROSE", "category": "floristry", "quantity": 3, "unit_price": 10_000 },
            { "sku": "VASE", "category": "home", "quantity": 1, "unit_price": 25_000 }
        ],
        "promo_codes": codes,
    })
}

fn post(app: &AuthApp, path: &str, who: &str, body: &Value) -> TestResponse {
    app.client.post(path).bearer(who).json(body).send()
}

fn reserve(
    app: &AuthApp,
    who: &Tokens,
    business: &str,
    codes: &[&str],
    order: &str,
) -> TestResponse {
    let mut body = cart(business, codes);
    body["order_ref"] = json!(order);
    post(app, "/api/v1/checkout/reservations", &who.access, &body)
}

#[test]
fn quote_reserve_commit_and_the_limit_is_reached() {
    let s = shop();
    let app = &s.app;
    // The owner's 10 % off flowers, twice per member; the admin's
    // network-wide auto campaign: 5 000 off any cart over 400 ₽, stackable.
    create_promo(
        app,
        &s.staff_a,
        json!({ "code": "Spring10", "name": "Spring", "kind": "percent", "value": 10,
                "conditions": { "categories": ["floristry"] }, "limits": { "per_member": 2 } }),
    );
    create_promo(
        app,
        &s.admin,
        json!({ "name": "Club welcome", "kind": "fixed", "value": 5_000, "auto": true, "stackable": true,
                "conditions": { "min_subtotal": 40_000 } }),
    );

    let q = post(
        app,
        "/api/v1/checkout/quote",
        &s.member.access,
        &cart(&s.a, &["spring10", "NOPE"]),
    );
    assert_eq!(q.status, 200, "{}", q.text());
    let q = q.json();
    assert_eq!(q["subtotal"], 55_000);
    // 10 % of the 30 000 of roses, then 5 000 spread over what is left.
    assert_eq!(q["discount_total"], 3_000 + 5_000);
    assert_eq!(q["total"], 47_000);
    assert_eq!(
        q["rejected"],
        json!([{ "code": "NOPE", "reason": "UNKNOWN_CODE" }])
    );
    let lines: i64 = q["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["discount"].as_i64().unwrap())
        .sum();
    assert_eq!(lines, 8_000, "line discounts sum to the total discount");
    assert_eq!(q["applied"].as_array().unwrap().len(), 2);

    // Two reservations use the per-member limit; the third is refused.
    let r1 = reserve(app, &s.member, &s.a, &["SPRING10"], "ord-1");
    assert_eq!(r1.status, 201, "{}", r1.text());
    let r1 = r1.json();
    assert_eq!(r1["status"], "held");
    assert_eq!(r1["total"], 47_000);
    let r2 = reserve(app, &s.member, &s.a, &["SPRING10"], "ord-2");
    assert_eq!(r2.status, 201, "{}", r2.text());
    let r3 = reserve(app, &s.member, &s.a, &["SPRING10"], "ord-3");
    assert_eq!(
        (r3.status, r3.error_code().as_str()),
        (409, "PROMO_LIMIT_REACHED")
    );
    // One live reservation per order.
    let again = reserve(app, &s.member, &s.a, &[], "ord-1");
    assert_eq!(
        (again.status, again.error_code().as_str()),
        (409, "ORDER_ALREADY_RESERVED")
    );

    // The till commits the first: a paid purchase of the reserved total.
    let id = r1["reservation_id"].as_str().unwrap();
    let commit = app
        .client
        .post(&format!("/api/v1/checkout/reservations/{id}/commit"))
        .bearer(&s.key_a)
        .send();
    assert_eq!(commit.status, 200, "{}", commit.text());
    let done = commit.json();
    assert_eq!(done["status"], "committed");
    assert!(done["points_earned"].as_i64().unwrap() > 0);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM purchases WHERE amount = 47000 AND source = 'checkout'"),
        1
    );
    // Committing twice answers the same, with no second purchase.
    let twice = app
        .client
        .post(&format!("/api/v1/checkout/reservations/{id}/commit"))
        .bearer(&s.key_a)
        .send();
    assert_eq!(twice.status, 200);
    assert_eq!(app.count("SELECT COUNT(*) FROM purchases"), 1);
    // A committed reservation cannot be released; another business's key
    // cannot even see it.
    let del = app
        .client
        .delete(&format!("/api/v1/checkout/reservations/{id}"))
        .bearer(&s.member.access)
        .send();
    assert_eq!(
        (del.status, del.error_code().as_str()),
        (409, "RESERVATION_COMMITTED")
    );
    let (_, key_b) = app.issue_api_key(&s.admin, &s.b);
    let other = app
        .client
        .post(&format!("/api/v1/checkout/reservations/{id}/commit"))
        .bearer(&key_b)
        .send();
    assert_eq!(other.status, 404);

    // Usage is visible to the owner.
    let list = app
        .client
        .get("/api/v1/admin/promos")
        .bearer(&s.staff_a.access)
        .send()
        .json();
    assert_eq!(
        list["items"].as_array().unwrap().len(),
        1,
        "an owner sees their own promos only"
    );
    assert_eq!(list["items"][0]["usage"]["uses"], 2);
}

#[test]
fn two_hundred_racing_reservations_hold_exactly_ten_uses() {
    let s = shop();
    let app = &s.app;
    create_promo(
        app,
        &s.admin,
        json!({ "code": "TEN", "name": "Ten only", "kind": "fixed", "value": 1_000, "limits": { "total": 10 } }),
    );
    let handles: Vec<_> = (0..200)
        .map(|i| {
            let client = app.client;
            let token = s.member.access.clone();
            let mut body = cart(&s.a, &["TEN"]);
            body["order_ref"] = json!(format!("race-{i}"));
            thread::spawn(move || {
                client
                    .post("/api/v1/checkout/reservations")
                    .bearer(&token)
                    .json(&body)
                    .send()
            })
        })
        .collect();
    let mut by: BTreeMap<(u16, String), usize> = BTreeMap::new();
    for h in handles {
        let r = h.join().unwrap();
        let code = if r.status == 201 {
            String::new()
        } else {
            r.error_code()
        };
        *by.entry((r.status, code)).or_default() += 1;
    }
    assert_eq!(by.get(&(201, String::new())), Some(&10), "{by:?}");
    assert_eq!(
        by.get(&(409, "PROMO_LIMIT_REACHED".into())),
        Some(&190),
        "{by:?}"
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM promo_uses WHERE status = 'held'"),
        10
    );
    assert_eq!(
        app.count("SELECT uses FROM promo_counters"),
        10,
        "the counter the racing reservations read"
    );
    app.assert_ledger_sound();
}

#[test]
fn release_and_expiry_free_the_uses_and_the_budget_runs_out_mid_stream() {
    let s = shop();
    let app = &s.app;
    create_promo(
        app,
        &s.admin,
        json!({ "code": "ONE", "name": "Single use", "kind": "fixed", "value": 1_000, "limits": { "total": 1 } }),
    );
    let r = reserve(app, &s.member, &s.a, &["ONE"], "o-1");
    assert_eq!(r.status, 201, "{}", r.text());
    let id = r.json()["reservation_id"].as_str().unwrap().to_string();
    assert_eq!(reserve(app, &s.member, &s.a, &["ONE"], "o-2").status, 409);
    let del = app
        .client
        .delete(&format!("/api/v1/checkout/reservations/{id}"))
        .bearer(&s.member.access)
        .send();
    assert_eq!(del.status, 204);
    let read = app
        .client
        .get(&format!("/api/v1/checkout/reservations/{id}"))
        .bearer(&s.member.access)
        .send();
    assert_eq!(read.json()["status"], "released");
    let r = reserve(app, &s.member, &s.a, &["ONE"], "o-3");
    assert_eq!(r.status, 201, "released uses are free again: {}", r.text());
    // Fifteen minutes on, the hold lapses and the job frees it.
    app.host.advance_clock(Duration::from_secs(16 * 60));
    let report = app.run_job("expire-reservations");
    assert_eq!(report["report"]["affected"], 1, "{report}");
    let member = app.login(MEMBER);
    let admin = app.admin();
    assert_eq!(reserve(app, &member, &s.a, &["ONE"], "o-4").status, 201);

    // A budget of 25 000: 10 000, 10 000, then the last 5 000, then none.
    create_promo(
        app,
        &admin,
        json!({ "code": "BUDGET", "name": "Budgeted", "kind": "fixed", "value": 10_000, "limits": { "budget": 25_000 } }),
    );
    let discounts: Vec<Value> = (0..3)
        .map(|i| {
            let r = reserve(app, &member, &s.a, &["BUDGET"], &format!("b-{i}"));
            assert_eq!(r.status, 201, "{}", r.text());
            r.json()["discount_total"].clone()
        })
        .collect();
    assert_eq!(discounts, vec![json!(10_000), json!(10_000), json!(5_000)]);
    let r = reserve(app, &member, &s.a, &["BUDGET"], "b-3");
    assert_eq!(
        (r.status, r.error_code().as_str()),
        (409, "PROMO_BUDGET_EXHAUSTED")
    );
    let q = post(
        app,
        "/api/v1/checkout/quote",
        &member.access,
        &cart(&s.a, &["BUDGET"]),
    )
    .json();
    assert_eq!(
        q["rejected"],
        json!([{ "code": "BUDGET", "reason": "BUDGET_EXHAUSTED" }])
    );
    // Release, expiry and new holds kept every counter equal to its uses.
    app.assert_ledger_sound();
}

#[test]
fn more_than_ten_unknown_codes_an_hour_is_429() {
    let s = shop();
    let app = &s.app;
    create_promo(
        app,
        &s.admin,
        json!({ "code": "REAL", "name": "Real", "kind": "percent", "value": 5 }),
    );
    for i in 0..10 {
        let guess = format!("GUESS{i}");
        let r = post(
            app,
            "/api/v1/checkout/quote",
            &s.member.access,
            &cart(&s.a, &[guess.as_str()]),
        );
        assert_eq!(r.status, 200, "guess {i}: {}", r.text());
    }
    // The 11th guess is refused, and so is a real code: a hit cannot be
    // told from a miss once the allowance is used.
    let r = post(
        app,
        "/api/v1/checkout/quote",
        &s.member.access,
        &cart(&s.a, &["GUESS10"]),
    );
    assert_eq!(
        (r.status, r.error_code().as_str()),
        (429, "TOO_MANY_UNKNOWN_CODES")
    );
    assert!(r.header("retry-after").is_some());
    let r = post(
        app,
        "/api/v1/checkout/quote",
        &s.member.access,
        &cart(&s.a, &["REAL"]),
    );
    assert_eq!(r.status, 429);
    // A cart without codes still prices.
    assert_eq!(
        post(
            app,
            "/api/v1/checkout/quote",
            &s.member.access,
            &cart(&s.a, &[])
        )
        .status,
        200
    );
    // An hour later the allowance is back.
    app.host.advance_clock(Duration::from_secs(3601));
    let member = app.login(MEMBER);
    let r = post(
        app,
        "/api/v1/checkout/quote",
        &member.access,
        &cart(&s.a, &["REAL"]),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["discount_total"], 2_750);
}

#[test]
fn owners_manage_their_own_business_and_only_admins_go_network_wide() {
    let s = shop();
    let app = &s.app;
    let a_promo = create_promo(
        app,
        &s.staff_a,
        json!({ "code": "AONLY", "name": "A", "kind": "fixed", "value": 100 }),
    );
    // Owner B can neither see nor edit A's promo.
    let r = app
        .client
        .get(&format!("/api/v1/admin/promos/{a_promo}"))
        .bearer(&s.staff_b.access)
        .send();
    assert_eq!(r.status, 404);
    let r = app
        .client
        .patch(&format!("/api/v1/admin/promos/{a_promo}"))
        .bearer(&s.staff_b.access)
        .json(&json!({ "value": 100_000 }))
        .send();
    assert_eq!(r.status, 404);
    // Nor create one for A (an owner's empty list means their own business).
    let r = post(
        app,
        "/api/v1/admin/promos",
        &s.staff_b.access,
        &json!({ "code": "BFORA", "name": "x", "kind": "fixed", "value": 1, "businesses": [s.a] }),
    );
    assert_eq!((r.status, r.error_code().as_str()), (403, "FORBIDDEN"));
    // A member and an API key are not managers.
    let r = post(
        app,
        "/api/v1/admin/promos",
        &s.member.access,
        &json!({ "code": "MEME", "name": "x", "kind": "fixed", "value": 1 }),
    );
    assert_eq!(r.status, 403);
    let r = post(
        app,
        "/api/v1/admin/promos",
        &s.key_a,
        &json!({ "code": "KEYS", "name": "x", "kind": "fixed", "value": 1 }),
    );
    assert_eq!(r.status, 403);
    // Owner A edits their own; the code stays unique case-insensitively.
    let r = app
        .client
        .patch(&format!("/api/v1/admin/promos/{a_promo}"))
        .bearer(&s.staff_a.access)
        .json(&json!({ "value": 200, "active": false }))
        .send();
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        (r.json()["value"].clone(), r.json()["active"].clone()),
        (json!(200), json!(false))
    );
    let r = post(
        app,
        "/api/v1/admin/promos",
        &s.admin.access,
        &json!({ "code": "aonly", "name": "dup", "kind": "fixed", "value": 1 }),
    );
    assert_eq!(
        (r.status, r.error_code().as_str()),
        (409, "PROMO_CODE_TAKEN")
    );
    // B's promo at A's till is not eligible.
    create_promo(
        app,
        &s.staff_b,
        json!({ "code": "BONLY", "name": "B", "kind": "fixed", "value": 100 }),
    );
    let q = post(
        app,
        "/api/v1/checkout/quote",
        &s.member.access,
        &cart(&s.a, &["BONLY"]),
    )
    .json();
    assert_eq!(
        q["rejected"],
        json!([{ "code": "BONLY", "reason": "NOT_ELIGIBLE_BUSINESS" }])
    );
    let audit = app.count("SELECT COUNT(*) FROM audit_log WHERE action LIKE 'promo.%'");
    assert_eq!(audit, 3);
}

#[test]
fn banners_by_placement_schedule_and_tier() {
    let s = shop();
    let app = &s.app;
    let banner = |who: &Tokens, body: Value| {
        let r = post(app, "/api/v1/admin/banners", &who.access, &body);
        assert_eq!(r.status, 201, "{}", r.text());
        r.json()["id"].as_str().unwrap().to_string()
    };
    banner(
        &s.admin,
        json!({ "placement": "home", "title": "Welcome", "priority": 1 }),
    );
    banner(
        &s.staff_a,
        json!({ "placement": "home", "title": "Roses week", "priority": 5, "link_url": "/b/roses" }),
    );
    banner(
        &s.admin,
        json!({ "placement": "home", "title": "VIP night", "min_tier": "vip" }),
    );
    banner(
        &s.admin,
        json!({ "placement": "home", "title": "Old", "ends_at": "2020-01-01T00:00:00Z" }),
    );
    let off = banner(
        &s.admin,
        json!({ "placement": "category:floristry", "title": "Flowers" }),
    );
    let r = app
        .client
        .get("/api/v1/banners?placement=home")
        .bearer(&s.member.access)
        .send();
    assert_eq!(r.status, 200, "{}", r.text());
    let titles: Vec<String> = r.json()["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["title"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(titles, vec!["Roses week", "Welcome"]);
    let r = app
        .client
        .patch(&format!("/api/v1/admin/banners/{off}"))
        .bearer(&s.admin.access)
        .json(&json!({ "active": false }))
        .send();
    assert_eq!(r.status, 200, "{}", r.text());
    let r = app
        .client
        .get("/api/v1/banners?placement=category:floristry")
        .bearer(&s.member.access)
        .send();
    assert_eq!(r.json()["items"], json!([]));
    let r = app
        .client
        .get("/api/v1/banners?placement=sidebar")
        .bearer(&s.member.access)
        .send();
    assert_eq!(
        (r.status, r.error_code().as_str()),
        (422, "INVALID_PLACEMENT")
    );
    let r = app
        .client
        .patch(&format!("/api/v1/admin/banners/{off}"))
        .bearer(&s.staff_b.access)
        .json(&json!({ "active": true }))
        .send();
    assert_eq!(r.status, 404, "owners touch their own banners only");
}

#[test]
fn bad_input_is_refused_with_a_clear_4xx_and_writes_nothing() {
    let s = shop();
    let app = &s.app;
    let tables = [
        "promos",
        "reservations",
        "promo_uses",
        "banners",
        "purchases",
        "promo_code_misses",
    ];
    let snapshot = || {
        tables
            .iter()
            .map(|t| app.count(&format!("SELECT COUNT(*) FROM {t}")))
            .collect::<Vec<_>>()
    };
    let before = snapshot();
    let m = &s.member.access;
    let with = |f: &dyn Fn(&mut Value)| {
        let mut c = cart(&s.a, &[]);
        c["order_ref"] = json!("bad");
        f(&mut c);
        c
    };
    let big: Vec<Value> = (0..10_000).map(|i| json!({ "sku": format!("S{i}"), "category": "home", "quantity": 1, "unit_price": 1 })).collect();
    let promo = |body: Value| post(app, "/api/v1/admin/promos", &s.admin.access, &body);
    let cases: Vec<(TestResponse, u16, &str)> = vec![
        (
            post(
                app,
                "/api/v1/checkout/reservations",
                m,
                &with(&|c| c["items"][0]["unit_price"] = json!(-1)),
            ),
            422,
            "INVALID_AMOUNT",
        ),
        (
            post(
                app,
                "/api/v1/checkout/reservations",
                m,
                &with(&|c| c["items"][0]["quantity"] = json!(0)),
            ),
            422,
            "INVALID_QUANTITY",
        ),
        (
            post(
                app,
                "/api/v1/checkout/reservations",
                m,
                &with(&|c| c["items"][0]["quantity"] = json!(-3)),
            ),
            422,
            "INVALID_QUANTITY",
        ),
        (
            post(
                app,
                "/api/v1/checkout/reservations",
                m,
                &with(&|c| c["items"][0]["quantity"] = json!(1.5)),
            ),
            422,
            "INVALID_FIELD",
        ),
        (
            post(
                app,
                "/api/v1/checkout/reservations",
                m,
                &with(&|c| c["items"] = json!(big)),
            ),
            422,
            "TOO_MANY_ITEMS",
        ),
        (
            post(
                app,
                "/api/v1/checkout/reservations",
                m,
                &with(&|c| c["items"] = json!([])),
            ),
            422,
            "INVALID_FIELD",
        ),
        (
            post(
                app,
                "/api/v1/checkout/reservations",
                m,
                &with(&|c| c["business_id"] = json!("0191e6a0-0000-7000-8000-000000000000")),
            ),
            404,
            "BUSINESS_NOT_FOUND",
        ),
        (
            post(
                app,
                "/api/v1/checkout/reservations",
                m,
                &with(&|c| c["business_id"] = json!("nope")),
            ),
            422,
            "INVALID_ID",
        ),
        (
            post(
                app,
                "/api/v1/checkout/reservations",
                m,
                &with(&|c| c["channel"] = json!("fax")),
            ),
            422,
            "INVALID_CHANNEL",
        ),
        (
            post(
                app,
                "/api/v1/checkout/reservations",
                m,
                &with(&|c| c["items"][0]["category"] = json!("cars")),
            ),
            422,
            "INVALID_CATEGORY",
        ),
        (
            post(
                app,
                "/api/v1/checkout/reservations",
                m,
                &with(&|c| c["points"] = json!(-5)),
            ),
            422,
            "INVALID_POINTS",
        ),
        (
            post(
                app,
                "/api/v1/checkout/reservations",
                m,
                &with(&|c| c["surprise"] = json!(1)),
            ),
            422,
            "INVALID_FIELD",
        ),
        (
            post(
                app,
                "/api/v1/checkout/reservations",
                m,
                &with(&|c| {
                    c.as_object_mut().unwrap().remove("order_ref");
                }),
            ),
            422,
            "INVALID_FIELD",
        ),
        (
            app.client
                .post("/api/v1/checkout/quote")
                .bearer(m)
                .raw_json("{\"items\": [")
                .send(),
            400,
            "MALFORMED_JSON",
        ),
        (
            app.client
                .post("/api/v1/checkout/quote")
                .bearer(m)
                .body("items=1")
                .send(),
            415,
            "UNSUPPORTED_MEDIA_TYPE",
        ),
        (
            app.client
                .post("/api/v1/checkout/quote")
                .json(&cart(&s.a, &[]))
                .send(),
            401,
            "UNAUTHORIZED",
        ),
        (
            app.client
                .post("/api/v1/checkout/quote")
                .bearer("garbage")
                .json(&cart(&s.a, &[]))
                .send(),
            401,
            "UNAUTHORIZED",
        ),
        (
            app.client
                .post("/api/v1/checkout/quote")
                .bearer(&s.key_a)
                .json(&cart(&s.a, &[]))
                .send(),
            403,
            "FORBIDDEN",
        ),
        (
            app.client
                .get("/api/v1/checkout/reservations/0191e6a0-0000-7000-8000-000000000000")
                .bearer(m)
                .send(),
            404,
            "RESERVATION_NOT_FOUND",
        ),
        (
            app.client
                .post("/api/v1/checkout/reservations/0191e6a0-0000-7000-8000-000000000000/commit")
                .bearer(&s.key_a)
                .send(),
            404,
            "RESERVATION_NOT_FOUND",
        ),
        (
            app.client
                .post("/api/v1/checkout/reservations/x/commit")
                .bearer(m)
                .send(),
            403,
            "FORBIDDEN",
        ),
        (
            promo(json!({ "code": "X1", "name": "x", "kind": "percent", "value": 5 })),
            422,
            "INVALID_CODE_FORMAT",
        ),
        (
            promo(json!({ "code": "PCT", "name": "x", "kind": "percent", "value": 150 })),
            422,
            "INVALID_VALUE",
        ),
        (
            promo(json!({ "code": "PCT", "name": "x", "kind": "percent" })),
            422,
            "INVALID_VALUE",
        ),
        (
            promo(json!({ "code": "BOGO", "name": "x", "kind": "bogo", "buy_qty": 2 })),
            422,
            "INVALID_VALUE",
        ),
        (
            promo(
                json!({ "code": "BOGO", "name": "x", "kind": "bogo", "value": 5, "buy_qty": 2, "free_qty": 1 }),
            ),
            422,
            "INVALID_FIELD",
        ),
        (
            promo(json!({ "code": "FIX", "name": "x", "kind": "fixed", "value": -100 })),
            422,
            "INVALID_VALUE",
        ),
        (
            promo(json!({ "code": "KIND", "name": "x", "kind": "freebie", "value": 1 })),
            422,
            "INVALID_KIND",
        ),
        (
            promo(json!({ "name": "x", "kind": "fixed", "value": 1 })),
            422,
            "CODE_REQUIRED",
        ),
        (
            promo(
                json!({ "code": "SCHED", "name": "x", "kind": "fixed", "value": 1, "conditions": { "schedule": { "weekly": [{ "days": [8], "from": "10:00", "to": "12:00" }] } } }),
            ),
            422,
            "INVALID_SCHEDULE",
        ),
        (
            promo(
                json!({ "code": "SCHED", "name": "x", "kind": "fixed", "value": 1, "conditions": { "schedule": { "weekly": [{ "days": [1], "from": "25:00", "to": "12:00" }] } } }),
            ),
            422,
            "INVALID_SCHEDULE",
        ),
        (
            promo(
                json!({ "code": "SCHED", "name": "x", "kind": "fixed", "value": 1, "conditions": { "schedule": { "starts_at": "2027-01-01T00:00:00Z", "ends_at": "2026-01-01T00:00:00Z" } } }),
            ),
            422,
            "INVALID_SCHEDULE",
        ),
        (
            promo(
                json!({ "code": "LIM", "name": "x", "kind": "fixed", "value": 1, "limits": { "total": 0 } }),
            ),
            422,
            "INVALID_LIMIT",
        ),
        (
            promo(
                json!({ "code": "BIZ", "name": "x", "kind": "fixed", "value": 1, "businesses": ["0191e6a0-0000-7000-8000-000000000000"] }),
            ),
            422,
            "BUSINESS_NOT_FOUND",
        ),
        (
            post(
                app,
                "/api/v1/admin/banners",
                &s.admin.access,
                &json!({ "placement": "home", "title": "x", "image_url": "javascript:alert(1)" }),
            ),
            422,
            "INVALID_URL",
        ),
        (
            post(
                app,
                "/api/v1/admin/banners",
                &s.admin.access,
                &json!({ "placement": "footer", "title": "x" }),
            ),
            422,
            "INVALID_PLACEMENT",
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
    assert_eq!(snapshot(), before, "bad input wrote something");
}

#[test]
fn a_purchase_at_a_issues_a_coupon_for_b_that_b_honours_once() {
    let s = shop();
    let app = &s.app;
    let r = post(
        app,
        "/api/v1/admin/cross-promos",
        &s.admin.access,
        &json!({ "from_business_id": s.a, "to_business_id": s.b, "title": "Glasses after flowers", "min_amount": 50_000 }),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let r = post(
        app,
        "/api/v1/admin/cross-promos",
        &s.staff_a.access,
        &json!({ "from_business_id": s.a, "to_business_id": s.b, "title": "x" }),
    );
    assert_eq!(r.status, 403, "campaigns are admin-only");
    let card = app
        .client
        .get("/api/v1/wallet")
        .bearer(&s.member.access)
        .send()
        .json()["card_number"]
        .as_str()
        .unwrap()
        .to_string();
    let sale = |key: &str, idem: &str, amount: i64, coupon: Option<&str>| {
        let mut body = json!({ "member": { "card_number": card }, "amount": amount });
        if let Some(c) = coupon {
            body["coupon_code"] = json!(c);
        }
        app.client
            .post("/api/v1/pos/purchases")
            .bearer(key)
            .header("idempotency-key", idem)
            .json(&body)
            .send()
    };
    // Below the campaign's minimum: no coupon. At or above: one.
    assert_eq!(sale(&s.key_a, "a-small", 10_000, None).status, 201);
    let r = sale(&s.key_a, "a-big", 60_000, None);
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(r.json()["coupons_issued"].as_array().unwrap().len(), 1);
    let coupons = app
        .client
        .get("/api/v1/wallet/coupons")
        .bearer(&s.member.access)
        .send()
        .json();
    let coupon = &coupons["items"][0];
    assert_eq!(
        (coupon["business_id"].as_str(), coupon["status"].as_str()),
        (Some(s.b.as_str()), Some("issued"))
    );
    let id = coupon["id"].as_str().unwrap();

    let act = app
        .client
        .post(&format!("/api/v1/wallet/coupons/{id}/activate"))
        .bearer(&s.member.access)
        .send();
    assert_eq!(act.status, 200, "{}", act.text());
    let code = act.json()["activation_code"].as_str().unwrap().to_string();
    assert!(act.json()["valid_until"].is_string());
    // Someone else cannot activate it.
    let other = app.login("+79162220009");
    let r = app
        .client
        .post(&format!("/api/v1/wallet/coupons/{id}/activate"))
        .bearer(&other.access)
        .send();
    assert_eq!(r.status, 404);

    // At A the code is not valid; at B it adds 10 % of the amount once.
    let r = sale(&s.key_a, "a-coupon", 20_000, Some(&code));
    assert_eq!((r.status, r.error_code().as_str()), (422, "INVALID_COUPON"));
    let (_, key_b) = app.issue_api_key(&s.admin, &s.b);
    let r = sale(&key_b, "b-coupon", 20_000, Some(&code.to_lowercase()));
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(r.json()["cross_bonus"], 2_000);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM purchases WHERE ecosystem_engaged = 1"),
        1
    );
    let r = sale(&key_b, "b-again", 20_000, Some(&code));
    assert_eq!((r.status, r.error_code().as_str()), (422, "INVALID_COUPON"));
    let coupons = app
        .client
        .get("/api/v1/wallet/coupons")
        .bearer(&s.member.access)
        .send()
        .json();
    assert_eq!(coupons["items"][0]["status"], "redeemed");
    let r = app
        .client
        .post(&format!("/api/v1/wallet/coupons/{id}/activate"))
        .bearer(&s.member.access)
        .send();
    assert_eq!(
        (r.status, r.error_code().as_str()),
        (409, "COUPON_NOT_USABLE")
    );
    app.assert_ledger_sound();
}
