//! Staff of a business: added by phone (the person must already be a
//! member — they log in once first), one business per person, manager or
//! owner. Who may do this is the route's check (owners of the business and
//! admins); this module keeps the data rules.

use serde::Serialize;
use serde_json::json;

use super::members;
use super::principal::StaffRole;
use super::{audit, Actor, AuthEnv};
use crate::db::{immediate, ts};
use crate::error::{ErrorClass, InvalidValue, UseCaseError};
use crate::params;
use crate::ports::{Sql, StoreError};
use crate::types::Phone;

/// A staff member as listed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StaffMember {
    /// Member id.
    pub member_id: String,
    /// Business id.
    pub business_id: String,
    /// Role.
    pub role: StaffRole,
    /// Phone.
    pub phone: Option<String>,
    /// First name.
    pub first_name: Option<String>,
    /// Last name.
    pub last_name: Option<String>,
    /// Since when.
    pub created_at: String,
}

/// Staff use cases failed.
#[derive(Debug, thiserror::Error)]
pub enum StaffError {
    /// A field is invalid.
    #[error(transparent)]
    Invalid(#[from] InvalidValue),
    /// No such business.
    #[error("business not found")]
    BusinessNotFound,
    /// No member has this phone; they must log in once first.
    #[error("no member with this phone; they must log in to Krug once first")]
    MemberNotFound,
    /// The person is not staff of this business.
    #[error("this member is not staff of this business")]
    StaffNotFound,
    /// The person already works for another business.
    #[error("this member is already staff of another business")]
    OtherBusiness,
    /// Storage failed.
    #[error(transparent)]
    Unknown(#[from] StoreError),
}

impl UseCaseError for StaffError {
    fn code(&self) -> &'static str {
        match self {
            StaffError::Invalid(e) => e.code(),
            StaffError::BusinessNotFound => "BUSINESS_NOT_FOUND",
            StaffError::MemberNotFound => "MEMBER_NOT_FOUND",
            StaffError::StaffNotFound => "STAFF_NOT_FOUND",
            StaffError::OtherBusiness => "STAFF_OF_OTHER_BUSINESS",
            StaffError::Unknown(e) => e.code(),
        }
    }

    fn class(&self) -> ErrorClass {
        match self {
            StaffError::Invalid(e) => e.class(),
            StaffError::BusinessNotFound
            | StaffError::MemberNotFound
            | StaffError::StaffNotFound => ErrorClass::NotFound,
            StaffError::OtherBusiness => ErrorClass::Conflict,
            StaffError::Unknown(e) => e.class(),
        }
    }
}

/// Parses a staff role (`INVALID_ROLE`).
pub fn parse_role(input: &str) -> Result<StaffRole, InvalidValue> {
    StaffRole::parse(input.trim())
        .ok_or_else(|| InvalidValue::new("INVALID_ROLE", "role", "role must be manager or owner"))
}

fn business_exists(sql: &dyn Sql, id: &str) -> Result<bool, StoreError> {
    Ok(!sql
        .execute("SELECT 1 FROM businesses WHERE id = ?", &params![id])?
        .rows
        .is_empty())
}

/// Makes the member with `raw_phone` staff of `business_id` as `raw_role`,
/// or changes their role there. Returns the row and whether it is new.
pub fn add(
    env: &AuthEnv<'_>,
    actor: &Actor,
    business_id: &str,
    raw_phone: &str,
    raw_role: &str,
) -> Result<(StaffMember, bool), StaffError> {
    let phone = Phone::parse(raw_phone)?;
    let role = parse_role(raw_role)?;
    let (member_id, created) = immediate(env.sql, |tx| -> Result<(String, bool), StaffError> {
        if !business_exists(tx, business_id)? {
            return Err(StaffError::BusinessNotFound);
        }
        let member =
            members::active_by_phone(tx, phone.as_str())?.ok_or(StaffError::MemberNotFound)?;
        let previous = members::staff_of(tx, &member.id)?;
        match &previous {
            Some((b, _)) if b != business_id => return Err(StaffError::OtherBusiness),
            Some((_, r)) if *r == role => return Ok((member.id, false)),
            Some(_) => {
                tx.execute(
                    "UPDATE staff SET role = ? WHERE member_id = ?",
                    &params![role.as_str(), member.id.as_str()],
                )?;
            }
            None => {
                tx.execute(
                    "INSERT INTO staff (member_id, business_id, role, created_at) VALUES (?, ?, ?, ?)",
                    &params![member.id.as_str(), business_id, role.as_str(), ts(env.clock.now())],
                )?;
            }
        }
        audit(
            env,
            tx,
            actor,
            if previous.is_some() {
                "staff.role_changed"
            } else {
                "staff.added"
            },
            "member",
            &member.id,
            json!({
                "business_id": business_id,
                "role": role.as_str(),
                "previous_role": previous.map(|(_, r)| r.as_str()),
            }),
        )?;
        Ok((member.id, true))
    })?;
    let row = list(env.sql, business_id)?
        .into_iter()
        .find(|s| s.member_id == member_id)
        .ok_or(StaffError::StaffNotFound)?;
    Ok((row, created))
}

/// Ends `member_id`'s staff membership of `business_id`.
pub fn remove(
    env: &AuthEnv<'_>,
    actor: &Actor,
    business_id: &str,
    member_id: &str,
) -> Result<(), StaffError> {
    immediate(env.sql, |tx| -> Result<(), StaffError> {
        let rows = tx.execute(
            "DELETE FROM staff WHERE member_id = ? AND business_id = ? RETURNING role",
            &params![member_id, business_id],
        )?;
        let role = rows
            .first()
            .map(|r| r.text("role"))
            .transpose()?
            .ok_or(StaffError::StaffNotFound)?;
        audit(
            env,
            tx,
            actor,
            "staff.removed",
            "member",
            member_id,
            json!({ "business_id": business_id, "role": role }),
        )?;
        Ok(())
    })
}

/// Staff of `business_id`, oldest first.
pub fn list(sql: &dyn Sql, business_id: &str) -> Result<Vec<StaffMember>, StoreError> {
    let rows = sql.execute(
        "SELECT s.member_id, s.business_id, s.role, s.created_at, m.phone, m.first_name, m.last_name \
         FROM staff s JOIN members m ON m.id = s.member_id WHERE s.business_id = ? \
         ORDER BY s.created_at, s.member_id",
        &params![business_id],
    )?;
    rows.iter()
        .map(|r| {
            Ok(StaffMember {
                member_id: r.text("member_id")?,
                business_id: r.text("business_id")?,
                role: StaffRole::parse(&r.text("role")?)
                    .ok_or_else(|| StoreError::Other("stored staff role".into()))?,
                phone: r.opt_text("phone")?,
                first_name: r.opt_text("first_name")?,
                last_name: r.opt_text("last_name")?,
                created_at: r.text("created_at")?,
            })
        })
        .collect()
}
