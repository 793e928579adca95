//! Request bodies of the POS routes. Every struct denies unknown fields, and
//! amounts are JSON integers: `12.5` is 422 `INVALID_FIELD`, never rounded.
//! `business_id` is optional: staff and API keys act for their own business
//! (naming another is 403); an admin who is not staff must name one.

use krug_core::{
    error::InvalidValue,
    types::Phone,
    wallet::{card::CardNumber, member::MemberRef},
};
use serde::Deserialize;

/// How the till names a member: exactly one of the three.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MemberBody {
    #[serde(default)]
    pub qr_token: Option<String>,
    #[serde(default)]
    pub card_number: Option<String>,
    #[serde(default)]
    pub phone: Option<String>,
}

impl MemberBody {
    /// The one reference given; `field` names the object in errors.
    pub fn reference(&self, field: &str) -> Result<MemberRef, InvalidValue> {
        match (&self.qr_token, &self.card_number, &self.phone) {
            (Some(t), None, None) => {
                let t = t.trim();
                if t.is_empty() || t.len() > 512 {
                    return Err(InvalidValue::new(
                        "INVALID_QR_TOKEN",
                        format!("{field}.qr_token"),
                        "qr_token must be a token from the member's app",
                    ));
                }
                Ok(MemberRef::QrToken(t.to_string()))
            }
            (None, Some(c), None) => Ok(MemberRef::Card(CardNumber::parse(
                c,
                &format!("{field}.card_number"),
            )?)),
            (None, None, Some(p)) => Phone::parse(p)
                .map(MemberRef::Phone)
                .map_err(|e| InvalidValue::new(e.code, format!("{field}.phone"), e.reason)),
            _ => Err(InvalidValue::new(
                "INVALID_FIELD",
                field,
                "give exactly one of qr_token, card_number, phone",
            )),
        }
    }
}

/// `POST /pos/identify`: the member reference at the top level.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Identify {
    #[serde(default)]
    pub qr_token: Option<String>,
    #[serde(default)]
    pub card_number: Option<String>,
    #[serde(default)]
    pub business_id: Option<String>,
}

impl Identify {
    /// The member reference (a phone is not accepted here).
    pub fn member(&self) -> MemberBody {
        MemberBody {
            qr_token: self.qr_token.clone(),
            card_number: self.card_number.clone(),
            phone: None,
        }
    }
}

/// `POST /pos/purchases`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Purchase {
    #[serde(default)]
    pub business_id: Option<String>,
    pub member: MemberBody,
    pub amount: i64,
    #[serde(default)]
    pub category: Option<String>,
    #[serde(default)]
    pub external_id: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    /// Activation code of a cross-promo coupon for this business.
    #[serde(default)]
    pub coupon_code: Option<String>,
    /// What was sold (kept with the purchase, not for medical businesses).
    #[serde(default)]
    pub items: Option<Vec<krug_core::wallet::lines::LineBody>>,
    /// The referral code the buyer came with.
    #[serde(default)]
    pub ref_code: Option<String>,
}

/// `POST /pos/redemptions`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Redemption {
    #[serde(default)]
    pub business_id: Option<String>,
    pub member: MemberBody,
    pub points: i64,
    pub order_ref: String,
    #[serde(default)]
    pub check_amount: Option<i64>,
}

/// `POST /pos/compensations`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Compensation {
    #[serde(default)]
    pub business_id: Option<String>,
    pub member: MemberBody,
    pub points: i64,
    pub reason: String,
    pub order_ref: String,
}
