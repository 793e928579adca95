//! Reviews end to end through the host: a purchase at the till becomes a
//! published review, a rating and points; flagged reviews wait for an
//! admin; rejecting after publication claws the points back; the 48-hour
//! edit window; staff replies; who may moderate; twenty parallel reviews of
//! one purchase; a publish racing a reject; purchase lines and
//! `reviewable`; erasure; bad input on every route.

use std::{sync::Arc, thread, time::Duration};

use krug_e2e::{spawn_auth_app, AuthApp, Cast, Club, TestResponse, Tokens};
use serde_json::{json, Value};

const MEMBER: &str = "+79164440001";
const STAFF_A: &str = "+79164440002";
const STAFF_B: &str = "+79164440003";
const OTHER: &str = "+79164440004";

/// Business A (floristry) with an owner and an API key, business B
/// (gastronomy) with an owner, and one member.
fn club() -> Club {
    Club::open(
        spawn_auth_app(),
        &Cast {
            a: ("Flowers A", "floristry"),
            b: ("Bistro B", "gastronomy"),
            role: "owner",
            phones: [STAFF_A, STAFF_B, MEMBER],
        },
    )
}

const WRITTEN: [&str; 5] = [
    "reviews",
    "review_ratings",
    "ledger_entries",
    "purchase_lines",
    "audit_log",
];

fn snapshot(app: &AuthApp) -> Vec<i64> {
    WRITTEN
        .iter()
        .map(|t| app.count(&format!("SELECT COUNT(*) FROM {t}")))
        .collect()
}

/// A purchase at the till with `items`; returns its id.
fn buy(app: &AuthApp, bearer: &str, member: &Tokens, amount: i64, items: Value) -> String {
    let card = app.card_number(member);
    let key = krug_e2e::random_hex(8);
    let resp = app
        .client
        .post("/api/v1/pos/purchases")
        .bearer(bearer)
        .header("idempotency-key", &key)
        .json(&json!({ "member": { "card_number": card }, "amount": amount, "items": items }))
        .send();
    assert_eq!(resp.status, 201, "{}", resp.text());
    resp.json()["purchase_id"].as_str().unwrap().to_string()
}

fn flowers() -> Value {
    json!([
        { "sku": "ROSE", "name": "Роза", "quantity": 5, "unit_price": 20_000 },
        { "sku": "VASE", "category": "home", "quantity": 1, "unit_price": 100_000 }
    ])
}

fn post_review(app: &AuthApp, who: &Tokens, body: &Value) -> TestResponse {
    app.client
        .post("/api/v1/reviews")
        .bearer(&who.access)
        .json(body)
        .send()
}

fn business_review(purchase: &str, rating: i64, text: &str) -> Value {
    json!({ "target": { "type": "business" }, "purchase_id": purchase, "rating": rating, "text": text })
}

fn ratings(app: &AuthApp, business: &str) -> Value {
    let resp = app
        .client
        .get(&format!("/api/v1/ratings?business_id={business}"))
        .send();
    assert_eq!(resp.status, 200, "{}", resp.text());
    resp.json()
}

fn decide(app: &AuthApp, who: &Tokens, id: &str, decision: &str, reason: &str) -> TestResponse {
    app.client
        .post(&format!("/api/v1/admin/reviews/{id}/decision"))
        .bearer(&who.access)
        .json(&json!({ "decision": decision, "reason": reason }))
        .send()
}

/// Σ of the member's `reward` and reward-clawback entries, from the API.
fn reward_points(app: &AuthApp, member: &Tokens) -> (i64, i64) {
    let resp = app
        .client
        .get("/api/v1/wallet/ledger?limit=100")
        .bearer(&member.access)
        .send();
    assert_eq!(resp.status, 200, "{}", resp.text());
    let entries = resp.json()["items"].as_array().unwrap().clone();
    let sum = |kind: &str| -> i64 {
        entries
            .iter()
            .filter(|e| e["kind"] == kind)
            .map(|e| e["amount"].as_i64().unwrap())
            .sum()
    };
    (sum("reward"), sum("clawback"))
}

/// The stored aggregate of business `b` equals a recount of its published
/// reviews.
fn assert_aggregate_is_a_recount(app: &AuthApp, b: &str) {
    let stored = app.count(&format!(
        "SELECT COALESCE(SUM(count * 1000000 + total), 0) FROM review_ratings \
         WHERE target_type = 'business' AND business_id = '{b}' AND target_key = ''"
    ));
    let counted = app.count(&format!(
        "SELECT COALESCE(COUNT(*) * 1000000 + SUM(rating), 0) FROM reviews \
         WHERE business_id = '{b}' AND target_type = 'business' AND status = 'published'"
    ));
    assert_eq!(stored, counted, "aggregate vs recount");
    let club = app.count(
        "SELECT COALESCE(SUM(count), 0) FROM review_ratings WHERE target_type = 'business' AND business_id = '*'",
    );
    let all = app.count(
        "SELECT COUNT(*) FROM reviews WHERE target_type = 'business' AND status = 'published'",
    );
    assert_eq!(club, all, "club row vs recount");
}

#[test]
fn till_purchase_to_published_review_rating_and_points() {
    let s = club();
    let app = &s.app;
    let p = buy(app, &s.key_a, &s.member, 200_000, flowers());

    // The purchase keeps its lines and can be reviewed.
    let resp = app
        .client
        .get("/api/v1/wallet/purchases")
        .bearer(&s.member.access)
        .send();
    assert_eq!(resp.status, 200, "{}", resp.text());
    let list = resp.json();
    let item = &list["items"][0];
    assert_eq!(item["id"], p.as_str());
    assert_eq!(item["business_name"], "Flowers A");
    assert_eq!(item["reviewable"], true);
    assert_eq!(
        item["items"],
        json!([
            { "sku": "ROSE", "name": "Роза", "category": "floristry", "quantity": 5, "unit_price": 20_000 },
            { "sku": "VASE", "name": null, "category": "home", "quantity": 1, "unit_price": 100_000 }
        ])
    );

    let resp = post_review(
        app,
        &s.member,
        &business_review(&p, 5, "Чудесные розы, свежие и ароматные."),
    );
    assert_eq!(resp.status, 201, "{}", resp.text());
    let r = resp.json();
    assert_eq!(r["status"], "published");
    assert_eq!(r["flags"], json!([]));
    assert_eq!(r["reward_points"], 5_000);
    assert_eq!(r["target"]["business_id"], s.a.as_str());

    let rating = ratings(app, &s.a);
    assert_eq!(rating["count"], 1);
    assert_eq!(rating["average"], 5.0);
    assert_eq!(rating["bayesian_average"], 5.0);
    assert_eq!(rating["distribution"]["5"], 1);
    assert_eq!(reward_points(app, &s.member), (5_000, 0));

    // A product of the same purchase, then the public list.
    let resp = post_review(
        app,
        &s.member,
        &json!({ "target": { "type": "product", "business_id": s.a, "sku": "ROSE" },
                 "purchase_id": p, "rating": 4 }),
    );
    assert_eq!(resp.status, 201, "{}", resp.text());
    let resp = app
        .client
        .get(&format!("/api/v1/ratings?business_id={}&sku=ROSE", s.a))
        .send();
    assert_eq!(resp.json()["count"], 1);
    let resp = app
        .client
        .get(&format!("/api/v1/reviews?business_id={}", s.a))
        .send();
    assert_eq!(resp.status, 200, "{}", resp.text());
    let page = resp.json();
    assert_eq!(page["items"].as_array().unwrap().len(), 1);
    assert_eq!(page["items"][0]["author"]["name"], "Test");
    assert_eq!(page["next_cursor"], Value::Null);
    let mine = app
        .client
        .get("/api/v1/reviews/mine")
        .bearer(&s.member.access)
        .send();
    assert_eq!(mine.json()["items"].as_array().unwrap().len(), 2);
    assert_eq!(reward_points(app, &s.member), (10_000, 0));
    assert_aggregate_is_a_recount(app, &s.a);
    app.assert_ledger_sound();
}

#[test]
fn flagged_review_waits_until_an_admin_publishes_it() {
    let s = club();
    let app = &s.app;
    let p = buy(app, &s.key_a, &s.member, 100_000, json!([]));
    let resp = post_review(
        app,
        &s.member,
        &business_review(&p, 2, "Звоните мне 8 (999) 123-45-67, расскажу"),
    );
    assert_eq!(resp.status, 201, "{}", resp.text());
    let r = resp.json();
    assert_eq!(
        (r["status"].as_str(), r["flags"].clone()),
        (Some("pending"), json!(["phone"]))
    );
    let id = r["id"].as_str().unwrap();
    assert_eq!(ratings(app, &s.a)["count"], 0);
    assert_eq!(reward_points(app, &s.member), (0, 0));
    let public = app
        .client
        .get(&format!("/api/v1/reviews?business_id={}", s.a))
        .send();
    assert_eq!(public.json()["items"], json!([]));

    let queue = app
        .client
        .get("/api/v1/admin/reviews?status=pending")
        .bearer(&s.admin.access)
        .send();
    assert_eq!(queue.status, 200, "{}", queue.text());
    assert_eq!(queue.json()["items"][0]["id"], id);

    let done = decide(app, &s.admin, id, "publish", "a phone of the salon, fine");
    assert_eq!(done.status, 200, "{}", done.text());
    assert_eq!(done.json()["status"], "published");
    assert_eq!(ratings(app, &s.a)["count"], 1);
    assert_eq!(reward_points(app, &s.member), (5_000, 0));
    assert_eq!(
        app.count("SELECT COUNT(*) FROM audit_log WHERE action = 'review.published'"),
        1
    );
    let again = decide(app, &s.admin, id, "publish", "twice");
    assert_eq!(again.status, 409, "{}", again.text());
    app.assert_ledger_sound();
}

#[test]
fn reject_after_publish_claws_back_points_and_recomputes_the_rating() {
    let s = club();
    let app = &s.app;
    let p1 = buy(app, &s.key_a, &s.member, 100_000, json!([]));
    let p2 = buy(app, &s.key_a, &s.member, 100_000, json!([]));
    let r1 = post_review(app, &s.member, &business_review(&p1, 5, "Отлично")).json();
    let r2 = post_review(app, &s.member, &business_review(&p2, 3, "Нормально")).json();
    assert_eq!(ratings(app, &s.a)["average"], 4.0);
    assert_eq!(reward_points(app, &s.member), (10_000, 0));

    let id = r1["id"].as_str().unwrap();
    let resp = decide(
        app,
        &s.admin,
        id,
        "reject",
        "the review is about another shop",
    );
    assert_eq!(resp.status, 200, "{}", resp.text());
    assert_eq!(resp.json()["status"], "rejected");
    assert_eq!(resp.json()["reward_points"], 0);
    let rating = ratings(app, &s.a);
    assert_eq!(
        (rating["count"].clone(), rating["average"].clone()),
        (json!(1), json!(3.0))
    );
    assert_eq!(rating["distribution"]["5"], 0);
    assert_eq!(reward_points(app, &s.member), (10_000, -5_000));
    // A reject needs its reason; withdrawing the other claws back too.
    let resp = decide(app, &s.admin, r2["id"].as_str().unwrap(), "reject", "");
    assert_eq!(resp.status, 422, "{}", resp.text());
    let resp = app
        .client
        .delete(&format!("/api/v1/reviews/{}", r2["id"].as_str().unwrap()))
        .bearer(&s.member.access)
        .send();
    assert_eq!(resp.status, 204, "{}", resp.text());
    assert_eq!(ratings(app, &s.a)["count"], 0);
    assert_eq!(reward_points(app, &s.member), (10_000, -10_000));
    assert_aggregate_is_a_recount(app, &s.a);
    app.assert_ledger_sound();
}

#[test]
fn edits_within_48_hours_by_the_author_only() {
    let s = club();
    let app = &s.app;
    let p = buy(app, &s.key_a, &s.member, 100_000, json!([]));
    let r = post_review(app, &s.member, &business_review(&p, 2, "Так себе")).json();
    let id = r["id"].as_str().unwrap().to_string();
    let path = format!("/api/v1/reviews/{id}");

    let other = app.login(OTHER);
    let before = snapshot(app);
    let resp = app
        .client
        .patch(&path)
        .bearer(&other.access)
        .json(&json!({ "rating": 5 }))
        .send();
    assert_eq!(resp.status, 404, "{}", resp.text());
    assert_eq!(snapshot(app), before);

    let resp = app
        .client
        .patch(&path)
        .bearer(&s.member.access)
        .json(&json!({ "rating": 4, "text": "Со второго раза понравилось" }))
        .send();
    assert_eq!(resp.status, 200, "{}", resp.text());
    assert_eq!(resp.json()["rating"], 4);
    assert_eq!(ratings(app, &s.a)["distribution"]["4"], 1);

    app.host.advance_clock(Duration::from_secs(48 * 3600 + 60));
    let member = app.login(MEMBER);
    let before = snapshot(app);
    let resp = app
        .client
        .patch(&path)
        .bearer(&member.access)
        .json(&json!({ "rating": 1 }))
        .send();
    assert_eq!(
        (resp.status, resp.error_code().as_str()),
        (409, "EDIT_WINDOW_CLOSED")
    );
    assert_eq!(snapshot(app), before);
    assert_eq!(ratings(app, &s.a)["distribution"]["4"], 1);
}

#[test]
fn staff_reply_once_and_only_for_their_business() {
    let s = club();
    let app = &s.app;
    let p = buy(app, &s.key_a, &s.member, 100_000, json!([]));
    let r = post_review(app, &s.member, &business_review(&p, 4, "Хорошо")).json();
    let path = format!("/api/v1/reviews/{}/reply", r["id"].as_str().unwrap());
    let put = |who: &str, body: &Value| {
        app.client
            .request("PUT", &path)
            .bearer(who)
            .json(body)
            .send()
    };
    assert_eq!(
        put(&s.staff_b.access, &json!({ "text": "Спасибо" })).status,
        403
    );
    assert_eq!(
        put(&s.member.access, &json!({ "text": "Спасибо" })).status,
        403
    );
    assert_eq!(put(&s.key_a, &json!({ "text": "Спасибо" })).status, 403);
    let resp = put(
        &s.staff_a.access,
        &json!({ "text": "Спасибо, ждём снова!" }),
    );
    assert_eq!(resp.status, 200, "{}", resp.text());
    assert_eq!(resp.json()["reply"]["text"], "Спасибо, ждём снова!");
    let resp = put(&s.staff_a.access, &json!({ "text": "Ещё раз" }));
    assert_eq!(
        (resp.status, resp.error_code().as_str()),
        (409, "REPLY_EXISTS")
    );
    let public = app
        .client
        .get(&format!("/api/v1/reviews?business_id={}", s.a))
        .send()
        .json();
    assert_eq!(public["items"][0]["reply"]["text"], "Спасибо, ждём снова!");
}

#[test]
fn owners_and_staff_admins_cannot_moderate_their_own_business() {
    let s = club();
    let app = &s.app;
    let p = buy(app, &s.key_a, &s.member, 100_000, json!([]));
    let r = post_review(
        app,
        &s.member,
        &business_review(&p, 1, "УЖАСНО, НИКОГДА БОЛЬШЕ НЕ ПРИДУ"),
    )
    .json();
    assert_eq!(r["status"], "pending");
    let id = r["id"].as_str().unwrap();
    // The owner of the business is not a moderator.
    let resp = decide(app, &s.staff_a, id, "reject", "bad for business");
    assert_eq!(resp.status, 403, "{}", resp.text());
    let resp = app
        .client
        .get("/api/v1/admin/reviews")
        .bearer(&s.staff_a.access)
        .send();
    assert_eq!(resp.status, 403, "{}", resp.text());
    // An admin who is staff of the business may not decide either.
    app.add_staff(&s.admin, &s.a, krug_e2e::ADMIN_PHONE, "manager");
    let before = snapshot(app);
    let resp = decide(app, &s.admin, id, "reject", "mine");
    assert_eq!(
        (resp.status, resp.error_code().as_str()),
        (403, "OWN_BUSINESS")
    );
    assert_eq!(snapshot(app), before);
    assert_eq!(
        app.count(&format!(
            "SELECT COUNT(*) FROM reviews WHERE id = '{id}' AND status = 'pending'"
        )),
        1
    );
}

#[test]
fn twenty_parallel_reviews_of_one_purchase_make_one_review_and_one_reward() {
    let s = club();
    let app = Arc::new(s.app);
    let member = Arc::new(s.member);
    let p = buy(&app, &s.key_a, &member, 100_000, json!([]));
    let handles: Vec<_> = (0..20)
        .map(|i| {
            let (app, member, p) = (app.clone(), member.clone(), p.clone());
            thread::spawn(move || {
                post_review(
                    &app,
                    &member,
                    &business_review(&p, 1 + i % 5, "Отличный магазин"),
                )
                .status
            })
        })
        .collect();
    let mut statuses: Vec<u16> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    statuses.sort_unstable();
    assert_eq!(statuses[0], 201);
    assert!(statuses[1..].iter().all(|s| *s == 409), "{statuses:?}");
    assert_eq!(app.count("SELECT COUNT(*) FROM reviews"), 1);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM ledger_entries WHERE kind = 'reward'"),
        1
    );
    assert_eq!(reward_points(&app, &member), (5_000, 0));
    assert_aggregate_is_a_recount(&app, &s.a);
    app.assert_ledger_sound();
}

#[test]
fn publish_racing_reject_leaves_one_outcome_and_an_exact_aggregate() {
    let s = club();
    let app = Arc::new(s.app);
    let admin = Arc::new(s.admin);
    let mut ids = Vec::new();
    for _ in 0..3 {
        let p = buy(&app, &s.key_a, &s.member, 100_000, json!([]));
        let r = post_review(
            &app,
            &s.member,
            &business_review(&p, 4, "ПИШИТЕ НА salon.ru СКИДКИ"),
        )
        .json();
        assert_eq!(r["status"], "pending");
        ids.push(r["id"].as_str().unwrap().to_string());
    }
    for id in &ids {
        let handles: Vec<_> = ["publish", "reject", "publish", "reject"]
            .into_iter()
            .map(|d| {
                let (app, admin, id) = (app.clone(), admin.clone(), id.clone());
                thread::spawn(move || decide(&app, &admin, &id, d, "race").status)
            })
            .collect();
        for h in handles {
            let status = h.join().unwrap();
            assert!(status == 200 || status == 409, "{status}");
        }
        let status = app.count(&format!(
            "SELECT CASE status WHEN 'published' THEN 1 WHEN 'rejected' THEN 2 ELSE 0 END FROM reviews WHERE id = '{id}'"
        ));
        assert!(status == 1 || status == 2, "one outcome");
        let credits = app.count(&format!(
            "SELECT COUNT(*) FROM ledger_entries WHERE kind = 'reward' AND cause_id = '{id}'"
        ));
        let clawbacks = app.count(&format!(
            "SELECT COUNT(*) FROM ledger_entries WHERE kind = 'clawback' AND cause_id = '{id}'"
        ));
        assert!(
            credits <= 1 && clawbacks <= credits,
            "{credits} {clawbacks}"
        );
        if status == 2 {
            assert_eq!(credits, clawbacks, "a rejected review keeps no points");
        }
    }
    assert_aggregate_is_a_recount(&app, &s.a);
    let r = ratings(&app, &s.a);
    let published = app.count(&format!(
        "SELECT COUNT(*) FROM reviews WHERE business_id = '{}' AND status = 'published'",
        s.a
    ));
    assert_eq!(r["count"], published);
    app.assert_ledger_sound();
}

#[test]
fn purchases_keep_lines_from_the_till_and_checkout_but_never_medical() {
    let s = club();
    let app = &s.app;
    // A medical partner: amount and category only.
    let resp = app
        .client
        .post("/api/v1/admin/businesses")
        .bearer(&s.admin.access)
        .json(&json!({ "name": "Clinic", "category": "dentistry", "medical": true }))
        .send();
    assert_eq!(resp.status, 201, "{}", resp.text());
    let clinic = resp.json()["id"].as_str().unwrap().to_string();
    let (_, clinic_key) = app.issue_api_key(&s.admin, &clinic);
    let medical = buy(
        app,
        &clinic_key,
        &s.member,
        500_000,
        json!([{ "sku": "IMPLANT-36", "name": "Имплант 36", "quantity": 1, "unit_price": 500_000 }]),
    );
    assert_eq!(
        app.count(&format!(
            "SELECT COUNT(*) FROM purchase_lines WHERE purchase_id = '{medical}'"
        )),
        0
    );
    // A checkout reservation committed at the till keeps its priced lines.
    let resp = app
        .client
        .post("/api/v1/checkout/reservations")
        .bearer(&s.member.access)
        .json(&json!({ "business_id": s.a, "channel": "app", "order_ref": "ord-lines",
            "items": [{ "sku": "TULIP", "category": "floristry", "quantity": 7, "unit_price": 9_000 }],
            "promo_codes": [] }))
        .send();
    assert_eq!(resp.status, 201, "{}", resp.text());
    let rid = resp.json()["reservation_id"].as_str().unwrap().to_string();
    let resp = app
        .client
        .post(&format!("/api/v1/checkout/reservations/{rid}/commit"))
        .bearer(&s.key_a)
        .send();
    assert_eq!(resp.status, 200, "{}", resp.text());
    let committed = resp.json()["purchase_id"].as_str().unwrap().to_string();

    let page = app
        .client
        .get("/api/v1/wallet/purchases?limit=1")
        .bearer(&s.member.access)
        .send()
        .json();
    assert_eq!(page["items"][0]["id"], committed.as_str());
    assert_eq!(page["items"][0]["items"][0]["sku"], "TULIP");
    assert_eq!(page["items"][0]["items"][0]["quantity"], 7);
    let next = page["next_cursor"].as_str().unwrap();
    let page = app
        .client
        .get(&format!("/api/v1/wallet/purchases?limit=1&cursor={next}"))
        .bearer(&s.member.access)
        .send()
        .json();
    assert_eq!(page["items"][0]["id"], medical.as_str());
    assert_eq!(page["items"][0]["items"], json!([]));
    assert_eq!(page["items"][0]["category"], "dentistry");
    // The clinic can still be reviewed as a business, not its products.
    let resp = post_review(
        app,
        &s.member,
        &json!({ "target": { "type": "product", "sku": "IMPLANT-36" }, "purchase_id": medical, "rating": 5 }),
    );
    assert_eq!(
        (resp.status, resp.error_code().as_str()),
        (422, "NOT_VERIFIED_PURCHASE")
    );
    let resp = post_review(app, &s.member, &business_review(&medical, 5, "Не больно"));
    assert_eq!(resp.status, 201, "{}", resp.text());
    let page = app
        .client
        .get("/api/v1/wallet/purchases")
        .bearer(&s.member.access)
        .send()
        .json();
    let clinic_row = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == medical.as_str())
        .unwrap()
        .clone();
    assert_eq!(clinic_row["reviewable"], false);
}

#[test]
fn an_erased_author_is_shown_as_a_club_member() {
    let s = club();
    let app = &s.app;
    let p = buy(app, &s.key_a, &s.member, 100_000, json!([]));
    assert_eq!(
        post_review(app, &s.member, &business_review(&p, 5, "Лучшие цветы")).status,
        201
    );
    let resp = app
        .client
        .delete("/api/v1/me")
        .bearer(&s.member.access)
        .send();
    assert_eq!(resp.status, 204, "{}", resp.text());
    let page = app
        .client
        .get(&format!("/api/v1/reviews?business_id={}", s.a))
        .send()
        .json();
    assert_eq!(page["items"][0]["author"]["name"], "Участница клуба");
    assert_eq!(ratings(app, &s.a)["count"], 1);
}

#[test]
fn the_sixth_review_in_a_day_is_429() {
    let s = club();
    let app = &s.app;
    let ps: Vec<String> = (0..6)
        .map(|_| buy(app, &s.key_a, &s.member, 10_000, json!([])))
        .collect();
    for p in &ps[..5] {
        assert_eq!(
            post_review(app, &s.member, &business_review(p, 5, "ok")).status,
            201
        );
    }
    let before = snapshot(app);
    let resp = post_review(app, &s.member, &business_review(&ps[5], 5, "ok"));
    assert_eq!(
        (resp.status, resp.error_code().as_str()),
        (429, "REVIEW_LIMIT_REACHED")
    );
    assert!(resp.header("retry-after").is_some());
    assert_eq!(snapshot(app), before);
}

#[test]
fn bad_input_is_4xx_and_writes_nothing() {
    let s = club();
    let app = &s.app;
    let p = buy(app, &s.key_a, &s.member, 100_000, flowers());
    let other = app.login(OTHER);
    let theirs = buy(app, &s.key_a, &other, 100_000, json!([]));
    let r = post_review(app, &other, &business_review(&theirs, 4, "ok")).json();
    let their_review = r["id"].as_str().unwrap().to_string();
    let before = snapshot(app);

    let cases: Vec<(&str, Value, u16, &str)> = vec![
        (
            "rating 0",
            business_review(&p, 0, "x"),
            422,
            "INVALID_FIELD",
        ),
        (
            "rating 6",
            business_review(&p, 6, "x"),
            422,
            "INVALID_FIELD",
        ),
        (
            "rating 4.5",
            json!({ "target": { "type": "business" }, "purchase_id": p, "rating": 4.5 }),
            422,
            "INVALID_FIELD",
        ),
        (
            "10 000 characters",
            business_review(&p, 5, &"а".repeat(10_000)),
            422,
            "INVALID_FIELD",
        ),
        (
            "unknown purchase",
            business_review("0190a000-0000-7000-8000-000000000000", 5, "x"),
            422,
            "NOT_VERIFIED_PURCHASE",
        ),
        (
            "someone else's purchase",
            business_review(&theirs, 5, "x"),
            422,
            "NOT_VERIFIED_PURCHASE",
        ),
        (
            "another business",
            json!({ "target": { "type": "business", "business_id": s.b }, "purchase_id": p, "rating": 5 }),
            422,
            "NOT_VERIFIED_PURCHASE",
        ),
        (
            "sku not bought",
            json!({ "target": { "type": "product", "sku": "LILY" }, "purchase_id": p, "rating": 5 }),
            422,
            "NOT_VERIFIED_PURCHASE",
        ),
        (
            "event",
            json!({ "target": { "type": "event", "event_id": "0190a000-0000-7000-8000-000000000001" }, "rating": 5 }),
            422,
            "EVENTS_NOT_AVAILABLE",
        ),
        (
            "unknown field",
            json!({ "target": { "type": "business" }, "purchase_id": p, "rating": 5, "stars": 5 }),
            422,
            "INVALID_FIELD",
        ),
        (
            "no purchase",
            json!({ "target": { "type": "business" }, "rating": 5 }),
            422,
            "INVALID_FIELD",
        ),
        (
            "bad type",
            json!({ "target": { "type": "shop" }, "purchase_id": p, "rating": 5 }),
            422,
            "INVALID_FIELD",
        ),
    ];
    for (name, body, status, code) in cases {
        let resp = post_review(app, &s.member, &body);
        assert_eq!(
            (resp.status, resp.error_code().as_str()),
            (status, code),
            "{name}: {}",
            resp.text()
        );
    }
    // Malformed JSON, a huge body, no token, an API key.
    let resp = app
        .client
        .post("/api/v1/reviews")
        .bearer(&s.member.access)
        .raw_json("{\"rating\": ")
        .send();
    assert_eq!(
        (resp.status, resp.error_code().as_str()),
        (400, "MALFORMED_JSON")
    );
    let resp = app
        .client
        .post("/api/v1/reviews")
        .bearer(&s.member.access)
        .raw_json(vec![b' '; 2 * 1024 * 1024])
        .send();
    assert_eq!(resp.status, 413);
    let resp = app
        .client
        .post("/api/v1/reviews")
        .raw_json("{\"rating\": ")
        .send();
    assert_eq!(resp.status, 401);
    let resp = app
        .client
        .post("/api/v1/reviews")
        .bearer(&s.key_a)
        .json(&business_review(&p, 5, "x"))
        .send();
    assert_eq!(resp.status, 403);
    // Another member's review, unknown ids, bad queries.
    let resp = app
        .client
        .patch(&format!("/api/v1/reviews/{their_review}"))
        .bearer(&s.member.access)
        .json(&json!({ "rating": 1 }))
        .send();
    assert_eq!(
        (resp.status, resp.error_code().as_str()),
        (404, "REVIEW_NOT_FOUND")
    );
    let resp = app
        .client
        .delete(&format!("/api/v1/reviews/{their_review}"))
        .bearer(&s.member.access)
        .send();
    assert_eq!(resp.status, 404);
    let resp = app
        .client
        .patch("/api/v1/reviews/not-an-id")
        .bearer(&s.member.access)
        .json(&json!({ "rating": 1 }))
        .send();
    assert_eq!(resp.status, 404);
    let resp = app
        .client
        .patch(&format!("/api/v1/reviews/{their_review}"))
        .bearer(&other.access)
        .json(&json!({ "rating": 4.5 }))
        .send();
    assert_eq!(resp.status, 422);
    let resp = decide(
        app,
        &s.admin,
        "0190a000-0000-7000-8000-000000000000",
        "publish",
        "x",
    );
    assert_eq!(resp.status, 404);
    let resp = decide(app, &s.admin, &their_review, "hide", "x");
    assert_eq!(resp.status, 422);
    for (path, status) in [
        ("/api/v1/reviews".to_string(), 422),
        (
            format!("/api/v1/reviews?business_id={}&sort=best", s.a),
            422,
        ),
        (
            "/api/v1/reviews?business_id=0190a000-0000-7000-8000-000000000000".to_string(),
            404,
        ),
        (
            format!("/api/v1/reviews?business_id={}&cursor=%21%21", s.a),
            422,
        ),
        (
            "/api/v1/ratings?event_id=0190a000-0000-7000-8000-000000000001".to_string(),
            422,
        ),
        ("/api/v1/ratings?business_id=nope".to_string(), 422),
        ("/api/v1/admin/reviews?status=lost".to_string(), 422),
    ] {
        let resp = app.client.get(&path).bearer(&s.admin.access).send();
        assert_eq!(resp.status, status, "{path}: {}", resp.text());
    }
    let resp = app.client.get("/api/v1/reviews/mine").send();
    assert_eq!(resp.status, 401);
    let resp = app.client.request("PUT", "/api/v1/ratings").send();
    assert_eq!(resp.status, 405);
    assert_eq!(snapshot(app), before);
}
