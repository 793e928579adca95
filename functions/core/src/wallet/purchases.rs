//! The purchase pipeline shared by the POS, the payment webhook and partner
//! ingest: record the purchase (once per `(business_id, external_id)`),
//! compute cashback, apply the anti-abuse caps, earn a pending lot, add 2 %
//! to the events budget, recompute the tier, award badges. Refunds run the
//! same steps backwards.
//!
//! Both entry points expect to run inside the caller's `BEGIN IMMEDIATE`
//! transaction, so the purchase, its points, the budget and the tier commit
//! together or not at all.

use std::collections::BTreeSet;

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use serde_json::json;

use super::badges::{self, BadgeFacts};
use super::cashback::{self, CashbackInput, Ratio};
use super::category::Category;
use super::error::WalletError;
use super::ledger::{self, Actor, CauseType, EntryKind, Posting};
use super::member::{self, Business, Member};
use super::settings::WalletSettings;
use super::tiers::{self, Tier, TierFacts};
use crate::audit::{self, AuditEntry};
use crate::db::ts;
use crate::params;
use crate::ports::{Clock, Random, Sql, StoreError};
use crate::types::Id;

/// Where a purchase came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// A POS call (`POST /pos/purchases`).
    Pos,
    /// A payment provider webhook.
    Webhook,
    /// Partner transaction ingest.
    Ingest,
    /// A checkout reservation committed at the till.
    Checkout,
}

impl Source {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Pos => "pos",
            Source::Webhook => "webhook",
            Source::Ingest => "ingest",
            Source::Checkout => "checkout",
        }
    }
}

/// A paid purchase to record.
#[derive(Debug, Clone)]
pub struct NewPurchase {
    /// The buyer.
    pub member: Member,
    /// Where they bought.
    pub business: Business,
    /// Paid amount, kopecks (validated: 1 ..= 10 000 000 ₽).
    pub amount: i64,
    /// Category; the business's own when `None`.
    pub category: Option<Category>,
    /// The business's own id for the sale, unique per business.
    pub external_id: Option<String>,
    /// Free text; dropped for medical businesses.
    pub description: Option<String>,
    /// Channel.
    pub source: Source,
    /// A `points_multiplier` promo applied at checkout (`Ratio::ONE` if none).
    pub promo_multiplier: Ratio,
    /// The activation code of a cross-promo coupon for this business.
    pub coupon_code: Option<String>,
    /// Who recorded it.
    pub actor: Actor,
    /// Request id for the audit log.
    pub request_id: Option<String>,
    /// The referral code the sale came with (upper case, checked), kept
    /// for the referral program to capture.
    pub ref_code: Option<String>,
    /// When the sale happened, when that is not now (partner ingest of
    /// past sales); points, caps and holds still count from now.
    pub paid_at: Option<DateTime<Utc>>,
}

/// What recording did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Recorded {
    /// Purchase id.
    pub purchase_id: String,
    /// `recorded`, or `duplicate` when the external id was seen before.
    pub status: &'static str,
    /// Points earned (after caps).
    pub points_earned: i64,
    /// `pending`, `available` or `none`.
    pub points_status: &'static str,
    /// When the points become spendable.
    pub points_available_at: Option<String>,
    /// Which cap reduced the points, if any: `purchases_per_business_day` or
    /// `points_per_day`.
    pub capped: Option<&'static str>,
    /// Part of the points that repaid earlier debt.
    pub debt_repaid: i64,
    /// The member's tier after the purchase.
    pub tier: Tier,
    /// Badge codes awarded by this purchase.
    pub new_badges: Vec<String>,
    /// Bonus points of a cross-promo coupon redeemed with this purchase.
    pub cross_bonus: i64,
    /// Coupons for partner businesses this purchase issued.
    pub coupons_issued: Vec<String>,
}

/// Records a paid purchase and everything that follows from it.
pub fn record(
    tx: &dyn Sql,
    clock: &dyn Clock,
    random: &dyn Random,
    settings: &WalletSettings,
    p: &NewPurchase,
) -> Result<Recorded, WalletError> {
    let now = clock.now();
    if let Some(ext) = &p.external_id {
        if let Some(done) = existing(tx, p, ext)? {
            return Ok(done);
        }
    }
    let category = p.category.unwrap_or(p.business.category);
    let facts = facts(tx, now, p, category)?;
    let first_in_category = facts.first_in_category;
    let computed = cashback::cashback(&CashbackInput {
        amount: p.amount,
        tier: p.member.tier,
        first_in_category,
        business_multiplier: p.business.multiplier,
        promo_multiplier: p.promo_multiplier,
    });
    let (earned, capped) = apply_caps(settings, &facts, computed);

    let purchase_id = Id::at(now, random).to_text();
    let paid_at = ts(p.paid_at.unwrap_or(now));
    // Medical partners: keep the category (tiers and analytics need it) but
    // never what the service was.
    let description = if p.business.medical {
        None
    } else {
        p.description.as_deref()
    };
    tx.execute(
        "INSERT INTO purchases (id, member_id, business_id, external_id, source, amount, category, \
         description, tier_at_purchase, first_in_category, points_computed, points_earned, cap_applied, \
         actor_role, actor_id, paid_at, created_at, ref_code) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        &params![
            purchase_id.as_str(),
            p.member.id.as_str(),
            p.business.id.as_str(),
            p.external_id.as_deref(),
            p.source.as_str(),
            p.amount,
            category.as_str(),
            description,
            p.member.tier.as_str(),
            first_in_category,
            computed,
            earned,
            capped,
            p.actor.role,
            p.actor.id.as_deref(),
            paid_at.as_str(),
            ts(now),
            p.ref_code.as_deref()
        ],
    )?;

    let mut points_status = "none";
    let mut available_at = None;
    let mut debt_repaid = 0;
    if earned > 0 {
        let matures_at = now + Duration::days(settings.hold_days);
        let description = format!("Cashback at {}", p.business.name);
        let credited = ledger::credit(
            tx,
            now,
            random,
            &Posting {
                member_id: &p.member.id,
                business_id: Some(&p.business.id),
                cause_type: CauseType::Purchase,
                cause_id: &purchase_id,
                actor: &p.actor,
                reason: None,
                description: Some(&description),
            },
            EntryKind::Earn,
            earned,
            Some(&purchase_id),
            matures_at,
            settings.ttl_days,
        )?;
        points_status = credited.status;
        debt_repaid = credited.settled_debt;
        available_at = Some(ts(matures_at));
    }
    let cross_bonus = match &p.coupon_code {
        Some(code) => crate::promo::coupons::redeem_in_purchase(
            tx,
            now,
            random,
            &p.actor,
            &purchase_id,
            &p.member.id,
            &p.business.id,
            p.amount,
            code,
            settings.ttl_days,
        )?,
        None => 0,
    };
    crate::analytics::rollup::on_purchase(
        tx,
        &crate::analytics::rollup::Sale {
            business_id: &p.business.id,
            member_id: &p.member.id,
            source: p.source.as_str(),
            paid_at: &paid_at,
            amount: p.amount,
            ecosystem: p.coupon_code.is_some(),
        },
    )?;
    let coupons_issued = crate::promo::coupons::issue_for_purchase(
        tx,
        now,
        random,
        &purchase_id,
        &p.member.id,
        &p.business.id,
        p.amount,
    )?;
    add_to_budget(
        tx,
        now,
        random,
        &purchase_id,
        None,
        cashback::events_budget_share(p.amount),
    )?;
    // The tier and the badges both follow from the member's purchases: one
    // grouped read answers both.
    let (tier_facts, badge_facts) = purchase_summary(tx, &p.member.id, now)?;
    let cause = TierCause {
        member_id: &p.member.id,
        current: p.member.tier,
        cause_type: "purchase",
        cause_id: &purchase_id,
    };
    let tier = apply_tier(tx, now, random, &cause, &tier_facts)?;
    let new_badges = badges::award(
        tx,
        &p.member.id,
        &badges::earned(&badge_facts),
        "purchase",
        Some(&purchase_id),
        now,
    )?;
    audit::record(
        tx,
        clock,
        random,
        &AuditEntry {
            actor_id: p.actor.id.as_deref(),
            actor_role: p.actor.role,
            action: "purchase.recorded",
            subject_type: "purchase",
            subject_id: &purchase_id,
            details: json!({
                "member_id": p.member.id, "business_id": p.business.id, "amount": p.amount,
                "points_earned": earned, "capped": capped, "source": p.source.as_str(),
            }),
            request_id: p.request_id.as_deref(),
        },
    )?;
    Ok(Recorded {
        purchase_id,
        status: "recorded",
        points_earned: earned,
        points_status,
        points_available_at: available_at,
        capped,
        cross_bonus,
        coupons_issued,
        debt_repaid,
        tier,
        new_badges,
    })
}

/// [`record`], then the purchase's lines (see [`super::lines`]): stored
/// only for a newly recorded purchase of a non-medical business.
pub fn record_with_lines(
    tx: &dyn Sql,
    clock: &dyn Clock,
    random: &dyn Random,
    settings: &WalletSettings,
    p: &NewPurchase,
    lines: &[super::lines::PurchaseLine],
) -> Result<Recorded, WalletError> {
    let done = record(tx, clock, random, settings, p)?;
    if done.status == "recorded" && !lines.is_empty() {
        let category = p.category.unwrap_or(p.business.category);
        super::lines::store(
            tx,
            &done.purchase_id,
            p.business.medical,
            category.as_str(),
            lines,
        )?;
    }
    Ok(done)
}

// A purchase already recorded under this external id: the same sale again
// answers as a duplicate; a different sale under the same id is refused.
fn existing(tx: &dyn Sql, p: &NewPurchase, ext: &str) -> Result<Option<Recorded>, WalletError> {
    let rows = tx.execute(
        "SELECT p.id, p.member_id, p.amount, p.points_earned, l.status AS lot_status, l.matures_at \
         FROM purchases p LEFT JOIN point_lots l ON l.purchase_id = p.id \
         WHERE p.business_id = ? AND p.external_id = ?",
        &params![p.business.id.as_str(), ext],
    )?;
    let Some(r) = rows.first() else {
        return Ok(None);
    };
    if r.text("member_id")? != p.member.id || r.i64("amount")? != p.amount {
        return Err(WalletError::ExternalIdConflict);
    }
    let tier = member::by_id(tx, &p.member.id)?.map_or(p.member.tier, |m| m.tier);
    let lot_status = r.opt_text("lot_status")?;
    Ok(Some(Recorded {
        purchase_id: r.text("id")?,
        status: "duplicate",
        points_earned: r.i64("points_earned")?,
        points_status: match lot_status.as_deref() {
            Some("pending") => "pending",
            Some("available") => "available",
            Some(_) => "expired",
            None => "none",
        },
        points_available_at: r.opt_text("matures_at")?,
        capped: None,
        debt_repaid: 0,
        tier,
        new_badges: Vec::new(),
        cross_bonus: 0,
        coupons_issued: Vec::new(),
    }))
}

// What the member's earlier purchases decide about this one.
struct Facts {
    // No earlier purchase in this category (the first-purchase bonus).
    first_in_category: bool,
    // Purchases at this business in the last 24 h.
    at_business_today: i64,
    // Points earned anywhere in the last 24 h.
    points_today: i64,
}

// Reads [`Facts`] in one statement.
fn facts(
    tx: &dyn Sql,
    now: DateTime<Utc>,
    p: &NewPurchase,
    category: Category,
) -> Result<Facts, StoreError> {
    let since = ts(now - Duration::days(1));
    let member = p.member.id.as_str();
    let rows = tx.execute(
        "SELECT CASE WHEN EXISTS (SELECT 1 FROM purchases WHERE member_id = ? AND category = ?) \
                     THEN 0 ELSE 1 END AS first_in_category, \
                (SELECT COUNT(*) FROM purchases WHERE member_id = ? AND business_id = ? AND created_at > ?) \
                     AS at_business, \
                (SELECT COALESCE(SUM(points_earned), 0) FROM purchases WHERE member_id = ? AND created_at > ?) \
                     AS points",
        &params![
            member,
            category.as_str(),
            member,
            p.business.id.as_str(),
            since.as_str(),
            member,
            since.as_str()
        ],
    )?;
    let r = rows
        .first()
        .ok_or_else(|| StoreError::Other("no purchase facts row".into()))?;
    Ok(Facts {
        first_in_category: r.i64("first_in_category")? == 1,
        at_business_today: r.i64("at_business")?,
        points_today: r.i64("points")?,
    })
}

// Beyond `max_purchases_per_business_day` a purchase is still recorded (it
// is a real sale: it counts for tiers and the budget) but earns nothing;
// beyond `max_points_per_day` it earns only what is left of the allowance.
fn apply_caps(
    settings: &WalletSettings,
    facts: &Facts,
    computed: i64,
) -> (i64, Option<&'static str>) {
    if facts.at_business_today >= settings.max_purchases_per_business_day {
        return (0, (computed > 0).then_some("purchases_per_business_day"));
    }
    let room = (settings.max_points_per_day - facts.points_today).max(0);
    if computed > room {
        (room, Some("points_per_day"))
    } else {
        (computed, None)
    }
}

fn add_to_budget(
    tx: &dyn Sql,
    now: DateTime<Utc>,
    random: &dyn Random,
    purchase_id: &str,
    refund_id: Option<&str>,
    amount: i64,
) -> Result<(), StoreError> {
    if amount == 0 {
        return Ok(());
    }
    tx.execute(
        "INSERT INTO events_budget_entries (id, purchase_id, refund_id, amount, created_at) \
         VALUES (?, ?, ?, ?, ?)",
        &params![
            Id::at(now, random).to_text(),
            purchase_id,
            refund_id,
            amount,
            ts(now)
        ],
    )?;
    Ok(())
}

/// The events budget: the sum of every contribution, kopecks.
pub fn events_budget_total(sql: &dyn Sql) -> Result<i64, StoreError> {
    let r = sql.execute(
        "SELECT COALESCE(SUM(amount), 0) AS s FROM events_budget_entries",
        &[],
    )?;
    r.first().map_or(Ok(0), |r| r.i64("s"))
}

/// Spend and categories of `member_id` in the 365 days before `now` (a
/// purchase exactly 365 days old has left the window), plus stored flags.
pub fn tier_facts(
    sql: &dyn Sql,
    member_id: &str,
    now: DateTime<Utc>,
) -> Result<TierFacts, StoreError> {
    let since = ts(now - Duration::days(tiers::WINDOW_DAYS));
    // The stored flags come with the aggregate: one statement.
    let r = sql.execute(
        "SELECT COALESCE(SUM(amount - refunded_amount), 0) AS spent, \
                COUNT(DISTINCT CASE WHEN amount > refunded_amount THEN category END) AS categories, \
                (SELECT top_one_percent FROM member_tier_flags WHERE member_id = ?) AS top_one_percent, \
                (SELECT invited FROM member_tier_flags WHERE member_id = ?) AS invited \
         FROM purchases WHERE member_id = ? AND paid_at > ?",
        &params![member_id, member_id, member_id, since.as_str()],
    )?;
    let row = r
        .first()
        .ok_or_else(|| StoreError::Other("aggregate returned no row".into()))?;
    let flag = |name: &str| row.opt_i64(name).map(|v| v.unwrap_or(0) != 0);
    let (top, invited) = (flag("top_one_percent")?, flag("invited")?);
    Ok(TierFacts {
        spent: row.i64("spent")?,
        categories: u32::try_from(row.i64("categories")?).unwrap_or(0),
        top_one_percent: top,
        invited,
    })
}

/// Recomputes `member_id`'s tier at `now`; when it changed, stores it, adds
/// a `tier_changes` row and an audit entry. Returns the tier now held.
pub fn recompute_tier(
    tx: &dyn Sql,
    now: DateTime<Utc>,
    random: &dyn Random,
    member_id: &str,
    current: Tier,
    cause_type: &str,
    cause_id: &str,
) -> Result<Tier, StoreError> {
    let facts = tier_facts(tx, member_id, now)?;
    let cause = TierCause {
        member_id,
        current,
        cause_type,
        cause_id,
    };
    apply_tier(tx, now, random, &cause, &facts)
}

// Whose tier is recomputed, from which tier, and why.
struct TierCause<'a> {
    member_id: &'a str,
    current: Tier,
    cause_type: &'a str,
    cause_id: &'a str,
}

// [`recompute_tier`] from facts the caller has read.
fn apply_tier(
    tx: &dyn Sql,
    now: DateTime<Utc>,
    random: &dyn Random,
    cause: &TierCause<'_>,
    facts: &TierFacts,
) -> Result<Tier, StoreError> {
    let TierCause {
        member_id,
        current,
        cause_type,
        cause_id,
    } = *cause;
    let tier = tiers::tier_for(facts);
    if tier == current {
        return Ok(tier);
    }
    member::set_tier(tx, member_id, tier)?;
    let id = Id::at(now, random).to_text();
    tx.execute(
        "INSERT INTO tier_changes (id, member_id, from_tier, to_tier, cause_type, cause_id, \
         spent_12m, categories_12m, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        &params![
            id.as_str(),
            member_id,
            current.as_str(),
            tier.as_str(),
            cause_type,
            cause_id,
            facts.spent,
            facts.categories,
            ts(now)
        ],
    )?;
    let clock = FixedClock(now);
    audit::record(
        tx,
        &clock,
        random,
        &AuditEntry {
            actor_id: None,
            actor_role: "system",
            action: "member.tier_changed",
            subject_type: "member",
            subject_id: member_id,
            details: json!({
                "from": current.as_str(), "to": tier.as_str(), "cause_type": cause_type,
                "cause_id": cause_id, "spent_12m": facts.spent, "categories_12m": facts.categories,
            }),
            request_id: None,
        },
    )?;
    Ok(tier)
}

struct FixedClock(DateTime<Utc>);

impl Clock for FixedClock {
    fn now(&self) -> DateTime<Utc> {
        self.0
    }
}

/// What `member_id`'s purchases decide at `now`, in one grouped read: the
/// tier facts ([`tier_facts`], stored flags included) and the badge facts
/// (what [`badges::earned`] judges). Equal to reading the two apart.
pub fn purchase_summary(
    sql: &dyn Sql,
    member_id: &str,
    now: DateTime<Utc>,
) -> Result<(TierFacts, BadgeFacts), StoreError> {
    let since = ts(now - Duration::days(tiers::WINDOW_DAYS));
    let rows = sql.execute(
        "SELECT category, SUM(amount - refunded_amount) AS lifetime, \
                SUM(CASE WHEN paid_at > ? THEN amount - refunded_amount ELSE 0 END) AS recent, \
                MAX(CASE WHEN paid_at > ? AND amount > refunded_amount THEN 1 ELSE 0 END) AS recent_active, \
                (SELECT top_one_percent FROM member_tier_flags WHERE member_id = ?) AS top_one_percent, \
                (SELECT invited FROM member_tier_flags WHERE member_id = ?) AS invited \
         FROM purchases WHERE member_id = ? GROUP BY category",
        &params![since.as_str(), since.as_str(), member_id, member_id, member_id],
    )?;
    if rows.rows.is_empty() {
        // No purchase: the flags alone (they come with the groups above).
        let tier = tier_facts(sql, member_id, now)?;
        return Ok((tier, badge_facts(BTreeSet::new(), 0)));
    }
    let mut tier = TierFacts {
        spent: 0,
        categories: 0,
        top_one_percent: false,
        invited: false,
    };
    let mut categories = BTreeSet::new();
    let mut lifetime = 0i64;
    for r in rows.iter() {
        if let Ok(c) = Category::parse(&r.text("category")?, "category") {
            categories.insert(c);
        }
        lifetime = lifetime.saturating_add(r.i64("lifetime")?);
        tier.spent = tier.spent.saturating_add(r.i64("recent")?);
        tier.categories += u32::from(r.i64("recent_active")? != 0);
        tier.top_one_percent = r.opt_i64("top_one_percent")?.unwrap_or(0) != 0;
        tier.invited = r.opt_i64("invited")?.unwrap_or(0) != 0;
    }
    Ok((tier, badge_facts(categories, lifetime)))
}

fn badge_facts(categories: BTreeSet<Category>, lifetime_spent: i64) -> BadgeFacts {
    BadgeFacts {
        registered: true,
        categories,
        lifetime_spent: Some(lifetime_spent),
        referrals: None,
        events_attended: None,
    }
}

/// A refund of (part of) a recorded purchase.
#[derive(Debug, Clone)]
pub struct NewRefund {
    /// The purchase refunded.
    pub purchase_id: String,
    /// Refunded amount, kopecks (> 0).
    pub amount: i64,
    /// The provider's refund id, unique per business.
    pub external_id: Option<String>,
    /// Who refunded.
    pub actor: Actor,
}

/// What a refund did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Refunded {
    /// Refund id.
    pub refund_id: String,
    /// `refunded` or `duplicate`.
    pub status: &'static str,
    /// Points taken back (from lots and as debt).
    pub points_clawed_back: i64,
    /// Part of that which became debt.
    pub debt_added: i64,
    /// Tier afterwards.
    pub tier: Tier,
}

/// Refunds (part of) a purchase: claws back the points of the refunded share
/// (pending first, then available, the rest as debt), takes the share back
/// from the events budget and recomputes the tier.
pub fn refund(
    tx: &dyn Sql,
    clock: &dyn Clock,
    random: &dyn Random,
    r: &NewRefund,
) -> Result<Refunded, WalletError> {
    let now = clock.now();
    let rows = tx.execute(
        "SELECT member_id, business_id, amount, refunded_amount, points_earned, points_clawed_back \
         FROM purchases WHERE id = ?",
        &params![r.purchase_id.as_str()],
    )?;
    let row = rows.first().ok_or(WalletError::PurchaseNotFound)?;
    let member_id = row.text("member_id")?;
    let business_id = row.text("business_id")?;
    if let Some(ext) = &r.external_id {
        let seen = tx.execute(
            "SELECT id, purchase_id, amount, points_clawed, debt_added FROM refunds \
             WHERE business_id = ? AND external_id = ?",
            &params![business_id.as_str(), ext.as_str()],
        )?;
        if let Some(s) = seen.first() {
            if s.text("purchase_id")? != r.purchase_id || s.i64("amount")? != r.amount {
                return Err(WalletError::RefundIdConflict);
            }
            let tier = member::by_id(tx, &member_id)?.map_or(Tier::Insider, |m| m.tier);
            return Ok(Refunded {
                refund_id: s.text("id")?,
                status: "duplicate",
                points_clawed_back: s.i64("points_clawed")?,
                debt_added: s.i64("debt_added")?,
                tier,
            });
        }
    }
    let amount = row.i64("amount")?;
    let refunded_before = row.i64("refunded_amount")?;
    let left = amount - refunded_before;
    if r.amount <= 0 || r.amount > left {
        return Err(WalletError::RefundTooLarge { remaining: left });
    }
    let refunded_after = refunded_before + r.amount;
    let earned = row.i64("points_earned")?;
    let due =
        cashback::proportional(earned, refunded_after, amount) - row.i64("points_clawed_back")?;
    let refund_id = Id::at(now, random).to_text();
    let clawed = ledger::clawback(
        tx,
        now,
        random,
        &Posting {
            member_id: &member_id,
            business_id: Some(&business_id),
            cause_type: CauseType::Refund,
            cause_id: &refund_id,
            actor: &r.actor,
            reason: None,
            description: Some("Points returned for a refund"),
        },
        due.max(0),
        Some(&r.purchase_id),
    )?;
    tx.execute(
        "UPDATE purchases SET refunded_amount = ?, points_clawed_back = points_clawed_back + ? WHERE id = ?",
        &params![refunded_after, due.max(0), r.purchase_id.as_str()],
    )?;
    tx.execute(
        "INSERT INTO refunds (id, purchase_id, business_id, external_id, amount, points_clawed, \
         debt_added, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        &params![
            refund_id.as_str(),
            r.purchase_id.as_str(),
            business_id.as_str(),
            r.external_id.as_deref(),
            r.amount,
            due.max(0),
            clawed.to_debt,
            ts(now)
        ],
    )?;
    crate::analytics::rollup::on_refund(tx, &r.purchase_id, r.amount)?;
    let budget_delta = cashback::events_budget_share(amount - refunded_after)
        - cashback::events_budget_share(amount - refunded_before);
    add_to_budget(
        tx,
        now,
        random,
        &r.purchase_id,
        Some(&refund_id),
        budget_delta,
    )?;
    let current = member::by_id(tx, &member_id)?.map_or(Tier::Insider, |m| m.tier);
    let tier = recompute_tier(tx, now, random, &member_id, current, "refund", &refund_id)?;
    audit::record(
        tx,
        clock,
        random,
        &AuditEntry {
            actor_id: r.actor.id.as_deref(),
            actor_role: r.actor.role,
            action: "purchase.refunded",
            subject_type: "purchase",
            subject_id: &r.purchase_id,
            details: json!({
                "refund_id": refund_id, "amount": r.amount, "points_clawed_back": due.max(0),
                "debt_added": clawed.to_debt,
            }),
            request_id: None,
        },
    )?;
    Ok(Refunded {
        refund_id,
        status: "refunded",
        points_clawed_back: due.max(0),
        debt_added: clawed.to_debt,
        tier,
    })
}
