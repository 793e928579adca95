//! Badges: one per category (first purchase in it), `welcome` (joined the
//! club), `ambassador` (≥ 3 referrals rewarded), `event_regular` (≥ 10 events
//! attended), `explorer` (bought in all nine categories) and `patron`
//! (≥ 250 000 ₽ spent in total, net of refunds). Badges are never taken back.
//!
//! [`earned`] is pure; [`award`] stores what it returns. Referral and event
//! counts come from capabilities that do not exist yet: their facts are
//! `None` until then, and those capabilities call [`award`] with their own
//! counts.

use std::collections::BTreeSet;

use serde::Serialize;

use super::category::Category;
use crate::db::ts;
use crate::ports::{Sql, StoreError};

/// Lifetime spend for `patron`, kopecks.
pub const PATRON_SPEND: i64 = 25_000_000;
/// Rewarded referrals for `ambassador`.
pub const AMBASSADOR_REFERRALS: u32 = 3;
/// Attended events for `event_regular`.
pub const REGULAR_EVENTS: u32 = 10;

/// A badge.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Badge {
    /// First purchase in this category.
    Category(Category),
    /// Joined the club.
    Welcome,
    /// At least three referrals rewarded.
    Ambassador,
    /// At least ten events attended.
    EventRegular,
    /// Bought in all nine categories.
    Explorer,
    /// 250 000 ₽ spent in total.
    Patron,
}

impl Badge {
    /// Stable code, e.g. `category_beauty`, `welcome`.
    pub fn code(self) -> String {
        match self {
            Badge::Category(c) => format!("category_{}", c.as_str()),
            Badge::Welcome => "welcome".into(),
            Badge::Ambassador => "ambassador".into(),
            Badge::EventRegular => "event_regular".into(),
            Badge::Explorer => "explorer".into(),
            Badge::Patron => "patron".into(),
        }
    }
}

/// What badges are decided from. `None` means "not known by this caller".
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BadgeFacts {
    /// The member exists (always true for a registered member).
    pub registered: bool,
    /// Categories with at least one paid purchase, ever.
    pub categories: BTreeSet<Category>,
    /// Lifetime paid spend net of refunds, kopecks.
    pub lifetime_spent: Option<i64>,
    /// Rewarded referrals.
    pub referrals: Option<u32>,
    /// Events attended.
    pub events_attended: Option<u32>,
}

/// Every badge the facts justify.
pub fn earned(f: &BadgeFacts) -> BTreeSet<Badge> {
    let mut out = BTreeSet::new();
    if f.registered {
        out.insert(Badge::Welcome);
    }
    for c in &f.categories {
        out.insert(Badge::Category(*c));
    }
    if f.categories.len() == Category::ALL.len() {
        out.insert(Badge::Explorer);
    }
    if f.lifetime_spent.is_some_and(|s| s >= PATRON_SPEND) {
        out.insert(Badge::Patron);
    }
    if f.referrals.is_some_and(|n| n >= AMBASSADOR_REFERRALS) {
        out.insert(Badge::Ambassador);
    }
    if f.events_attended.is_some_and(|n| n >= REGULAR_EVENTS) {
        out.insert(Badge::EventRegular);
    }
    out
}

/// A badge a member holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HeldBadge {
    /// Badge code.
    pub code: String,
    /// When it was awarded (RFC 3339 UTC).
    pub awarded_at: String,
}

/// Stores `badges` for `member_id` (already held ones are kept as they were);
/// returns the codes newly awarded.
pub fn award(
    sql: &dyn Sql,
    member_id: &str,
    badges: &BTreeSet<Badge>,
    cause_type: &str,
    cause_id: Option<&str>,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Vec<String>, StoreError> {
    if badges.is_empty() {
        return Ok(Vec::new());
    }
    // One statement for all of them; RETURNING names the ones that were new.
    let marks = crate::db::marks(badges.len(), 5);
    let mut args = Vec::with_capacity(badges.len() * 5);
    for b in badges {
        args.extend(crate::params![
            member_id,
            b.code(),
            ts(now),
            cause_type,
            cause_id
        ]);
    }
    let rows = sql.execute(
        &format!(
            "INSERT INTO member_badges (member_id, badge, awarded_at, cause_type, cause_id) \
             VALUES {marks} ON CONFLICT (member_id, badge) DO NOTHING RETURNING badge"
        ),
        &args,
    )?;
    let inserted: Vec<String> = rows
        .iter()
        .map(|r| r.text("badge"))
        .collect::<Result<_, _>>()?;
    // In the set's order, whatever order the rows came back in.
    let new: Vec<String> = badges
        .iter()
        .map(|b| b.code())
        .filter(|c| inserted.contains(c))
        .collect();
    Ok(new)
}

/// The badges `member_id` holds, oldest first.
pub fn held(sql: &dyn Sql, member_id: &str) -> Result<Vec<HeldBadge>, StoreError> {
    let rows = sql.execute(
        "SELECT badge, awarded_at FROM member_badges WHERE member_id = ? ORDER BY awarded_at, badge",
        &crate::params![member_id],
    )?;
    rows.iter()
        .map(|r| {
            Ok(HeldBadge {
                code: r.text("badge")?,
                awarded_at: r.text("awarded_at")?,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn badges_from_facts() {
        let none = earned(&BadgeFacts::default());
        assert!(none.is_empty());
        let mut f = BadgeFacts {
            registered: true,
            ..BadgeFacts::default()
        };
        assert_eq!(earned(&f), BTreeSet::from([Badge::Welcome]));
        f.categories.insert(Category::Beauty);
        f.lifetime_spent = Some(PATRON_SPEND - 1);
        f.referrals = Some(2);
        f.events_attended = Some(9);
        assert_eq!(
            earned(&f),
            BTreeSet::from([Badge::Welcome, Badge::Category(Category::Beauty)])
        );
        f.categories = Category::ALL.into_iter().collect();
        f.lifetime_spent = Some(PATRON_SPEND);
        f.referrals = Some(3);
        f.events_attended = Some(10);
        let all = earned(&f);
        assert_eq!(all.len(), 9 + 5);
        assert!(all.contains(&Badge::Explorer) && all.contains(&Badge::Patron));
        assert!(all.contains(&Badge::Ambassador) && all.contains(&Badge::EventRegular));
        assert_eq!(Badge::Category(Category::Home).code(), "category_home");
    }
}
