//! Rows and their loading, shared by the use cases.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::rules::{Bonus, ItemFields, RefundPolicy, Status};
use crate::db::{parse_ts, ts, Row};
use crate::params;
use crate::ports::{Sql, StoreError};

pub(crate) const ITEM_COLUMNS: &str = "id, business_id, title, description, release_at, cancellation_deadline, \
     full_until, partial_percent, none_after, per_member_limit, fulfilled_at, created_at, updated_at";

pub(crate) const TIER_COLUMNS: &str =
    "id, item_id, name, base_price, discount_percent, final_price, max_quantity, \
     held, sold, early_access_days, available_from, available_until, priority, bonuses, created_at";

pub(crate) const PREORDER_COLUMNS: &str = "id, item_id, tier_id, member_id, business_id, status, price, points_used, \
     total, paid_amount, reservation_id, hold_expires_at, payment_id, cancel_reason, refund_amount, \
     points_returned, confirmed_at, fulfilled_at, cancelled_at, created_at, updated_at";

/// A stored item.
#[derive(Debug, Clone)]
pub(crate) struct Item {
    pub id: String,
    pub business_id: String,
    pub fields: ItemFields,
    pub created_at: String,
    pub updated_at: String,
}

impl Item {
    fn decode(r: Row<'_>) -> Result<Self, StoreError> {
        Ok(Item {
            id: r.text("id")?,
            business_id: r.text("business_id")?,
            fields: ItemFields {
                title: r.text("title")?,
                description: r.opt_text("description")?,
                release_at: parse_ts(&r.text("release_at")?)?,
                policy: RefundPolicy {
                    full_until: parse_ts(&r.text("full_until")?)?,
                    partial_percent: r.i64("partial_percent")?,
                    none_after: parse_ts(&r.text("none_after")?)?,
                    cancellation_deadline: parse_ts(&r.text("cancellation_deadline")?)?,
                },
                per_member_limit: r.i64("per_member_limit")?,
            },
            created_at: r.text("created_at")?,
            updated_at: r.text("updated_at")?,
        })
    }

    pub fn view(&self, tiers: Vec<TierView>) -> ItemView {
        let f = &self.fields;
        ItemView {
            id: self.id.clone(),
            business_id: self.business_id.clone(),
            title: f.title.clone(),
            description: f.description.clone(),
            release_at: ts(f.release_at),
            cancellation_deadline: ts(f.policy.cancellation_deadline),
            refund_policy: PolicyView {
                full_until: ts(f.policy.full_until),
                partial_percent: f.policy.partial_percent,
                none_after: ts(f.policy.none_after),
            },
            per_member_limit: f.per_member_limit,
            created_at: self.created_at.clone(),
            updated_at: self.updated_at.clone(),
            tiers,
        }
    }
}

/// An item's refund policy on the wire.
#[derive(Debug, Clone, Serialize)]
pub struct PolicyView {
    /// Full refund before.
    pub full_until: String,
    /// Partial percent until `none_after`.
    pub partial_percent: i64,
    /// No refund from.
    pub none_after: String,
}

/// An item on the wire.
#[derive(Debug, Clone, Serialize)]
pub struct ItemView {
    /// Id.
    pub id: String,
    /// The partner.
    pub business_id: String,
    /// Title.
    pub title: String,
    /// Description.
    pub description: Option<String>,
    /// Release.
    pub release_at: String,
    /// No cancellation from.
    pub cancellation_deadline: String,
    /// The refund policy.
    pub refund_policy: PolicyView,
    /// Preorders per member.
    pub per_member_limit: i64,
    /// Created.
    pub created_at: String,
    /// Last changed.
    pub updated_at: String,
    /// Tiers, highest priority first.
    pub tiers: Vec<TierView>,
}

/// A stored tier.
#[derive(Debug, Clone)]
pub(crate) struct Tier {
    pub id: String,
    pub item_id: String,
    pub name: String,
    pub base_price: i64,
    pub discount_percent: i64,
    pub final_price: i64,
    pub max_quantity: Option<i64>,
    pub held: i64,
    pub sold: i64,
    pub early_access_days: i64,
    pub available_from: DateTime<Utc>,
    pub available_until: DateTime<Utc>,
    pub priority: i64,
    pub bonuses: Vec<Bonus>,
}

impl Tier {
    fn decode(r: Row<'_>) -> Result<Self, StoreError> {
        Ok(Tier {
            id: r.text("id")?,
            item_id: r.text("item_id")?,
            name: r.text("name")?,
            base_price: r.i64("base_price")?,
            discount_percent: r.i64("discount_percent")?,
            final_price: r.i64("final_price")?,
            max_quantity: r.opt_i64("max_quantity")?,
            held: r.i64("held")?,
            sold: r.i64("sold")?,
            early_access_days: r.i64("early_access_days")?,
            available_from: parse_ts(&r.text("available_from")?)?,
            available_until: parse_ts(&r.text("available_until")?)?,
            priority: r.i64("priority")?,
            bonuses: serde_json::from_str(&r.text("bonuses")?)
                .map_err(|e| StoreError::Other(format!("bad stored bonuses: {e}")))?,
        })
    }

    /// On sale at `now` (its window, and before the item's release).
    pub fn on_sale(&self, now: DateTime<Utc>, release_at: DateTime<Utc>) -> bool {
        self.available_from <= now && now < self.available_until && now < release_at
    }

    pub fn view(&self, now: DateTime<Utc>, release_at: DateTime<Utc>) -> TierView {
        TierView {
            id: self.id.clone(),
            item_id: self.item_id.clone(),
            name: self.name.clone(),
            base_price: self.base_price,
            discount_percent: self.discount_percent,
            final_price: self.final_price,
            max_quantity: self.max_quantity,
            remaining: self
                .max_quantity
                .map(|m| (m - self.held - self.sold).max(0)),
            early_access_days: self.early_access_days,
            available_from: ts(self.available_from),
            available_until: ts(self.available_until),
            priority: self.priority,
            bonuses: self.bonuses.clone(),
            on_sale: self.on_sale(now, release_at),
        }
    }
}

/// A tier on the wire.
#[derive(Debug, Clone, Serialize)]
pub struct TierView {
    /// Id.
    pub id: String,
    /// Its item.
    pub item_id: String,
    /// Name.
    pub name: String,
    /// Before the discount, kopecks.
    pub base_price: i64,
    /// Whole percent.
    pub discount_percent: i64,
    /// What a preorder costs, kopecks.
    pub final_price: i64,
    /// `null`: unlimited.
    pub max_quantity: Option<i64>,
    /// Units neither held nor sold; `null`: unlimited.
    pub remaining: Option<i64>,
    /// Early access opens this many days before release.
    pub early_access_days: i64,
    /// Window start.
    pub available_from: String,
    /// Window end.
    pub available_until: String,
    /// Higher first.
    pub priority: i64,
    /// Granted at fulfilment.
    pub bonuses: Vec<Bonus>,
    /// Can be preordered now.
    pub on_sale: bool,
}

/// A stored preorder.
#[derive(Debug, Clone)]
pub(crate) struct Preorder {
    pub id: String,
    pub item_id: String,
    pub tier_id: String,
    pub member_id: String,
    pub business_id: String,
    pub status: Status,
    pub price: i64,
    pub points_used: i64,
    pub total: i64,
    pub paid_amount: i64,
    pub reservation_id: Option<String>,
    pub hold_expires_at: String,
    pub payment_id: Option<String>,
    pub cancel_reason: Option<String>,
    pub refund_amount: Option<i64>,
    pub points_returned: Option<i64>,
    pub confirmed_at: Option<String>,
    pub fulfilled_at: Option<String>,
    pub cancelled_at: Option<String>,
    pub created_at: String,
}

impl Preorder {
    pub(crate) fn decode(r: Row<'_>) -> Result<Self, StoreError> {
        let status = r.text("status")?;
        Ok(Preorder {
            id: r.text("id")?,
            item_id: r.text("item_id")?,
            tier_id: r.text("tier_id")?,
            member_id: r.text("member_id")?,
            business_id: r.text("business_id")?,
            status: Status::parse(&status)
                .ok_or_else(|| StoreError::Other(format!("bad stored status {status:?}")))?,
            price: r.i64("price")?,
            points_used: r.i64("points_used")?,
            total: r.i64("total")?,
            paid_amount: r.i64("paid_amount")?,
            reservation_id: r.opt_text("reservation_id")?,
            hold_expires_at: r.text("hold_expires_at")?,
            payment_id: r.opt_text("payment_id")?,
            cancel_reason: r.opt_text("cancel_reason")?,
            refund_amount: r.opt_i64("refund_amount")?,
            points_returned: r.opt_i64("points_returned")?,
            confirmed_at: r.opt_text("confirmed_at")?,
            fulfilled_at: r.opt_text("fulfilled_at")?,
            cancelled_at: r.opt_text("cancelled_at")?,
            created_at: r.text("created_at")?,
        })
    }
}

pub(crate) fn item(sql: &dyn Sql, id: &str) -> Result<Option<Item>, StoreError> {
    sql.execute(
        &format!("SELECT {ITEM_COLUMNS} FROM preorder_items WHERE id = ?"),
        &params![id],
    )?
    .first()
    .map(Item::decode)
    .transpose()
}

pub(crate) fn items_page(
    sql: &dyn Sql,
    after: Option<(&str, &str)>,
    limit: u32,
) -> Result<Vec<Item>, StoreError> {
    let (key, id) = after.unwrap_or(("", ""));
    sql.execute(
        &format!(
            "SELECT {ITEM_COLUMNS} FROM preorder_items WHERE release_at > ? OR (release_at = ? AND id > ?) \
             ORDER BY release_at, id LIMIT ?"
        ),
        &params![key, key, id, i64::from(limit)],
    )?
    .iter()
    .map(Item::decode)
    .collect()
}

pub(crate) fn tier(sql: &dyn Sql, id: &str) -> Result<Option<Tier>, StoreError> {
    sql.execute(
        &format!("SELECT {TIER_COLUMNS} FROM preorder_tiers WHERE id = ?"),
        &params![id],
    )?
    .first()
    .map(Tier::decode)
    .transpose()
}

pub(crate) fn tiers_of(sql: &dyn Sql, item_id: &str) -> Result<Vec<Tier>, StoreError> {
    sql.execute(
        &format!(
            "SELECT {TIER_COLUMNS} FROM preorder_tiers WHERE item_id = ? ORDER BY priority DESC, created_at, id"
        ),
        &params![item_id],
    )?
    .iter()
    .map(Tier::decode)
    .collect()
}

pub(crate) fn preorder(sql: &dyn Sql, id: &str) -> Result<Option<Preorder>, StoreError> {
    sql.execute(
        &format!("SELECT {PREORDER_COLUMNS} FROM preorders WHERE id = ?"),
        &params![id],
    )?
    .first()
    .map(Preorder::decode)
    .transpose()
}

pub(crate) fn item_view(
    sql: &dyn Sql,
    item: &Item,
    now: DateTime<Utc>,
) -> Result<ItemView, StoreError> {
    let tiers = tiers_of(sql, &item.id)?
        .iter()
        .map(|t| t.view(now, item.fields.release_at))
        .collect();
    Ok(item.view(tiers))
}

/// Takes one unit of `tier_id` into `held` unless every unit is held or
/// sold; true when taken.
pub(crate) fn take_held(tx: &dyn Sql, tier_id: &str) -> Result<bool, StoreError> {
    tx.execute(
        "UPDATE preorder_tiers SET held = held + 1 \
         WHERE id = ? AND (max_quantity IS NULL OR held + sold < max_quantity)",
        &params![tier_id],
    )?;
    Ok(tx.changes()? == 1)
}

/// Takes one unit of `tier_id` straight into `sold` (a late payment) unless
/// every unit is held or sold; true when taken.
pub(crate) fn take_sold(tx: &dyn Sql, tier_id: &str) -> Result<bool, StoreError> {
    tx.execute(
        "UPDATE preorder_tiers SET sold = sold + 1 \
         WHERE id = ? AND (max_quantity IS NULL OR held + sold < max_quantity)",
        &params![tier_id],
    )?;
    Ok(tx.changes()? == 1)
}

/// Moves counters of `tier_id` by the given amounts.
pub(crate) fn shift(
    tx: &dyn Sql,
    tier_id: &str,
    d_held: i64,
    d_sold: i64,
) -> Result<(), StoreError> {
    tx.execute(
        "UPDATE preorder_tiers SET held = held + ?, sold = sold + ? WHERE id = ?",
        &params![d_held, d_sold, tier_id],
    )?;
    Ok(())
}

/// Records money the partner owes back through the provider.
#[allow(clippy::too_many_arguments)]
pub(crate) fn refund_due(
    tx: &dyn Sql,
    now: DateTime<Utc>,
    random: &dyn crate::ports::Random,
    preorder_id: &str,
    business_id: &str,
    member_id: &str,
    amount: i64,
    reason: &str,
    payment_id: Option<&str>,
) -> Result<Option<String>, StoreError> {
    if amount <= 0 {
        return Ok(None);
    }
    let id = crate::types::Id::at(now, random).to_text();
    tx.execute(
        "INSERT INTO preorder_refunds (id, preorder_id, business_id, member_id, amount, reason, payment_id, status, created_at) \
         VALUES (?, ?, ?, ?, ?, ?, ?, 'due', ?)",
        &params![
            id.as_str(),
            preorder_id,
            business_id,
            member_id,
            amount,
            reason,
            payment_id,
            ts(now)
        ],
    )?;
    Ok(Some(id))
}
