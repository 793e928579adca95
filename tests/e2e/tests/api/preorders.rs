//! Preorders end to end through the host: an item and tiers, a preorder
//! with points confirmed by the payment webhook, early access and
//! fulfilment jobs granting each bonus once (even run twice at once), 300
//! parallel preorders of a 25-unit tier, an upgrade racing the last unit,
//! cancellation at each date of the refund policy, a payment for a lapsed
//! hold, the feature gate, and bad input writing nothing.

use std::{
    collections::HashMap,
    sync::atomic::{AtomicI64, Ordering},
    thread,
    time::Duration,
};

use krug_e2e::{spawn_auth_app_with, AuthApp, TestResponse, Tokens};
use serde_json::{json, Value};

const SECRET: &str = "whsec_preorders";
const OWNER: &str = "+79167770001";
const MEMBERS: [&str; 3] = ["+79167770011", "+79167770012", "+79167770013"];
const DAY: i64 = 24 * 3600;

struct Fx {
    app: AuthApp,
    admin: Tokens,
    owner: Tokens,
    biz: String,
    members: Vec<Tokens>,
    // Seconds the host clock has been moved on.
    offset: AtomicI64,
}

fn fx() -> Fx {
    let app = spawn_auth_app_with(HashMap::from([
        ("payments_webhook_secret".to_string(), SECRET.to_string()),
        // Cashback is spendable at once, so members have points to use.
        ("points_hold_days".to_string(), "0".to_string()),
        (
            "max_purchases_per_business_day".to_string(),
            "1000000".to_string(),
        ),
    ]));
    let admin = app.admin();
    let biz = app.create_business(&admin, "Season Box", "gastronomy");
    let owner = app.staff_login(&admin, &biz, OWNER, "owner");
    let members = MEMBERS.iter().map(|p| app.login(p)).collect();
    Fx {
        app,
        admin,
        owner,
        biz,
        members,
        offset: AtomicI64::new(0),
    }
}

fn at(offset_secs: i64) -> String {
    krug_e2e::rfc3339_in(offset_secs)
}

impl Fx {
    fn advance(&mut self, secs: i64) {
        self.app
            .host
            .advance_clock(Duration::from_secs(u64::try_from(secs).unwrap()));
        self.offset.fetch_add(secs, Ordering::SeqCst);
        // Access tokens live 15 minutes: log everyone in again.
        self.admin = self.app.admin();
        self.owner = self.app.login(OWNER);
        self.members = MEMBERS.iter().map(|p| self.app.login(p)).collect();
    }

    fn deliver(&self, body: &Value) -> TestResponse {
        let raw = body.to_string();
        let offset = self.offset.load(Ordering::SeqCst);
        krug_e2e::deliver_generic(&self.app.client, SECRET, raw, offset)
    }

    fn pay(&self, member: &Tokens, order_ref: &str, amount: i64) -> Value {
        let pid = format!("pay-{}", krug_e2e::random_hex(8));
        let body = json!({
            "id": format!("evt-{pid}"), "type": "payment.succeeded", "created": krug_e2e::unix_now(),
            "data": { "payment_id": pid, "order_ref": order_ref, "business_id": self.biz,
                      "amount": amount, "currency": "RUB", "member_id": member.member_id }
        });
        let resp = self.deliver(&body);
        assert_eq!(resp.status, 200, "webhook: {}", resp.text());
        resp.json()
    }

    /// An item released `release_days` from now with the given policy
    /// (days from now) and per-member limit.
    fn item(
        &self,
        release_days: i64,
        policy: (i64, i64, i64),
        deadline_days: i64,
        limit: i64,
    ) -> String {
        let resp = self
            .app
            .client
            .post("/api/v1/admin/preorder-items")
            .bearer(&self.owner.access)
            .json(&json!({
                "business_id": self.biz, "title": "Winter tasting set",
                "description": "Twelve cheeses, ready on release day",
                "release_at": at(release_days * DAY),
                "cancellation_deadline": at(deadline_days * DAY),
                "refund_policy": { "full_until": at(policy.0 * DAY), "partial_percent": policy.1,
                                   "none_after": at(policy.2 * DAY) },
                "per_member_limit": limit,
            }))
            .send();
        assert_eq!(resp.status, 201, "{}", resp.text());
        resp.json()["id"].as_str().unwrap().to_string()
    }

    fn tier(&self, item: &str, body: Value) -> Value {
        let mut b = json!({
            "name": "Standard", "base_price": 100_000, "discount_percent": 0,
            "early_access_days": 0, "available_from": at(-60), "available_until": at(30 * DAY),
            "priority": 1, "bonuses": [],
        });
        for (k, v) in body.as_object().unwrap() {
            b[k] = v.clone();
        }
        let resp = self
            .app
            .client
            .post(&format!("/api/v1/admin/preorder-items/{item}/tiers"))
            .bearer(&self.owner.access)
            .json(&b)
            .send();
        assert_eq!(resp.status, 201, "{}", resp.text());
        resp.json()
    }

    fn order(&self, member: &Tokens, tier: &str, points: Option<i64>) -> TestResponse {
        let mut body = json!({ "tier_id": tier });
        if let Some(p) = points {
            body["points"] = json!(p);
        }
        self.app
            .client
            .post("/api/v1/preorders")
            .bearer(&member.access)
            .json(&body)
            .send()
    }

    fn read(&self, member: &Tokens, id: &str) -> Value {
        let resp = self
            .app
            .client
            .get(&format!("/api/v1/preorders/{id}"))
            .bearer(&member.access)
            .send();
        assert_eq!(resp.status, 200, "{}", resp.text());
        resp.json()
    }

    fn cancel(&self, member: &Tokens, id: &str) -> TestResponse {
        self.app
            .client
            .post(&format!("/api/v1/preorders/{id}/cancel"))
            .bearer(&member.access)
            .send()
    }

    fn upgrade(&self, member: &Tokens, id: &str, tier: &str) -> TestResponse {
        self.app
            .client
            .post(&format!("/api/v1/preorders/{id}/upgrade"))
            .bearer(&member.access)
            .json(&json!({ "tier_id": tier }))
            .send()
    }

    fn available(&self, member: &Tokens) -> i64 {
        let resp = self
            .app
            .client
            .get("/api/v1/wallet")
            .bearer(&member.access)
            .send();
        assert_eq!(resp.status, 200, "{}", resp.text());
        resp.json()["balance"]["available"].as_i64().unwrap()
    }

    /// Gives `member` cashback points through an ordinary paid sale.
    fn earn(&self, member: &Tokens, amount: i64) -> i64 {
        self.pay(member, &format!("sale-{}", krug_e2e::random_hex(4)), amount);
        self.available(member)
    }

    fn counters(&self, tier: &str) -> (i64, i64) {
        (
            self.app.count(&format!(
                "SELECT held FROM preorder_tiers WHERE id = '{tier}'"
            )),
            self.app.count(&format!(
                "SELECT sold FROM preorder_tiers WHERE id = '{tier}'"
            )),
        )
    }
}

fn id_of(v: &Value) -> String {
    v["id"].as_str().unwrap().to_string()
}

#[test]
fn preorder_with_points_is_confirmed_by_payment_opens_early_access_and_grants_bonuses_once() {
    let mut f = fx();
    let item = f.item(10, (2, 40, 5), 8, 1);
    let tier = f.tier(
        &item,
        json!({
            "name": "Collector", "base_price": 99_500, "discount_percent": 10, "max_quantity": 10,
            "early_access_days": 3,
            "bonuses": [
                { "type": "points", "value": 5_000, "delivery": "automatic" },
                { "type": "coupon", "value": 20, "delivery": "automatic" },
                { "type": "activation_code", "value": "Digital recipe book", "delivery": "activation_code" },
                { "type": "gift", "value": "Cheese knife", "delivery": "pickup" },
            ],
        }),
    );
    // 99 500 × 0.9 = 89 550 exactly; rounding is half up.
    assert_eq!(tier["final_price"], 89_550);
    assert_eq!(tier["remaining"], 10);
    let tier_id = id_of(&tier);
    let m = &f.members[0];
    let points = f.earn(m, 200_000);
    assert!(points >= 3_000, "{points}");

    let resp = f.order(m, &tier_id, Some(3_000));
    assert_eq!(resp.status, 201, "{}", resp.text());
    let p = resp.json();
    assert_eq!(p["status"], "pending_payment");
    assert_eq!(p["total"], 86_550);
    assert_eq!(p["points_used"], 3_000);
    let pid = id_of(&p);
    assert_eq!(p["order_ref"], format!("preorder:{pid}"));
    // The hold is a live reservation of the points; the unit is held.
    assert_eq!(
        f.app.count(&format!(
            "SELECT points_applied FROM reservations WHERE order_ref = 'preorder:{pid}' AND status = 'held'"
        )),
        3_000
    );
    assert_eq!(f.counters(&tier_id), (1, 0));
    // The per-member limit is one.
    let again = f.order(m, &tier_id, None);
    assert_eq!(
        (again.status, again.error_code().as_str()),
        (409, "PREORDER_LIMIT_EXCEEDED")
    );

    f.pay(m, &format!("preorder:{pid}"), 86_550);
    let p = f.read(m, &pid);
    assert_eq!(p["status"], "confirmed");
    assert_eq!(f.counters(&tier_id), (0, 1));
    // The held points were spent, once.
    assert_eq!(
        f.app
            .count("SELECT COUNT(*) FROM ledger_entries WHERE kind = 'spend' AND amount = -3000"),
        1
    );
    assert_eq!(
        f.app.count(&format!("SELECT COUNT(*) FROM reservations WHERE order_ref = 'preorder:{pid}' AND status = 'committed'")),
        1
    );
    // The payment went through the purchase pipeline.
    assert_eq!(
        f.app
            .count("SELECT COUNT(*) FROM purchases WHERE amount = 86550"),
        1
    );

    // Early access opens three days before release.
    assert_eq!(
        f.app.run_job("preorders-open-early-access")["report"]["affected"],
        0
    );
    f.advance(7 * DAY + 60);
    assert_eq!(
        f.app.run_job("preorders-open-early-access")["report"]["affected"],
        1
    );
    let m = f.members[0].clone();
    assert_eq!(f.read(&m, &pid)["status"], "early_access_active");

    // Release: two fulfilment runs at once grant each bonus once.
    f.advance(3 * DAY);
    let m = f.members[0].clone();
    let before = f.available(&m);
    let app = &f.app;
    thread::scope(|s| {
        for _ in 0..2 {
            s.spawn(move || app.run_job("preorders-fulfil"));
        }
    });
    assert_eq!(f.app.run_job("preorders-fulfil")["report"]["affected"], 0);
    let p = f.read(&m, &pid);
    assert_eq!(p["status"], "fulfilled");
    let bonuses = p["bonuses"].as_array().unwrap();
    assert_eq!(bonuses.len(), 4, "{p}");
    let code = bonuses[2]["code"].as_str().unwrap();
    assert_eq!(code.len(), 19, "{code}");
    assert!(bonuses[0]["code"].is_null());
    assert_eq!(f.available(&m), before + 5_000);
    assert_eq!(
        f.app.count("SELECT COUNT(*) FROM ledger_entries WHERE kind = 'reward' AND description = 'Preorder bonus'"),
        1
    );
    let coupons = f
        .app
        .client
        .get("/api/v1/wallet/coupons")
        .bearer(&m.access)
        .send();
    assert_eq!(coupons.status, 200, "{}", coupons.text());
    assert_eq!(f.app.count("SELECT COUNT(*) FROM coupons"), 1);
    // A fulfilled preorder is not cancelled; nothing is written.
    let counts = f.app.table_counts();
    let c = f.cancel(&m, &pid);
    assert_eq!(
        (c.status, c.error_code().as_str()),
        (409, "REFUND_NOT_ELIGIBLE")
    );
    assert_eq!(f.app.table_counts(), counts);
    // Analytics for the owner.
    let a = f
        .app
        .client
        .get(&format!("/api/v1/admin/preorder-items/{item}/analytics"))
        .bearer(&f.owner.access)
        .send();
    assert_eq!(a.status, 200, "{}", a.text());
    let a = a.json();
    assert_eq!(a["conversion"]["views"], 0);
    assert_eq!(a["conversion"]["preorders"], 1);
    assert_eq!(a["by_tier"][0]["sold"], 1);
    f.app.assert_ledger_sound();
}

#[test]
fn three_hundred_parallel_preorders_of_25_units_sell_exactly_25() {
    let f = fx();
    let item = f.item(10, (2, 50, 5), 8, 100);
    let tier = id_of(&f.tier(&item, json!({ "max_quantity": 25 })));
    let results: Vec<(u16, String)> = thread::scope(|s| {
        let handles: Vec<_> = (0..30)
            .map(|t| {
                let f = &f;
                let tier = tier.as_str();
                s.spawn(move || {
                    (0..10)
                        .map(|_| {
                            let r = f.order(&f.members[t % 3], tier, None);
                            let code = if r.status == 201 {
                                String::new()
                            } else {
                                r.error_code()
                            };
                            (r.status, code)
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    });
    assert_eq!(results.len(), 300);
    let created = results.iter().filter(|(s, _)| *s == 201).count();
    let sold_out = results
        .iter()
        .filter(|(s, c)| *s == 409 && c == "TIER_SOLD_OUT")
        .count();
    assert_eq!(created, 25, "{results:?}");
    assert_eq!(sold_out, 275);
    assert_eq!(f.counters(&tier), (25, 0));
    assert_eq!(
        f.app.count(&format!(
            "SELECT COUNT(*) FROM preorders WHERE tier_id = '{tier}'"
        )),
        25
    );
    let view = f
        .app
        .client
        .get(&format!("/api/v1/preorders/items/{item}"))
        .bearer(&f.members[0].access)
        .send();
    assert_eq!(view.json()["tiers"][0]["remaining"], 0);
}

#[test]
fn an_upgrade_racing_the_last_unit_never_oversells() {
    let f = fx();
    let item = f.item(10, (2, 50, 5), 8, 10);
    let basic = id_of(&f.tier(&item, json!({ "name": "Basic", "base_price": 10_000 })));
    for round in 0..4 {
        let premium = id_of(&f.tier(
            &item,
            json!({ "name": format!("Premium {round}"), "base_price": 30_000, "max_quantity": 1, "priority": 5 }),
        ));
        let p = f.order(&f.members[0], &basic, None);
        assert_eq!(p.status, 201, "{}", p.text());
        let pid = id_of(&p.json());
        f.pay(&f.members[0], &format!("preorder:{pid}"), 10_000);
        let (up, other) = thread::scope(|s| {
            let a = s.spawn(|| f.upgrade(&f.members[0], &pid, &premium));
            let b = s.spawn(|| f.order(&f.members[1], &premium, None));
            (a.join().unwrap(), b.join().unwrap())
        });
        let wins = [up.status, other.status]
            .iter()
            .filter(|s| **s == 201)
            .count();
        assert_eq!(wins, 1, "{} / {}", up.text(), other.text());
        let loser = if up.status == 201 { &other } else { &up };
        assert_eq!(loser.error_code(), "TIER_SOLD_OUT");
        let (held, sold) = f.counters(&premium);
        assert_eq!(held + sold, 1);
        if up.status == 201 {
            // The old unit counts until the upgrade is paid.
            assert_eq!(f.counters(&basic).1, 1);
            let u = up.json();
            assert_eq!(u["amount"], 20_000);
            let order_ref = u["order_ref"].as_str().unwrap().to_string();
            assert!(order_ref.starts_with("preorder-upgrade:"));
            f.pay(&f.members[0], &order_ref, 20_000);
            assert_eq!(f.counters(&premium), (0, 1));
            assert_eq!(f.read(&f.members[0], &pid)["tier_id"], premium);
            assert_eq!(f.counters(&basic).1, 0);
        } else {
            // Cancel the basic one so the member's next round starts alike.
            assert_eq!(f.cancel(&f.members[0], &pid).status, 200);
            let oid = id_of(&other.json());
            assert_eq!(f.cancel(&f.members[1], &oid).status, 200);
        }
    }
    // A downgrade or a sideways move is refused.
    let p = f.order(&f.members[2], &basic, None);
    let pid = id_of(&p.json());
    f.pay(&f.members[2], &format!("preorder:{pid}"), 10_000);
    let down = f.upgrade(&f.members[2], &pid, &basic);
    assert_eq!(
        (down.status, down.error_code().as_str()),
        (422, "INVALID_TIER_UPGRADE")
    );
}

#[test]
fn cancelling_before_and_after_each_policy_date_refunds_by_the_policy() {
    let mut f = fx();
    // Full refund for 2 days, 40 % until day 4, nothing after; no
    // cancellation from day 6; release on day 8.
    let item = f.item(8, (2, 40, 4), 6, 10);
    let tier = id_of(&f.tier(&item, json!({ "base_price": 10_001 })));
    let m = f.members[0].clone();
    f.earn(&m, 200_000);
    let ids: Vec<String> = (0..4)
        .map(|_| {
            let p = f.order(&m, &tier, Some(1_001));
            assert_eq!(p.status, 201, "{}", p.text());
            let id = id_of(&p.json());
            f.pay(&m, &format!("preorder:{id}"), 9_000);
            id
        })
        .collect();
    assert_eq!(f.counters(&tier), (0, 4));
    let rewards = |f: &Fx| {
        f.app.count(
            "SELECT COALESCE(SUM(amount), 0) FROM ledger_entries WHERE kind = 'reward' \
             AND description = 'Points back for a cancelled preorder'",
        )
    };
    let refund_of = |f: &Fx, id: &str| {
        f.app.count(&format!(
            "SELECT COALESCE(SUM(amount), 0) FROM preorder_refunds WHERE preorder_id = '{id}' AND status = 'due'"
        ))
    };
    // Before full_until: everything back.
    let c = f.cancel(&m, &ids[0]);
    assert_eq!(c.status, 200, "{}", c.text());
    let v = c.json();
    assert_eq!(v["status"], "refunded");
    assert_eq!(
        v["refund"],
        json!({"term": "full", "amount": 9_000, "points_returned": 1_001})
    );
    assert_eq!(refund_of(&f, &ids[0]), 9_000);
    assert_eq!(rewards(&f), 1_001);
    assert_eq!(f.counters(&tier), (0, 3));
    // Once only.
    let again = f.cancel(&m, &ids[0]);
    assert_eq!(
        (again.status, again.error_code().as_str()),
        (409, "REFUND_ALREADY_PROCESSED")
    );

    // After full_until: 40 %, rounded half up (3 600 and 400.4 → 400).
    f.advance(2 * DAY + 60);
    let m = f.members[0].clone();
    let v = f.cancel(&m, &ids[1]).json();
    assert_eq!(
        v["refund"],
        json!({"term": "partial", "amount": 3_600, "points_returned": 400})
    );
    assert_eq!(refund_of(&f, &ids[1]), 3_600);
    assert_eq!(rewards(&f), 1_401);

    // After none_after: cancelled, nothing back.
    f.advance(2 * DAY);
    let m = f.members[0].clone();
    let v = f.cancel(&m, &ids[2]).json();
    assert_eq!(v["status"], "cancelled");
    assert_eq!(
        v["refund"],
        json!({"term": "none", "amount": 0, "points_returned": 0})
    );
    assert_eq!(refund_of(&f, &ids[2]), 0);
    assert_eq!(rewards(&f), 1_401);
    assert_eq!(f.counters(&tier), (0, 1));

    // After the cancellation deadline: refused, nothing written.
    f.advance(2 * DAY);
    let m = f.members[0].clone();
    let before = f.app.table_counts();
    let late = f.cancel(&m, &ids[3]);
    assert_eq!(
        (late.status, late.error_code().as_str()),
        (409, "REFUND_DEADLINE_PASSED")
    );
    assert_eq!(f.app.table_counts(), before);
    assert_eq!(f.read(&m, &ids[3])["status"], "confirmed");
    f.app.assert_ledger_sound();
}

#[test]
fn a_lapsed_hold_frees_its_unit_and_its_late_payment_is_confirmed_or_refund_due() {
    let mut f = fx();
    let item = f.item(10, (2, 50, 5), 8, 10);
    let tier = id_of(&f.tier(&item, json!({ "max_quantity": 1, "base_price": 5_000 })));
    let a = f.order(&f.members[0], &tier, None);
    let a_id = id_of(&a.json());
    f.advance(16 * 60);
    assert_eq!(
        f.app.run_job("preorders-expire-holds")["report"]["affected"],
        1
    );
    assert_eq!(f.counters(&tier), (0, 0));
    let m0 = f.members[0].clone();
    assert_eq!(f.read(&m0, &a_id)["status"], "cancelled");
    // Paid late while a unit is free: confirmed.
    f.pay(&m0, &format!("preorder:{a_id}"), 5_000);
    assert_eq!(f.read(&m0, &a_id)["status"], "confirmed");
    assert_eq!(f.counters(&tier), (0, 1));
    // A second lapsed hold, paid after the tier sold out: refund due.
    let tier2 = id_of(&f.tier(
        &item,
        json!({ "max_quantity": 1, "base_price": 5_000, "name": "Two" }),
    ));
    let b = f.order(&f.members[1], &tier2, None);
    let b_id = id_of(&b.json());
    f.advance(16 * 60);
    f.app.run_job("preorders-expire-holds");
    let c = f.order(&f.members[2], &tier2, None);
    assert_eq!(c.status, 201, "{}", c.text());
    let m1 = f.members[1].clone();
    f.pay(&m1, &format!("preorder:{b_id}"), 5_000);
    assert_eq!(f.read(&m1, &b_id)["status"], "cancelled");
    assert_eq!(f.counters(&tier2), (1, 0));
    assert_eq!(
        f.app.count(&format!(
            "SELECT amount FROM preorder_refunds WHERE preorder_id = '{b_id}' AND reason = 'sold_out'"
        )),
        5_000
    );
}

#[test]
fn the_feature_flag_gates_member_routes_not_payments() {
    let f = fx();
    let item = f.item(10, (2, 50, 5), 8, 10);
    let tier = id_of(&f.tier(&item, json!({})));
    let p = f.order(&f.members[0], &tier, None);
    let pid = id_of(&p.json());
    let off = f
        .app
        .client
        .request("PUT", "/api/v1/admin/flags/preorders")
        .bearer(&f.admin.access)
        .json(&json!({"enabled": false}))
        .send();
    assert_eq!(off.status, 200, "{}", off.text());
    let list = f
        .app
        .client
        .get("/api/v1/preorders/items")
        .bearer(&f.members[0].access)
        .send();
    assert_eq!(
        (list.status, list.error_code().as_str()),
        (404, "FEATURE_DISABLED")
    );
    f.pay(&f.members[0], &format!("preorder:{pid}"), 100_000);
    assert_eq!(
        f.app.count(&format!(
            "SELECT COUNT(*) FROM preorders WHERE id = '{pid}' AND status = 'confirmed'"
        )),
        1
    );
}

// (method, path, body, caller, status, code, details.field)
type Case<'a> = (
    &'a str,
    &'a str,
    Value,
    &'a Tokens,
    u16,
    &'a str,
    Option<&'a str>,
);

#[test]
fn bad_input_is_refused_with_nothing_written() {
    let f = fx();
    let item = f.item(10, (2, 50, 5), 8, 10);
    let tier = id_of(&f.tier(&item, json!({})));
    let p = f.order(&f.members[0], &tier, None);
    let pid = id_of(&p.json());
    let before = f.app.table_counts();
    let tiers = format!("/api/v1/admin/preorder-items/{item}/tiers");
    let upgrade = format!("/api/v1/preorders/{pid}/upgrade");
    let cancel = format!("/api/v1/preorders/{pid}/cancel");
    let base = json!({
        "name": "X", "base_price": 100, "discount_percent": 0, "early_access_days": 0,
        "available_from": at(0), "available_until": at(DAY), "priority": 0,
    });
    let with = |k: &str, v: Value| {
        let mut b = base.clone();
        b[k] = v;
        b
    };
    let cases: Vec<Case<'_>> = vec![
        (
            "POST",
            tiers.as_str(),
            with("base_price", json!(-1)),
            &f.owner,
            422,
            "INVALID_FIELD",
            Some("base_price"),
        ),
        (
            "POST",
            tiers.as_str(),
            with("discount_percent", json!(101)),
            &f.owner,
            422,
            "INVALID_FIELD",
            Some("discount_percent"),
        ),
        (
            "POST",
            tiers.as_str(),
            with("available_until", json!(at(-DAY))),
            &f.owner,
            422,
            "INVALID_FIELD",
            Some("available_until"),
        ),
        (
            "POST",
            tiers.as_str(),
            with(
                "bonuses",
                json!([{"type": "points", "value": -5, "delivery": "automatic"}]),
            ),
            &f.owner,
            422,
            "INVALID_FIELD",
            Some("bonuses[0].value"),
        ),
        (
            "POST",
            tiers.as_str(),
            with("surprise", json!(1)),
            &f.owner,
            422,
            "INVALID_FIELD",
            None,
        ),
        (
            "POST",
            tiers.as_str(),
            with("base_price", json!("100")),
            &f.owner,
            422,
            "INVALID_FIELD",
            Some("base_price"),
        ),
        (
            "POST",
            tiers.as_str(),
            base.clone(),
            &f.members[0],
            403,
            "FORBIDDEN",
            None,
        ),
        (
            "POST",
            "/api/v1/admin/preorder-items",
            json!({"business_id": f.biz, "title": "T",
            "release_at": at(DAY), "cancellation_deadline": at(DAY / 2),
            "refund_policy": {"full_until": at(DAY / 2), "partial_percent": 50, "none_after": at(DAY / 4)}}),
            &f.owner,
            422,
            "INVALID_FIELD",
            Some("refund_policy.none_after"),
        ),
        (
            "POST",
            "/api/v1/admin/preorder-items",
            json!({"business_id": f.biz, "title": "T",
            "release_at": at(-DAY), "cancellation_deadline": at(-DAY),
            "refund_policy": {"full_until": at(-DAY), "partial_percent": 50, "none_after": at(-DAY)}}),
            &f.owner,
            422,
            "INVALID_FIELD",
            Some("release_at"),
        ),
        (
            "POST",
            "/api/v1/preorders",
            json!({"tier_id": tier, "points": -1}),
            &f.members[1],
            422,
            "INVALID_FIELD",
            Some("points"),
        ),
        (
            "POST",
            "/api/v1/preorders",
            json!({"tier_id": "01890a5d-ac96-774b-bcce-b302099a8057"}),
            &f.members[1],
            404,
            "TIER_NOT_FOUND",
            None,
        ),
        (
            "POST",
            "/api/v1/preorders",
            json!({"tier_id": tier, "points": 50}),
            &f.members[1],
            409,
            "INSUFFICIENT_POINTS",
            None,
        ),
        (
            "POST",
            upgrade.as_str(),
            json!({"tier_id": tier}),
            &f.members[1],
            404,
            "PREORDER_NOT_FOUND",
            None,
        ),
        (
            "POST",
            cancel.as_str(),
            json!({}),
            &f.members[1],
            404,
            "PREORDER_NOT_FOUND",
            None,
        ),
        (
            "GET",
            "/api/v1/admin/preorder-items/01890a5d-ac96-774b-bcce-b302099a8057/analytics",
            Value::Null,
            &f.owner,
            404,
            "PREORDER_NOT_FOUND",
            None,
        ),
    ];
    for (method, path, body, who, status, code, field) in cases {
        let mut req = f.app.client.request(method, path).bearer(&who.access);
        if !body.is_null() {
            req = req.json(&body);
        }
        let resp = req.send();
        assert_eq!(
            (resp.status, resp.error_code().as_str()),
            (status, code),
            "{method} {path} {body}: {}",
            resp.text()
        );
        if let Some(field) = field {
            assert_eq!(
                resp.json()["error"]["details"]["field"],
                field,
                "{}",
                resp.text()
            );
        }
        assert_eq!(f.app.table_counts(), before, "{method} {path} {body}");
    }
    // Malformed JSON, and no credentials at all.
    let bad = f
        .app
        .client
        .post("/api/v1/preorders")
        .bearer(&f.members[1].access)
        .raw_json("{\"tier_id\":")
        .send();
    assert_eq!(
        (bad.status, bad.error_code().as_str()),
        (400, "MALFORMED_JSON")
    );
    let anon = f.app.client.post("/api/v1/preorders").raw_json("{").send();
    assert_eq!(anon.status, 401);
    assert_eq!(f.app.table_counts(), before);
}

#[test]
fn a_member_lists_only_their_own_preorders_newest_first_in_pages() {
    let f = fx();
    let item = f.item(30, (10, 50, 20), 20, 10);
    let tier = id_of(&f.tier(&item, json!({})));
    let mut mine = Vec::new();
    for _ in 0..3 {
        let resp = f.order(&f.members[0], &tier, None);
        assert_eq!(resp.status, 201, "{}", resp.text());
        mine.push(id_of(&resp.json()));
    }
    let other = f.order(&f.members[1], &tier, None);
    assert_eq!(other.status, 201, "{}", other.text());
    let list = |member: &Tokens, query: &str| {
        let resp = f
            .app
            .client
            .get(&format!("/api/v1/preorders{query}"))
            .bearer(&member.access)
            .send();
        assert_eq!(resp.status, 200, "{}", resp.text());
        resp.json()
    };
    let first = list(&f.members[0], "?limit=2");
    let ids: Vec<String> = first["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(id_of)
        .collect();
    assert_eq!(ids, vec![mine[2].clone(), mine[1].clone()], "newest first");
    assert_eq!(
        first["items"][0],
        f.read(&f.members[0], &mine[2]),
        "same shape as a read"
    );
    let cursor = first["next_cursor"].as_str().expect("a next page");
    let second = list(&f.members[0], &format!("?limit=2&cursor={cursor}"));
    let ids: Vec<String> = second["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(id_of)
        .collect();
    assert_eq!(ids, vec![mine[0].clone()]);
    assert!(second["next_cursor"].is_null());
    let theirs = list(&f.members[1], "");
    assert_eq!(theirs["items"].as_array().unwrap().len(), 1);
    assert!(list(&f.members[2], "")["items"]
        .as_array()
        .unwrap()
        .is_empty());

    let anon = f.app.client.get("/api/v1/preorders").send();
    assert_eq!(anon.status, 401);
    let bad = f
        .app
        .client
        .get("/api/v1/preorders?cursor=nope")
        .bearer(&f.members[0].access)
        .send();
    assert_eq!(bad.status, 422);
    assert_eq!(bad.error_code(), "INVALID_CURSOR");
    let bad = f
        .app
        .client
        .get("/api/v1/preorders?limit=1000")
        .bearer(&f.members[0].access)
        .send();
    assert_eq!(bad.status, 422);
}
