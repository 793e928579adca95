//! The pure rules: pricing and its one rounding, the refund policy, upgrade
//! cost, the status lifecycle, bonuses, and input validation.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{MAX_BONUSES, MAX_PRICE, MAX_QUANTITY};
use crate::error::InvalidValue;
use crate::types::display_text;

/// `amount` × `percent` / 100, rounded half up to the kopeck: the one
/// rounding rule of preorders (final prices and partial refunds).
pub fn percent_of(amount: i64, percent: i64) -> i64 {
    let num = i128::from(amount.max(0)) * i128::from(percent.clamp(0, 100));
    crate::wallet::cashback::round_half_up(num, 100)
}

/// A tier's price after its discount: `base_price` × (100 − discount) / 100,
/// rounded half up ([`percent_of`]).
pub fn final_price(base_price: i64, discount_percent: i64) -> i64 {
    percent_of(base_price, 100 - discount_percent)
}

/// What upgrading from a tier priced `from` to one priced `to` costs: the
/// difference; `None` unless `to` is dearer (downgrades and sideways moves
/// are refused).
pub fn upgrade_cost(from: i64, to: i64) -> Option<i64> {
    (to > from).then(|| to - from)
}

/// An item's refund policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RefundPolicy {
    /// A full refund before this instant.
    pub full_until: DateTime<Utc>,
    /// Percent refunded from `full_until` until `none_after`.
    pub partial_percent: i64,
    /// No refund from this instant on.
    pub none_after: DateTime<Utc>,
    /// No cancellation at all from this instant on.
    pub cancellation_deadline: DateTime<Utc>,
}

/// Which part of the policy applied to a cancellation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RefundTerm {
    /// Before `full_until`: everything back.
    Full,
    /// Between the dates: `partial_percent` back.
    Partial,
    /// After `none_after`: nothing back.
    None,
    /// The preorder was never paid: nothing to refund.
    Unpaid,
}

impl RefundPolicy {
    /// The term and percent refunded for a cancellation at `now`; `None`
    /// from the cancellation deadline on (`REFUND_DEADLINE_PASSED`).
    pub fn at(&self, now: DateTime<Utc>) -> Option<(RefundTerm, i64)> {
        if now >= self.cancellation_deadline {
            None
        } else if now < self.full_until {
            Some((RefundTerm::Full, 100))
        } else if now < self.none_after {
            Some((RefundTerm::Partial, self.partial_percent))
        } else {
            Some((RefundTerm::None, 0))
        }
    }
}

/// A preorder's status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Created, its unit and points held until paid.
    PendingPayment,
    /// Paid.
    Confirmed,
    /// Paid, and early access is open for its tier.
    EarlyAccessActive,
    /// Released to the member; bonuses granted.
    Fulfilled,
    /// Cancelled with nothing refunded (unpaid, lapsed, or after `none_after`).
    Cancelled,
    /// Cancelled with money or points refunded.
    Refunded,
}

impl Status {
    /// Storage and wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::PendingPayment => "pending_payment",
            Status::Confirmed => "confirmed",
            Status::EarlyAccessActive => "early_access_active",
            Status::Fulfilled => "fulfilled",
            Status::Cancelled => "cancelled",
            Status::Refunded => "refunded",
        }
    }

    /// Parses a stored name.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "pending_payment" => Status::PendingPayment,
            "confirmed" => Status::Confirmed,
            "early_access_active" => Status::EarlyAccessActive,
            "fulfilled" => Status::Fulfilled,
            "cancelled" => Status::Cancelled,
            "refunded" => Status::Refunded,
            _ => return None,
        })
    }

    /// Whether the lifecycle allows going from `self` to `to`:
    /// `pending_payment → confirmed → early_access_active → fulfilled`,
    /// a confirmed one may be fulfilled without early access, anything
    /// not yet fulfilled may end `cancelled`, a paid one `refunded`; a
    /// hold that lapsed (`cancelled`) may still be confirmed by its late
    /// payment. Nothing leaves `fulfilled` or `refunded`.
    pub fn can_become(self, to: Status) -> bool {
        use Status::*;
        matches!(
            (self, to),
            (PendingPayment, Confirmed)
                | (PendingPayment, Cancelled)
                | (Cancelled, Confirmed)
                | (Confirmed, EarlyAccessActive)
                | (Confirmed, Fulfilled)
                | (EarlyAccessActive, Fulfilled)
                | (Confirmed, Cancelled)
                | (EarlyAccessActive, Cancelled)
                | (Confirmed, Refunded)
                | (EarlyAccessActive, Refunded)
        )
    }

    /// Paid and not yet ended (upgrades and cancellation with refund apply).
    pub fn is_paid_live(self) -> bool {
        matches!(self, Status::Confirmed | Status::EarlyAccessActive)
    }
}

/// What a bonus is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BonusKind {
    /// Points credited to the ledger (`value`: points, kopecks).
    Points,
    /// A coupon of the item's business in the wallet (`value`: the bonus
    /// percent a purchase with it earns, 1–100).
    Coupon,
    /// A unique activation code (`value`: what it activates).
    ActivationCode,
    /// Something handed over (`value`: what).
    Gift,
}

/// How a bonus reaches the member.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Delivery {
    /// Into the wallet at fulfilment.
    Automatic,
    /// As a unique code shown with the preorder.
    ActivationCode,
    /// Picked up at the business.
    Pickup,
}

/// One bonus of a tier.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Bonus {
    /// What it is.
    #[serde(rename = "type")]
    pub kind: BonusKind,
    /// An integer for points and coupons, a label otherwise.
    pub value: Value,
    /// How it is delivered.
    pub delivery: Delivery,
}

impl Bonus {
    /// Whether granting it issues an activation code.
    pub fn has_code(&self) -> bool {
        self.kind == BonusKind::ActivationCode || self.delivery == Delivery::ActivationCode
    }
}

/// A tier's bonus as sent (`POST …/tiers`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawBonus {
    /// `points`, `coupon`, `activation_code` or `gift`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Integer or text, by type.
    pub value: Value,
    /// `automatic`, `activation_code` or `pickup`.
    pub delivery: String,
}

fn invalid(field: impl Into<String>, reason: impl Into<String>) -> InvalidValue {
    InvalidValue::new("INVALID_FIELD", field, reason)
}

/// Validates the bonuses of a tier.
pub fn bonuses(raw: &[RawBonus]) -> Result<Vec<Bonus>, InvalidValue> {
    if raw.len() > MAX_BONUSES {
        return Err(invalid("bonuses", format!("at most {MAX_BONUSES} bonuses")));
    }
    raw.iter()
        .enumerate()
        .map(|(i, b)| {
            let at = |f: &str| format!("bonuses[{i}].{f}");
            let kind = match b.kind.as_str() {
                "points" => BonusKind::Points,
                "coupon" => BonusKind::Coupon,
                "activation_code" => BonusKind::ActivationCode,
                "gift" => BonusKind::Gift,
                _ => {
                    return Err(invalid(
                        at("type"),
                        "type is points, coupon, activation_code or gift",
                    ))
                }
            };
            let delivery = match b.delivery.as_str() {
                "automatic" => Delivery::Automatic,
                "activation_code" => Delivery::ActivationCode,
                "pickup" => Delivery::Pickup,
                _ => {
                    return Err(invalid(
                        at("delivery"),
                        "delivery is automatic, activation_code or pickup",
                    ))
                }
            };
            let value = match kind {
                BonusKind::Points => match b.value.as_i64() {
                    Some(v) if (1..=MAX_PRICE).contains(&v) => Value::from(v),
                    _ => {
                        return Err(invalid(
                            at("value"),
                            "points: an integer from 1 to 10000000000",
                        ))
                    }
                },
                BonusKind::Coupon => match b.value.as_i64() {
                    Some(v) if (1..=100).contains(&v) => Value::from(v),
                    _ => {
                        return Err(invalid(
                            at("value"),
                            "coupon: the bonus percent, an integer from 1 to 100",
                        ))
                    }
                },
                BonusKind::ActivationCode | BonusKind::Gift => match b.value.as_str() {
                    Some(s) => Value::from(display_text(s, &at("value"), "INVALID_FIELD", 200)?),
                    None => return Err(invalid(at("value"), "a text of 1 to 200 characters")),
                },
            };
            Ok(Bonus {
                kind,
                value,
                delivery,
            })
        })
        .collect()
}

/// Parses an RFC 3339 instant of field `field`.
pub fn instant(raw: &str, field: &str) -> Result<DateTime<Utc>, InvalidValue> {
    crate::db::parse_instant(raw.trim())
        .ok_or_else(|| invalid(field, "an RFC 3339 date-time, e.g. 2026-12-01T10:00:00Z"))
}

/// An integer in `lo..=hi` of field `field`.
pub fn bounded(v: i64, lo: i64, hi: i64, field: &str) -> Result<i64, InvalidValue> {
    if (lo..=hi).contains(&v) {
        Ok(v)
    } else {
        Err(invalid(field, format!("an integer from {lo} to {hi}")))
    }
}

/// The refund policy as sent.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPolicy {
    /// RFC 3339.
    pub full_until: String,
    /// 0–100.
    pub partial_percent: i64,
    /// RFC 3339.
    pub none_after: String,
}

/// `POST /admin/preorder-items`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawItem {
    /// The partner.
    pub business_id: String,
    /// 1–200 characters.
    pub title: String,
    /// Up to 2 000 characters.
    #[serde(default)]
    pub description: Option<String>,
    /// RFC 3339, in the future.
    pub release_at: String,
    /// RFC 3339, not after `release_at`.
    pub cancellation_deadline: String,
    /// The refund policy.
    pub refund_policy: RawPolicy,
    /// Preorders one member may hold of this item (default 1, at most 100).
    #[serde(default)]
    pub per_member_limit: Option<i64>,
}

/// `PATCH /admin/preorder-items/{id}`: any of the fields, the business
/// excepted.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawItemPatch {
    /// 1–200 characters.
    #[serde(default)]
    pub title: Option<String>,
    /// Up to 2 000 characters.
    #[serde(default)]
    pub description: Option<String>,
    /// RFC 3339, in the future.
    #[serde(default)]
    pub release_at: Option<String>,
    /// RFC 3339.
    #[serde(default)]
    pub cancellation_deadline: Option<String>,
    /// The whole policy.
    #[serde(default)]
    pub refund_policy: Option<RawPolicy>,
    /// 1–100.
    #[serde(default)]
    pub per_member_limit: Option<i64>,
}

/// A checked item's fields.
#[derive(Debug, Clone, PartialEq)]
pub struct ItemFields {
    /// Title.
    pub title: String,
    /// Description.
    pub description: Option<String>,
    /// Release.
    pub release_at: DateTime<Utc>,
    /// Policy, with the cancellation deadline.
    pub policy: RefundPolicy,
    /// Per-member limit.
    pub per_member_limit: i64,
}

/// Checks the dates of an item against each other and `now`:
/// `release_at` in the future, `full_until` ≤ `none_after`, and
/// `cancellation_deadline` not after `release_at`.
pub fn check_item(f: &ItemFields, now: DateTime<Utc>) -> Result<(), InvalidValue> {
    if f.release_at <= now {
        return Err(invalid("release_at", "release_at must be in the future"));
    }
    if f.policy.none_after < f.policy.full_until {
        return Err(invalid(
            "refund_policy.none_after",
            "none_after must not be before full_until",
        ));
    }
    if f.policy.cancellation_deadline > f.release_at {
        return Err(invalid(
            "cancellation_deadline",
            "cancellation_deadline must not be after release_at",
        ));
    }
    Ok(())
}

/// Validates a policy as sent.
pub fn policy(
    raw: &RawPolicy,
    cancellation_deadline: DateTime<Utc>,
) -> Result<RefundPolicy, InvalidValue> {
    Ok(RefundPolicy {
        full_until: instant(&raw.full_until, "refund_policy.full_until")?,
        partial_percent: bounded(raw.partial_percent, 0, 100, "refund_policy.partial_percent")?,
        none_after: instant(&raw.none_after, "refund_policy.none_after")?,
        cancellation_deadline,
    })
}

/// Validates a new item's fields (not the business).
pub fn item_fields(raw: &RawItem, now: DateTime<Utc>) -> Result<ItemFields, InvalidValue> {
    let f = ItemFields {
        title: display_text(&raw.title, "title", "INVALID_FIELD", 200)?,
        description: raw
            .description
            .as_deref()
            .map(|d| display_text(d, "description", "INVALID_FIELD", 2_000))
            .transpose()?,
        release_at: instant(&raw.release_at, "release_at")?,
        policy: policy(
            &raw.refund_policy,
            instant(&raw.cancellation_deadline, "cancellation_deadline")?,
        )?,
        per_member_limit: bounded(
            raw.per_member_limit.unwrap_or(1),
            1,
            100,
            "per_member_limit",
        )?,
    };
    check_item(&f, now)?;
    Ok(f)
}

/// Applies a patch to an item's fields and checks the result.
pub fn patched(
    old: &ItemFields,
    raw: &RawItemPatch,
    now: DateTime<Utc>,
) -> Result<ItemFields, InvalidValue> {
    let deadline = match &raw.cancellation_deadline {
        Some(d) => instant(d, "cancellation_deadline")?,
        None => old.policy.cancellation_deadline,
    };
    let f = ItemFields {
        title: match &raw.title {
            Some(t) => display_text(t, "title", "INVALID_FIELD", 200)?,
            None => old.title.clone(),
        },
        description: match &raw.description {
            Some(d) => Some(display_text(d, "description", "INVALID_FIELD", 2_000)?),
            None => old.description.clone(),
        },
        release_at: match &raw.release_at {
            Some(r) => instant(r, "release_at")?,
            None => old.release_at,
        },
        policy: match &raw.refund_policy {
            Some(p) => policy(p, deadline)?,
            None => RefundPolicy {
                cancellation_deadline: deadline,
                ..old.policy
            },
        },
        per_member_limit: match raw.per_member_limit {
            Some(l) => bounded(l, 1, 100, "per_member_limit")?,
            None => old.per_member_limit,
        },
    };
    check_item(&f, now)?;
    Ok(f)
}

/// `POST /admin/preorder-items/{id}/tiers`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTier {
    /// 1–100 characters.
    pub name: String,
    /// Kopecks, 0 – 10 000 000 000.
    pub base_price: i64,
    /// Whole percent, 0–100.
    pub discount_percent: i64,
    /// 1 – 1 000 000; absent or null: unlimited.
    #[serde(default)]
    pub max_quantity: Option<i64>,
    /// 0–365.
    pub early_access_days: i64,
    /// RFC 3339.
    pub available_from: String,
    /// RFC 3339, after `available_from`.
    pub available_until: String,
    /// 0–1000; higher is shown first.
    pub priority: i64,
    /// Up to 20.
    #[serde(default)]
    pub bonuses: Vec<RawBonus>,
}

/// A checked tier's fields.
#[derive(Debug, Clone, PartialEq)]
pub struct TierFields {
    /// Name.
    pub name: String,
    /// Base price.
    pub base_price: i64,
    /// Discount.
    pub discount_percent: i64,
    /// The price after the discount.
    pub final_price: i64,
    /// Limit.
    pub max_quantity: Option<i64>,
    /// Early access days.
    pub early_access_days: i64,
    /// Window start.
    pub available_from: DateTime<Utc>,
    /// Window end.
    pub available_until: DateTime<Utc>,
    /// Priority.
    pub priority: i64,
    /// Bonuses.
    pub bonuses: Vec<Bonus>,
}

/// Validates a tier as sent.
pub fn tier_fields(raw: &RawTier) -> Result<TierFields, InvalidValue> {
    let base_price = bounded(raw.base_price, 0, MAX_PRICE, "base_price")?;
    let discount_percent = bounded(raw.discount_percent, 0, 100, "discount_percent")?;
    let available_from = instant(&raw.available_from, "available_from")?;
    let available_until = instant(&raw.available_until, "available_until")?;
    if available_until <= available_from {
        return Err(invalid(
            "available_until",
            "available_until must be after available_from",
        ));
    }
    Ok(TierFields {
        name: display_text(&raw.name, "name", "INVALID_FIELD", 100)?,
        base_price,
        discount_percent,
        final_price: final_price(base_price, discount_percent),
        max_quantity: raw
            .max_quantity
            .map(|q| bounded(q, 1, MAX_QUANTITY, "max_quantity"))
            .transpose()?,
        early_access_days: bounded(raw.early_access_days, 0, 365, "early_access_days")?,
        available_from,
        available_until,
        priority: bounded(raw.priority, 0, 1_000, "priority")?,
        bonuses: bonuses(&raw.bonuses)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounding_is_half_up_once() {
        assert_eq!(final_price(999, 10), 899); // 899.1
        assert_eq!(final_price(995, 10), 896); // 895.5 → 896
        assert_eq!(final_price(100, 100), 0);
        assert_eq!(final_price(100, 0), 100);
        assert_eq!(percent_of(333, 50), 167); // 166.5 → 167
    }
}
