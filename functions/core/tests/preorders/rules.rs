//! The pure rules.

use chrono::{Duration, TimeZone, Utc};
use krug_core::preorders::rules::{
    self, final_price, percent_of, upgrade_cost, RawBonus, RawTier, RefundPolicy, RefundTerm,
    Status,
};
use serde_json::json;

#[test]
fn final_price_is_rounded_half_up_once() {
    assert_eq!(final_price(100_000, 15), 85_000);
    assert_eq!(final_price(999, 10), 899); // 899.1
    assert_eq!(final_price(995, 10), 896); // 895.5 rounds up
    assert_eq!(final_price(1, 50), 1); // 0.5 rounds up
    assert_eq!(final_price(1, 51), 0); // 0.49
    assert_eq!(final_price(12_345, 0), 12_345);
    assert_eq!(final_price(12_345, 100), 0);
    assert_eq!(final_price(10_000_000_000, 33), 6_700_000_000);
    assert_eq!(percent_of(333, 50), 167);
    assert_eq!(percent_of(1_001, 40), 400); // 400.4
    assert_eq!(percent_of(9_000, 40), 3_600);
}

fn policy() -> RefundPolicy {
    let t = Utc.with_ymd_and_hms(2026, 3, 1, 0, 0, 0).unwrap();
    RefundPolicy {
        full_until: t,
        partial_percent: 40,
        none_after: t + Duration::days(3),
        cancellation_deadline: t + Duration::days(5),
    }
}

#[test]
fn refund_terms_at_each_policy_boundary() {
    let p = policy();
    let s = Duration::seconds(1);
    assert_eq!(p.at(p.full_until - s), Some((RefundTerm::Full, 100)));
    assert_eq!(p.at(p.full_until), Some((RefundTerm::Partial, 40)));
    assert_eq!(p.at(p.none_after - s), Some((RefundTerm::Partial, 40)));
    assert_eq!(p.at(p.none_after), Some((RefundTerm::None, 0)));
    assert_eq!(
        p.at(p.cancellation_deadline - s),
        Some((RefundTerm::None, 0))
    );
    assert_eq!(p.at(p.cancellation_deadline), None);
    // Refund amounts: each payment by the percent, rounded half up.
    let amount = |pct: i64| percent_of(12_345, pct);
    assert_eq!(amount(100), 12_345);
    assert_eq!(amount(40), 4_938); // 4 938.0
    assert_eq!(amount(0), 0);
    // A deadline before none_after cuts the partial period short.
    let early = RefundPolicy {
        cancellation_deadline: p.full_until + Duration::days(1),
        ..p
    };
    assert_eq!(early.at(p.full_until + Duration::days(1)), None);
}

#[test]
fn upgrade_cost_is_the_difference_and_only_upwards() {
    assert_eq!(upgrade_cost(10_000, 30_000), Some(20_000));
    assert_eq!(upgrade_cost(10_000, 10_001), Some(1));
    assert_eq!(upgrade_cost(10_000, 10_000), None);
    assert_eq!(upgrade_cost(30_000, 10_000), None);
}

#[test]
fn lifecycle_transitions() {
    use Status::*;
    let all = [
        PendingPayment,
        Confirmed,
        EarlyAccessActive,
        Fulfilled,
        Cancelled,
        Refunded,
    ];
    let legal = [
        (PendingPayment, Confirmed),
        (PendingPayment, Cancelled),
        (Cancelled, Confirmed),
        (Confirmed, EarlyAccessActive),
        (Confirmed, Fulfilled),
        (EarlyAccessActive, Fulfilled),
        (Confirmed, Cancelled),
        (EarlyAccessActive, Cancelled),
        (Confirmed, Refunded),
        (EarlyAccessActive, Refunded),
    ];
    for from in all {
        for to in all {
            assert_eq!(
                from.can_become(to),
                legal.contains(&(from, to)),
                "{from:?} → {to:?}"
            );
        }
        assert_eq!(Status::parse(from.as_str()), Some(from));
    }
    // Nothing leaves fulfilled or refunded; nothing goes back to pending.
    assert!(all.iter().all(|s| !Fulfilled.can_become(*s)));
    assert!(all.iter().all(|s| !Refunded.can_become(*s)));
    assert!(all.iter().all(|s| !s.can_become(PendingPayment)));
}

fn tier(over: serde_json::Value) -> RawTier {
    let mut b = json!({
        "name": "Gold", "base_price": 10_000, "discount_percent": 10, "early_access_days": 2,
        "available_from": "2026-01-01T00:00:00Z", "available_until": "2026-02-01T00:00:00Z",
        "priority": 1, "bonuses": [],
    });
    for (k, v) in over.as_object().unwrap() {
        b[k] = v.clone();
    }
    serde_json::from_value(b).unwrap()
}

#[test]
fn tier_validation_names_the_field() {
    let ok = rules::tier_fields(&tier(json!({}))).unwrap();
    assert_eq!(ok.final_price, 9_000);
    for (over, field) in [
        (json!({"base_price": -1}), "base_price"),
        (json!({"discount_percent": 101}), "discount_percent"),
        (json!({"discount_percent": -1}), "discount_percent"),
        (
            json!({"available_until": "2025-12-31T00:00:00Z"}),
            "available_until",
        ),
        (
            json!({"available_until": "2026-01-01T00:00:00Z"}),
            "available_until",
        ),
        (json!({"available_from": "yesterday"}), "available_from"),
        (json!({"max_quantity": 0}), "max_quantity"),
        (json!({"early_access_days": 366}), "early_access_days"),
        (json!({"name": " "}), "name"),
        (
            json!({"bonuses": [{"type": "coupon", "value": 101, "delivery": "automatic"}]}),
            "bonuses[0].value",
        ),
        (
            json!({"bonuses": [{"type": "gift", "value": 3, "delivery": "pickup"}]}),
            "bonuses[0].value",
        ),
        (
            json!({"bonuses": [{"type": "cash", "value": 3, "delivery": "pickup"}]}),
            "bonuses[0].type",
        ),
        (
            json!({"bonuses": [{"type": "points", "value": 3, "delivery": "drone"}]}),
            "bonuses[0].delivery",
        ),
    ] {
        let err = rules::tier_fields(&tier(over.clone())).unwrap_err();
        assert_eq!(err.field, field, "{over}");
    }
    let many: Vec<RawBonus> = (0..21)
        .map(|_| {
            serde_json::from_value(json!({"type": "points", "value": 1, "delivery": "automatic"}))
                .unwrap()
        })
        .collect();
    assert_eq!(rules::bonuses(&many).unwrap_err().field, "bonuses");
}
