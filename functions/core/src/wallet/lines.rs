//! The lines a purchase keeps: `{sku, name?, category, quantity,
//! unit_price}` from a committed reservation, a POS or webhook body with
//! `items`, or partner ingest. Medical businesses' lines are never stored.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::category::Category;
use crate::error::InvalidValue;
use crate::params;
use crate::ports::{Sql, SqlValue, StoreError};

/// Most lines one purchase may carry.
pub const MAX_LINES: usize = 200;

/// One line of a purchase.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PurchaseLine {
    /// The business's SKU.
    pub sku: String,
    /// Product name, if given.
    pub name: Option<String>,
    /// Category slug.
    pub category: String,
    /// Units (> 0).
    pub quantity: i64,
    /// Price of one unit, kopecks (≥ 0).
    pub unit_price: i64,
}

/// A line as a client sends it (`items[i]`); unknown fields are refused.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LineBody {
    /// SKU.
    pub sku: String,
    /// Name.
    #[serde(default)]
    pub name: Option<String>,
    /// Category slug; the purchase's when absent.
    #[serde(default)]
    pub category: Option<String>,
    /// Units.
    pub quantity: i64,
    /// Unit price, kopecks.
    pub unit_price: i64,
}

/// Validates a SKU: 1–64 printable characters, no spaces at the ends.
pub fn sku(raw: &str, field: &str) -> Result<String, InvalidValue> {
    let s = raw.trim();
    if s.is_empty() || s.chars().count() > 64 || s.chars().any(char::is_control) {
        return Err(InvalidValue::new(
            "INVALID_FIELD",
            field,
            "sku must be 1-64 printable characters",
        ));
    }
    Ok(s.to_string())
}

/// Validates `items` (`field` names the array in errors); a missing
/// category takes `default_category`.
pub fn parse(
    items: &[LineBody],
    field: &str,
    default_category: Option<Category>,
) -> Result<Vec<PurchaseLine>, InvalidValue> {
    if items.len() > MAX_LINES {
        return Err(InvalidValue::new(
            "INVALID_FIELD",
            field,
            format!("at most {MAX_LINES} items"),
        ));
    }
    items
        .iter()
        .enumerate()
        .map(|(i, l)| {
            let at = |f: &str| format!("{field}[{i}].{f}");
            let category = match &l.category {
                Some(c) => Some(Category::parse(c, &at("category"))?),
                None => default_category,
            };
            if !(1..=10_000).contains(&l.quantity) {
                return Err(InvalidValue::new(
                    "INVALID_FIELD",
                    at("quantity"),
                    "quantity must be 1-10000",
                ));
            }
            if !(0..=1_000_000_000).contains(&l.unit_price) {
                return Err(InvalidValue::new(
                    "INVALID_FIELD",
                    at("unit_price"),
                    "unit_price must be 0-1000000000 kopecks",
                ));
            }
            let name = match l.name.as_deref().map(str::trim) {
                None | Some("") => None,
                Some(n) if n.chars().count() <= 200 => Some(n.to_string()),
                Some(_) => {
                    return Err(InvalidValue::new(
                        "INVALID_FIELD",
                        at("name"),
                        "name is at most 200 characters",
                    ))
                }
            };
            Ok(PurchaseLine {
                sku: sku(&l.sku, &at("sku"))?,
                name,
                category: category.map_or(String::new(), |c| c.as_str().to_string()),
                quantity: l.quantity,
                unit_price: l.unit_price,
            })
        })
        .collect()
}

/// Stores `lines` for `purchase_id` (nothing for a medical business; a
/// line without a category takes `category`). Runs in the caller's
/// transaction, right after the purchase row is written.
pub fn store(
    tx: &dyn Sql,
    purchase_id: &str,
    medical: bool,
    category: &str,
    lines: &[PurchaseLine],
) -> Result<(), StoreError> {
    if medical {
        return Ok(());
    }
    for (i, l) in lines.iter().enumerate() {
        let cat = if l.category.is_empty() {
            category
        } else {
            l.category.as_str()
        };
        tx.execute(
            "INSERT INTO purchase_lines (purchase_id, line_no, sku, name, category, quantity, unit_price) \
             VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (purchase_id, line_no) DO NOTHING",
            &params![
                purchase_id,
                i64::try_from(i).unwrap_or(i64::MAX),
                l.sku.as_str(),
                l.name.as_deref(),
                cat,
                l.quantity,
                l.unit_price
            ],
        )?;
    }
    Ok(())
}

/// The lines of each of `purchase_ids`, in line order.
pub fn for_purchases(
    sql: &dyn Sql,
    purchase_ids: &[String],
) -> Result<BTreeMap<String, Vec<PurchaseLine>>, StoreError> {
    let mut out: BTreeMap<String, Vec<PurchaseLine>> = BTreeMap::new();
    if purchase_ids.is_empty() {
        return Ok(out);
    }
    let marks = crate::db::marks(purchase_ids.len(), 1);
    let args: Vec<SqlValue> = purchase_ids.iter().map(SqlValue::from).collect();
    let rows = sql.execute(
        &format!(
            "SELECT purchase_id, sku, name, category, quantity, unit_price FROM purchase_lines \
             WHERE purchase_id IN ({marks}) ORDER BY purchase_id, line_no"
        ),
        &args,
    )?;
    for r in rows.iter() {
        out.entry(r.text("purchase_id")?)
            .or_default()
            .push(PurchaseLine {
                sku: r.text("sku")?,
                name: r.opt_text("name")?,
                category: r.text("category")?,
                quantity: r.i64("quantity")?,
                unit_price: r.i64("unit_price")?,
            });
    }
    Ok(out)
}

/// True when purchase `purchase_id` has a line with `sku`.
pub fn has_sku(sql: &dyn Sql, purchase_id: &str, sku: &str) -> Result<bool, StoreError> {
    Ok(!sql
        .execute(
            "SELECT 1 FROM purchase_lines WHERE purchase_id = ? AND sku = ? LIMIT 1",
            &params![purchase_id, sku],
        )?
        .is_empty())
}
