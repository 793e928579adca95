//! Items and tiers, managed by the business's owner or an admin, and the
//! item's analytics.

use serde::Serialize;

use super::rules::{self, RawItem, RawItemPatch, RawTier};
use super::store::{self, ItemView, TierView};
use super::{PreorderEnv, PreorderError};
use crate::db::{immediate, ts};
use crate::params;
use crate::types::Id;

/// Who manages items: an admin, or the owner of one business.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Manager {
    /// A platform admin.
    pub admin: bool,
    /// The business the caller owns, if any.
    pub owner_of: Option<String>,
}

impl Manager {
    /// Whether the caller may manage items of `business_id`.
    pub fn may_manage(&self, business_id: &str) -> bool {
        self.admin || self.owner_of.as_deref() == Some(business_id)
    }

    /// Whether the caller may manage items at all (checked before the body).
    pub fn may_manage_any(&self) -> bool {
        self.admin || self.owner_of.is_some()
    }
}

fn managed_item(
    env: &PreorderEnv<'_>,
    who: &Manager,
    id: &str,
) -> Result<store::Item, PreorderError> {
    let item = store::item(env.sql, id)?.ok_or(PreorderError::NotFound)?;
    if !who.may_manage(&item.business_id) {
        // Someone else's item is not there for this caller.
        return Err(PreorderError::NotFound);
    }
    Ok(item)
}

/// `POST /admin/preorder-items` → 201.
pub fn create_item(
    env: &PreorderEnv<'_>,
    who: &Manager,
    raw: &RawItem,
) -> Result<ItemView, PreorderError> {
    let now = env.clock.now();
    let business_id = Id::parse(&raw.business_id, "business_id")?.to_text();
    if !who.may_manage(&business_id) {
        return Err(PreorderError::Forbidden);
    }
    let f = rules::item_fields(raw, now)?;
    let exists = !env
        .sql
        .execute(
            "SELECT 1 FROM businesses WHERE id = ?",
            &params![business_id.as_str()],
        )?
        .is_empty();
    if !exists {
        return Err(PreorderError::BusinessNotFound);
    }
    let id = Id::at(now, env.random).to_text();
    env.sql.execute(
        "INSERT INTO preorder_items (id, business_id, title, description, release_at, cancellation_deadline, \
         full_until, partial_percent, none_after, per_member_limit, created_at, updated_at) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        &params![
            id.as_str(),
            business_id.as_str(),
            f.title.as_str(),
            f.description.as_deref(),
            ts(f.release_at),
            ts(f.policy.cancellation_deadline),
            ts(f.policy.full_until),
            f.policy.partial_percent,
            ts(f.policy.none_after),
            f.per_member_limit,
            ts(now),
            ts(now)
        ],
    )?;
    let item = store::item(env.sql, &id)?.ok_or(PreorderError::NotFound)?;
    Ok(item.view(Vec::new()))
}

/// `PATCH /admin/preorder-items/{id}` → 200. Refused once released.
pub fn patch_item(
    env: &PreorderEnv<'_>,
    who: &Manager,
    id: &str,
    raw: &RawItemPatch,
) -> Result<ItemView, PreorderError> {
    let now = env.clock.now();
    immediate(env.sql, |tx| {
        let env = PreorderEnv { sql: tx, ..*env };
        let item = managed_item(&env, who, id)?;
        if item.fields.release_at <= now {
            return Err(PreorderError::NotAvailable("the item has been released"));
        }
        let f = rules::patched(&item.fields, raw, now)?;
        tx.execute(
            "UPDATE preorder_items SET title = ?, description = ?, release_at = ?, cancellation_deadline = ?, \
             full_until = ?, partial_percent = ?, none_after = ?, per_member_limit = ?, updated_at = ? WHERE id = ?",
            &params![
                f.title.as_str(),
                f.description.as_deref(),
                ts(f.release_at),
                ts(f.policy.cancellation_deadline),
                ts(f.policy.full_until),
                f.policy.partial_percent,
                ts(f.policy.none_after),
                f.per_member_limit,
                ts(now),
                id
            ],
        )?;
        let item = store::item(tx, id)?.ok_or(PreorderError::NotFound)?;
        Ok(store::item_view(tx, &item, now)?)
    })
}

/// `POST /admin/preorder-items/{id}/tiers` → 201.
pub fn add_tier(
    env: &PreorderEnv<'_>,
    who: &Manager,
    item_id: &str,
    raw: &RawTier,
) -> Result<TierView, PreorderError> {
    let now = env.clock.now();
    let item = managed_item(env, who, item_id)?;
    let t = rules::tier_fields(raw)?;
    if item.fields.release_at <= now {
        return Err(PreorderError::NotAvailable("the item has been released"));
    }
    let id = Id::at(now, env.random).to_text();
    let bonuses = serde_json::to_string(&t.bonuses)
        .map_err(|e| crate::ports::StoreError::Other(e.to_string()))?;
    env.sql.execute(
        "INSERT INTO preorder_tiers (id, item_id, name, base_price, discount_percent, final_price, max_quantity, \
         early_access_days, available_from, available_until, priority, bonuses, created_at) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        &params![
            id.as_str(),
            item_id,
            t.name.as_str(),
            t.base_price,
            t.discount_percent,
            t.final_price,
            t.max_quantity,
            t.early_access_days,
            ts(t.available_from),
            ts(t.available_until),
            t.priority,
            bonuses,
            ts(now)
        ],
    )?;
    let tier = store::tier(env.sql, &id)?.ok_or(PreorderError::TierNotFound)?;
    Ok(tier.view(now, item.fields.release_at))
}

/// One tier in the analytics.
#[derive(Debug, Clone, Serialize)]
pub struct TierStats {
    /// Tier id.
    pub tier_id: String,
    /// Name.
    pub name: String,
    /// Price.
    pub final_price: i64,
    /// Limit.
    pub max_quantity: Option<i64>,
    /// Units held by unpaid orders and upgrades.
    pub held: i64,
    /// Units paid for.
    pub sold: i64,
    /// Preorders ever placed in this tier (their first tier).
    pub preorders: i64,
}

/// Cancellations and refunds.
#[derive(Debug, Clone, Serialize)]
pub struct RefundStats {
    /// Preorders cancelled by their members.
    pub cancellations: i64,
    /// Unpaid holds that lapsed.
    pub expired_holds: i64,
    /// Preorders refunded (money or points back).
    pub refunded: i64,
    /// Money due back through the provider, kopecks.
    pub amount_due: i64,
    /// Of it, refunds the provider has confirmed.
    pub amount_settled: i64,
    /// Points returned to members.
    pub points_returned: i64,
}

/// Views to preorders to payments.
#[derive(Debug, Clone, Serialize)]
pub struct Conversion {
    /// Item views (from app events).
    pub views: i64,
    /// Why `views` is what it is.
    pub views_note: &'static str,
    /// Preorders placed.
    pub preorders: i64,
    /// Of them, paid.
    pub paid: i64,
    /// `preorders / views`; `null` without views.
    pub view_to_preorder: Option<f64>,
    /// `paid / preorders`; `null` without preorders.
    pub preorder_to_paid: Option<f64>,
}

/// Upgrades of the item's preorders.
#[derive(Debug, Clone, Serialize)]
pub struct UpgradeStats {
    /// Requested.
    pub requested: i64,
    /// Paid.
    pub paid: i64,
}

/// `GET /admin/preorder-items/{id}/analytics`.
#[derive(Debug, Clone, Serialize)]
pub struct Analytics {
    /// The item.
    pub item_id: String,
    /// The funnel.
    pub conversion: Conversion,
    /// Per tier.
    pub by_tier: Vec<TierStats>,
    /// Upgrades.
    pub upgrades: UpgradeStats,
    /// Cancellations and refunds.
    pub refunds: RefundStats,
}

fn ratio(num: i64, den: i64) -> Option<f64> {
    (den > 0).then(|| {
        // Counts are far below 2^52: exact as floats.
        #[allow(clippy::cast_precision_loss)]
        let r = num as f64 / den as f64;
        (r * 10_000.0).round() / 10_000.0
    })
}

/// The analytics of an item.
pub fn analytics(
    env: &PreorderEnv<'_>,
    who: &Manager,
    item_id: &str,
) -> Result<Analytics, PreorderError> {
    let item = managed_item(env, who, item_id)?;
    let sql = env.sql;
    let one = |q: &str| -> Result<i64, PreorderError> {
        Ok(sql
            .execute(q, &params![item.id.as_str()])?
            .first()
            .map_or(Ok(0), |r| r.i64("n"))?)
    };
    let preorders = one("SELECT COUNT(*) AS n FROM preorders WHERE item_id = ?")?;
    let paid =
        one("SELECT COUNT(*) AS n FROM preorders WHERE item_id = ? AND confirmed_at IS NOT NULL")?;
    let cancellations =
        one("SELECT COUNT(*) AS n FROM preorders WHERE item_id = ? AND cancel_reason = 'member'")?;
    let expired_holds = one(
        "SELECT COUNT(*) AS n FROM preorders WHERE item_id = ? AND cancel_reason = 'hold_expired'",
    )?;
    let refunded =
        one("SELECT COUNT(*) AS n FROM preorders WHERE item_id = ? AND status = 'refunded'")?;
    let points_returned =
        one("SELECT COALESCE(SUM(points_returned), 0) AS n FROM preorders WHERE item_id = ?")?;
    let amount_due = one(
        "SELECT COALESCE(SUM(r.amount), 0) AS n FROM preorder_refunds r JOIN preorders p ON p.id = r.preorder_id \
         WHERE p.item_id = ?",
    )?;
    let amount_settled = one(
        "SELECT COALESCE(SUM(r.amount), 0) AS n FROM preorder_refunds r JOIN preorders p ON p.id = r.preorder_id \
         WHERE p.item_id = ? AND r.status = 'settled'",
    )?;
    let requested = one(
        "SELECT COUNT(*) AS n FROM preorder_upgrades u JOIN preorders p ON p.id = u.preorder_id WHERE p.item_id = ?",
    )?;
    let upgrades_paid = one(
        "SELECT COUNT(*) AS n FROM preorder_upgrades u JOIN preorders p ON p.id = u.preorder_id \
         WHERE p.item_id = ? AND u.status = 'paid'",
    )?;
    let mut by_tier = Vec::new();
    for t in store::tiers_of(sql, &item.id)? {
        // A preorder's first tier: the upgrade's from_tier of its first
        // upgrade, else its tier.
        let placed = sql
            .execute(
                "SELECT COUNT(*) AS n FROM preorders p WHERE p.item_id = ? AND COALESCE( \
                 (SELECT u.from_tier_id FROM preorder_upgrades u WHERE u.preorder_id = p.id AND u.status = 'paid' \
                  ORDER BY u.created_at LIMIT 1), p.tier_id) = ?",
                &params![item.id.as_str(), t.id.as_str()],
            )?
            .first()
            .map_or(Ok(0), |r| r.i64("n"))?;
        by_tier.push(TierStats {
            tier_id: t.id.clone(),
            name: t.name.clone(),
            final_price: t.final_price,
            max_quantity: t.max_quantity,
            held: t.held,
            sold: t.sold,
            preorders: placed,
        });
    }
    Ok(Analytics {
        item_id: item.id.clone(),
        conversion: Conversion {
            views: 0,
            views_note:
                "item views come from app events; event ingest is not built yet, so views are 0",
            preorders,
            paid,
            view_to_preorder: None,
            preorder_to_paid: ratio(paid, preorders),
        },
        by_tier,
        upgrades: UpgradeStats {
            requested,
            paid: upgrades_paid,
        },
        refunds: RefundStats {
            cancellations,
            expired_holds,
            refunded,
            amount_due,
            amount_settled,
            points_returned,
        },
    })
}
