//! The wallet's view of auth's tables: finding a member by QR token, card
//! number, phone or id, and reading a business's points settings. All SQL on
//! `members` and `businesses` from the wallet is here.

use chrono::{DateTime, Utc};

use super::card::CardNumber;
use super::cashback::Ratio;
use super::category::Category;
use super::error::WalletError;
use super::qr::{self, QrKey};
use super::tiers::Tier;
use crate::params;
use crate::ports::{Sql, SqlValue, StoreError};
use crate::types::Phone;

/// How the POS names a member.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MemberRef {
    /// A rotating QR token from the member's app.
    QrToken(String),
    /// The 13-digit card number.
    Card(CardNumber),
    /// The member's phone.
    Phone(Phone),
}

/// What the wallet needs to know about a member.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    /// Member id.
    pub id: String,
    /// First name, if given.
    pub first_name: Option<String>,
    /// Current tier.
    pub tier: Tier,
    /// Card number.
    pub card_number: Option<String>,
    /// Registration time (RFC 3339).
    pub created_at: String,
}

// Members whose personal data was erased can no longer be identified.
const MEMBER_COLUMNS: &str = "id, first_name, tier, card_number, created_at";
const ACTIVE: &str = "erased_at IS NULL";

fn member_from(rows: &crate::ports::Rows) -> Result<Option<Member>, StoreError> {
    let Some(r) = rows.first() else {
        return Ok(None);
    };
    Ok(Some(Member {
        id: r.text("id")?,
        first_name: r.opt_text("first_name")?,
        tier: Tier::parse(&r.text("tier")?).unwrap_or(Tier::Insider),
        card_number: r.opt_text("card_number")?,
        created_at: r.text("created_at")?,
    }))
}

/// The member with `id`, if active.
pub fn by_id(sql: &dyn Sql, id: &str) -> Result<Option<Member>, StoreError> {
    member_from(&sql.execute(
        &format!("SELECT {MEMBER_COLUMNS} FROM members WHERE id = ? AND {ACTIVE}"),
        &params![id],
    )?)
}

/// The member with `id`, if active, read in the same statement as `extra`
/// select expressions (", <expr> AS name, ..."), whose parameters
/// `extra_args` are bound before the id; the caller reads their values from
/// the returned rows. Saves a round trip where a use case needs the member
/// and facts about them at once.
pub fn by_id_with(
    sql: &dyn Sql,
    id: &str,
    extra: &str,
    mut extra_args: Vec<SqlValue>,
) -> Result<Option<(Member, crate::ports::Rows)>, StoreError> {
    extra_args.push(SqlValue::Text(id.to_string()));
    let rows = sql.execute(
        &format!("SELECT {MEMBER_COLUMNS}{extra} FROM members WHERE id = ? AND {ACTIVE}"),
        &extra_args,
    )?;
    Ok(member_from(&rows)?.map(|m| (m, rows)))
}

/// Resolves a POS reference to an active member. A QR token is verified
/// (signature and 60 s window) before any lookup.
pub fn resolve(
    sql: &dyn Sql,
    key: &QrKey,
    now: DateTime<Utc>,
    member: &MemberRef,
) -> Result<Member, WalletError> {
    let found = match member {
        MemberRef::QrToken(token) => by_id(sql, &qr::verify(key, token, now)?)?,
        MemberRef::Card(card) => member_from(&sql.execute(
            &format!("SELECT {MEMBER_COLUMNS} FROM members WHERE card_number = ? AND {ACTIVE}"),
            &params![card.as_str()],
        )?)?,
        MemberRef::Phone(phone) => member_from(&sql.execute(
            &format!("SELECT {MEMBER_COLUMNS} FROM members WHERE phone = ? AND {ACTIVE}"),
            &params![phone.as_str()],
        )?)?,
    };
    found.ok_or(WalletError::MemberNotFound)
}

/// Sets a member's tier.
pub fn set_tier(sql: &dyn Sql, member_id: &str, tier: Tier) -> Result<(), StoreError> {
    sql.execute(
        "UPDATE members SET tier = ? WHERE id = ?",
        &params![tier.as_str(), member_id],
    )?;
    Ok(())
}

/// Every active member above insider (their tier may have to fall), for
/// the nightly recompute.
pub fn ids_above_insider(sql: &dyn Sql) -> Result<Vec<String>, StoreError> {
    sql.execute(
        &format!("SELECT id FROM members WHERE tier <> 'insider' AND {ACTIVE}"),
        &[],
    )?
    .iter()
    .map(|r| r.text("id"))
    .collect()
}

/// A business's points settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Business {
    /// Business id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Its category (the default category of its purchases).
    pub category: Category,
    /// `points_multiplier`.
    pub multiplier: Ratio,
    /// Medical businesses' purchases are stored without service details.
    pub medical: bool,
    /// Optional cap on the share of a check paid with points (percent).
    pub max_points_share_pct: Option<i64>,
}

fn multiplier_from(v: &SqlValue) -> Result<Ratio, StoreError> {
    let bad = |e: crate::error::InvalidValue| StoreError::Other(format!("stored multiplier: {e}"));
    match v {
        SqlValue::Null => Ok(Ratio::ONE),
        SqlValue::Integer(i) => {
            Ratio::parse_decimal(&i.to_string(), "points_multiplier").map_err(bad)
        }
        SqlValue::Real(f) => Ratio::from_f64(*f, "points_multiplier").map_err(bad),
        SqlValue::Text(t) => Ratio::parse_decimal(t, "points_multiplier").map_err(bad),
        SqlValue::Blob(_) => Err(StoreError::Other("stored multiplier is a blob".into())),
    }
}

/// The business with `id`.
pub fn business(sql: &dyn Sql, id: &str) -> Result<Option<Business>, StoreError> {
    Ok(business_with(sql, id, "")?.map(|(b, _)| b))
}

const BUSINESS_COLUMNS: &str =
    "id, name, category, points_multiplier, medical, max_points_share_pct";

/// The business with `id` and its IANA time zone name, in one statement.
pub fn business_in_zone(
    sql: &dyn Sql,
    id: &str,
) -> Result<Option<(Business, Option<String>)>, StoreError> {
    business_with(sql, id, ", timezone")?
        .map(|(b, rows)| {
            Ok((
                b,
                rows.first().map_or(Ok(None), |r| r.opt_text("timezone"))?,
            ))
        })
        .transpose()
}

// The business with `id`, read with `extra` columns (", a, b") whose values
// the caller takes from the returned rows.
fn business_with(
    sql: &dyn Sql,
    id: &str,
    extra: &str,
) -> Result<Option<(Business, crate::ports::Rows)>, StoreError> {
    let rows = sql.execute(
        &format!("SELECT {BUSINESS_COLUMNS}{extra} FROM businesses WHERE id = ?"),
        &params![id],
    )?;
    let Some(r) = rows.first() else {
        return Ok(None);
    };
    let category = Category::parse(&r.text("category")?, "category")
        .map_err(|e| StoreError::Other(format!("stored category: {e}")))?;
    let idx = rows
        .columns
        .iter()
        .position(|c| c == "points_multiplier")
        .ok_or_else(|| StoreError::Other("no points_multiplier column".into()))?;
    let b = Business {
        id: r.text("id")?,
        name: r.text("name")?,
        category,
        multiplier: multiplier_from(&rows.rows[0][idx])?,
        medical: r.bool("medical")?,
        max_points_share_pct: r.opt_i64("max_points_share_pct")?,
    };
    Ok(Some((b, rows)))
}
