//! Partner businesses: created by admins, read by admins, their staff and
//! their API keys.

use serde::Serialize;
use serde_json::json;

use super::{audit, timezone, Actor, AuthEnv};
use crate::db::ts;
use crate::error::{ErrorClass, InvalidValue, UseCaseError};
use crate::pagination::{page_from, Cursor, Page};
use crate::params;
use crate::ports::{Rows, Sql, SqlValue, StoreError};
use crate::types::Id;
use crate::wallet::Category;

/// A business as the API shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Business {
    /// Id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// One of the nine categories.
    pub category: Category,
    /// IANA time zone.
    pub timezone: String,
    /// Points multiplier, 0.1–10, at most two decimals.
    pub points_multiplier: f64,
    /// Medical businesses' purchases are stored without service details.
    pub medical: bool,
    /// Creation time.
    pub created_at: String,
}

/// `POST /admin/businesses` as sent.
#[derive(Debug, Clone, Default)]
pub struct RawNewBusiness {
    /// Name.
    pub name: String,
    /// Category wire name.
    pub category: String,
    /// Time zone (default Europe/Moscow).
    pub timezone: Option<String>,
    /// Multiplier (default 1).
    pub points_multiplier: Option<f64>,
    /// Medical flag (default false).
    pub medical: Option<bool>,
}

/// Business use cases failed.
#[derive(Debug, thiserror::Error)]
pub enum BusinessError {
    /// A field is invalid.
    #[error(transparent)]
    Invalid(#[from] InvalidValue),
    /// No such business.
    #[error("business not found")]
    NotFound,
    /// Storage failed.
    #[error(transparent)]
    Unknown(#[from] StoreError),
}

impl UseCaseError for BusinessError {
    fn code(&self) -> &'static str {
        match self {
            BusinessError::Invalid(e) => e.code(),
            BusinessError::NotFound => "BUSINESS_NOT_FOUND",
            BusinessError::Unknown(e) => e.code(),
        }
    }

    fn class(&self) -> ErrorClass {
        match self {
            BusinessError::Invalid(e) => e.class(),
            BusinessError::NotFound => ErrorClass::NotFound,
            BusinessError::Unknown(e) => e.class(),
        }
    }
}

/// A multiplier from 0.1 to 10 with at most two decimals, as hundredths.
pub fn parse_multiplier(v: f64) -> Result<i64, InvalidValue> {
    let invalid = || {
        InvalidValue::new(
            "INVALID_MULTIPLIER",
            "points_multiplier",
            "points_multiplier must be a number from 0.1 to 10 with at most two decimals",
        )
    };
    if !v.is_finite() {
        return Err(invalid());
    }
    let scaled = v * 100.0;
    let rounded = scaled.round();
    // Decimal inputs such as 1.15 are not exact in binary; allow for that,
    // but nothing that would need a third decimal.
    if (scaled - rounded).abs() > 1e-6 || !(10.0..=1000.0).contains(&rounded) {
        return Err(invalid());
    }
    Ok(rounded as i64)
}

/// Validates a business or key name: trimmed, 1–`max` characters,
/// display-safe (422 `INVALID_NAME`).
pub fn parse_name(input: &str, field: &str, max: usize) -> Result<String, InvalidValue> {
    crate::types::display_text(input, field, "INVALID_NAME", max)
}

const COLUMNS: &str = "id, name, category, timezone, points_multiplier, medical, created_at";

fn from_rows(rows: &Rows) -> Result<Vec<Business>, StoreError> {
    let idx = rows
        .columns
        .iter()
        .position(|c| c == "points_multiplier")
        .ok_or_else(|| StoreError::Other("no points_multiplier column".into()))?;
    rows.iter()
        .zip(&rows.rows)
        .map(|(r, raw)| {
            let multiplier = match &raw[idx] {
                SqlValue::Real(f) => *f,
                SqlValue::Integer(i) => *i as f64,
                other => {
                    return Err(StoreError::Other(format!(
                        "stored points_multiplier is {other:?}"
                    )))
                }
            };
            Ok(Business {
                id: r.text("id")?,
                name: r.text("name")?,
                category: Category::parse(&r.text("category")?, "category")
                    .map_err(|e| StoreError::Other(format!("stored category: {e}")))?,
                timezone: r.text("timezone")?,
                points_multiplier: multiplier,
                medical: r.bool("medical")?,
                created_at: r.text("created_at")?,
            })
        })
        .collect()
}

/// Creates a business.
pub fn create(
    env: &AuthEnv<'_>,
    actor: &Actor,
    raw: &RawNewBusiness,
) -> Result<Business, BusinessError> {
    let name = parse_name(&raw.name, "name", 200)?;
    let category = Category::parse(&raw.category, "category")?;
    let tz = match &raw.timezone {
        Some(t) => timezone::parse(t, "timezone")?,
        None => timezone::DEFAULT.to_string(),
    };
    let hundredths = raw
        .points_multiplier
        .map(parse_multiplier)
        .transpose()?
        .unwrap_or(100);
    let medical = raw.medical.unwrap_or(false);
    let now = env.clock.now();
    let id = Id::at(now, env.random).to_text();
    crate::db::immediate(env.sql, |tx| -> Result<(), StoreError> {
        tx.execute(
            "INSERT INTO businesses (id, name, category, timezone, points_multiplier, medical, created_at) \
             VALUES (?, ?, ?, ?, ?, ?, ?)",
            &[
                id.as_str().into(),
                name.as_str().into(),
                category.as_str().into(),
                tz.as_str().into(),
                SqlValue::Real(hundredths as f64 / 100.0),
                medical.into(),
                ts(now).into(),
            ],
        )?;
        audit(
            env,
            tx,
            actor,
            "business.created",
            "business",
            &id,
            json!({ "name": name, "category": category.as_str(), "medical": medical }),
        )
    })?;
    get(env.sql, &id)?.ok_or(BusinessError::NotFound)
}

/// The business with `id`.
pub fn get(sql: &dyn Sql, id: &str) -> Result<Option<Business>, StoreError> {
    Ok(from_rows(&sql.execute(
        &format!("SELECT {COLUMNS} FROM businesses WHERE id = ?"),
        &params![id],
    )?)?
    .pop())
}

/// Businesses oldest first; `only` restricts the list to one id (staff see
/// their own business).
pub fn list(
    sql: &dyn Sql,
    only: Option<&str>,
    limit: u32,
    cursor: Option<&Cursor>,
) -> Result<Page<Business>, StoreError> {
    let mut where_ = vec!["1 = 1"];
    let mut params: Vec<SqlValue> = Vec::new();
    if let Some(id) = only {
        where_.push("id = ?");
        params.push(id.into());
    }
    if let Some(c) = cursor {
        where_.push("(created_at > ? OR (created_at = ? AND id > ?))");
        params.extend([
            c.key.clone().into(),
            c.key.clone().into(),
            c.id.clone().into(),
        ]);
    }
    params.push(SqlValue::Integer(i64::from(limit) + 1));
    let items = from_rows(&sql.execute(
        &format!(
            "SELECT {COLUMNS} FROM businesses WHERE {} ORDER BY created_at, id LIMIT ?",
            where_.join(" AND ")
        ),
        &params,
    )?)?;
    Ok(page_from(items, limit, |b| Cursor {
        key: b.created_at.clone(),
        id: b.id.clone(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multipliers() {
        for (v, want) in [
            (0.1, 10),
            (1.0, 100),
            (1.5, 150),
            (1.15, 115),
            (2.35, 235),
            (10.0, 1000),
        ] {
            assert_eq!(parse_multiplier(v).unwrap(), want, "{v}");
        }
        for bad in [
            0.0,
            0.09,
            10.01,
            11.0,
            -1.0,
            1.155,
            0.001,
            f64::NAN,
            f64::INFINITY,
        ] {
            assert!(parse_multiplier(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn names() {
        assert_eq!(parse_name("  Цветы  ", "name", 200).unwrap(), "Цветы");
        assert!(parse_name("", "name", 200).is_err());
        assert!(parse_name("a\nb", "name", 200).is_err());
        assert!(parse_name(&"я".repeat(201), "name", 200).is_err());
    }
}
