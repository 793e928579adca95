//! Logging in with a code (`POST /auth/verify`), refreshing
//! (`POST /auth/refresh`) and logging out (`POST /auth/logout`).
//!
//! Verification runs in one `BEGIN IMMEDIATE` transaction: the code is
//! compared in constant time, a wrong one adds a try (the fifth wrong try
//! kills the code), a right one is consumed and the member found or created
//! in the same transaction, so two racing verifications of one code can
//! never both log in.

use serde::Serialize;
use serde_json::json;

use super::jwt::{self, Claims};
use super::members::{self, NewMember};
use super::otp::MAX_ATTEMPTS;
use super::principal::{Role, StaffRole};
use super::refresh::{self, Decision};
use super::secrets::{looks_like_token, otp_hash};
use super::{audit, Actor, AuthEnv, AuthSettings, ACCESS_TOKEN_TTL_SECS};
use crate::crypto::constant_time_eq;
use crate::db::{immediate, parse_ts};
use crate::error::{ErrorClass, InvalidValue, UseCaseError};
use crate::params;
use crate::ports::StoreError;
use crate::types::{Id, PersonName, Phone};

/// An access and refresh token pair.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TokenPair {
    /// HS256 JWT, valid [`ACCESS_TOKEN_TTL_SECS`].
    pub access_token: String,
    /// Opaque, single-use.
    pub refresh_token: String,
    /// Always `Bearer`.
    pub token_type: &'static str,
    /// Seconds the access token lives.
    pub expires_in: i64,
}

/// The member part of a login response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LoginMember {
    /// Member id.
    pub id: String,
    /// Phone (E.164).
    pub phone: String,
    /// Tier.
    pub tier: String,
    /// True when this login registered the member.
    pub is_new: bool,
    /// Roles granted in the access token.
    pub roles: Vec<Role>,
}

/// `POST /auth/verify` response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LoginResult {
    /// The tokens.
    #[serde(flatten)]
    pub tokens: TokenPair,
    /// Who logged in.
    pub member: LoginMember,
}

/// Consents sent with a verification.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Consents {
    /// Processing of personal data (required to register).
    pub personal_data: bool,
    /// Marketing messages.
    pub marketing: bool,
}

/// `POST /auth/verify` as sent.
#[derive(Debug, Clone, Default)]
pub struct VerifyCode {
    /// Phone, any common spelling.
    pub phone: String,
    /// The six digits.
    pub code: String,
    /// First name (used at registration).
    pub first_name: Option<String>,
    /// Last name (used at registration).
    pub last_name: Option<String>,
    /// Referral code (used at registration).
    pub referral_code: Option<String>,
    /// Consents, if the form showed them.
    pub consents: Option<Consents>,
    /// The `X-Device-Id` header, remembered for the referral program's
    /// self-referral check.
    pub device_id: Option<String>,
}

/// Verification failed.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    /// A field is invalid.
    #[error(transparent)]
    Invalid(#[from] InvalidValue),
    /// Wrong, expired, used or killed code.
    #[error("the code is wrong or no longer valid")]
    InvalidCode,
    /// A new member must consent to personal-data processing.
    #[error("consents.personal_data must be true to register")]
    ConsentRequired,
    /// Storage failed.
    #[error(transparent)]
    Unknown(#[from] StoreError),
}

impl UseCaseError for VerifyError {
    fn code(&self) -> &'static str {
        match self {
            VerifyError::Invalid(e) => e.code(),
            VerifyError::InvalidCode => "INVALID_CODE",
            VerifyError::ConsentRequired => "CONSENT_REQUIRED",
            VerifyError::Unknown(e) => e.code(),
        }
    }

    fn class(&self) -> ErrorClass {
        match self {
            VerifyError::Invalid(e) => e.class(),
            VerifyError::InvalidCode => ErrorClass::Unauthorized,
            VerifyError::ConsentRequired => ErrorClass::Invalid {
                field: Some("consents.personal_data".into()),
            },
            VerifyError::Unknown(e) => e.class(),
        }
    }
}

/// Refreshing or logging out failed.
#[derive(Debug, thiserror::Error)]
pub enum RefreshError {
    /// Unknown, expired or revoked refresh token.
    #[error("the refresh token is not valid")]
    InvalidToken,
    /// The token was already used: the whole login has been revoked.
    #[error("the refresh token was already used; the login has been revoked")]
    TokenReused,
    /// Storage failed.
    #[error(transparent)]
    Unknown(#[from] StoreError),
}

impl UseCaseError for RefreshError {
    fn code(&self) -> &'static str {
        match self {
            RefreshError::InvalidToken => "INVALID_TOKEN",
            RefreshError::TokenReused => "TOKEN_REUSED",
            RefreshError::Unknown(e) => e.code(),
        }
    }

    fn class(&self) -> ErrorClass {
        match self {
            RefreshError::InvalidToken | RefreshError::TokenReused => ErrorClass::Unauthorized,
            RefreshError::Unknown(e) => e.class(),
        }
    }
}

/// Signs an access token for a member of `family_id`.
pub fn access_token(
    env: &AuthEnv<'_>,
    secret: &str,
    member_id: &str,
    family_id: &str,
    roles: &[Role],
    staff: Option<&(String, StaffRole)>,
) -> String {
    let iat = env.clock.now().timestamp();
    jwt::sign(
        secret,
        &Claims {
            sub: member_id.to_string(),
            roles: roles.iter().map(|r| r.as_str().to_string()).collect(),
            biz: staff.map(|(b, _)| b.clone()),
            srole: staff.map(|(_, r)| r.as_str().to_string()),
            sid: family_id.to_string(),
            iat,
            exp: iat + ACCESS_TOKEN_TTL_SECS,
            jti: Id::generate(env.clock, env.random).to_text(),
        },
    )
}

/// The roles a member gets at login or refresh.
pub fn roles_for(
    settings: &AuthSettings,
    phone: Option<&str>,
    staff: Option<&(String, StaffRole)>,
) -> Vec<Role> {
    let mut roles = vec![Role::Member];
    if staff.is_some() {
        roles.push(Role::Staff);
    }
    if phone.is_some_and(|p| settings.is_admin_phone(p)) {
        roles.push(Role::Admin);
    }
    roles
}

fn parse_code(input: &str) -> Result<String, InvalidValue> {
    let c = input.trim();
    if c.len() == 6 && c.bytes().all(|b| b.is_ascii_digit()) {
        Ok(c.to_string())
    } else {
        Err(InvalidValue::new(
            "INVALID_CODE_FORMAT",
            "code",
            "code must be 6 digits",
        ))
    }
}

enum Outcome {
    NoCode,
    Wrong,
    ConsentRequired,
    LoggedIn {
        member: Box<members::MemberRow>,
        is_new: bool,
        family_id: String,
        refresh_token: String,
        staff: Option<(String, StaffRole)>,
    },
}

/// Verifies a code and logs in, registering the member on first login.
pub fn verify_code(
    env: &AuthEnv<'_>,
    settings: &AuthSettings,
    cmd: &VerifyCode,
) -> Result<LoginResult, VerifyError> {
    let phone = Phone::parse(&cmd.phone)?;
    let code = parse_code(&cmd.code)?;
    let new = NewMember {
        first_name: cmd
            .first_name
            .as_deref()
            .map(|n| PersonName::parse(n, "first_name"))
            .transpose()?,
        last_name: cmd
            .last_name
            .as_deref()
            .map(|n| PersonName::parse(n, "last_name"))
            .transpose()?,
        referral_code: cmd
            .referral_code
            .as_deref()
            .map(members::parse_referral_code)
            .transpose()?,
        marketing: cmd.consents.is_some_and(|c| c.marketing),
        device_hash: cmd
            .device_id
            .as_deref()
            .map(crate::referral::rules::device_hash)
            .transpose()?,
    };
    let presented = otp_hash(&settings.jwt_secret, phone.as_str(), &code);

    let outcome = immediate(env.sql, |tx| -> Result<Outcome, StoreError> {
        let now = env.clock.now();
        let rows = tx.execute(
            "SELECT code_hash, expires_at, attempts FROM otp_challenges WHERE phone = ?",
            &params![phone.as_str()],
        )?;
        let Some(r) = rows.first() else {
            return Ok(Outcome::NoCode);
        };
        let (Some(stored), Some(expires_at)) =
            (r.opt_text("code_hash")?, r.opt_text("expires_at")?)
        else {
            return Ok(Outcome::NoCode);
        };
        if now >= parse_ts(&expires_at)? || r.i64("attempts")? >= MAX_ATTEMPTS {
            return Ok(Outcome::NoCode);
        }
        if !constant_time_eq(presented.as_bytes(), stored.as_bytes()) {
            // The try that reaches the limit kills the code outright.
            tx.execute(
                "UPDATE otp_challenges SET attempts = attempts + 1, \
                 code_hash = CASE WHEN attempts + 1 >= ? THEN NULL ELSE code_hash END WHERE phone = ?",
                &params![MAX_ATTEMPTS, phone.as_str()],
            )?;
            return Ok(Outcome::Wrong);
        }
        let (member, is_new) = match members::active_by_phone(tx, phone.as_str())? {
            Some(m) => {
                if let Some(c) = cmd.consents {
                    let actor = Actor {
                        id: Some(m.id.clone()),
                        role: "member",
                    };
                    // Only changes are recorded; personal-data consent is
                    // withdrawn by erasure, not by a login form.
                    if c.marketing != members::marketing_consent(tx, &m.id)? {
                        members::record_consent(env, tx, &actor, &m.id, "marketing", c.marketing)?;
                    }
                }
                if let Some(device) = &new.device_hash {
                    crate::referral::rules::remember_device(tx, &m.id, device, now)?;
                }
                (m, false)
            }
            None => {
                if !cmd.consents.is_some_and(|c| c.personal_data) {
                    // The code stays valid so the form can be resent with consent.
                    return Ok(Outcome::ConsentRequired);
                }
                (members::create(env, tx, &phone, &new)?, true)
            }
        };
        tx.execute(
            "UPDATE otp_challenges SET code_hash = NULL WHERE phone = ?",
            &params![phone.as_str()],
        )?;
        let family_id = refresh::start_family(env, tx, &member.id)?;
        let refresh_token = refresh::issue(env, tx, &family_id, &member.id)?;
        let staff = members::staff_of(tx, &member.id)?;
        Ok(Outcome::LoggedIn {
            member: Box::new(member),
            is_new,
            family_id,
            refresh_token,
            staff,
        })
    })?;

    match outcome {
        Outcome::NoCode | Outcome::Wrong => Err(VerifyError::InvalidCode),
        Outcome::ConsentRequired => Err(VerifyError::ConsentRequired),
        Outcome::LoggedIn {
            member,
            is_new,
            family_id,
            refresh_token,
            staff,
        } => {
            let roles = roles_for(settings, Some(phone.as_str()), staff.as_ref());
            let access = access_token(
                env,
                &settings.jwt_secret,
                &member.id,
                &family_id,
                &roles,
                staff.as_ref(),
            );
            Ok(LoginResult {
                tokens: TokenPair {
                    access_token: access,
                    refresh_token,
                    token_type: "Bearer",
                    expires_in: ACCESS_TOKEN_TTL_SECS,
                },
                member: LoginMember {
                    id: member.id,
                    phone: phone.as_str().to_string(),
                    tier: member.tier,
                    is_new,
                    roles,
                },
            })
        }
    }
}

enum Rotation {
    Invalid,
    Reused,
    Rotated {
        member_id: String,
        family_id: String,
        refresh_token: String,
        phone: Option<String>,
        staff: Option<(String, StaffRole)>,
    },
}

/// Exchanges a refresh token for a new pair (see [`refresh`]).
pub fn refresh_tokens(
    env: &AuthEnv<'_>,
    settings: &AuthSettings,
    token: &str,
) -> Result<TokenPair, RefreshError> {
    if !looks_like_token(token) {
        return Err(RefreshError::InvalidToken);
    }
    let rotation = immediate(env.sql, |tx| -> Result<Rotation, StoreError> {
        let now = env.clock.now();
        let Some(t) = refresh::load(tx, token)? else {
            return Ok(Rotation::Invalid);
        };
        match refresh::decide(&t.state, now) {
            Decision::Invalid => Ok(Rotation::Invalid),
            Decision::Reuse => {
                refresh::revoke_family(tx, &t.family_id, "reuse", now)?;
                audit(
                    env,
                    tx,
                    &Actor {
                        id: None,
                        role: "system",
                    },
                    "session.reuse_detected",
                    "member",
                    &t.member_id,
                    json!({ "family_id": t.family_id }),
                )?;
                Ok(Rotation::Reused)
            }
            Decision::Rotate => {
                refresh::mark_rotated(tx, &t.id, now)?;
                let refresh_token = refresh::issue(env, tx, &t.family_id, &t.member_id)?;
                let phone = members::by_id(tx, &t.member_id)?.and_then(|m| m.phone);
                let staff = members::staff_of(tx, &t.member_id)?;
                Ok(Rotation::Rotated {
                    member_id: t.member_id,
                    family_id: t.family_id,
                    refresh_token,
                    phone,
                    staff,
                })
            }
        }
    })?;
    match rotation {
        Rotation::Invalid => Err(RefreshError::InvalidToken),
        Rotation::Reused => Err(RefreshError::TokenReused),
        Rotation::Rotated {
            member_id,
            family_id,
            refresh_token,
            phone,
            staff,
        } => {
            let roles = roles_for(settings, phone.as_deref(), staff.as_ref());
            Ok(TokenPair {
                access_token: access_token(
                    env,
                    &settings.jwt_secret,
                    &member_id,
                    &family_id,
                    &roles,
                    staff.as_ref(),
                ),
                refresh_token,
                token_type: "Bearer",
                expires_in: ACCESS_TOKEN_TTL_SECS,
            })
        }
    }
}

/// Ends the login `token` belongs to: every refresh token of the family and
/// its access tokens stop working. Logging out an already-ended login is a
/// no-op; a token that was never issued is `INVALID_TOKEN`.
pub fn logout(env: &AuthEnv<'_>, token: &str) -> Result<(), RefreshError> {
    if !looks_like_token(token) {
        return Err(RefreshError::InvalidToken);
    }
    let t = refresh::load(env.sql, token)?.ok_or(RefreshError::InvalidToken)?;
    refresh::revoke_family(env.sql, &t.family_id, "logout", env.clock.now())?;
    Ok(())
}
