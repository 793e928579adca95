//! The purchase pipeline: cashback through the real path, caps, external-id
//! dedupe, medical privacy, events budget, tiers moving with the window,
//! badges.

use chrono::Duration;
use krug_core::{
    db::immediate,
    error::UseCaseError,
    params,
    ports::Sql as _,
    wallet::{
        jobs,
        member::Business,
        purchases::{self, Recorded},
        Category, Tier, WalletError,
    },
};

use crate::support::{pos_sale, World};

fn record(
    w: &World,
    member: &str,
    business: &Business,
    amount: i64,
    category: Option<Category>,
    external_id: Option<&str>,
) -> Result<Recorded, WalletError> {
    let mut sale = pos_sale(&w.reload(member), business, amount);
    sale.category = category;
    sale.external_id = external_id.map(str::to_string);
    sale.description = Some("root canal, tooth 36".into());
    immediate(&w.sql, |tx| {
        purchases::record(tx, &w.clock, &w.random, &w.settings, &sale)
    })
}

// Refunds `amount` of a purchase as the system.
fn refund(w: &World, purchase_id: &str, amount: i64, external_id: &str) {
    immediate(&w.sql, |tx| {
        purchases::refund(
            tx,
            &w.clock,
            &w.random,
            &purchases::NewRefund {
                purchase_id: purchase_id.to_string(),
                amount,
                external_id: Some(external_id.into()),
                actor: krug_core::wallet::ledger::Actor::system(),
            },
        )
    })
    .unwrap();
}

#[test]
fn cashback_follows_tier_first_purchase_and_multiplier() {
    let w = World::new();
    let m = w.member();
    w.sql
        .execute(
            "UPDATE members SET tier = 'vip' WHERE id = ?",
            &params![m.id.as_str()],
        )
        .unwrap();
    let shop = w.business("gastronomy", 1.5, false);
    // vip, first in gastronomy: 1 000 ₽ × 7 % × 2 × 1.5 = 210 ₽.
    let first = record(&w, &m.id, &shop, 100_000, None, None).unwrap();
    assert_eq!(first.points_earned, 21_000);
    // Tiers are recomputed from the window: the hand-set vip falls back.
    assert_eq!(first.tier, Tier::Insider);
    // Now insider, repeat: 333 kop × 5 % × 1.5 = 24.975 → 25.
    let second = record(&w, &m.id, &shop, 333, None, None).unwrap();
    assert_eq!(second.points_earned, 25);
    // Another category is a first purchase again: insider × 1.5.
    let third = record(&w, &m.id, &shop, 1_000, Some(Category::Floristry), None).unwrap();
    assert_eq!(third.points_earned, 113); // 1000 × 5 % × 1.5 × 1.5 = 112.5 → 113
    w.assert_sound();
}

#[test]
fn daily_purchase_cap_records_but_earns_nothing() {
    let mut w = World::new();
    w.settings.max_purchases_per_business_day = 2;
    let m = w.member();
    let shop = w.business("beauty", 1.0, false);
    let other = w.business("beauty", 1.0, false);
    record(&w, &m.id, &shop, 10_000, None, None).unwrap();
    record(&w, &m.id, &shop, 10_000, None, None).unwrap();
    let third = record(&w, &m.id, &shop, 10_000, None, None).unwrap();
    assert_eq!(
        (third.points_earned, third.capped),
        (0, Some("purchases_per_business_day"))
    );
    assert_eq!(third.status, "recorded");
    // Another business is not capped; the same one is again after 24 h.
    assert_eq!(
        record(&w, &m.id, &other, 10_000, None, None)
            .unwrap()
            .points_earned,
        500
    );
    w.advance(Duration::days(1));
    assert_eq!(
        record(&w, &m.id, &shop, 10_000, None, None)
            .unwrap()
            .points_earned,
        500
    );
    assert_eq!(w.count("SELECT COUNT(*) FROM purchases"), 5);
    w.assert_sound();
}

#[test]
fn daily_points_cap_earns_only_the_rest() {
    let mut w = World::new();
    w.settings.max_points_per_day = 10_000;
    let m = w.member();
    let shop = w.business("beauty", 1.0, false);
    assert_eq!(
        record(&w, &m.id, &shop, 100_000, None, None)
            .unwrap()
            .points_earned,
        7_500
    );
    let capped = record(&w, &m.id, &shop, 100_000, None, None).unwrap();
    assert_eq!(
        (capped.points_earned, capped.capped),
        (2_500, Some("points_per_day"))
    );
    let none = record(&w, &m.id, &shop, 100_000, None, None).unwrap();
    assert_eq!(none.points_earned, 0);
    w.advance(Duration::days(1) + Duration::seconds(1));
    assert_eq!(
        record(&w, &m.id, &shop, 100_000, None, None)
            .unwrap()
            .points_earned,
        5_000
    );
    w.assert_sound();
}

#[test]
fn external_id_records_a_sale_once() {
    let w = World::new();
    let m = w.member();
    let shop = w.business("optics", 1.0, false);
    let a = record(&w, &m.id, &shop, 50_000, None, Some("sale-1")).unwrap();
    let b = record(&w, &m.id, &shop, 50_000, None, Some("sale-1")).unwrap();
    assert_eq!((a.status, b.status), ("recorded", "duplicate"));
    assert_eq!(a.purchase_id, b.purchase_id);
    assert_eq!(b.points_earned, a.points_earned);
    let err = record(&w, &m.id, &shop, 60_000, None, Some("sale-1")).unwrap_err();
    assert_eq!(err.code(), "EXTERNAL_ID_CONFLICT");
    // The same id at another business is another sale.
    let elsewhere = w.business("optics", 1.0, false);
    assert_eq!(
        record(&w, &m.id, &elsewhere, 50_000, None, Some("sale-1"))
            .unwrap()
            .status,
        "recorded"
    );
    assert_eq!(w.count("SELECT COUNT(*) FROM purchases"), 2);
    w.assert_sound();
}

#[test]
fn medical_purchases_keep_no_service_details() {
    let w = World::new();
    let m = w.member();
    let clinic = w.business("dentistry", 1.0, true);
    let salon = w.business("beauty", 1.0, false);
    record(&w, &m.id, &clinic, 500_000, None, None).unwrap();
    record(&w, &m.id, &salon, 5_000, None, None).unwrap();
    assert_eq!(
        w.count(
            "SELECT COUNT(*) FROM purchases WHERE category = 'dentistry' AND description IS NULL"
        ),
        1
    );
    assert_eq!(
        w.count("SELECT COUNT(*) FROM purchases WHERE description IS NOT NULL"),
        1
    );
    let details = w.sql.execute("SELECT details FROM audit_log", &[]).unwrap();
    assert!(!format!("{details:?}").contains("root canal"));
}

#[test]
fn two_percent_goes_to_the_events_budget() {
    let w = World::new();
    let m = w.member();
    let shop = w.business("home", 1.0, false);
    record(&w, &m.id, &shop, 100_000, None, None).unwrap();
    record(&w, &m.id, &shop, 25, None, None).unwrap(); // 0.5 → 1
    assert_eq!(purchases::events_budget_total(&w.sql).unwrap(), 2_001);
}

#[test]
fn tier_rises_with_spend_and_falls_as_the_window_moves() {
    let w = World::new();
    let m = w.member();
    let shops: Vec<Business> = ["beauty", "optics", "home"]
        .iter()
        .map(|c| w.business(c, 1.0, false))
        .collect();
    // 10 000 ₽ in each of three categories, 100 days apart.
    for (i, shop) in shops.iter().enumerate() {
        let r = record(&w, &m.id, shop, 1_000_000, None, None).unwrap();
        let expected = if i == 2 { Tier::Vip } else { Tier::Insider };
        assert_eq!(r.tier, expected, "after purchase {i}");
        w.advance(Duration::days(100));
    }
    assert_eq!(w.reload(&m.id).tier, Tier::Vip);
    // Now t0 + 300 d. The first purchase leaves the window at t0 + 365 d.
    w.advance(Duration::days(65) - Duration::seconds(1));
    assert_eq!(
        jobs::recompute_tiers(&w.sql, &w.random, w.now()).unwrap(),
        0
    );
    assert_eq!(w.reload(&m.id).tier, Tier::Vip);
    w.advance(Duration::seconds(1));
    assert_eq!(
        jobs::recompute_tiers(&w.sql, &w.random, w.now()).unwrap(),
        1
    );
    assert_eq!(w.reload(&m.id).tier, Tier::Insider);
    // Running it again changes nothing.
    assert_eq!(
        jobs::recompute_tiers(&w.sql, &w.random, w.now()).unwrap(),
        0
    );
    assert_eq!(
        w.count("SELECT COUNT(*) FROM tier_changes WHERE member_id IS NOT NULL"),
        2
    );
    assert_eq!(
        w.count("SELECT COUNT(*) FROM audit_log WHERE action = 'member.tier_changed'"),
        2
    );
}

#[test]
fn refund_can_drop_the_tier() {
    let w = World::new();
    let m = w.member();
    let mut last = None;
    for c in ["beauty", "optics", "home"] {
        let shop = w.business(c, 1.0, false);
        last = Some(record(&w, &m.id, &shop, 1_000_000, None, None).unwrap());
    }
    assert_eq!(w.reload(&m.id).tier, Tier::Vip);
    refund(&w, &last.clone().unwrap().purchase_id, 1, "r-1");
    assert_eq!(w.reload(&m.id).tier, Tier::Insider);
    w.assert_sound();
}

#[test]
fn badges_for_categories_and_welcome() {
    let w = World::new();
    let m = w.member();
    let shop = w.business("floristry", 1.0, false);
    let r = record(&w, &m.id, &shop, 1_000, None, None).unwrap();
    assert_eq!(
        r.new_badges,
        vec!["category_floristry".to_string(), "welcome".to_string()]
    );
    let again = record(&w, &m.id, &shop, 1_000, None, None).unwrap();
    assert!(again.new_badges.is_empty());
    // All nine categories and 250 000 ₽ in total.
    let big = w.business("legal", 1.0, false);
    let mut last = Vec::new();
    for c in Category::ALL {
        last = record(&w, &m.id, &big, 3_000_000, Some(c), None)
            .unwrap()
            .new_badges;
    }
    assert!(last.contains(&"explorer".to_string()), "{last:?}");
    assert_eq!(
        w.count("SELECT COUNT(*) FROM member_badges WHERE badge = 'patron'"),
        1
    );
}

#[test]
fn one_summary_read_answers_what_the_tier_and_the_badges_read_apart() {
    let w = World::new();
    let m = w.member();
    let beauty = w.business("beauty", 1.0, false);
    let optics = w.business("optics", 1.0, false);
    let home = w.business("home", 1.0, false);
    // A year and more ago (outside the tier window), then two purchases
    // inside it, one of them refunded in full.
    record(&w, &m.id, &beauty, 1_000_000, None, None).unwrap();
    w.advance(Duration::days(400));
    record(&w, &m.id, &optics, 500_000, None, None).unwrap();
    let refunded = record(&w, &m.id, &home, 300_000, None, None).unwrap();
    refund(&w, &refunded.purchase_id, 300_000, "r-full");
    w.sql
        .execute(
            "INSERT INTO member_tier_flags (member_id, invited, updated_at) VALUES (?, 1, ?)",
            &params![m.id.as_str(), "2026-01-01T00:00:00Z"],
        )
        .unwrap();
    let (tier, badges) = purchases::purchase_summary(&w.sql, &m.id, w.now()).unwrap();
    assert_eq!(tier, purchases::tier_facts(&w.sql, &m.id, w.now()).unwrap());
    assert_eq!(
        (tier.spent, tier.categories, tier.invited),
        (500_000, 1, true)
    );
    assert_eq!(
        badges.categories.into_iter().collect::<Vec<_>>(),
        vec![Category::Beauty, Category::Optics, Category::Home]
    );
    assert_eq!(badges.lifetime_spent, Some(1_500_000));
    // A member without purchases still has their flags.
    let other = w.member();
    let (tier, badges) = purchases::purchase_summary(&w.sql, &other.id, w.now()).unwrap();
    assert_eq!(
        tier,
        purchases::tier_facts(&w.sql, &other.id, w.now()).unwrap()
    );
    assert!(badges.categories.is_empty());
}
