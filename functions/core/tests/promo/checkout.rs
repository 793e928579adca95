//! Quotes, reservations, commit, release and expiry against real SQLite.

use std::sync::Arc;

use chrono::Duration;
use krug_core::{
    error::UseCaseError,
    native::{NativeSql, SeqRandom, SystemClock},
    promo::{
        checkout::{self, Checkout, RawCheckout},
        store::{self, PromoEnv},
        PromoError,
    },
    wallet::{ledger, WalletSettings},
};
use serde_json::json;

use crate::store::{admin, env, raw};
use crate::support::{staff, World};

pub(crate) fn cart(business: &str, codes: &[&str], order: Option<&str>) -> Checkout {
    let raw: RawCheckout = serde_json::from_value(json!({
        "business_id": business, "channel": "pos",
        "items": [{ "sku": "A", "category": "floristry", "quantity": 2, "unit_price": 5_000 }],
        "promo_codes": codes, "order_ref": order,
    }))
    .unwrap();
    Checkout::parse(&raw).unwrap()
}

#[test]
fn racing_reservations_never_exceed_a_total_limit() {
    let dir = tempfile::tempdir().unwrap();
    let path = Arc::new(dir.path().join("db"));
    let w = World::file(&path);
    let shop = w.business("floristry", 1.0, false);
    let m = w.member();
    let e = env(&w);
    store::create(&e, &admin(), &raw(json!({ "code": "FIVE", "name": "Five", "kind": "fixed", "value": 100, "limits": { "total": 5 } }))).unwrap();
    let handles: Vec<_> = (0..30)
        .map(|i| {
            let path = path.clone();
            let (member, business) = (m.id.clone(), shop.id.clone());
            std::thread::spawn(move || {
                let sql = NativeSql::open(&path).unwrap();
                let random = SeqRandom::new(500 + i);
                let e = PromoEnv {
                    sql: &sql,
                    clock: &SystemClock,
                    random: &random,
                    request_id: None,
                };
                checkout::reserve(
                    &e,
                    &member,
                    "10.0.0.1",
                    &cart(&business, &["five"], Some(&format!("o-{i}"))),
                )
                .map(|r| r.status)
            })
        })
        .collect();
    let results: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    let held = results
        .iter()
        .filter(|r| matches!(r, Ok(s) if s == "held"))
        .count();
    let refused = results
        .iter()
        .filter(|r| matches!(r, Err(e) if e.code() == "PROMO_LIMIT_REACHED"))
        .count();
    assert_eq!((held, refused), (5, 25), "{results:?}");
    assert_eq!(
        w.count("SELECT COUNT(*) FROM promo_uses WHERE status = 'held'"),
        5
    );
}

#[test]
fn commit_spends_held_points_records_the_purchase_and_is_idempotent() {
    let w = World::new();
    let shop = w.business("floristry", 1.0, false);
    let m = w.member();
    // 3 000 points available at once.
    let settings = WalletSettings::default();
    krug_core::db::immediate(&w.sql, |tx| {
        ledger::credit(
            tx,
            w.now(),
            &w.random,
            &ledger::Posting {
                member_id: &m.id,
                business_id: Some(&shop.id),
                cause_type: ledger::CauseType::Admin,
                cause_id: "seed",
                actor: &staff(),
                reason: Some("seed"),
                description: None,
            },
            ledger::EntryKind::Adjust,
            3_000,
            None,
            w.now(),
            365,
        )
        .map(|_| ())
    })
    .unwrap();
    let e = env(&w);
    let mut c = cart(&shop.id, &[], Some("till-1"));
    c.points = 5_000;
    let r = checkout::reserve(&e, &m.id, "ip", &c).unwrap();
    assert_eq!(
        r.quote["points_applied"], 3_000,
        "clamped to what is available"
    );
    assert_eq!(r.quote["total"], 7_000);
    // Held points are not spendable elsewhere meanwhile.
    let mut c2 = cart(&shop.id, &[], Some("till-2"));
    c2.points = 100;
    let r2 = checkout::reserve(&e, &m.id, "ip", &c2).unwrap();
    assert_eq!(r2.quote["points_applied"], 0);

    let done = checkout::commit(&e, &settings, &shop.id, &staff(), &r.reservation_id).unwrap();
    assert_eq!(done["status"], "committed");
    assert_eq!(done["points_spent"], 3_000);
    assert_eq!(ledger::balance(&w.sql, &m.id).unwrap().available, 0);
    assert_eq!(
        w.count("SELECT COUNT(*) FROM purchases WHERE amount = 7000 AND source = 'checkout'"),
        1
    );
    let again = checkout::commit(&e, &settings, &shop.id, &staff(), &r.reservation_id).unwrap();
    assert_eq!(again["purchase_id"], done["purchase_id"]);
    assert_eq!(w.count("SELECT COUNT(*) FROM purchases"), 1);
    // Another business cannot commit it; the member cannot release it now.
    let other = w.business("optics", 1.0, false);
    let err = checkout::commit(&e, &settings, &other.id, &staff(), &r.reservation_id).unwrap_err();
    assert!(matches!(err, PromoError::ReservationNotFound));
    let err = checkout::release(&e, &m.id, &r.reservation_id).unwrap_err();
    assert!(matches!(err, PromoError::ReservationCommitted));
    w.assert_sound();
}

#[test]
fn release_and_expiry_free_uses_and_expired_holds_cannot_commit() {
    let w = World::new();
    let shop = w.business("floristry", 1.0, false);
    let m = w.member();
    let e = env(&w);
    store::create(&e, &admin(), &raw(json!({ "code": "ONCE", "name": "Once", "kind": "percent", "value": 10, "limits": { "per_member": 1 } }))).unwrap();
    let r = checkout::reserve(&e, &m.id, "ip", &cart(&shop.id, &["ONCE"], Some("a"))).unwrap();
    let err =
        checkout::reserve(&e, &m.id, "ip", &cart(&shop.id, &["ONCE"], Some("b"))).unwrap_err();
    assert_eq!(err.code(), "PROMO_LIMIT_REACHED");
    checkout::release(&e, &m.id, &r.reservation_id).unwrap();
    checkout::release(&e, &m.id, &r.reservation_id).unwrap();
    let r = checkout::reserve(&e, &m.id, "ip", &cart(&shop.id, &["ONCE"], Some("b"))).unwrap();
    w.advance(Duration::minutes(15));
    // At the hold's end the use no longer counts, even before the job.
    let r3 = checkout::reserve(&e, &m.id, "ip", &cart(&shop.id, &["ONCE"], Some("c"))).unwrap();
    assert_eq!(r3.status, "held");
    let err = checkout::commit(
        &e,
        &WalletSettings::default(),
        &shop.id,
        &staff(),
        &r.reservation_id,
    )
    .unwrap_err();
    assert_eq!(err.code(), "RESERVATION_NOT_HELD");
    assert_eq!(checkout::expire(&w.sql, w.now()).unwrap(), 1);
    assert_eq!(checkout::expire(&w.sql, w.now()).unwrap(), 0, "idempotent");
    assert_eq!(
        checkout::read(&e, &m.id, &r.reservation_id).unwrap().status,
        "expired"
    );
}

#[test]
fn unknown_codes_are_limited_per_member_and_per_ip() {
    let w = World::new();
    let shop = w.business("floristry", 1.0, false);
    let (m1, m2) = (w.member(), w.member());
    let e = env(&w);
    for i in 0..10 {
        let code = format!("NO{i}");
        let q = checkout::quote(
            &e,
            &m1.id,
            "1.1.1.1",
            &cart(&shop.id, &[code.as_str()], None),
        )
        .unwrap();
        assert_eq!(q.rejected[0].reason, "UNKNOWN_CODE");
    }
    let err = checkout::quote(&e, &m1.id, "2.2.2.2", &cart(&shop.id, &["NO10"], None)).unwrap_err();
    assert_eq!(err.code(), "TOO_MANY_UNKNOWN_CODES");
    // Another member from the same address is blocked too; from another
    // address they are not.
    let err = checkout::quote(&e, &m2.id, "1.1.1.1", &cart(&shop.id, &["X"], None)).unwrap_err();
    assert_eq!(err.code(), "TOO_MANY_UNKNOWN_CODES");
    assert!(checkout::quote(&e, &m2.id, "3.3.3.3", &cart(&shop.id, &["X"], None)).is_ok());
    w.advance(Duration::minutes(61));
    assert!(checkout::quote(&e, &m1.id, "1.1.1.1", &cart(&shop.id, &["X"], None)).is_ok());
}

#[test]
fn carts_are_bounded() {
    let item = json!({ "sku": "A", "category": "home", "quantity": 1, "unit_price": 1 });
    let many: Vec<_> = (0..=checkout::MAX_LINES).map(|_| item.clone()).collect();
    let parse =
        |v: serde_json::Value| Checkout::parse(&serde_json::from_value::<RawCheckout>(v).unwrap());
    let base = |items: serde_json::Value| json!({ "business_id": "0191e6a0-0000-7000-8000-000000000000", "channel": "web", "items": items });
    assert_eq!(parse(base(json!(many))).unwrap_err().code, "TOO_MANY_ITEMS");
    let huge =
        json!([{ "sku": "A", "category": "home", "quantity": 10_000, "unit_price": 1_000_000 }]);
    assert_eq!(parse(base(huge)).unwrap_err().code, "INVALID_AMOUNT");
    assert_eq!(
        parse(base(
            json!([{ "sku": " ", "category": "home", "quantity": 1, "unit_price": 1 }])
        ))
        .unwrap_err()
        .code,
        "INVALID_SKU"
    );
    assert!(parse(base(json!([item]))).is_ok());
}

#[test]
fn cross_promo_coupons_issue_activate_redeem_once_and_expire() {
    use krug_core::{
        promo::coupons::{self, RawCrossPromo},
        wallet::{member::MemberRef, pos, qr},
    };
    let w = World::new();
    let (a, b) = (
        w.business("floristry", 1.0, false),
        w.business("optics", 1.0, false),
    );
    let m = w.member();
    let raw: RawCrossPromo = serde_json::from_value(json!({
        "from_business_id": a.id, "to_business_id": b.id, "title": "A to B", "bonus_pct": 10, "coupon_ttl_days": 7
    }))
    .unwrap();
    coupons::create_campaign(&w.sql, &w.clock, &w.random, "admin-1", None, &raw).unwrap();
    let buy = |business: &str, amount: i64, key: &str, coupon: Option<String>| {
        let actor = staff();
        let e = pos::PosEnv {
            sql: &w.sql,
            clock: &w.clock,
            random: &w.random,
            qr_key: &w.key,
            settings: &w.settings,
            business_id: business,
            actor: &actor,
            request_id: None,
        };
        let token = qr::issue(&w.key, &m.id, w.now(), &w.random).unwrap().token;
        pos::purchase(
            &e,
            &pos::Keyed {
                key: key.into(),
                request_hash: key.into(),
            },
            &pos::PurchaseCmd {
                member: MemberRef::QrToken(token),
                amount,
                category: None,
                external_id: None,
                description: None,
                coupon_code: coupon,
                ref_code: None,
            },
        )
    };
    let r = buy(&a.id, 30_000, "k1", None).unwrap();
    let issued = r.body["coupons_issued"].as_array().unwrap().clone();
    assert_eq!(issued.len(), 1);
    let coupon_id = issued[0].as_str().unwrap().to_string();
    let act = coupons::activate(&w.sql, w.now(), &w.random, &m.id, &coupon_id).unwrap();
    assert!(matches!(
        coupons::activate(&w.sql, w.now(), &w.random, "someone-else", &coupon_id),
        Err(PromoError::CouponNotFound)
    ));
    // Wrong business: refused, nothing written.
    let before = w.count("SELECT COUNT(*) FROM purchases");
    let err = buy(&a.id, 10_000, "k2", Some(act.activation_code.clone())).unwrap_err();
    assert_eq!(err.code(), "INVALID_COUPON");
    assert_eq!(w.count("SELECT COUNT(*) FROM purchases"), before);
    let r = buy(&b.id, 20_000, "k3", Some(act.activation_code.clone())).unwrap();
    assert_eq!(r.body["cross_bonus"], 2_000);
    assert_eq!(
        w.count(
            "SELECT COUNT(*) FROM purchases WHERE ecosystem_engaged = 1 AND coupon_id IS NOT NULL"
        ),
        1
    );
    assert_eq!(
        buy(&b.id, 20_000, "k4", Some(act.activation_code))
            .unwrap_err()
            .code(),
        "INVALID_COUPON"
    );
    // A second coupon lapses unused after its lifetime.
    let r = buy(&a.id, 30_000, "k5", None).unwrap();
    let second = r.body["coupons_issued"][0].as_str().unwrap().to_string();
    w.advance(Duration::days(8));
    let err = coupons::activate(&w.sql, w.now(), &w.random, &m.id, &second).unwrap_err();
    assert_eq!(err.code(), "COUPON_NOT_USABLE");
    w.assert_sound();
}

#[test]
fn an_order_has_one_live_reservation_and_a_refused_one_writes_nothing() {
    let w = World::new();
    let shop = w.business("floristry", 1.0, false);
    let m = w.member();
    let e = env(&w);
    store::create(
        &e,
        &admin(),
        &raw(json!({ "code": "TEN", "name": "Ten", "kind": "fixed", "value": 100 })),
    )
    .unwrap();
    let first =
        checkout::reserve(&e, &m.id, "ip", &cart(&shop.id, &["TEN"], Some("till-7"))).unwrap();
    let err =
        checkout::reserve(&e, &m.id, "ip", &cart(&shop.id, &["TEN"], Some("till-7"))).unwrap_err();
    assert_eq!(err.code(), "ORDER_ALREADY_RESERVED");
    assert_eq!(w.count("SELECT COUNT(*) FROM reservations"), 1);
    assert_eq!(w.count("SELECT COUNT(*) FROM promo_uses"), 1);
    // Released, the order can be reserved again.
    checkout::release(&e, &m.id, &first.reservation_id).unwrap();
    checkout::reserve(&e, &m.id, "ip", &cart(&shop.id, &["TEN"], Some("till-7"))).unwrap();
    w.assert_sound();
}
