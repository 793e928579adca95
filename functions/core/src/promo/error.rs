//! The checkout-promo use-case error.

use crate::error::{ErrorClass, InvalidValue, UseCaseError};
use crate::idempotency::IdempotencyError;
use crate::ports::StoreError;
use crate::wallet::WalletError;

/// Everything a promo, banner or checkout use case can refuse with.
#[derive(Debug, thiserror::Error)]
pub enum PromoError {
    /// A field is invalid.
    #[error(transparent)]
    Invalid(#[from] InvalidValue),
    /// No such promo (or not the caller's to see).
    #[error("no such promo")]
    PromoNotFound,
    /// No such banner (or not the caller's to see).
    #[error("no such banner")]
    BannerNotFound,
    /// No such business.
    #[error("no such business")]
    BusinessNotFound,
    /// No such member.
    #[error("no such member")]
    MemberNotFound,
    /// No such coupon (or not the caller's).
    #[error("no such coupon")]
    CouponNotFound,
    /// The coupon is redeemed or expired.
    #[error("the coupon is {status}")]
    CouponNotUsable {
        /// `redeemed` or `expired`.
        status: String,
    },
    /// No such reservation (or not the caller's).
    #[error("no such reservation")]
    ReservationNotFound,
    /// Another promo has this code.
    #[error("another promo already uses this code")]
    CodeTaken,
    /// The caller may not manage promos for this business or network-wide.
    #[error("{0}")]
    Forbidden(&'static str),
    /// Too many unknown codes tried in the last hour.
    #[error("too many unknown promo codes; try again later")]
    TooManyUnknownCodes {
        /// Seconds until the oldest miss leaves the window.
        retry_after_secs: u64,
    },
    /// The order already has a live reservation.
    #[error("this order already has a reservation")]
    OrderAlreadyReserved,
    /// The reservation is no longer held (expired or released).
    #[error("the reservation is {status}")]
    ReservationNotHeld {
        /// Its status.
        status: String,
    },
    /// The reservation was already committed.
    #[error("the reservation is already committed")]
    ReservationCommitted,
    /// A typed code does not apply, so the reservation is refused.
    #[error("promo code {code} does not apply: {reason}")]
    CodeRejected {
        /// The code as typed.
        code: String,
        /// The engine's reason (`LIMIT_REACHED`, ...).
        reason: &'static str,
    },
    /// The points held are no longer available (they expired meanwhile).
    #[error("the reserved points are no longer available")]
    PointsUnavailable,
    /// Idempotency-Key handling refused the request.
    #[error(transparent)]
    Idempotency(#[from] IdempotencyError),
    /// The purchase pipeline refused.
    #[error(transparent)]
    Wallet(#[from] WalletError),
    /// Storage failed.
    #[error(transparent)]
    Unknown(#[from] StoreError),
}

impl UseCaseError for PromoError {
    fn code(&self) -> &'static str {
        match self {
            PromoError::Invalid(e) => e.code,
            PromoError::PromoNotFound => "PROMO_NOT_FOUND",
            PromoError::BannerNotFound => "BANNER_NOT_FOUND",
            PromoError::BusinessNotFound => "BUSINESS_NOT_FOUND",
            PromoError::MemberNotFound => "MEMBER_NOT_FOUND",
            PromoError::ReservationNotFound => "RESERVATION_NOT_FOUND",
            PromoError::CouponNotFound => "COUPON_NOT_FOUND",
            PromoError::CouponNotUsable { .. } => "COUPON_NOT_USABLE",
            PromoError::CodeTaken => "PROMO_CODE_TAKEN",
            PromoError::Forbidden(_) => "FORBIDDEN",
            PromoError::TooManyUnknownCodes { .. } => "TOO_MANY_UNKNOWN_CODES",
            PromoError::OrderAlreadyReserved => "ORDER_ALREADY_RESERVED",
            PromoError::ReservationNotHeld { .. } => "RESERVATION_NOT_HELD",
            PromoError::ReservationCommitted => "RESERVATION_COMMITTED",
            PromoError::PointsUnavailable => "INSUFFICIENT_POINTS",
            PromoError::CodeRejected { reason, .. } => rejection_code(reason),
            PromoError::Idempotency(e) => e.code(),
            PromoError::Wallet(e) => e.code(),
            PromoError::Unknown(e) => e.code(),
        }
    }

    fn class(&self) -> ErrorClass {
        match self {
            PromoError::Invalid(e) => e.class(),
            PromoError::PromoNotFound
            | PromoError::BannerNotFound
            | PromoError::BusinessNotFound
            | PromoError::MemberNotFound
            | PromoError::ReservationNotFound
            | PromoError::CouponNotFound => ErrorClass::NotFound,
            PromoError::Forbidden(_) => ErrorClass::Forbidden,
            PromoError::TooManyUnknownCodes { retry_after_secs } => ErrorClass::RateLimited {
                retry_after_secs: *retry_after_secs,
            },
            PromoError::CodeTaken
            | PromoError::CouponNotUsable { .. }
            | PromoError::OrderAlreadyReserved
            | PromoError::ReservationNotHeld { .. }
            | PromoError::ReservationCommitted
            | PromoError::PointsUnavailable => ErrorClass::Conflict,
            PromoError::CodeRejected { reason, .. } if *reason == "UNKNOWN_CODE" => {
                ErrorClass::Invalid {
                    field: Some("promo_codes".into()),
                }
            }
            PromoError::CodeRejected { .. } => ErrorClass::Conflict,
            PromoError::Idempotency(e) => e.class(),
            PromoError::Wallet(e) => e.class(),
            PromoError::Unknown(e) => e.class(),
        }
    }
}

/// The error code of a reservation refused for a rejected promo code:
/// `PROMO_` + the engine's reason (`PROMO_LIMIT_REACHED`, ...).
pub fn rejection_code(reason: &str) -> &'static str {
    match reason {
        "UNKNOWN_CODE" => "PROMO_UNKNOWN_CODE",
        "EXPIRED" => "PROMO_EXPIRED",
        "NOT_STARTED" => "PROMO_NOT_STARTED",
        "OUTSIDE_SCHEDULE" => "PROMO_OUTSIDE_SCHEDULE",
        "MIN_SUBTOTAL" => "PROMO_MIN_SUBTOTAL",
        "NOT_ELIGIBLE_BUSINESS" => "PROMO_NOT_ELIGIBLE_BUSINESS",
        "NOT_ELIGIBLE_ITEMS" => "PROMO_NOT_ELIGIBLE_ITEMS",
        "NOT_ELIGIBLE_CHANNEL" => "PROMO_NOT_ELIGIBLE_CHANNEL",
        "TIER_TOO_LOW" => "PROMO_TIER_TOO_LOW",
        "FIRST_ORDER_ONLY" => "PROMO_FIRST_ORDER_ONLY",
        "LIMIT_REACHED" => "PROMO_LIMIT_REACHED",
        "BUDGET_EXHAUSTED" => "PROMO_BUDGET_EXHAUSTED",
        "NOT_COMBINABLE" => "PROMO_NOT_COMBINABLE",
        _ => "PROMO_REJECTED",
    }
}
