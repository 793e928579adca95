//! Who is calling: [`resolve`] turns a bearer credential into a
//! [`Principal`], and [`authorize`] checks it against what a route
//! [`Need`]s. Components reach both through the adapter's `auth::require`.

use serde::Serialize;

use super::jwt::{self, JwtError};
use super::secrets::{token_hash, API_KEY_PREFIX};
use crate::error::{ErrorClass, UseCaseError};
use crate::params;
use crate::ports::{Clock, Sql, StoreError};

/// A platform role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Every logged-in person.
    Member,
    /// Staff of one business.
    Staff,
    /// Platform administrator (`admin_phones`).
    Admin,
}

impl Role {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Member => "member",
            Role::Staff => "staff",
            Role::Admin => "admin",
        }
    }
}

/// A staff member's role in their business; an owner can do whatever a
/// manager can.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StaffRole {
    /// Runs the till, sees the business.
    Manager,
    /// Also manages staff and API keys.
    Owner,
}

impl StaffRole {
    /// The wire and storage name.
    pub fn as_str(self) -> &'static str {
        match self {
            StaffRole::Manager => "manager",
            StaffRole::Owner => "owner",
        }
    }

    /// Parses the wire name.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "manager" => Some(StaffRole::Manager),
            "owner" => Some(StaffRole::Owner),
            _ => None,
        }
    }
}

/// The authenticated caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    /// A person with an access token.
    Member {
        /// Member id.
        member_id: String,
        /// Roles, `Member` always included.
        roles: Vec<Role>,
        /// The business they are staff of, and as what.
        business: Option<(String, StaffRole)>,
        /// Their login family (revoked on logout).
        family_id: String,
        /// Their tier, as stored now (`insider` ... `inner_circle`).
        tier: String,
    },
    /// A partner system with an API key of one business.
    ApiKey {
        /// Key id.
        key_id: String,
        /// The business the key belongs to.
        business_id: String,
    },
}

impl Principal {
    /// The member id, for member principals.
    pub fn member_id(&self) -> Option<&str> {
        match self {
            Principal::Member { member_id, .. } => Some(member_id),
            Principal::ApiKey { .. } => None,
        }
    }

    /// The feature-flag subject of this caller.
    pub fn flag_subject(&self) -> crate::flags::Subject<'_> {
        match self {
            Principal::Member {
                member_id, tier, ..
            } => crate::flags::Subject {
                member_id: Some(member_id),
                tier: Some(tier),
                business_id: self.business_id(),
            },
            Principal::ApiKey { business_id, .. } => crate::flags::Subject {
                member_id: None,
                tier: None,
                business_id: Some(business_id),
            },
        }
    }

    /// True for admins.
    pub fn is_admin(&self) -> bool {
        matches!(self, Principal::Member { roles, .. } if roles.contains(&Role::Admin))
    }

    /// The business a staff member or API key acts for.
    pub fn business_id(&self) -> Option<&str> {
        match self {
            Principal::Member { business, .. } => business.as_ref().map(|(b, _)| b.as_str()),
            Principal::ApiKey { business_id, .. } => Some(business_id),
        }
    }
}

/// What a route requires.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Need {
    /// Any logged-in person (not an API key).
    Member,
    /// A platform admin.
    Admin,
    /// Staff of `business_id` with at least `min_role`, or an admin.
    Staff {
        /// The business.
        business_id: String,
        /// Lowest acceptable role.
        min_role: StaffRole,
    },
    /// Staff of `business_id` (any role), its API key, or an admin.
    StaffOrApiKey {
        /// The business.
        business_id: String,
    },
    /// Staff of some business, an API key, or an admin: who may use a till
    /// at all. Till routes check it before they read the body (which names
    /// the business), so a member gets 403 whatever they send.
    AnyTill,
}

/// Authentication or authorization failed.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// No credentials, or credentials that are not ours.
    #[error("missing or invalid credentials")]
    Unauthorized,
    /// The access token has expired; refresh it.
    #[error("access token has expired")]
    Expired,
    /// Valid credentials that do not allow this.
    #[error("not allowed")]
    Forbidden,
    /// Storage failed.
    #[error(transparent)]
    Unknown(#[from] StoreError),
}

impl UseCaseError for AuthError {
    fn code(&self) -> &'static str {
        match self {
            AuthError::Unauthorized => "UNAUTHORIZED",
            AuthError::Expired => "TOKEN_EXPIRED",
            AuthError::Forbidden => "FORBIDDEN",
            AuthError::Unknown(e) => e.code(),
        }
    }

    fn class(&self) -> ErrorClass {
        match self {
            AuthError::Unauthorized | AuthError::Expired => ErrorClass::Unauthorized,
            AuthError::Forbidden => ErrorClass::Forbidden,
            AuthError::Unknown(e) => e.class(),
        }
    }
}

/// Resolves a bearer credential: a partner API key (`krug_pk_…`) or an
/// access token. A token must verify (see [`jwt`]) and then pass one
/// database check — its member exists and is not erased, its login family
/// is not revoked — so logout, reuse detection and erasure end access at
/// once rather than at expiry. Staff membership is read from the database
/// on every call (the token's `biz`/`srole` are a snapshot for clients);
/// the admin role comes from the token, fixed at login from `admin_phones`.
pub fn resolve(
    sql: &dyn Sql,
    clock: &dyn Clock,
    jwt_secret: &str,
    bearer: &str,
) -> Result<Principal, AuthError> {
    if let Some(rest) = bearer.strip_prefix(API_KEY_PREFIX) {
        if rest.is_empty() || rest.len() > 64 {
            return Err(AuthError::Unauthorized);
        }
        let rows = sql.execute(
            "SELECT k.id, k.business_id FROM api_keys k JOIN businesses b ON b.id = k.business_id \
             WHERE k.key_hash = ? AND k.revoked_at IS NULL",
            &params![token_hash(bearer)],
        )?;
        let row = rows.first().ok_or(AuthError::Unauthorized)?;
        return Ok(Principal::ApiKey {
            key_id: row.text("id")?,
            business_id: row.text("business_id")?,
        });
    }
    let claims = jwt::verify(jwt_secret, bearer, clock.now().timestamp()).map_err(|e| match e {
        JwtError::Expired => AuthError::Expired,
        _ => AuthError::Unauthorized,
    })?;
    let rows = sql.execute(
        "SELECT m.erased_at, m.tier, f.revoked_at, s.business_id, s.role \
         FROM members m JOIN login_families f ON f.member_id = m.id AND f.id = ? \
         LEFT JOIN staff s ON s.member_id = m.id WHERE m.id = ?",
        &params![claims.sid.as_str(), claims.sub.as_str()],
    )?;
    let row = rows.first().ok_or(AuthError::Unauthorized)?;
    if row.opt_text("erased_at")?.is_some() || row.opt_text("revoked_at")?.is_some() {
        return Err(AuthError::Unauthorized);
    }
    let business = match (row.opt_text("business_id")?, row.opt_text("role")?) {
        (Some(b), Some(r)) => StaffRole::parse(&r).map(|r| (b, r)),
        _ => None,
    };
    let mut roles = vec![Role::Member];
    if business.is_some() {
        roles.push(Role::Staff);
    }
    if claims.roles.iter().any(|r| r == "admin") {
        roles.push(Role::Admin);
    }
    Ok(Principal::Member {
        member_id: claims.sub,
        roles,
        business,
        family_id: claims.sid,
        tier: row.text("tier")?,
    })
}

/// Checks `p` against `need`: 403 `FORBIDDEN` when it falls short. Admins
/// pass every staff check; owners pass manager checks; an API key passes
/// only [`Need::StaffOrApiKey`] for its own business.
pub fn authorize(p: &Principal, need: &Need) -> Result<(), AuthError> {
    let ok = match (p, need) {
        (Principal::ApiKey { business_id, .. }, Need::StaffOrApiKey { business_id: want }) => {
            business_id == want
        }
        (Principal::ApiKey { .. }, Need::AnyTill) => true,
        (Principal::ApiKey { .. }, _) => false,
        (
            Principal::Member {
                roles, business, ..
            },
            Need::AnyTill,
        ) => roles.contains(&Role::Admin) || business.is_some(),
        (Principal::Member { .. }, Need::Member) => true,
        (Principal::Member { roles, .. }, Need::Admin) => roles.contains(&Role::Admin),
        (
            Principal::Member {
                roles, business, ..
            },
            Need::Staff {
                business_id,
                min_role,
            },
        ) => {
            roles.contains(&Role::Admin)
                || business
                    .as_ref()
                    .is_some_and(|(b, r)| b == business_id && r >= min_role)
        }
        (
            Principal::Member {
                roles, business, ..
            },
            Need::StaffOrApiKey { business_id },
        ) => {
            roles.contains(&Role::Admin) || business.as_ref().is_some_and(|(b, _)| b == business_id)
        }
    };
    if ok {
        Ok(())
    } else {
        Err(AuthError::Forbidden)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member(roles: &[Role], business: Option<(&str, StaffRole)>) -> Principal {
        Principal::Member {
            member_id: "m".into(),
            roles: roles.to_vec(),
            business: business.map(|(b, r)| (b.to_string(), r)),
            family_id: "f".into(),
            tier: "insider".into(),
        }
    }

    fn staff_need(b: &str, min_role: StaffRole) -> Need {
        Need::Staff {
            business_id: b.into(),
            min_role,
        }
    }

    #[test]
    fn authorization_matrix() {
        let plain = member(&[Role::Member], None);
        let manager_a = member(
            &[Role::Member, Role::Staff],
            Some(("A", StaffRole::Manager)),
        );
        let owner_a = member(&[Role::Member, Role::Staff], Some(("A", StaffRole::Owner)));
        let admin = member(&[Role::Member, Role::Admin], None);
        let key_a = Principal::ApiKey {
            key_id: "k".into(),
            business_id: "A".into(),
        };
        let any_a = Need::StaffOrApiKey {
            business_id: "A".into(),
        };
        let any_b = Need::StaffOrApiKey {
            business_id: "B".into(),
        };
        let cases: Vec<(&Principal, Need, bool)> = vec![
            (&plain, Need::Member, true),
            (&plain, Need::Admin, false),
            (&plain, staff_need("A", StaffRole::Manager), false),
            (&plain, any_a.clone(), false),
            (&manager_a, Need::Member, true),
            (&manager_a, staff_need("A", StaffRole::Manager), true),
            (&manager_a, staff_need("A", StaffRole::Owner), false),
            (&manager_a, staff_need("B", StaffRole::Manager), false),
            (&manager_a, any_a.clone(), true),
            (&manager_a, any_b.clone(), false),
            (&manager_a, Need::Admin, false),
            (&owner_a, staff_need("A", StaffRole::Owner), true),
            (&owner_a, staff_need("A", StaffRole::Manager), true),
            (&owner_a, staff_need("B", StaffRole::Manager), false),
            (&admin, Need::Admin, true),
            (&admin, staff_need("B", StaffRole::Owner), true),
            (&admin, any_b.clone(), true),
            (&key_a, any_a, true),
            (&key_a, any_b, false),
            (&key_a, Need::Member, false),
            (&key_a, Need::Admin, false),
            (&key_a, staff_need("A", StaffRole::Manager), false),
            (&plain, Need::AnyTill, false),
            (&manager_a, Need::AnyTill, true),
            (&owner_a, Need::AnyTill, true),
            (&admin, Need::AnyTill, true),
            (&key_a, Need::AnyTill, true),
        ];
        for (p, need, allowed) in cases {
            assert_eq!(authorize(p, &need).is_ok(), allowed, "{p:?} {need:?}");
        }
    }
}
