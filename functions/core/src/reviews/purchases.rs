//! `GET /wallet/purchases`: the member's own purchases with their lines and
//! whether a review can still be written for them.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;

use super::REVIEW_WINDOW_DAYS;
use crate::db::ts;
use crate::pagination::{page_from, Cursor, NewestFirst, Page};
use crate::ports::{Sql, SqlValue, StoreError};
use crate::wallet::lines::{self, PurchaseLine};

/// One purchase as its member sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PurchaseView {
    /// Purchase id.
    pub id: String,
    /// Where.
    pub business_id: String,
    /// The business's name.
    pub business_name: String,
    /// Paid, kopecks.
    pub amount: i64,
    /// Refunded so far, kopecks.
    pub refunded_amount: i64,
    /// Category.
    pub category: String,
    /// Lines, when known (never for medical businesses).
    pub items: Vec<PurchaseLine>,
    /// When it was paid.
    pub paid_at: String,
    /// True while a review of the business, or of a product among the
    /// lines, can still be written for this purchase.
    pub reviewable: bool,
}

/// The page of `member_id`'s purchases after `cursor`, newest first.
pub fn page(
    sql: &dyn Sql,
    member_id: &str,
    now: DateTime<Utc>,
    limit: u32,
    cursor: Option<&Cursor>,
) -> Result<Page<PurchaseView>, StoreError> {
    let (text, args) = NewestFirst::new(
        "SELECT p.id, p.business_id, b.name AS business_name, p.amount, p.refunded_amount, \
         p.category, p.paid_at FROM purchases p JOIN businesses b ON b.id = p.business_id",
    )
    .filter("p.member_id = ?", member_id)
    .page("p.paid_at", "p.id", cursor, limit);
    let rows = sql.execute(&text, &args)?;
    let mut items = Vec::with_capacity(rows.len());
    for r in rows.iter() {
        items.push(PurchaseView {
            id: r.text("id")?,
            business_id: r.text("business_id")?,
            business_name: r.text("business_name")?,
            amount: r.i64("amount")?,
            refunded_amount: r.i64("refunded_amount")?,
            category: r.text("category")?,
            items: Vec::new(),
            paid_at: r.text("paid_at")?,
            reviewable: false,
        });
    }
    let ids: Vec<String> = items.iter().map(|p| p.id.clone()).collect();
    let mut lines = lines::for_purchases(sql, &ids)?;
    let reviewed = reviewed(sql, member_id, &ids)?;
    let oldest = ts(now - Duration::days(REVIEW_WINDOW_DAYS));
    for p in &mut items {
        p.items = lines.remove(&p.id).unwrap_or_default();
        let done = reviewed.get(&p.id);
        let open_target = match done {
            None => true,
            Some(keys) => {
                !keys.contains(&("business".to_string(), String::new()))
                    || p.items
                        .iter()
                        .any(|l| !keys.contains(&("product".to_string(), l.sku.clone())))
            }
        };
        p.reviewable = p.paid_at > oldest && p.refunded_amount < p.amount && open_target;
    }
    Ok(page_from(items, limit, |p| Cursor {
        key: p.paid_at.clone(),
        id: p.id.clone(),
    }))
}

// The (target_type, target_key) pairs `member_id` reviewed per purchase.
fn reviewed(
    sql: &dyn Sql,
    member_id: &str,
    ids: &[String],
) -> Result<BTreeMap<String, BTreeSet<(String, String)>>, StoreError> {
    let mut out: BTreeMap<String, BTreeSet<(String, String)>> = BTreeMap::new();
    if ids.is_empty() {
        return Ok(out);
    }
    let marks = crate::db::marks(ids.len(), 1);
    let mut args: Vec<SqlValue> = vec![SqlValue::from(member_id)];
    args.extend(ids.iter().map(SqlValue::from));
    let rows = sql.execute(
        &format!(
            "SELECT purchase_id, target_type, target_key FROM reviews \
             WHERE member_id = ? AND purchase_id IN ({marks})"
        ),
        &args,
    )?;
    for r in rows.iter() {
        out.entry(r.text("purchase_id")?)
            .or_default()
            .insert((r.text("target_type")?, r.text("target_key")?));
    }
    Ok(out)
}
