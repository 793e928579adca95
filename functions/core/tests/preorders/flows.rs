//! The use cases against SQLite.

use chrono::Duration;
use krug_core::{
    db::{immediate, ts},
    payments::webhook::{OrderSettler, PaidOrder},
    ports::StoreError,
    preorders::{
        admin::{self, Manager},
        jobs,
        orders::{self, RawOrder, RawUpgrade},
        PreorderEnv, PreorderError, PreorderSettler, UpgradeSettler,
    },
    promo::checkout::held_points,
    wallet::{
        ledger::{self, Actor, CauseType, EntryKind, Posting},
        member::{Business, Member},
    },
};
use serde_json::{json, Value};

use crate::support::World;

fn env(w: &World) -> PreorderEnv<'_> {
    PreorderEnv {
        sql: &w.sql,
        clock: &w.clock,
        random: &w.random,
    }
}

fn admin() -> Manager {
    Manager {
        admin: true,
        owner_of: None,
    }
}

struct Shop {
    w: World,
    b: Business,
    m: Member,
}

fn shop() -> Shop {
    let w = World::new();
    let b = w.business("gastronomy", 1.0, false);
    let m = w.member();
    Shop { w, b, m }
}

fn iso(w: &World, d: Duration) -> String {
    ts(w.now() + d)
}

impl Shop {
    fn give_points(&self, m: &Member, points: i64) {
        let now = self.w.now();
        immediate(&self.w.sql, |tx| -> Result<(), StoreError> {
            ledger::credit(
                tx,
                now,
                &self.w.random,
                &Posting {
                    member_id: &m.id,
                    business_id: None,
                    cause_type: CauseType::Reward,
                    cause_id: "test",
                    actor: &Actor::system(),
                    reason: None,
                    description: None,
                },
                EntryKind::Reward,
                points,
                None,
                now,
                365,
            )?;
            Ok(())
        })
        .unwrap();
    }

    /// Release in 10 days; full refund 2 days, 50 % until 4, deadline 6.
    fn item(&self, limit: i64) -> String {
        let w = &self.w;
        let raw = serde_json::from_value(json!({
            "business_id": self.b.id, "title": "Spring box", "release_at": iso(w, Duration::days(10)),
            "cancellation_deadline": iso(w, Duration::days(6)),
            "refund_policy": {"full_until": iso(w, Duration::days(2)), "partial_percent": 50,
                              "none_after": iso(w, Duration::days(4))},
            "per_member_limit": limit,
        }))
        .unwrap();
        admin::create_item(&env(w), &admin(), &raw).unwrap().id
    }

    fn tier(&self, item: &str, over: Value) -> String {
        let w = &self.w;
        let mut b = json!({
            "name": "Box", "base_price": 10_000, "discount_percent": 0, "early_access_days": 2,
            "available_from": iso(w, Duration::minutes(-1)), "available_until": iso(w, Duration::days(9)),
            "priority": 1,
            "bonuses": [
                {"type": "points", "value": 700, "delivery": "automatic"},
                {"type": "coupon", "value": 15, "delivery": "automatic"},
                {"type": "activation_code", "value": "Video course", "delivery": "activation_code"},
            ],
        });
        for (k, v) in over.as_object().unwrap() {
            b[k] = v.clone();
        }
        let raw = serde_json::from_value(b).unwrap();
        admin::add_tier(&env(w), &admin(), item, &raw).unwrap().id
    }

    fn place(
        &self,
        m: &Member,
        tier: &str,
        points: Option<i64>,
    ) -> Result<orders::PreorderView, PreorderError> {
        orders::place(
            &env(&self.w),
            &m.id,
            &RawOrder {
                tier_id: tier.into(),
                points,
            },
        )
    }

    fn pay(&self, settler: &dyn OrderSettler, m: &Member, id: &str, amount: i64) -> Value {
        let now = self.w.now();
        let payment_id = format!("p-{id}-{amount}");
        immediate(&self.w.sql, |tx| {
            settler.paid(
                tx,
                &PaidOrder {
                    id,
                    business_id: &self.b.id,
                    member_id: Some(&m.id),
                    provider: "generic",
                    payment_id: &payment_id,
                    amount,
                    purchase_id: None,
                    now,
                },
            )
        })
        .unwrap()
    }

    fn counters(&self, tier: &str) -> (i64, i64) {
        (
            self.w.count(&format!(
                "SELECT held FROM preorder_tiers WHERE id = '{tier}'"
            )),
            self.w.count(&format!(
                "SELECT sold FROM preorder_tiers WHERE id = '{tier}'"
            )),
        )
    }

    fn status(&self, id: &str) -> String {
        orders::read(&env(&self.w), &self.m.id, id)
            .map(|p| {
                serde_json::to_value(p.status)
                    .unwrap()
                    .as_str()
                    .unwrap()
                    .to_string()
            })
            .unwrap_or_default()
    }

    fn available(&self, m: &Member) -> i64 {
        ledger::balance(&self.w.sql, &m.id).unwrap().available
    }
}

#[test]
fn points_are_held_like_a_checkout_and_spent_once_on_payment() {
    let s = shop();
    s.give_points(&s.m, 5_000);
    let item = s.item(5);
    let tier = s.tier(&item, json!({"max_quantity": 3}));
    let p = s.place(&s.m, &tier, Some(3_000)).unwrap();
    assert_eq!(p.total, 7_000);
    assert_eq!(held_points(&s.w.sql, &s.m.id, s.w.now()).unwrap(), 3_000);
    // Only 2 000 are free now.
    assert!(matches!(
        s.place(&s.m, &tier, Some(2_001)),
        Err(PreorderError::InsufficientPoints { available: 2_000 })
    ));
    assert_eq!(s.counters(&tier), (1, 0));
    let out = s.pay(&PreorderSettler, &s.m, &p.id, 7_000);
    assert_eq!(out["status"], "confirmed", "{out}");
    assert_eq!(s.status(&p.id), "confirmed");
    assert_eq!(s.counters(&tier), (0, 1));
    assert_eq!(s.available(&s.m), 2_000);
    assert_eq!(held_points(&s.w.sql, &s.m.id, s.w.now()).unwrap(), 0);
    // A second payment of the same preorder is a refund due, not a second effect.
    let out = s.pay(&PreorderSettler, &s.m, &p.id, 7_001);
    assert_eq!(out["reason"], "not_payable");
    assert_eq!(s.available(&s.m), 2_000);
    assert_eq!(s.w.count("SELECT COUNT(*) FROM preorder_refunds"), 1);
    // Underpaid: refund due, preorder left as it was.
    let q = s.place(&s.m, &tier, None).unwrap();
    assert_eq!(
        s.pay(&PreorderSettler, &s.m, &q.id, 9_999)["reason"],
        "underpaid"
    );
    assert_eq!(s.status(&q.id), "pending_payment");
    s.w.assert_sound();
}

#[test]
fn a_preorder_paid_wholly_with_points_is_confirmed_at_once() {
    let s = shop();
    s.give_points(&s.m, 10_000);
    let tier = s.tier(&s.item(1), json!({}));
    let p = s.place(&s.m, &tier, Some(10_000)).unwrap();
    assert_eq!(s.status(&p.id), "confirmed");
    assert_eq!(s.counters(&tier), (0, 1));
    assert_eq!(s.available(&s.m), 0);
}

#[test]
fn expiry_frees_the_unit_and_the_points_once() {
    let s = shop();
    s.give_points(&s.m, 1_000);
    let tier = s.tier(&s.item(1), json!({"max_quantity": 1}));
    let p = s.place(&s.m, &tier, Some(1_000)).unwrap();
    let other = s.w.member();
    assert!(matches!(
        s.place(&other, &tier, None),
        Err(PreorderError::SoldOut)
    ));
    s.w.advance(Duration::minutes(16));
    assert_eq!(jobs::expire_holds(&s.w.sql, s.w.now()).unwrap(), 1);
    assert_eq!(jobs::expire_holds(&s.w.sql, s.w.now()).unwrap(), 0);
    assert_eq!(s.status(&p.id), "cancelled");
    assert_eq!(s.counters(&tier), (0, 0));
    assert_eq!(held_points(&s.w.sql, &s.m.id, s.w.now()).unwrap(), 0);
    // The unit is free for someone else; the late payment is a refund due.
    s.place(&other, &tier, None).unwrap();
    assert_eq!(
        s.pay(&PreorderSettler, &s.m, &p.id, 9_000)["reason"],
        "sold_out"
    );
    assert_eq!(s.counters(&tier), (1, 0));
    assert_eq!(s.available(&s.m), 1_000);
}

#[test]
fn cancellation_refunds_by_the_policy_returns_points_and_happens_once() {
    let s = shop();
    s.give_points(&s.m, 4_000);
    let tier = s.tier(&s.item(5), json!({"base_price": 10_001}));
    let ids: Vec<String> = (0..3)
        .map(|_| {
            let p = s.place(&s.m, &tier, Some(1_001)).unwrap();
            s.pay(&PreorderSettler, &s.m, &p.id, 9_000);
            p.id
        })
        .collect();
    let e = env(&s.w);
    let full = orders::cancel(&e, &s.m.id, &ids[0], 365).unwrap();
    assert_eq!(
        serde_json::to_value(&full.refund).unwrap(),
        json!({"term": "full", "amount": 9_000, "points_returned": 1_001})
    );
    assert!(matches!(
        orders::cancel(&e, &s.m.id, &ids[0], 365),
        Err(PreorderError::RefundAlreadyProcessed)
    ));
    s.w.advance(Duration::days(2));
    let partial = orders::cancel(&env(&s.w), &s.m.id, &ids[1], 365).unwrap();
    // 50 % of 9 000 and of 1 001 (500.5 → 501).
    assert_eq!(
        serde_json::to_value(&partial.refund).unwrap(),
        json!({"term": "partial", "amount": 4_500, "points_returned": 501})
    );
    s.w.advance(Duration::days(4));
    assert!(matches!(
        orders::cancel(&env(&s.w), &s.m.id, &ids[2], 365),
        Err(PreorderError::RefundDeadlinePassed)
    ));
    assert_eq!(s.counters(&tier), (0, 1));
    assert_eq!(
        s.w.count("SELECT SUM(amount) FROM preorder_refunds WHERE status = 'due'"),
        13_500
    );
    assert_eq!(s.available(&s.m), 4_000 - 3 * 1_001 + 1_001 + 501);
    // Someone else's preorder is not found.
    let other = s.w.member();
    assert!(matches!(
        orders::cancel(&env(&s.w), &other.id, &ids[2], 365),
        Err(PreorderError::NotFound)
    ));
    s.w.assert_sound();
}

#[test]
fn early_access_then_fulfilment_grants_each_bonus_once() {
    let s = shop();
    let item = s.item(5);
    let tier = s.tier(&item, json!({}));
    let plain = s.tier(
        &item,
        json!({"name": "Plain", "early_access_days": 0, "bonuses": []}),
    );
    let a = s.place(&s.m, &tier, None).unwrap();
    let b = s.place(&s.m, &tier, None).unwrap();
    let c = s.place(&s.m, &plain, None).unwrap();
    for p in [&a, &b, &c] {
        s.pay(&PreorderSettler, &s.m, &p.id, p.total);
    }
    s.w.advance(Duration::days(8) + Duration::minutes(1));
    assert_eq!(jobs::open_early_access(&s.w.sql, s.w.now()).unwrap(), 2);
    assert_eq!(jobs::open_early_access(&s.w.sql, s.w.now()).unwrap(), 0);
    assert_eq!(s.status(&a.id), "early_access_active");
    assert_eq!(s.status(&c.id), "confirmed");
    // Not yet released: nothing fulfilled.
    assert_eq!(
        jobs::fulfil(&s.w.sql, s.w.now(), &s.w.random, &s.w.settings).unwrap(),
        0
    );
    s.w.advance(Duration::days(2));
    assert_eq!(
        jobs::fulfil(&s.w.sql, s.w.now(), &s.w.random, &s.w.settings).unwrap(),
        3
    );
    assert_eq!(
        jobs::fulfil(&s.w.sql, s.w.now(), &s.w.random, &s.w.settings).unwrap(),
        0
    );
    assert_eq!(s.w.count("SELECT COUNT(*) FROM preorder_grants"), 6);
    assert_eq!(
        s.w.count("SELECT COUNT(*) FROM coupons WHERE bonus_pct = 15"),
        2
    );
    assert_eq!(s.available(&s.m), 1_400);
    let codes: Vec<String> = [&a, &b]
        .iter()
        .map(|p| {
            orders::read(&env(&s.w), &s.m.id, &p.id).unwrap().bonuses[2]
                .code
                .clone()
                .unwrap()
        })
        .collect();
    assert_ne!(codes[0], codes[1]);
    assert!(codes.iter().all(|c| c.len() == 19));
    // Illegal from here: a fulfilled preorder is neither cancelled nor upgraded.
    assert!(matches!(
        orders::cancel(&env(&s.w), &s.m.id, &a.id, 365),
        Err(PreorderError::RefundNotEligible)
    ));
    s.w.assert_sound();
}

#[test]
fn upgrades_keep_the_old_unit_until_paid_and_refuse_illegal_moves() {
    let s = shop();
    let item = s.item(5);
    let basic = s.tier(&item, json!({"name": "Basic", "base_price": 10_000}));
    let premium = s.tier(
        &item,
        json!({"name": "Premium", "base_price": 25_000, "max_quantity": 1}),
    );
    let other_item = s.item(5);
    let foreign = s.tier(&other_item, json!({"base_price": 90_000}));
    let p = s.place(&s.m, &basic, None).unwrap();
    let up = |tier: &str| {
        orders::upgrade(
            &env(&s.w),
            &s.m.id,
            &p.id,
            &RawUpgrade {
                tier_id: tier.into(),
            },
        )
    };
    // Unpaid: not upgradable yet.
    assert!(matches!(up(&premium), Err(PreorderError::NotAvailable(_))));
    s.pay(&PreorderSettler, &s.m, &p.id, 10_000);
    assert!(matches!(up(&basic), Err(PreorderError::InvalidUpgrade(_))));
    assert!(matches!(
        up(&foreign),
        Err(PreorderError::InvalidUpgrade(_))
    ));
    let u = up(&premium).unwrap();
    assert_eq!(u.amount, 15_000);
    assert_eq!(u.order_ref, format!("preorder-upgrade:{}", u.id));
    assert!(matches!(up(&premium), Err(PreorderError::NotAvailable(_))));
    assert_eq!(s.counters(&basic), (0, 1));
    assert_eq!(s.counters(&premium), (1, 0));
    // Lapsed and taken by someone else: the late payment is a refund due.
    s.w.advance(Duration::minutes(16));
    jobs::expire_holds(&s.w.sql, s.w.now()).unwrap();
    let rival = s.w.member();
    s.place(&rival, &premium, None).unwrap();
    assert_eq!(
        s.pay(&UpgradeSettler, &s.m, &u.id, 15_000)["reason"],
        "sold_out"
    );
    assert_eq!(s.counters(&premium), (1, 0));
    assert_eq!(s.counters(&basic), (0, 1));
    // A fresh upgrade elsewhere, paid: the units move.
    let gold = s.tier(&item, json!({"name": "Gold", "base_price": 40_000}));
    let u = up(&gold).unwrap();
    assert_eq!(
        s.pay(&UpgradeSettler, &s.m, &u.id, 30_000)["status"],
        "paid"
    );
    assert_eq!(s.counters(&basic), (0, 0));
    assert_eq!(s.counters(&gold), (0, 1));
    let v = orders::read(&env(&s.w), &s.m.id, &p.id).unwrap();
    assert_eq!((v.tier_id.as_str(), v.price), (gold.as_str(), 40_000));
}

#[test]
fn items_outside_their_window_or_released_refuse_changes() {
    let s = shop();
    let item = s.item(5);
    let later = s.tier(
        &item,
        json!({"available_from": iso(&s.w, Duration::days(1)), "available_until": iso(&s.w, Duration::days(2))}),
    );
    assert!(matches!(
        s.place(&s.m, &later, None),
        Err(PreorderError::NotAvailable(_))
    ));
    let patch = serde_json::from_value(json!({"title": "Renamed"})).unwrap();
    assert_eq!(
        admin::patch_item(&env(&s.w), &admin(), &item, &patch)
            .unwrap()
            .title,
        "Renamed"
    );
    // An owner of another business cannot see it.
    let stranger = Manager {
        admin: false,
        owner_of: Some("someone-else".into()),
    };
    assert!(matches!(
        admin::patch_item(&env(&s.w), &stranger, &item, &patch),
        Err(PreorderError::NotFound)
    ));
    s.w.advance(Duration::days(11));
    assert!(matches!(
        admin::patch_item(&env(&s.w), &admin(), &item, &patch),
        Err(PreorderError::NotAvailable(_))
    ));
    let a = admin::analytics(&env(&s.w), &admin(), &item).unwrap();
    assert_eq!(a.conversion.views, 0);
}
