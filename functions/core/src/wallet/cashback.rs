//! Cashback and the other proportional amounts of a purchase, in exact
//! integer arithmetic with one half-up rounding at the end ("Points rules").

use super::tiers::Tier;
use crate::error::InvalidValue;

/// A non-negative exact ratio `num / den` (a business or promo multiplier).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ratio {
    /// Numerator.
    pub num: u64,
    /// Denominator, never zero.
    pub den: u64,
}

impl Ratio {
    /// × 1.
    pub const ONE: Ratio = Ratio { num: 1, den: 1 };

    /// `percent / 100` (a `points_multiplier` promo's `value`: 200 = × 2).
    pub fn percent(percent: u32) -> Self {
        Self {
            num: u64::from(percent),
            den: 100,
        }
    }

    /// Parses a decimal such as `1`, `1.5` or `0.25` exactly (at most six
    /// decimals, at most 100). Used for stored `points_multiplier` values.
    pub fn parse_decimal(text: &str, field: &str) -> Result<Self, InvalidValue> {
        let invalid = || {
            InvalidValue::new(
                "INVALID_MULTIPLIER",
                field,
                "multiplier must be a decimal from 0 to 100 with at most 6 decimals",
            )
        };
        let t = text.trim();
        let (int, frac) = t.split_once('.').unwrap_or((t, ""));
        if int.is_empty()
            || int.len() > 3
            || frac.len() > 6
            || !int.bytes().all(|b| b.is_ascii_digit())
            || !frac.bytes().all(|b| b.is_ascii_digit())
        {
            return Err(invalid());
        }
        let den = 10u64.pow(frac.len() as u32);
        let num = int.parse::<u64>().map_err(|_| invalid())? * den
            + if frac.is_empty() {
                0
            } else {
                frac.parse::<u64>().map_err(|_| invalid())?
            };
        if num > 100 * den {
            return Err(invalid());
        }
        Ok(Self { num, den })
    }

    /// An `f64` as written in shortest round-trip form (`1.5`, not its binary
    /// expansion), for multipliers stored as SQLite REAL.
    pub fn from_f64(v: f64, field: &str) -> Result<Self, InvalidValue> {
        if !v.is_finite() || v < 0.0 {
            return Err(InvalidValue::new(
                "INVALID_MULTIPLIER",
                field,
                "multiplier must be a non-negative number",
            ));
        }
        Self::parse_decimal(&format!("{v}"), field)
    }
}

/// `num / den` rounded half up, for non-negative `num` and positive `den`.
pub fn round_half_up(num: i128, den: i128) -> i64 {
    debug_assert!(num >= 0 && den > 0);
    let q = (2 * num + den) / (2 * den);
    i64::try_from(q).unwrap_or(i64::MAX)
}

/// The base cashback rate of a tier, in whole percent.
pub fn rate_percent(tier: Tier) -> u32 {
    match tier {
        Tier::Insider => 5,
        Tier::Vip => 7,
        Tier::Elite | Tier::InnerCircle => 10,
    }
}

/// The first-purchase-in-category bonus of a tier: × 1.5 for insiders, × 2
/// for vip and above.
pub fn first_purchase_bonus(tier: Tier) -> Ratio {
    match tier {
        Tier::Insider => Ratio { num: 3, den: 2 },
        _ => Ratio { num: 2, den: 1 },
    }
}

/// Everything cashback depends on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CashbackInput {
    /// Paid amount in kopecks (≥ 0).
    pub amount: i64,
    /// The member's tier when the purchase was made.
    pub tier: Tier,
    /// The member's first paid purchase in this category.
    pub first_in_category: bool,
    /// The business's `points_multiplier`.
    pub business_multiplier: Ratio,
    /// Any `points_multiplier` promo applied at checkout (× 1 otherwise).
    pub promo_multiplier: Ratio,
}

/// Points earned: amount × tier rate × first-purchase bonus × business
/// multiplier × promo multiplier, rounded half up to a kopeck once.
pub fn cashback(input: &CashbackInput) -> i64 {
    let bonus = if input.first_in_category {
        first_purchase_bonus(input.tier)
    } else {
        Ratio::ONE
    };
    let b = input.business_multiplier;
    let p = input.promo_multiplier;
    if input.amount <= 0 || b.den == 0 || p.den == 0 {
        return 0;
    }
    let num = i128::from(input.amount)
        * i128::from(rate_percent(input.tier))
        * i128::from(bonus.num)
        * i128::from(b.num)
        * i128::from(p.num);
    let den = 100 * i128::from(bonus.den) * i128::from(b.den) * i128::from(p.den);
    round_half_up(num, den)
}

/// The events-budget share of a paid amount: 2 %, rounded half up.
pub fn events_budget_share(amount: i64) -> i64 {
    if amount <= 0 {
        return 0;
    }
    round_half_up(i128::from(amount) * 2, 100)
}

/// The cumulative share of `total` owed for `part` of `whole` (e.g. the
/// points of the refunded share of a purchase), rounded half up. Taking the
/// difference of two cumulative shares makes partial refunds add up exactly
/// to `total` when everything is refunded.
pub fn proportional(total: i64, part: i64, whole: i64) -> i64 {
    if total <= 0 || part <= 0 || whole <= 0 {
        return 0;
    }
    if part >= whole {
        return total;
    }
    round_half_up(i128::from(total) * i128::from(part), i128::from(whole))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(amount: i64, tier: Tier, first: bool) -> CashbackInput {
        CashbackInput {
            amount,
            tier,
            first_in_category: first,
            business_multiplier: Ratio::ONE,
            promo_multiplier: Ratio::ONE,
        }
    }

    #[test]
    fn table_per_tier_and_first_purchase() {
        // (tier, repeat purchase, first purchase) on 1 000 ₽.
        let table = [
            (Tier::Insider, 5_000, 7_500),
            (Tier::Vip, 7_000, 14_000),
            (Tier::Elite, 10_000, 20_000),
            (Tier::InnerCircle, 10_000, 20_000),
        ];
        for (tier, repeat, first) in table {
            assert_eq!(cashback(&input(100_000, tier, false)), repeat, "{tier:?}");
            assert_eq!(cashback(&input(100_000, tier, true)), first, "{tier:?}");
        }
    }

    #[test]
    fn multipliers_compose_before_the_single_rounding() {
        let mut i = input(100_000, Tier::Vip, true);
        i.business_multiplier = Ratio::parse_decimal("1.5", "m").unwrap();
        i.promo_multiplier = Ratio::percent(200);
        // 1000 ₽ × 7 % × 2 × 1.5 × 2 = 420 ₽.
        assert_eq!(cashback(&i), 42_000);
        // Rounding each step would give 33 × 5 % = 2 → × 1.5 = 3 → × 1.5 = 5.
        let mut small = input(33, Tier::Insider, true);
        small.business_multiplier = Ratio::parse_decimal("1.5", "m").unwrap();
        assert_eq!(cashback(&small), 4); // 33 × .05 × 1.5 × 1.5 = 3.7125 → 4
    }

    #[test]
    fn rounding_edges_are_half_up() {
        // 10 kopecks × 5 % = 0.5 → 1; 9 × 5 % = 0.45 → 0; 29 × 5 % = 1.45 → 1; 30 → 1.5 → 2.
        assert_eq!(cashback(&input(10, Tier::Insider, false)), 1);
        assert_eq!(cashback(&input(9, Tier::Insider, false)), 0);
        assert_eq!(cashback(&input(29, Tier::Insider, false)), 1);
        assert_eq!(cashback(&input(30, Tier::Insider, false)), 2);
        // 50 × 7 % = 3.5 → 4; 49 × 7 % = 3.43 → 3.
        assert_eq!(cashback(&input(50, Tier::Vip, false)), 4);
        assert_eq!(cashback(&input(49, Tier::Vip, false)), 3);
        // Insider first purchase: 20 × 5 % × 1.5 = 1.5 → 2; 1 kopeck → 0.075 → 0.
        assert_eq!(cashback(&input(20, Tier::Insider, true)), 2);
        assert_eq!(cashback(&input(1, Tier::Insider, true)), 0);
        assert_eq!(cashback(&input(0, Tier::Elite, true)), 0);
        // The largest amount does not overflow.
        let max = input(1_000_000_000, Tier::InnerCircle, true);
        assert_eq!(cashback(&max), 200_000_000);
    }

    #[test]
    fn business_multiplier_parsing() {
        assert_eq!(
            Ratio::parse_decimal("1", "m").unwrap(),
            Ratio { num: 1, den: 1 }
        );
        assert_eq!(
            Ratio::parse_decimal("0.25", "m").unwrap(),
            Ratio { num: 25, den: 100 }
        );
        assert_eq!(
            Ratio::from_f64(1.1, "m").unwrap(),
            Ratio { num: 11, den: 10 }
        );
        for bad in ["", "-1", "1.2345678", "abc", "101", "1e3", ".5"] {
            assert!(Ratio::parse_decimal(bad, "m").is_err(), "{bad}");
        }
        // × 1.1 on 10 ₽ insider: 1000 × 5 % × 1.1 = 55 exactly (floats would give 55.00000000000001).
        let mut i = input(1_000, Tier::Insider, false);
        i.business_multiplier = Ratio::from_f64(1.1, "m").unwrap();
        assert_eq!(cashback(&i), 55);
        i.business_multiplier = Ratio::parse_decimal("0", "m").unwrap();
        assert_eq!(cashback(&i), 0);
    }

    #[test]
    fn events_budget_is_two_percent_half_up() {
        assert_eq!(events_budget_share(100_000), 2_000);
        assert_eq!(events_budget_share(25), 1); // 0.5
        assert_eq!(events_budget_share(24), 0); // 0.48
        assert_eq!(events_budget_share(0), 0);
    }

    #[test]
    fn proportional_shares_add_up() {
        // Three refunds of a third each claw back exactly what was earned.
        let total = 1_001;
        let mut clawed = 0;
        for refunded in [333, 666, 1_000] {
            let due = proportional(total, refunded, 1_000);
            assert!(due >= clawed);
            clawed = due;
        }
        assert_eq!(clawed, total);
        assert_eq!(proportional(10, 1, 3), 3);
        assert_eq!(proportional(10, 5, 0), 0);
    }
}
