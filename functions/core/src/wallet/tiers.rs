//! Status tiers from the last 365 days of paid purchases (net of refunds) and
//! the number of distinct categories bought. Pure: the SQL that gathers the
//! facts is in [`super::purchases`] and [`super::jobs`].

use serde::{Deserialize, Serialize};

use crate::error::InvalidValue;

/// The rolling window tiers look at.
pub const WINDOW_DAYS: i64 = 365;

/// A member's status tier, lowest first (so `Ord` is "at least").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Tier {
    /// Everyone starts here.
    Insider,
    /// ≥ 30 000 ₽ and ≥ 3 categories.
    Vip,
    /// ≥ 100 000 ₽ and ≥ 5 categories, or the top 1 % by spend.
    Elite,
    /// By invitation, or ≥ 200 000 ₽ in all 9 categories.
    InnerCircle,
}

impl Tier {
    /// Every tier, lowest first.
    pub const ALL: [Tier; 4] = [Tier::Insider, Tier::Vip, Tier::Elite, Tier::InnerCircle];

    /// Wire and storage name.
    pub fn as_str(self) -> &'static str {
        match self {
            Tier::Insider => "insider",
            Tier::Vip => "vip",
            Tier::Elite => "elite",
            Tier::InnerCircle => "inner_circle",
        }
    }

    /// Parses a stored or wire name.
    pub fn parse(input: &str) -> Result<Self, InvalidValue> {
        Self::ALL
            .into_iter()
            .find(|t| t.as_str() == input)
            .ok_or_else(|| InvalidValue::new("INVALID_TIER", "tier", "unknown tier"))
    }

    /// The next tier up, if any.
    pub fn next(self) -> Option<Tier> {
        match self {
            Tier::Insider => Some(Tier::Vip),
            Tier::Vip => Some(Tier::Elite),
            Tier::Elite => Some(Tier::InnerCircle),
            Tier::InnerCircle => None,
        }
    }

    /// What reaching this tier by spending takes: (kopecks in the window,
    /// distinct categories). Insider needs nothing.
    pub fn requirement(self) -> (i64, u32) {
        match self {
            Tier::Insider => (0, 0),
            Tier::Vip => (3_000_000, 3),
            Tier::Elite => (10_000_000, 5),
            Tier::InnerCircle => (20_000_000, 9),
        }
    }
}

/// The facts a tier is computed from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TierFacts {
    /// Paid purchases in the window, net of refunds, in kopecks.
    pub spent: i64,
    /// Distinct categories with a net-positive purchase in the window.
    pub categories: u32,
    /// Among the top 1 % of members by `spent` (computed nightly).
    pub top_one_percent: bool,
    /// Invited to the inner circle by an admin.
    pub invited: bool,
}

/// The tier the facts earn. Tiers are recomputed from scratch, so they fall
/// as well as rise.
pub fn tier_for(f: &TierFacts) -> Tier {
    let meets = |t: Tier| {
        let (spent, categories) = t.requirement();
        f.spent >= spent && f.categories >= categories
    };
    if f.invited || meets(Tier::InnerCircle) {
        Tier::InnerCircle
    } else if f.top_one_percent || meets(Tier::Elite) {
        Tier::Elite
    } else if meets(Tier::Vip) {
        Tier::Vip
    } else {
        Tier::Insider
    }
}

/// Progress toward the next tier (the wallet "ring").
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Progress {
    /// The next tier, or `None` at the top.
    pub next_tier: Option<Tier>,
    /// Spent in the window (kopecks).
    pub spent_12m: i64,
    /// Spend the next tier needs.
    pub spent_required: i64,
    /// Distinct categories in the window.
    pub categories_12m: u32,
    /// Categories the next tier needs.
    pub categories_required: u32,
    /// 0–100: the mean of the two capped ratios, rounded down; 100 at the top.
    pub percent: u32,
}

/// Progress of a member at `current` with `facts` toward the next tier.
pub fn progress(current: Tier, facts: &TierFacts) -> Progress {
    let Some(next) = current.next() else {
        return Progress {
            next_tier: None,
            spent_12m: facts.spent,
            spent_required: 0,
            categories_12m: facts.categories,
            categories_required: 0,
            percent: 100,
        };
    };
    let (spent_required, categories_required) = next.requirement();
    // Each half is worth 50 points; integer maths so the ring never shows
    // 100 % before both conditions hold.
    let spend_part = if spent_required == 0 {
        50
    } else {
        (i128::from(facts.spent.clamp(0, spent_required)) * 50 / i128::from(spent_required)) as u32
    };
    let cat_part = (facts.categories.min(categories_required) * 50)
        .checked_div(categories_required)
        .unwrap_or(50);
    Progress {
        next_tier: Some(next),
        spent_12m: facts.spent,
        spent_required,
        categories_12m: facts.categories,
        categories_required,
        percent: spend_part + cat_part,
    }
}

/// Which member indices (into `spends`, in kopecks) are in the top 1 %: the
/// `floor(n / 100)` highest spenders among the `n` members who spent anything,
/// ties at the cut included. Below 100 spenders nobody is: in a small club
/// the single biggest spender is not "the top 1 %".
pub fn top_one_percent(spends: &[i64]) -> Vec<bool> {
    let positive: Vec<i64> = spends.iter().copied().filter(|s| *s > 0).collect();
    if positive.is_empty() {
        return vec![false; spends.len()];
    }
    let mut sorted = positive.clone();
    sorted.sort_unstable_by(|a, b| b.cmp(a));
    let k = positive.len() / 100;
    if k == 0 {
        return vec![false; spends.len()];
    }
    let cut = sorted[k - 1];
    spends.iter().map(|s| *s > 0 && *s >= cut).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(spent: i64, categories: u32) -> TierFacts {
        TierFacts {
            spent,
            categories,
            ..TierFacts::default()
        }
    }

    #[test]
    fn thresholds_are_inclusive_and_need_both_conditions() {
        assert_eq!(tier_for(&facts(0, 0)), Tier::Insider);
        assert_eq!(tier_for(&facts(2_999_999, 9)), Tier::Insider);
        assert_eq!(tier_for(&facts(3_000_000, 2)), Tier::Insider);
        assert_eq!(tier_for(&facts(3_000_000, 3)), Tier::Vip);
        assert_eq!(tier_for(&facts(9_999_999, 5)), Tier::Vip);
        assert_eq!(tier_for(&facts(10_000_000, 4)), Tier::Vip);
        assert_eq!(tier_for(&facts(10_000_000, 5)), Tier::Elite);
        assert_eq!(tier_for(&facts(19_999_999, 9)), Tier::Elite);
        assert_eq!(tier_for(&facts(20_000_000, 8)), Tier::Elite);
        assert_eq!(tier_for(&facts(20_000_000, 9)), Tier::InnerCircle);
    }

    #[test]
    fn top_one_percent_and_invitation() {
        let mut f = facts(100, 1);
        f.top_one_percent = true;
        assert_eq!(tier_for(&f), Tier::Elite);
        f.invited = true;
        assert_eq!(tier_for(&f), Tier::InnerCircle);
        assert_eq!(
            tier_for(&TierFacts {
                invited: true,
                ..TierFacts::default()
            }),
            Tier::InnerCircle
        );
    }

    #[test]
    fn top_one_percent_picks_the_highest_ceil_share() {
        let spends: Vec<i64> = (1..=250).collect();
        let top = top_one_percent(&spends);
        // 250 spenders → the top 2.
        assert_eq!(top.iter().filter(|t| **t).count(), 2);
        assert!(top[249] && top[248] && !top[247]);
        assert_eq!(top_one_percent(&[0, 0]), vec![false, false]);
        // Too few spenders for a top 1 %.
        assert_eq!(top_one_percent(&[0, 5]), vec![false, false]);
        // Ties at the cut are all in; non-spenders never are.
        let mut tied = vec![1; 198];
        tied.extend([9, 9, 9, 0]);
        let top = top_one_percent(&tied);
        assert_eq!(top.iter().filter(|t| **t).count(), 3);
        assert!(!top[201]);
    }

    #[test]
    fn progress_ring() {
        let p = progress(Tier::Insider, &facts(1_500_000, 3));
        assert_eq!(p.next_tier, Some(Tier::Vip));
        assert_eq!((p.spent_required, p.categories_required), (3_000_000, 3));
        assert_eq!(p.percent, 75);
        assert_eq!(progress(Tier::Insider, &facts(0, 0)).percent, 0);
        assert_eq!(progress(Tier::Insider, &facts(2_999_999, 3)).percent, 99);
        let top = progress(Tier::InnerCircle, &facts(5, 1));
        assert_eq!((top.next_tier, top.percent), (None, 100));
        let vip = progress(Tier::Vip, &facts(5_000_000, 3));
        assert_eq!(vip.next_tier, Some(Tier::Elite));
        assert_eq!(vip.percent, 25 + 30);
    }

    #[test]
    fn tiers_order_and_names() {
        assert!(Tier::Insider < Tier::Vip && Tier::Elite < Tier::InnerCircle);
        for t in Tier::ALL {
            assert_eq!(Tier::parse(t.as_str()).unwrap(), t);
        }
        assert!(Tier::parse("gold").is_err());
    }
}
