//! Promo and banner administration.

use krug_core::{
    error::UseCaseError,
    promo::{
        banners::{self, RawBanner},
        engine::CartLine,
        input::RawPromo,
        store::{self, Manager, PromoEnv},
        PromoError,
    },
    wallet::Tier,
};
use serde_json::json;

use crate::support::World;

pub fn env(w: &World) -> PromoEnv<'_> {
    PromoEnv {
        sql: &w.sql,
        clock: &w.clock,
        random: &w.random,
        request_id: Some("req-1"),
    }
}

pub fn raw(v: serde_json::Value) -> RawPromo {
    serde_json::from_value(v).unwrap()
}

pub fn admin() -> Manager {
    Manager::Admin {
        id: "admin-1".into(),
    }
}

pub fn owner(business_id: &str) -> Manager {
    Manager::Owner {
        id: format!("owner-of-{business_id}"),
        business_id: business_id.into(),
    }
}

#[test]
fn owners_are_confined_to_their_business_and_codes_are_unique_case_insensitively() {
    let w = World::new();
    let a = w.business("floristry", 1.0, false);
    let b = w.business("optics", 1.0, false);
    let e = env(&w);

    let p = store::create(
        &e,
        &owner(&a.id),
        &raw(json!({ "code": "rose-5", "name": "Roses", "kind": "percent", "value": 5 })),
    )
    .unwrap();
    assert_eq!(p.definition.code.as_deref(), Some("ROSE-5"));
    assert_eq!(
        p.definition.businesses,
        Some(vec![a.id.clone()]),
        "an owner's promo is for their business"
    );
    assert_eq!(p.owner_business_id.as_deref(), Some(a.id.as_str()));

    let err = store::create(&e, &owner(&b.id), &raw(json!({ "code": "X-FOR-A", "name": "x", "kind": "fixed", "value": 1, "businesses": [a.id] }))).unwrap_err();
    assert_eq!(err.code(), "FORBIDDEN");
    let err = store::create(
        &e,
        &admin(),
        &raw(json!({ "code": "Rose-5", "name": "dup", "kind": "fixed", "value": 1 })),
    )
    .unwrap_err();
    assert!(matches!(err, PromoError::CodeTaken));
    // Network-wide by an admin.
    let net = store::create(
        &e,
        &admin(),
        &raw(
            json!({ "name": "Everyone", "kind": "points_multiplier", "value": 200, "auto": true }),
        ),
    )
    .unwrap();
    assert_eq!(net.definition.businesses, Some(vec![]));

    assert!(matches!(
        store::read(&e, &owner(&b.id), &p.id),
        Err(PromoError::PromoNotFound)
    ));
    assert_eq!(
        store::list(&e, &owner(&a.id), 10, None)
            .unwrap()
            .items
            .len(),
        1
    );
    assert_eq!(store::list(&e, &admin(), 10, None).unwrap().items.len(), 2);

    // Patch merges, re-validates, and keeps scope.
    let changes = json!({ "value": 15, "limits": { "total": 3 } });
    let patched = store::patch(&e, &owner(&a.id), &p.id, changes.as_object().unwrap()).unwrap();
    assert_eq!(patched.definition.value, Some(15));
    assert_eq!(patched.definition.limits.as_ref().unwrap().total, Some(3));
    let bad = json!({ "value": 500 });
    let err = store::patch(&e, &owner(&a.id), &p.id, bad.as_object().unwrap()).unwrap_err();
    assert_eq!(err.code(), "INVALID_VALUE");
    let unknown = json!({ "colour": "red" });
    let err = store::patch(&e, &owner(&a.id), &p.id, unknown.as_object().unwrap()).unwrap_err();
    assert_eq!(err.code(), "INVALID_FIELD");
    let err = store::patch(&e, &owner(&b.id), &p.id, changes.as_object().unwrap()).unwrap_err();
    assert!(matches!(err, PromoError::PromoNotFound));
    let audit = w.count("SELECT COUNT(*) FROM audit_log WHERE subject_type = 'promo'");
    assert_eq!(audit, 3);
}

#[test]
fn definitions_survive_a_round_trip_through_storage() {
    let w = World::new();
    let a = w.business("beauty", 1.0, false);
    let e = env(&w);
    let body = json!({
        "code": "HAPPY", "name": "Happy hours", "kind": "bogo", "buy_qty": 2, "free_qty": 1, "max_discount": 50_000,
        "businesses": [a.id],
        "conditions": { "min_subtotal": 100, "categories": ["beauty"], "skus": ["S1"], "first_order": true,
                        "min_tier": "vip", "channels": ["app", "pos"],
                        "schedule": { "starts_at": "2026-01-01T00:00:00Z", "ends_at": "2027-01-01T00:00:00Z",
                                      "weekly": [{ "days": [5, 1], "from": "22:00", "to": "02:00" }, { "days": [7], "from": "00:00", "to": "24:00" }] } },
        "limits": { "total": 100, "per_member": 2, "per_member_per_day": 1, "budget": 1_000_000 },
        "stackable": true, "priority": 7, "auto": false, "active": true
    });
    let created = store::create(&e, &admin(), &raw(body)).unwrap();
    let stored = store::get(&w.sql, &created.id).unwrap().unwrap();
    let p = &stored.promo;
    assert_eq!(
        (p.buy_qty, p.free_qty, p.max_discount),
        (2, 1, Some(50_000))
    );
    assert_eq!(p.conditions.min_tier, Some(Tier::Vip));
    assert_eq!(p.conditions.schedule.weekly[0].days, vec![1, 5]);
    assert_eq!(
        (
            p.conditions.schedule.weekly[0].from_min,
            p.conditions.schedule.weekly[0].to_min
        ),
        (1320, 120)
    );
    assert_eq!(p.conditions.schedule.weekly[1].to_min, 1440);
    let view = serde_json::to_value(store::read(&e, &admin(), &created.id).unwrap()).unwrap();
    assert_eq!(view["conditions"]["schedule"]["weekly"][1]["to"], "24:00");
    assert_eq!(view["conditions"]["schedule"]["weekly"][0]["from"], "22:00");
    assert_eq!(view["limits"]["per_member_per_day"], 1);
    assert_eq!(view["usage"], json!({ "uses": 0, "budget_spent": 0 }));
}

#[test]
fn banners_filter_by_placement_schedule_activity_and_tier() {
    let w = World::new();
    let a = w.business("floristry", 1.0, false);
    let e = env(&w);
    let mk = |who: &Manager, v: serde_json::Value| {
        let r: RawBanner = serde_json::from_value(v).unwrap();
        banners::create(&e, who, &r).unwrap()
    };
    mk(
        &admin(),
        json!({ "placement": "home", "title": "Low", "priority": 1 }),
    );
    mk(
        &owner(&a.id),
        json!({ "placement": "home", "title": "High", "priority": 9 }),
    );
    mk(
        &admin(),
        json!({ "placement": "home", "title": "Vip", "min_tier": "vip" }),
    );
    mk(
        &admin(),
        json!({ "placement": "home", "title": "Later", "starts_at": "2099-01-01T00:00:00Z" }),
    );
    let off = mk(
        &admin(),
        json!({ "placement": "category:floristry", "title": "Off" }),
    );
    let titles = |tier| {
        banners::for_member(&w.sql, "home", tier, w.now())
            .unwrap()
            .into_iter()
            .map(|b| b.definition.title)
            .collect::<Vec<_>>()
    };
    assert_eq!(titles(Tier::Insider), vec!["High", "Low"]);
    assert_eq!(titles(Tier::Elite), vec!["High", "Low", "Vip"]);
    let changes = json!({ "active": false });
    banners::patch(&e, &admin(), &off.id, changes.as_object().unwrap()).unwrap();
    assert!(
        banners::for_member(&w.sql, "category:floristry", Tier::Insider, w.now())
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        banners::for_member(&w.sql, "nowhere", Tier::Insider, w.now())
            .unwrap_err()
            .code(),
        "INVALID_PLACEMENT"
    );
    assert_eq!(
        banners::list(&e, &owner(&a.id), 10, None)
            .unwrap()
            .items
            .len(),
        1
    );
}

#[test]
fn a_checkout_reads_only_the_auto_campaigns_its_cart_can_trigger() {
    let w = World::new();
    let a = w.business("floristry", 1.0, false);
    let b = w.business("optics", 1.0, false);
    let e = env(&w);
    let mk = |v: serde_json::Value| store::create(&e, &admin(), &raw(v)).unwrap().id;
    let auto = |name: &str, businesses: &[&str], conditions: serde_json::Value| {
        mk(
            json!({ "name": name, "kind": "percent", "value": 5, "auto": true,
                   "businesses": businesses, "conditions": conditions }),
        )
    };
    let by_sku = auto("by-sku", &[&a.id], json!({ "skus": ["S1"] }));
    let by_cat = auto("by-category", &[&a.id], json!({ "categories": ["home"] }));
    let any = auto("any-line", &[&a.id], json!({ "min_subtotal": 100 }));
    let network = auto("network", &[], json!({ "skus": ["S9"] }));
    let _other = auto("other-business", &[&b.id], json!({}));
    let typed = mk(
        json!({ "code": "TYPED", "name": "typed", "kind": "fixed", "value": 1,
                           "businesses": [a.id], "conditions": { "skus": ["S7"] } }),
    );
    let _off = mk(
        json!({ "name": "off", "kind": "percent", "value": 5, "auto": true,
                          "active": false, "businesses": [a.id] }),
    );
    let cart = |lines: &[(&str, &str)]| -> Vec<CartLine> {
        lines
            .iter()
            .map(|(sku, category)| CartLine {
                sku: (*sku).into(),
                category: (*category).into(),
                quantity: 1,
                unit_price: 1_000,
            })
            .collect()
    };
    let ids = |business: &str, codes: &[&str], lines: &[CartLine]| {
        let codes: Vec<String> = codes.iter().map(|c| c.to_string()).collect();
        let mut v: Vec<String> = store::candidates(&w.sql, business, &codes, lines)
            .unwrap()
            .into_iter()
            .map(|p| p.id)
            .collect();
        v.sort();
        v
    };
    let sorted = |mut v: Vec<&String>| {
        v.sort();
        v.into_iter().cloned().collect::<Vec<_>>()
    };

    assert_eq!(
        ids(&a.id, &[], &cart(&[("S1", "beauty")])),
        sorted(vec![&by_sku, &any])
    );
    assert_eq!(
        ids(
            &a.id,
            &["TYPED"],
            &cart(&[("S9", "home"), ("S2", "beauty")])
        ),
        sorted(vec![&by_cat, &any, &network, &typed]),
        "a typed code is read whatever the cart holds"
    );
    assert_eq!(ids(&a.id, &[], &[]), sorted(vec![&any]));

    // Saving a promo re-indexes it: new SKUs, another business.
    let change = json!({ "conditions": { "skus": ["S9"] } });
    store::patch(&e, &admin(), &by_sku, change.as_object().unwrap()).unwrap();
    let change = json!({ "businesses": [b.id] });
    store::patch(&e, &admin(), &any, change.as_object().unwrap()).unwrap();
    assert!(ids(&a.id, &[], &cart(&[("S1", "beauty")])).is_empty());
    assert_eq!(
        ids(&a.id, &[], &cart(&[("S9", "beauty")])),
        sorted(vec![&by_sku, &network])
    );
    assert_eq!(
        w.count("SELECT COUNT(*) FROM promo_triggers WHERE promo_id IN (SELECT id FROM promos WHERE name = 'by-sku')"),
        1,
        "the old trigger is gone"
    );
}

#[test]
fn a_promo_for_many_businesses_and_skus_falls_back_to_any_line() {
    let w = World::new();
    let e = env(&w);
    let businesses: Vec<String> = (0..30)
        .map(|_| w.business("floristry", 1.0, false).id)
        .collect();
    let skus: Vec<String> = (0..100).map(|i| format!("S{i}")).collect();
    let id = store::create(
        &e,
        &admin(),
        &raw(
            json!({ "name": "wide", "kind": "percent", "value": 5, "auto": true,
                     "businesses": businesses, "conditions": { "skus": skus } }),
        ),
    )
    .unwrap()
    .id;
    // 30 × 100 rows would pass the cap: one `*` row per business instead,
    // and the engine still checks the SKUs.
    assert_eq!(w.count("SELECT COUNT(*) FROM promo_triggers"), 30);
    let line = CartLine {
        sku: "OTHER".into(),
        category: "x".into(),
        quantity: 1,
        unit_price: 10,
    };
    let found = store::candidates(&w.sql, &businesses[7], &[], &[line]).unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].id, id);
}
