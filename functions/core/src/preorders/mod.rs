//! Preorders of partners' upcoming products: items with a refund policy,
//! tiers with a price, a discount, an availability window, an optional
//! limited quantity, early access and bonuses; members' preorders paid
//! through the payment provider (optionally partly with points), upgrades
//! that pay the price difference, cancellation by the policy, and the
//! lifecycle jobs (hold expiry, early access, fulfilment with bonuses).
//!
//! Rules that hold whatever races:
//!
//! - **Limited quantities.** A tier's `held` (unpaid orders and upgrades)
//!   plus `sold` (paid) never exceed `max_quantity`: a unit is only taken
//!   by one conditional statement (`UPDATE … SET held = held + 1 WHERE
//!   held + sold < max_quantity`), and the table's CHECK refuses anything
//!   else. Every write runs in one `BEGIN IMMEDIATE` transaction.
//! - **Money** is integer kopecks. `final_price` = `base_price` × (100 −
//!   `discount_percent`) / 100, and a partial refund = paid × percent / 100,
//!   each rounded once, half up to the kopeck ([`percent_of`]).
//! - **Points** asked for at ordering are held exactly like a checkout
//!   reservation holds them (a `reservations` row with `points_applied`,
//!   channel `preorder`, so checkouts and preorders see each other's
//!   holds), spent when the payment confirms the preorder and released when
//!   the hold lapses or the preorder is cancelled.
//! - **Payments.** The webhook settles `preorder:<id>` and
//!   `preorder-upgrade:<upgrade id>` through [`settle`]. A payment that
//!   cannot be applied (its hold lapsed and the tier sold out meanwhile,
//!   an underpayment, a second payment) is recorded as a refund due for
//!   the partner, never lost.
//! - **Exactly once.** Cancellation moves the status by one conditional
//!   update (a second one is `REFUND_ALREADY_PROCESSED`); fulfilment claims
//!   each preorder the same way and records every bonus under the key
//!   (preorder, bonus), so jobs running twice at once grant each bonus once.

// `params!` builds a Vec that is then borrowed as the statement's slice.
#![allow(clippy::useless_vec)]

pub mod admin;
pub mod jobs;
pub mod orders;
pub mod rules;
pub mod settle;
mod store;

pub use rules::{percent_of, Bonus, BonusKind, Delivery, RefundPolicy, Status};
pub use settle::{PreorderSettler, UpgradeSettler};

use crate::error::{ErrorClass, InvalidValue, UseCaseError};
use crate::ports::{Clock, Random, Sql, StoreError};

/// How long an unpaid preorder or upgrade holds its unit and points (as a
/// checkout reservation does).
pub const HOLD_MINUTES: i64 = crate::promo::checkout::HOLD_MINUTES;
/// The feature flag of the member-facing routes.
pub const FLAG: &str = "preorders";
/// Highest price of a tier, kopecks (100 million rubles).
pub const MAX_PRICE: i64 = 10_000_000_000;
/// Largest `max_quantity`.
pub const MAX_QUANTITY: i64 = 1_000_000;
/// Most bonuses one tier carries.
pub const MAX_BONUSES: usize = 20;
/// Days a coupon bonus lives in the wallet.
pub const COUPON_TTL_DAYS: i64 = 30;

/// The ports the use cases need.
#[derive(Clone, Copy)]
pub struct PreorderEnv<'a> {
    /// SQLite.
    pub sql: &'a dyn Sql,
    /// Clock.
    pub clock: &'a dyn Clock,
    /// CSPRNG.
    pub random: &'a dyn Random,
}

/// Why a preorder use case refused (nothing written).
#[derive(Debug, thiserror::Error)]
pub enum PreorderError {
    /// A field is invalid.
    #[error(transparent)]
    Invalid(#[from] InvalidValue),
    /// The caller may not do this.
    #[error("not allowed")]
    Forbidden,
    /// The business named does not exist.
    #[error("no such business")]
    BusinessNotFound,
    /// No such item or preorder (or not the caller's).
    #[error("no such preorder or item")]
    NotFound,
    /// No such tier.
    #[error("no such tier")]
    TierNotFound,
    /// Not on sale now, or not in a state that allows this.
    #[error("{0}")]
    NotAvailable(&'static str),
    /// The member already has as many preorders of the item as allowed.
    #[error("at most {limit} preorders of this item per member")]
    LimitExceeded {
        /// The item's per-member limit.
        limit: i64,
    },
    /// Every unit of the tier is held or sold.
    #[error("this tier is sold out")]
    SoldOut,
    /// Not a dearer tier of the same item.
    #[error("{0}")]
    InvalidUpgrade(&'static str),
    /// Not enough available points for the hold.
    #[error("not enough points: {available} available")]
    InsufficientPoints {
        /// Available and not held, now.
        available: i64,
    },
    /// A fulfilled preorder cannot be cancelled.
    #[error("a fulfilled preorder cannot be cancelled")]
    RefundNotEligible,
    /// The cancellation deadline has passed.
    #[error("the cancellation deadline has passed")]
    RefundDeadlinePassed,
    /// Cancelled or refunded already.
    #[error("this preorder was already cancelled or refunded")]
    RefundAlreadyProcessed,
    /// Early access is not open for this preorder.
    #[error("early access is not available")]
    EarlyAccessNotAvailable,
    /// Storage failed.
    #[error(transparent)]
    Unknown(#[from] StoreError),
}

impl UseCaseError for PreorderError {
    fn code(&self) -> &'static str {
        match self {
            PreorderError::Invalid(e) => e.code,
            PreorderError::Forbidden => "FORBIDDEN",
            PreorderError::BusinessNotFound => "BUSINESS_NOT_FOUND",
            PreorderError::NotFound => "PREORDER_NOT_FOUND",
            PreorderError::TierNotFound => "TIER_NOT_FOUND",
            PreorderError::NotAvailable(_) => "PREORDER_NOT_AVAILABLE",
            PreorderError::LimitExceeded { .. } => "PREORDER_LIMIT_EXCEEDED",
            PreorderError::SoldOut => "TIER_SOLD_OUT",
            PreorderError::InvalidUpgrade(_) => "INVALID_TIER_UPGRADE",
            PreorderError::InsufficientPoints { .. } => "INSUFFICIENT_POINTS",
            PreorderError::RefundNotEligible => "REFUND_NOT_ELIGIBLE",
            PreorderError::RefundDeadlinePassed => "REFUND_DEADLINE_PASSED",
            PreorderError::RefundAlreadyProcessed => "REFUND_ALREADY_PROCESSED",
            PreorderError::EarlyAccessNotAvailable => "EARLY_ACCESS_NOT_AVAILABLE",
            PreorderError::Unknown(e) => e.code(),
        }
    }

    fn class(&self) -> ErrorClass {
        match self {
            PreorderError::Invalid(e) => e.class(),
            PreorderError::Forbidden => ErrorClass::Forbidden,
            PreorderError::BusinessNotFound
            | PreorderError::NotFound
            | PreorderError::TierNotFound => ErrorClass::NotFound,
            PreorderError::InvalidUpgrade(_) => ErrorClass::Invalid {
                field: Some("tier_id".into()),
            },
            PreorderError::NotAvailable(_)
            | PreorderError::LimitExceeded { .. }
            | PreorderError::SoldOut
            | PreorderError::InsufficientPoints { .. }
            | PreorderError::RefundNotEligible
            | PreorderError::RefundDeadlinePassed
            | PreorderError::RefundAlreadyProcessed
            | PreorderError::EarlyAccessNotAvailable => ErrorClass::Conflict,
            PreorderError::Unknown(e) => e.class(),
        }
    }
}
