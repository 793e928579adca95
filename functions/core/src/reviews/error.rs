//! The one error enum of the review use cases.

use crate::error::{ErrorClass, InvalidValue, UseCaseError};
use crate::ports::StoreError;

/// Why a purchase does not verify a review (all answer 422
/// `NOT_VERIFIED_PURCHASE`; the message says which).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unverified {
    /// No such purchase of the caller's.
    Unknown,
    /// The purchase was at another business.
    OtherBusiness,
    /// The purchase was refunded in full.
    Refunded,
    /// Paid more than 180 days ago.
    TooOld,
    /// The SKU is not among the purchase's lines.
    SkuNotInLines,
}

impl Unverified {
    fn message(self) -> &'static str {
        match self {
            Unverified::Unknown => "no such purchase of yours",
            Unverified::OtherBusiness => "the purchase was made at another business",
            Unverified::Refunded => "the purchase was refunded in full",
            Unverified::TooOld => "the purchase is older than 180 days",
            Unverified::SkuNotInLines => "the product is not among the purchase's lines",
        }
    }
}

/// A review use case failed.
#[derive(Debug, thiserror::Error)]
pub enum ReviewError {
    /// A field is invalid.
    #[error(transparent)]
    Invalid(#[from] InvalidValue),
    /// The purchase does not verify the review.
    #[error("{}", .0.message())]
    NotVerified(Unverified),
    /// Event reviews wait for the events capability.
    #[error("events cannot be reviewed yet")]
    EventsNotAvailable,
    /// This member already reviewed this target for this purchase.
    #[error("you already reviewed this for this purchase")]
    AlreadyReviewed,
    /// Too many reviews in 24 hours.
    #[error("at most 5 reviews a day")]
    DailyLimit {
        /// Seconds until one more is allowed.
        retry_after_secs: u64,
    },
    /// No such review (or not the caller's).
    #[error("no such review")]
    NotFound,
    /// No such business.
    #[error("no such business")]
    BusinessNotFound,
    /// The 48-hour edit window has passed.
    #[error("reviews can be edited within 48 hours of writing")]
    EditWindowClosed,
    /// The review cannot change in its current status.
    #[error("the review is {status}")]
    WrongStatus {
        /// Its status.
        status: String,
    },
    /// Only admins moderate.
    #[error("not allowed")]
    Forbidden,
    /// Staff never moderate their own business's reviews.
    #[error("staff cannot moderate reviews of their own business")]
    OwnBusiness,
    /// The business already replied.
    #[error("the business has already replied to this review")]
    ReplyExists,
    /// Storage failed.
    #[error(transparent)]
    Unknown(#[from] StoreError),
}

impl UseCaseError for ReviewError {
    fn code(&self) -> &'static str {
        match self {
            ReviewError::Invalid(e) => e.code,
            ReviewError::NotVerified(_) => "NOT_VERIFIED_PURCHASE",
            ReviewError::EventsNotAvailable => "EVENTS_NOT_AVAILABLE",
            ReviewError::AlreadyReviewed => "ALREADY_REVIEWED",
            ReviewError::DailyLimit { .. } => "REVIEW_LIMIT_REACHED",
            ReviewError::NotFound => "REVIEW_NOT_FOUND",
            ReviewError::BusinessNotFound => "BUSINESS_NOT_FOUND",
            ReviewError::EditWindowClosed => "EDIT_WINDOW_CLOSED",
            ReviewError::WrongStatus { .. } => "REVIEW_STATUS_CONFLICT",
            ReviewError::Forbidden => "FORBIDDEN",
            ReviewError::OwnBusiness => "OWN_BUSINESS",
            ReviewError::ReplyExists => "REPLY_EXISTS",
            ReviewError::Unknown(e) => e.code(),
        }
    }

    fn class(&self) -> ErrorClass {
        match self {
            ReviewError::Invalid(e) => e.class(),
            ReviewError::NotVerified(_) => ErrorClass::Invalid {
                field: Some("purchase_id".into()),
            },
            ReviewError::EventsNotAvailable => ErrorClass::Invalid {
                field: Some("target.type".into()),
            },
            ReviewError::AlreadyReviewed
            | ReviewError::EditWindowClosed
            | ReviewError::WrongStatus { .. }
            | ReviewError::ReplyExists => ErrorClass::Conflict,
            ReviewError::DailyLimit { retry_after_secs } => ErrorClass::RateLimited {
                retry_after_secs: *retry_after_secs,
            },
            ReviewError::NotFound | ReviewError::BusinessNotFound => ErrorClass::NotFound,
            ReviewError::Forbidden | ReviewError::OwnBusiness => ErrorClass::Forbidden,
            ReviewError::Unknown(e) => e.class(),
        }
    }
}
