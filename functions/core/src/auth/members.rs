//! Members: registration (inside the login transaction), the profile behind
//! `GET/PATCH /me`, and erasure (`DELETE /me`).
//!
//! Erasure clears personal data in place — phone, names, email, birth date,
//! city, card number and referral code become NULL and `erased_at` is set —
//! so purchases and ledger entries keep an id that no longer leads to a
//! person. Every login family is revoked, staff membership ends, the phone's
//! one-time-code state is deleted, and the phone is free to register again
//! (as a new member with a new id).

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use serde_json::json;

use super::principal::{Role, StaffRole};
use super::secrets::{card_number, referral_code};
use super::{audit, refresh, Actor, AuthEnv, CONSENT_TEXT_VERSION};
use crate::db::{immediate, ts};
use crate::error::{ErrorClass, InvalidValue, UseCaseError};
use crate::params;
use crate::ports::{Rows, Sql, StoreError};
use crate::referral::{rules as referral, ReferralSettings};
use crate::types::{Email, Id, PersonName, Phone};

/// A member row; serialised as the member part of a [`Profile`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MemberRow {
    /// Id.
    pub id: String,
    /// Phone (E.164); `None` once erased.
    pub phone: Option<String>,
    /// First name.
    pub first_name: Option<String>,
    /// Last name.
    pub last_name: Option<String>,
    /// Email.
    pub email: Option<String>,
    /// Birth date, `YYYY-MM-DD`.
    pub birth_date: Option<String>,
    /// City.
    pub city: Option<String>,
    /// Tier.
    pub tier: String,
    /// Card number.
    pub card_number: Option<String>,
    /// Referral code.
    pub referral_code: Option<String>,
    /// Registration time.
    pub created_at: String,
    /// Erasure time.
    #[serde(skip)]
    pub erased_at: Option<String>,
}

const COLUMNS: &str = "id, phone, first_name, last_name, email, birth_date, city, tier, \
                       card_number, referral_code, created_at, erased_at";

fn one(rows: &Rows) -> Result<Option<MemberRow>, StoreError> {
    let Some(r) = rows.first() else {
        return Ok(None);
    };
    Ok(Some(MemberRow {
        id: r.text("id")?,
        phone: r.opt_text("phone")?,
        first_name: r.opt_text("first_name")?,
        last_name: r.opt_text("last_name")?,
        email: r.opt_text("email")?,
        birth_date: r.opt_text("birth_date")?,
        city: r.opt_text("city")?,
        tier: r.text("tier")?,
        card_number: r.opt_text("card_number")?,
        referral_code: r.opt_text("referral_code")?,
        created_at: r.text("created_at")?,
        erased_at: r.opt_text("erased_at")?,
    }))
}

/// The member with `id` (erased or not).
pub fn by_id(sql: &dyn Sql, id: &str) -> Result<Option<MemberRow>, StoreError> {
    one(&sql.execute(
        &format!("SELECT {COLUMNS} FROM members WHERE id = ?"),
        &params![id],
    )?)
}

/// The active (not erased) member with `phone`.
pub fn active_by_phone(sql: &dyn Sql, phone: &str) -> Result<Option<MemberRow>, StoreError> {
    one(&sql.execute(
        &format!("SELECT {COLUMNS} FROM members WHERE phone = ? AND erased_at IS NULL"),
        &params![phone],
    )?)
}

/// The business `member_id` is staff of, if any.
pub fn staff_of(sql: &dyn Sql, member_id: &str) -> Result<Option<(String, StaffRole)>, StoreError> {
    let rows = sql.execute(
        "SELECT business_id, role FROM staff WHERE member_id = ?",
        &params![member_id],
    )?;
    let Some(r) = rows.first() else {
        return Ok(None);
    };
    match StaffRole::parse(&r.text("role")?) {
        Some(role) => Ok(Some((r.text("business_id")?, role))),
        None => Ok(None),
    }
}

pub use crate::types::parse_referral_code;

/// What registration needs besides the phone.
#[derive(Debug, Clone, Default)]
pub struct NewMember {
    /// First name.
    pub first_name: Option<PersonName>,
    /// Last name.
    pub last_name: Option<PersonName>,
    /// A referral code the new member came with (already validated).
    pub referral_code: Option<String>,
    /// Marketing consent.
    pub marketing: bool,
    /// The device registered from (see `referral::rules::device_hash`).
    pub device_hash: Option<String>,
}

// Card numbers and referral codes are random, so collisions are possible
// but rare; under the write lock a SELECT-then-INSERT cannot race.
const UNIQUE_TRIES: usize = 16;

fn unused(
    sql: &dyn Sql,
    column: &str,
    mut make: impl FnMut() -> String,
) -> Result<String, StoreError> {
    for _ in 0..UNIQUE_TRIES {
        let candidate = make();
        let taken = sql.execute(
            &format!("SELECT 1 FROM members WHERE {column} = ?"),
            &params![candidate.as_str()],
        )?;
        if taken.rows.is_empty() {
            return Ok(candidate);
        }
    }
    Err(StoreError::Other(format!(
        "no unused {column} after {UNIQUE_TRIES} tries"
    )))
}

/// Creates a member for `phone` with personal-data consent (and marketing
/// consent as given) recorded; must run inside the caller's transaction.
/// An unknown referral code is ignored: the member registers unreferred.
pub fn create(
    env: &AuthEnv<'_>,
    sql: &dyn Sql,
    phone: &Phone,
    new: &NewMember,
) -> Result<MemberRow, StoreError> {
    let now = env.clock.now();
    let id = Id::at(now, env.random).to_text();
    let card = unused(sql, "card_number", || card_number(env.random))?;
    let code = unused(sql, "referral_code", || referral_code(env.random))?;
    let referred_by = match &new.referral_code {
        Some(c) => sql
            .execute(
                "SELECT id FROM members WHERE referral_code = ? AND erased_at IS NULL",
                &params![c.as_str()],
            )?
            .first()
            .map(|r| r.text("id"))
            .transpose()?,
        None => None,
    };
    sql.execute(
        "INSERT INTO members (id, phone, phone_sha256, first_name, last_name, tier, card_number, referral_code, referred_by, created_at) \
         VALUES (?, ?, ?, ?, ?, 'insider', ?, ?, ?, ?)",
        &params![
            id.as_str(),
            phone.as_str(),
            crate::crypto::sha256_hex(phone.as_str().as_bytes()),
            new.first_name.as_ref().map(|n| n.as_str()),
            new.last_name.as_ref().map(|n| n.as_str()),
            card.as_str(),
            code.as_str(),
            referred_by.clone(),
            ts(now)
        ],
    )?;
    let actor = Actor {
        id: Some(id.clone()),
        role: "member",
    };
    audit(
        env,
        sql,
        &actor,
        "member.registered",
        "member",
        &id,
        json!({ "referred_by": referred_by }),
    )?;
    record_consent(env, sql, &actor, &id, "personal_data", true)?;
    record_consent(env, sql, &actor, &id, "marketing", new.marketing)?;
    if let Some(device) = &new.device_hash {
        referral::remember_device(sql, &id, device, now)?;
    }
    if let (Some(code), Some(_)) = (&new.referral_code, &referred_by) {
        // A new member has no e-mail yet, so the e-mail rules wait for the
        // qualifying purchase, where the pair is screened again.
        referral::capture(
            sql,
            now,
            env.random,
            &ReferralSettings::default(),
            &id,
            code,
            referral::Source::Registration,
        )?;
    }
    by_id(sql, &id)?.ok_or_else(|| StoreError::Other("member vanished after insert".into()))
}

/// Records a consent given or withdrawn under [`CONSENT_TEXT_VERSION`].
pub fn record_consent(
    env: &AuthEnv<'_>,
    sql: &dyn Sql,
    actor: &Actor,
    member_id: &str,
    kind: &str,
    granted: bool,
) -> Result<(), StoreError> {
    let now = env.clock.now();
    sql.execute(
        "INSERT INTO consents (id, member_id, kind, granted, text_version, at, request_id) \
         VALUES (?, ?, ?, ?, ?, ?, ?)",
        &params![
            Id::at(now, env.random).to_text(),
            member_id,
            kind,
            granted,
            CONSENT_TEXT_VERSION,
            ts(now),
            env.request_id
        ],
    )?;
    audit(
        env,
        sql,
        actor,
        "consent.recorded",
        "member",
        member_id,
        json!({ "kind": kind, "granted": granted, "text_version": CONSENT_TEXT_VERSION }),
    )
}

/// The latest marketing consent of a member.
pub fn marketing_consent(sql: &dyn Sql, member_id: &str) -> Result<bool, StoreError> {
    let rows = sql.execute(
        "SELECT granted FROM consents WHERE member_id = ? AND kind = 'marketing' \
         ORDER BY at DESC, id DESC LIMIT 1",
        &params![member_id],
    )?;
    rows.first().map_or(Ok(false), |r| r.bool("granted"))
}

/// The staff membership shown on a profile.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StaffOf {
    /// Business id.
    pub business_id: String,
    /// `manager` or `owner`.
    pub role: StaffRole,
}

/// `GET /me`: the member's own fields, their roles and consent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Profile {
    /// Id, phone, names, email, birth date, city, tier, card and referral
    /// code, registration time.
    #[serde(flatten)]
    pub member: MemberRow,
    /// Roles.
    pub roles: Vec<Role>,
    /// Staff membership, if any.
    pub staff: Option<StaffOf>,
    /// Latest marketing consent.
    pub marketing_consent: bool,
}

/// Profile use cases failed.
#[derive(Debug, thiserror::Error)]
pub enum ProfileError {
    /// A field is invalid.
    #[error(transparent)]
    Invalid(#[from] InvalidValue),
    /// The member no longer exists (erased meanwhile).
    #[error("member not found")]
    NotFound,
    /// Storage failed.
    #[error(transparent)]
    Unknown(#[from] StoreError),
}

impl UseCaseError for ProfileError {
    fn code(&self) -> &'static str {
        match self {
            ProfileError::Invalid(e) => e.code(),
            ProfileError::NotFound => "MEMBER_NOT_FOUND",
            ProfileError::Unknown(e) => e.code(),
        }
    }

    fn class(&self) -> ErrorClass {
        match self {
            ProfileError::Invalid(e) => e.class(),
            ProfileError::NotFound => ErrorClass::NotFound,
            ProfileError::Unknown(e) => e.class(),
        }
    }
}

/// The profile of `member_id` as seen with `roles`.
pub fn profile(sql: &dyn Sql, member_id: &str, roles: &[Role]) -> Result<Profile, ProfileError> {
    let m = by_id(sql, member_id)?
        .filter(|m| m.erased_at.is_none())
        .ok_or(ProfileError::NotFound)?;
    let staff = staff_of(sql, member_id)?.map(|(business_id, role)| StaffOf { business_id, role });
    Ok(Profile {
        marketing_consent: marketing_consent(sql, member_id)?,
        member: m,
        roles: roles.to_vec(),
        staff,
    })
}

/// A field of a PATCH: absent (keep), `null` (clear) or a new value.
pub type Patch<T> = Option<Option<T>>;

/// `PATCH /me` as sent.
#[derive(Debug, Clone, Default)]
pub struct RawProfilePatch {
    /// First name.
    pub first_name: Patch<String>,
    /// Last name.
    pub last_name: Patch<String>,
    /// Email.
    pub email: Patch<String>,
    /// Birth date, `YYYY-MM-DD`.
    pub birth_date: Patch<String>,
    /// City.
    pub city: Patch<String>,
}

/// Validated changes: column → new value (`None` clears).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProfileChanges(pub Vec<(&'static str, Option<String>)>);

/// Validates a birth date: `YYYY-MM-DD`, a real day, from 1900-01-01 to
/// `today`.
pub fn parse_birth_date(input: &str, today: NaiveDate) -> Result<NaiveDate, InvalidValue> {
    let invalid = |reason: &str| InvalidValue::new("INVALID_BIRTH_DATE", "birth_date", reason);
    let s = input.trim();
    let shape = s.len() == 10
        && s.bytes().enumerate().all(|(i, b)| {
            if i == 4 || i == 7 {
                b == b'-'
            } else {
                b.is_ascii_digit()
            }
        });
    if !shape {
        return Err(invalid("birth date must be YYYY-MM-DD"));
    }
    let d = NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .map_err(|_| invalid("birth date is not a real date"))?;
    let earliest = NaiveDate::from_ymd_opt(1900, 1, 1).expect("valid date");
    if d < earliest || d > today {
        return Err(invalid("birth date must be between 1900-01-01 and today"));
    }
    Ok(d)
}

/// Validates a city: trimmed, 1–100 characters, no control characters.
pub fn parse_city(input: &str) -> Result<String, InvalidValue> {
    PersonName::parse(input, "city")
        .map(|n| n.as_str().to_string())
        .map_err(|e| InvalidValue::new("INVALID_CITY", "city", e.reason))
}

impl ProfileChanges {
    /// Validates `raw` as of `now`.
    pub fn parse(raw: &RawProfilePatch, now: DateTime<Utc>) -> Result<Self, InvalidValue> {
        let mut out = Vec::new();
        let mut put = |column: &'static str,
                       patch: &Patch<String>,
                       check: &dyn Fn(&str) -> Result<String, InvalidValue>|
         -> Result<(), InvalidValue> {
            match patch {
                None => {}
                Some(None) => out.push((column, None)),
                Some(Some(v)) => out.push((column, Some(check(v)?))),
            }
            Ok(())
        };
        put("first_name", &raw.first_name, &|v| {
            PersonName::parse(v, "first_name").map(|n| n.as_str().to_string())
        })?;
        put("last_name", &raw.last_name, &|v| {
            PersonName::parse(v, "last_name").map(|n| n.as_str().to_string())
        })?;
        put("email", &raw.email, &|v| {
            Email::parse(v).map(|e| e.as_str().to_string())
        })?;
        put("birth_date", &raw.birth_date, &|v| {
            parse_birth_date(v, now.date_naive()).map(|d| d.format("%Y-%m-%d").to_string())
        })?;
        put("city", &raw.city, &parse_city)?;
        Ok(Self(out))
    }
}

/// Applies `changes` to `member_id` and audits which fields changed (never
/// their values).
pub fn update_profile(
    env: &AuthEnv<'_>,
    actor: &Actor,
    member_id: &str,
    roles: &[Role],
    changes: &ProfileChanges,
) -> Result<Profile, ProfileError> {
    if !changes.0.is_empty() {
        immediate(env.sql, |tx| -> Result<(), ProfileError> {
            let sets: Vec<String> = changes.0.iter().map(|(c, _)| format!("{c} = ?")).collect();
            let mut values: Vec<crate::ports::SqlValue> =
                changes.0.iter().map(|(_, v)| v.clone().into()).collect();
            values.push(ts(env.clock.now()).into());
            values.push(member_id.into());
            tx.execute(
                &format!(
                    "UPDATE members SET {}, updated_at = ? WHERE id = ? AND erased_at IS NULL",
                    sets.join(", ")
                ),
                &values,
            )?;
            if tx.changes()? == 0 {
                return Err(ProfileError::NotFound);
            }
            let fields: Vec<&str> = changes.0.iter().map(|(c, _)| *c).collect();
            audit(
                env,
                tx,
                actor,
                "member.updated",
                "member",
                member_id,
                json!({ "fields": fields }),
            )?;
            Ok(())
        })?;
    }
    profile(env.sql, member_id, roles)
}

/// Erases `member_id`'s personal data (see the module docs).
pub fn erase(env: &AuthEnv<'_>, actor: &Actor, member_id: &str) -> Result<(), ProfileError> {
    immediate(env.sql, |tx| -> Result<(), ProfileError> {
        let now = env.clock.now();
        let m = by_id(tx, member_id)?
            .filter(|m| m.erased_at.is_none())
            .ok_or(ProfileError::NotFound)?;
        tx.execute(
            "UPDATE members SET phone = NULL, phone_sha256 = NULL, first_name = NULL, last_name = NULL, email = NULL, \
             birth_date = NULL, city = NULL, card_number = NULL, referral_code = NULL, \
             updated_at = ?, erased_at = ? WHERE id = ?",
            &params![ts(now), ts(now), member_id],
        )?;
        let revoked = refresh::revoke_member(tx, member_id, "erased", now)?;
        tx.execute("DELETE FROM staff WHERE member_id = ?", &params![member_id])?;
        let was_staff = tx.changes()? > 0;
        if let Some(phone) = &m.phone {
            tx.execute(
                "DELETE FROM otp_challenges WHERE phone = ?",
                &params![phone.as_str()],
            )?;
            tx.execute(
                "DELETE FROM otp_sends WHERE phone = ?",
                &params![phone.as_str()],
            )?;
        }
        record_consent(env, tx, actor, member_id, "personal_data", false)?;
        record_consent(env, tx, actor, member_id, "marketing", false)?;
        audit(
            env,
            tx,
            actor,
            "member.erased",
            "member",
            member_id,
            json!({ "sessions_revoked": revoked, "staff_removed": was_staff }),
        )?;
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn birth_dates() {
        let today = NaiveDate::from_ymd_opt(2026, 11, 24).unwrap();
        assert!(parse_birth_date("1990-02-28", today).is_ok());
        assert!(parse_birth_date("2000-02-29", today).is_ok());
        assert!(parse_birth_date("2026-11-24", today).is_ok());
        for bad in [
            "1990-02-30",
            "2001-02-29",
            "2026-11-25",
            "1899-12-31",
            "1990-2-3",
            "03.02.1990",
            "1990-13-01",
            "",
            "19900203",
        ] {
            let e = parse_birth_date(bad, today).unwrap_err();
            assert_eq!(e.code, "INVALID_BIRTH_DATE", "{bad}");
        }
    }

    #[test]
    fn patch_validation() {
        let now = Utc.with_ymd_and_hms(2026, 11, 24, 0, 0, 0).unwrap();
        let raw = RawProfilePatch {
            first_name: Some(Some("  Анна  ".into())),
            last_name: Some(None),
            email: Some(Some("A@Example.RU".into())),
            birth_date: None,
            city: Some(Some(" Москва ".into())),
        };
        let c = ProfileChanges::parse(&raw, now).unwrap();
        assert_eq!(
            c.0,
            vec![
                ("first_name", Some("Анна".to_string())),
                ("last_name", None),
                ("email", Some("A@example.ru".to_string())),
                ("city", Some("Москва".to_string())),
            ]
        );
        let bad = RawProfilePatch {
            email: Some(Some("nope".into())),
            ..Default::default()
        };
        assert_eq!(ProfileChanges::parse(&bad, now).unwrap_err().field, "email");
        let long = RawProfilePatch {
            city: Some(Some("x".repeat(101))),
            ..Default::default()
        };
        assert_eq!(
            ProfileChanges::parse(&long, now).unwrap_err().code,
            "INVALID_CITY"
        );
    }

    #[test]
    fn referral_codes_are_case_insensitive_and_checked() {
        assert_eq!(parse_referral_code(" abcd2345 ").unwrap(), "ABCD2345");
        for bad in [
            "",
            "ABCD234",
            "ABCD23450",
            "ABCD2340",
            "ABCDO345",
            "ABC-2345",
        ] {
            assert!(parse_referral_code(bad).is_err(), "{bad}");
        }
    }
}
