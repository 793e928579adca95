//! The pure engine: every kind and condition, each rejection reason,
//! stacking and priority, caps, rounding and allocation, happy hours in two
//! zones, and properties over random carts and promo sets.

use std::collections::HashMap;

use chrono::{DateTime, TimeZone, Utc};
use chrono_tz::Tz;
use krug_core::{
    promo::{
        engine::{
            allocate, cart_triggers, in_schedule, promo_triggers, quote, usage_needed, CartLine,
            MemberFacts, Quote, QuoteInput,
        },
        model::{Channel, Conditions, Kind, Limits, Promo, Schedule, Usage, Window},
    },
    wallet::{cashback::Ratio, Tier},
};
use proptest::prelude::*;

const SHOP: &str = "shop-a";

fn promo(id: &str, code: Option<&str>, kind: Kind, value: i64) -> Promo {
    Promo {
        id: id.into(),
        code: code.map(str::to_string),
        name: id.into(),
        kind,
        value,
        max_discount: None,
        buy_qty: 0,
        free_qty: 0,
        businesses: vec![],
        conditions: Conditions::default(),
        limits: Limits::default(),
        stackable: false,
        priority: 0,
        auto: code.is_none(),
        active: true,
    }
}

fn line(sku: &str, category: &str, quantity: i64, unit_price: i64) -> CartLine {
    CartLine {
        sku: sku.into(),
        category: category.into(),
        quantity,
        unit_price,
    }
}

fn member() -> MemberFacts {
    MemberFacts {
        tier: Tier::Insider,
        has_paid_order: true,
        points_available: 0,
        // 5 %.
        cashback_rate: Ratio { num: 5, den: 100 },
    }
}

fn at() -> DateTime<Utc> {
    // Wednesday 2026-07-15 12:00 UTC = 15:00 in Moscow.
    Utc.with_ymd_and_hms(2026, 7, 15, 12, 0, 0).unwrap()
}

struct Case {
    lines: Vec<CartLine>,
    codes: Vec<String>,
    promos: Vec<Promo>,
    usage: HashMap<String, Usage>,
    member: MemberFacts,
    channel: Channel,
    now: DateTime<Utc>,
    points: i64,
    share: Option<i64>,
}

impl Case {
    fn new(lines: Vec<CartLine>, promos: Vec<Promo>, codes: &[&str]) -> Self {
        Self {
            lines,
            codes: codes.iter().map(|c| c.to_string()).collect(),
            promos,
            usage: HashMap::new(),
            member: member(),
            channel: Channel::App,
            now: at(),
            points: 0,
            share: None,
        }
    }

    fn run(&self) -> Quote {
        quote(&self.input())
    }

    fn input(&self) -> QuoteInput<'_> {
        QuoteInput {
            business_id: SHOP,
            tz: chrono_tz::Europe::Moscow,
            channel: self.channel,
            now: self.now,
            lines: &self.lines,
            codes: &self.codes,
            candidates: &self.promos,
            usage: &self.usage,
            member: self.member,
            points_requested: self.points,
            max_points_share_pct: self.share,
        }
    }
}

fn reasons(q: &Quote) -> Vec<(&str, &str)> {
    q.rejected
        .iter()
        .map(|r| (r.code.as_str(), r.reason))
        .collect()
}

#[test]
fn percent_fixed_and_points_multiplier() {
    let mut pct = promo("p", Some("TEN"), Kind::Percent, 10);
    let cart = vec![line("A", "home", 2, 10_005), line("B", "home", 1, 30_000)];
    let q = Case::new(cart.clone(), vec![pct.clone()], &["ten"]).run();
    // 10 % of 50 010 = 5 001; spread 20 010 : 30 000.
    assert_eq!(q.discount_total, 5_001);
    assert_eq!(
        q.lines.iter().map(|l| l.discount).collect::<Vec<_>>(),
        vec![2_001, 3_000]
    );
    assert_eq!(q.total, 45_009);
    assert_eq!(q.points_estimate, 2_250, "5 % of 45 009, half up");
    pct.max_discount = Some(1_000);
    assert_eq!(
        Case::new(cart.clone(), vec![pct], &["TEN"])
            .run()
            .discount_total,
        1_000
    );

    let fixed = promo("f", Some("BIG"), Kind::Fixed, 1_000_000);
    let q = Case::new(cart.clone(), vec![fixed], &["BIG"]).run();
    assert_eq!(
        (q.discount_total, q.total),
        (50_010, 0),
        "never more than the cart"
    );

    let mut x2 = promo("m", Some("X2"), Kind::PointsMultiplier, 200);
    x2.stackable = true;
    let q = Case::new(cart, vec![x2], &["X2"]).run();
    assert_eq!(q.discount_total, 0);
    assert_eq!(q.points_estimate, 5_001, "× 2 of 5 % of 50 010, half up");
    assert_eq!(q.applied.len(), 1);
}

#[test]
fn bogo_frees_the_cheapest_eligible_units() {
    let mut b = promo("b", Some("TWOFORONE"), Kind::Bogo, 0);
    b.buy_qty = 2;
    b.free_qty = 1;
    b.conditions.categories = vec!["floristry".into()];
    // Eligible units: 300 ×2, 100 ×3, 500 ×1 = 6 units → 2 free: the two
    // cheapest (100, 100). The vase is not eligible.
    let cart = vec![
        line("ROSE", "floristry", 2, 300),
        line("TULIP", "floristry", 3, 100),
        line("ORCHID", "floristry", 1, 500),
        line("VASE", "home", 1, 50),
    ];
    let q = Case::new(cart.clone(), vec![b.clone()], &["twoforone"]).run();
    assert_eq!(q.discount_total, 200);
    assert_eq!(q.lines[1].discount, 200);
    assert_eq!(q.lines[3].discount, 0);
    // 1 + 1 with a cap spreads the capped amount over the free units.
    b.buy_qty = 1;
    b.max_discount = Some(301);
    let q = Case::new(cart, vec![b], &["TWOFORONE"]).run();
    // 6 units → 3 free: 100, 100, 100 = 300 (under the cap).
    assert_eq!(q.discount_total, 300);
}

#[test]
fn every_rejection_reason() {
    let cart = vec![line("A", "home", 1, 10_000)];
    let base = |code: &str| promo(code, Some(code), Kind::Fixed, 100);
    let mut other_shop = base("OTHERSHOP");
    other_shop.businesses = vec!["shop-b".into()];
    let mut later = base("LATER");
    later.conditions.schedule.starts_at = Some(at() + chrono::Duration::seconds(1));
    let mut over = base("OVER");
    over.conditions.schedule.ends_at = Some(at());
    let mut night = base("NIGHT");
    night.conditions.schedule.weekly = vec![Window {
        days: vec![3],
        from_min: 22 * 60,
        to_min: 2 * 60,
    }];
    let mut pos_only = base("POSONLY");
    pos_only.conditions.channels = vec![Channel::Pos];
    let mut vip = base("VIP");
    vip.conditions.min_tier = Some(Tier::Vip);
    let mut first = base("FIRST");
    first.conditions.first_order = true;
    let mut big = base("BIG");
    big.conditions.min_subtotal = Some(10_001);
    let mut sku = base("SKU");
    sku.conditions.skus = vec!["Z".into()];
    let mut used = base("USED");
    used.limits.per_member_per_day = Some(1);
    let mut broke = base("BROKE");
    broke.limits.budget = Some(500);
    let mut off = base("OFF");
    off.active = false;
    let promos = vec![
        other_shop, later, over, night, pos_only, vip, first, big, sku, used, broke, off,
    ];
    let mut case = Case::new(
        cart,
        promos,
        &[
            "NOPE",
            "OTHERSHOP",
            "LATER",
            "OVER",
            "NIGHT",
            "POSONLY",
            "VIP",
            "FIRST",
            "BIG",
            "SKU",
            "USED",
            "BROKE",
            "OFF",
        ],
    );
    case.usage.insert(
        "USED".into(),
        Usage {
            total: 1,
            member: 1,
            member_today: 1,
            budget_spent: 100,
        },
    );
    case.usage.insert(
        "BROKE".into(),
        Usage {
            total: 5,
            member: 0,
            member_today: 0,
            budget_spent: 500,
        },
    );
    let q = case.run();
    assert_eq!(
        reasons(&q),
        vec![
            ("NOPE", "UNKNOWN_CODE"),
            ("OFF", "UNKNOWN_CODE"),
            ("OTHERSHOP", "NOT_ELIGIBLE_BUSINESS"),
            ("LATER", "NOT_STARTED"),
            ("OVER", "EXPIRED"),
            ("NIGHT", "OUTSIDE_SCHEDULE"),
            ("POSONLY", "NOT_ELIGIBLE_CHANNEL"),
            ("VIP", "TIER_TOO_LOW"),
            ("FIRST", "FIRST_ORDER_ONLY"),
            ("BIG", "MIN_SUBTOTAL"),
            ("SKU", "NOT_ELIGIBLE_ITEMS"),
            ("USED", "LIMIT_REACHED"),
            ("BROKE", "BUDGET_EXHAUSTED"),
        ]
    );
    assert_eq!(q.discount_total, 0);
}

#[test]
fn one_non_stackable_wins_and_stackables_apply_in_priority_order_on_what_is_left() {
    let cart = vec![line("A", "home", 1, 10_000)];
    let small = promo("a-small", Some("SMALL"), Kind::Fixed, 500);
    let large = promo("b-large", Some("LARGE"), Kind::Percent, 20);
    let mut first = promo("c-st", Some("STACK1"), Kind::Percent, 10);
    first.stackable = true;
    first.priority = 5;
    let mut second = promo("d-st", Some("STACK2"), Kind::Fixed, 7_500);
    second.stackable = true;
    second.priority = 1;
    let q = Case::new(
        cart,
        vec![small, large, first, second],
        &["small", "large", "stack1", "stack2"],
    )
    .run();
    // 20 % = 2 000, then 10 % of 8 000 = 800, then 7 500 capped at the 7 200 left.
    let applied: Vec<(&str, i64)> = q
        .applied
        .iter()
        .map(|a| (a.promo_id.as_str(), a.discount))
        .collect();
    assert_eq!(
        applied,
        vec![("b-large", 2_000), ("c-st", 800), ("d-st", 7_200)]
    );
    assert_eq!(reasons(&q), vec![("small", "NOT_COMBINABLE")]);
    assert_eq!(q.total, 0);
    // Codes count once whatever their case, and auto campaigns need none.
    let mut auto = promo("auto", None, Kind::Fixed, 100);
    auto.stackable = true;
    let q = Case::new(
        vec![line("A", "home", 1, 1_000)],
        vec![auto, promo("x", Some("X"), Kind::Fixed, 1)],
        &["x", "X", " x "],
    )
    .run();
    assert_eq!(q.applied.len(), 2);
    assert!(q.rejected.is_empty());
}

#[test]
fn the_budget_left_caps_the_discount() {
    let mut p = promo("p", Some("B"), Kind::Fixed, 10_000);
    p.limits.budget = Some(25_000);
    let mut case = Case::new(vec![line("A", "home", 1, 50_000)], vec![p], &["B"]);
    case.usage.insert(
        "p".into(),
        Usage {
            total: 2,
            member: 0,
            member_today: 0,
            budget_spent: 20_000,
        },
    );
    assert_eq!(case.run().discount_total, 5_000);
}

#[test]
fn points_are_clamped_by_balance_total_and_share_cap() {
    let mut case = Case::new(vec![line("A", "home", 1, 10_000)], vec![], &[]);
    case.points = 50_000;
    case.member.points_available = 3_000;
    assert_eq!(case.run().points_applied, 3_000);
    case.member.points_available = 1_000_000;
    assert_eq!(case.run().points_applied, 10_000);
    case.share = Some(30);
    let q = case.run();
    assert_eq!((q.points_applied, q.total), (3_000, 7_000));
}

#[test]
fn happy_hours_cross_midnight_in_the_business_zone() {
    let window = |days: Vec<u8>, from: u16, to: u16| Schedule {
        weekly: vec![Window {
            days,
            from_min: from,
            to_min: to,
        }],
        ..Schedule::default()
    };
    let moscow = chrono_tz::Europe::Moscow;
    // Friday 22:00 – Saturday 02:00 Moscow time (UTC+3 all year).
    let fri_night = window(vec![5], 22 * 60, 2 * 60);
    let msk = |d: u32, h: u32, m: u32| {
        Utc.with_ymd_and_hms(2026, 1, d, h, m, 0).unwrap() - chrono::Duration::hours(3)
    };
    // 2026-01-02 is a Friday.
    assert!(!in_schedule(&fri_night, moscow, msk(2, 21, 59)));
    assert!(in_schedule(&fri_night, moscow, msk(2, 22, 0)));
    assert!(in_schedule(&fri_night, moscow, msk(3, 1, 59)));
    assert!(!in_schedule(&fri_night, moscow, msk(3, 2, 0)));
    assert!(
        !in_schedule(&fri_night, moscow, msk(9, 1, 0)),
        "Friday the 9th's night is Saturday the 10th"
    );
    // Sunday night into Monday: the previous day of Monday is Sunday.
    let sun_night = window(vec![7], 23 * 60, 60);
    assert!(in_schedule(&sun_night, moscow, msk(5, 0, 30)));
    // 09:00–10:00 in Berlin is 07:00 UTC in summer and 08:00 UTC in winter.
    let berlin: Tz = "Europe/Berlin".parse().unwrap();
    let morning = window(vec![1, 2, 3, 4, 5, 6, 7], 9 * 60, 10 * 60);
    assert!(in_schedule(
        &morning,
        berlin,
        Utc.with_ymd_and_hms(2026, 7, 15, 7, 0, 0).unwrap()
    ));
    assert!(!in_schedule(
        &morning,
        berlin,
        Utc.with_ymd_and_hms(2026, 7, 15, 8, 0, 0).unwrap()
    ));
    assert!(in_schedule(
        &morning,
        berlin,
        Utc.with_ymd_and_hms(2026, 1, 14, 8, 59, 0).unwrap()
    ));
    assert!(!in_schedule(
        &morning,
        berlin,
        Utc.with_ymd_and_hms(2026, 1, 14, 7, 59, 0).unwrap()
    ));
    // A whole day, 00:00–24:00.
    let all_day = window(vec![3], 0, 1440);
    assert!(in_schedule(&all_day, moscow, msk(7, 23, 59)));
}

#[test]
fn allocation_is_exact_and_ties_go_to_the_earlier_line() {
    assert_eq!(allocate(10, &[1, 1, 1]), vec![4, 3, 3]);
    assert_eq!(allocate(2, &[1, 1, 1]), vec![1, 1, 0]);
    assert_eq!(allocate(0, &[5, 5]), vec![0, 0]);
    assert_eq!(allocate(7, &[0, 0]), vec![0, 0]);
    assert_eq!(allocate(5_001, &[20_010, 30_000]), vec![2_001, 3_000]);
}

#[test]
fn usage_is_needed_only_for_limited_promos_that_pass_every_other_check() {
    let mut limited = promo("limited", None, Kind::Percent, 10);
    limited.limits.total = Some(5);
    let mut budgeted = promo("budgeted", Some("BUDGET"), Kind::Fixed, 100);
    budgeted.limits.budget = Some(10_000);
    let mut elsewhere = promo("elsewhere", None, Kind::Percent, 10);
    elsewhere.limits.per_member = Some(1);
    elsewhere.conditions.skus = vec!["NOT-IN-CART".into()];
    let mut later = promo("later", None, Kind::Percent, 10);
    later.limits.per_member_per_day = Some(1);
    later.conditions.schedule.starts_at = Some(at() + chrono::Duration::days(1));
    let unlimited = promo("unlimited", None, Kind::Percent, 10);
    let case = Case::new(
        vec![line("A", "home", 1, 10_000)],
        vec![limited, budgeted, elsewhere, later, unlimited],
        &["budget"],
    );
    assert_eq!(
        usage_needed(&case.input(), &case.promos),
        vec!["limited", "budgeted"]
    );
}

fn arb_promo() -> impl Strategy<Value = Promo> {
    (
        0u8..4,
        1i64..100,
        any::<bool>(),
        -3i64..3,
        1i64..4,
        1i64..3,
        prop::option::of(1i64..5_000),
        any::<bool>(),
    )
        .prop_map(|(k, v, stackable, priority, buy, free, cap, by_category)| {
            let kind = [
                Kind::Percent,
                Kind::Fixed,
                Kind::Bogo,
                Kind::PointsMultiplier,
            ][usize::from(k)];
            let mut p = promo(&format!("p{k}{v}{priority}"), None, kind, v);
            match kind {
                Kind::Fixed => p.value = v * 137,
                Kind::Bogo => {
                    p.value = 0;
                    p.buy_qty = buy;
                    p.free_qty = free;
                    p.max_discount = cap;
                }
                Kind::PointsMultiplier => p.value = 100 + v,
                Kind::Percent => p.max_discount = cap,
            }
            p.stackable = stackable;
            p.priority = priority;
            if by_category {
                p.conditions.categories = vec!["home".into()];
            }
            p
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn counting_only_the_needed_usage_prices_exactly_as_counting_all(
        lines in prop::collection::vec((1i64..5, 0i64..50_000, any::<bool>()), 1..8),
        promos in prop::collection::vec((arb_promo(), 0u8..5, 0i64..4, 0i64..3_000), 0..8),
    ) {
        let cart: Vec<CartLine> = lines
            .iter()
            .enumerate()
            .map(|(i, (q, p, home))| line(&format!("S{i}"), if *home { "home" } else { "beauty" }, *q, *p))
            .collect();
        let mut all = Vec::new();
        let mut usage = HashMap::new();
        for (i, (mut p, limit, used, spent)) in promos.into_iter().enumerate() {
            p.id = format!("{}-{i}", p.id);
            match limit {
                1 => p.limits.total = Some(2),
                2 => p.limits.per_member = Some(1),
                3 => p.limits.per_member_per_day = Some(2),
                4 => p.limits.budget = Some(2_000),
                _ => {}
            }
            usage.insert(p.id.clone(), Usage { total: used, member: used / 2, member_today: used / 3, budget_spent: spent });
            all.push(p);
        }
        let mut case = Case::new(cart, all, &[]);
        case.usage = usage.clone();
        let full = case.run();
        let needed: Vec<String> = usage_needed(&case.input(), &case.promos).into_iter().map(str::to_string).collect();
        case.usage = usage.into_iter().filter(|(id, _)| needed.contains(id)).collect();
        prop_assert_eq!(case.run(), full);
    }

    #[test]
    fn leaving_out_auto_campaigns_whose_triggers_miss_the_cart_prices_exactly_as_all(
        lines in prop::collection::vec((1i64..5, 0i64..50_000, 0usize..3, 0usize..3), 1..8),
        promos in prop::collection::vec((arb_promo(), prop::collection::vec(0usize..3, 0..3), prop::collection::vec(0usize..3, 0..3)), 0..10),
        coded in prop::option::of(0usize..10),
    ) {
        // SKUs and categories from small pools, so campaigns limited to
        // them both hit and miss random carts.
        let skus = ["S0", "S1", "S9"];
        let cats = ["home", "beauty", "food"];
        let cart: Vec<CartLine> = lines
            .iter()
            .map(|(q, p, s, c)| line(skus[*s], cats[*c], *q, *p))
            .collect();
        let mut all = Vec::new();
        for (i, (mut p, by_sku, by_cat)) in promos.into_iter().enumerate() {
            p.id = format!("{}-{i}", p.id);
            p.conditions.skus = by_sku.iter().map(|s| skus[*s].to_string()).collect();
            p.conditions.categories.extend(by_cat.iter().map(|c| cats[*c].to_string()));
            if coded == Some(i) {
                p.code = Some(format!("CODE{i}"));
                p.auto = false;
            }
            all.push(p);
        }
        let codes: Vec<String> = all.iter().filter_map(|p| p.code.clone()).collect();
        let code_refs: Vec<&str> = codes.iter().map(String::as_str).collect();
        let mut case = Case::new(cart.clone(), all.clone(), &code_refs);
        let full = case.run();
        // What the store's candidate query returns: typed codes, and auto
        // campaigns with a trigger among the cart's.
        let keys = cart_triggers(&cart);
        case.promos = all
            .into_iter()
            .filter(|p| p.code.is_some() || promo_triggers(&p.conditions).iter().any(|k| keys.contains(k)))
            .collect();
        prop_assert_eq!(case.run(), full);
    }

    #[test]
    fn discounts_never_exceed_lines_and_always_sum_exactly(
        lines in prop::collection::vec((1i64..50, 0i64..100_000, any::<bool>()), 1..20),
        promos in prop::collection::vec(arb_promo(), 0..6),
        points in 0i64..200_000,
    ) {
        let cart: Vec<CartLine> = lines
            .iter()
            .enumerate()
            .map(|(i, (q, p, home))| line(&format!("S{i}"), if *home { "home" } else { "beauty" }, *q, *p))
            .collect();
        let mut case = Case::new(cart.clone(), promos, &[]);
        case.points = points;
        case.member.points_available = 150_000;
        let q = case.run();
        for (l, c) in q.lines.iter().zip(&cart) {
            prop_assert!(l.discount >= 0 && l.discount <= c.quantity * c.unit_price);
        }
        for a in &q.applied {
            prop_assert_eq!(a.line_discounts.iter().sum::<i64>(), a.discount);
        }
        prop_assert_eq!(q.applied.iter().map(|a| a.discount).sum::<i64>(), q.discount_total);
        prop_assert_eq!(q.lines.iter().map(|l| l.discount).sum::<i64>(), q.discount_total);
        prop_assert_eq!(q.total, q.subtotal - q.discount_total - q.points_applied);
        prop_assert!(q.total >= 0);
        prop_assert_eq!(case.run(), q, "deterministic");
    }

    #[test]
    fn allocation_sums_to_the_total_within_the_weights(
        weights in prop::collection::vec(0i64..1_000_000, 1..30),
        share in 0.0f64..=1.0,
    ) {
        let sum: i64 = weights.iter().sum();
        let total = (sum as f64 * share) as i64;
        let parts = allocate(total, &weights);
        if sum > 0 {
            prop_assert_eq!(parts.iter().sum::<i64>(), total);
        }
        for (p, w) in parts.iter().zip(&weights) {
            prop_assert!(*p >= 0 && p <= w);
        }
    }
}
