//! Request bodies. Every struct denies unknown fields: a misspelt field is
//! 422 `INVALID_FIELD` with `details.field`, never silently ignored.

use serde::{Deserialize, Deserializer};

/// `POST /auth/otp`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Otp {
    pub phone: String,
}

/// `consents` of `POST /auth/verify`; an absent flag is false.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Consents {
    #[serde(default)]
    pub personal_data: bool,
    #[serde(default)]
    pub marketing: bool,
}

/// `POST /auth/verify`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Verify {
    pub phone: String,
    pub code: String,
    #[serde(default)]
    pub first_name: Option<String>,
    #[serde(default)]
    pub last_name: Option<String>,
    #[serde(default)]
    pub referral_code: Option<String>,
    #[serde(default)]
    pub consents: Option<Consents>,
}

/// `POST /auth/refresh` and `POST /auth/logout`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RefreshToken {
    pub refresh_token: String,
}

// Absent stays `None` (keep), `null` becomes `Some(None)` (clear).
fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(d).map(Some)
}

/// `PATCH /me`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PatchMe {
    #[serde(default, deserialize_with = "present")]
    pub first_name: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    pub last_name: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    pub email: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    pub birth_date: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    pub city: Option<Option<String>>,
}

/// `POST /admin/businesses`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewBusiness {
    pub name: String,
    pub category: String,
    #[serde(default)]
    pub timezone: Option<String>,
    #[serde(default)]
    pub points_multiplier: Option<f64>,
    #[serde(default)]
    pub medical: Option<bool>,
}

/// `POST /admin/businesses/{id}/staff`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AddStaff {
    pub phone: String,
    pub role: String,
}

/// `POST /admin/businesses/{id}/api-keys` (the body is optional).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewKey {
    #[serde(default)]
    pub name: Option<String>,
}
