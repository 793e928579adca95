//! The one error enum of the referral use cases.

use crate::error::{ErrorClass, InvalidValue, UseCaseError};
use crate::ports::StoreError;
use crate::promo::PromoError;

/// A referral use case failed (nothing was written).
#[derive(Debug, thiserror::Error)]
pub enum ReferralError {
    /// A field or query parameter is invalid.
    #[error(transparent)]
    Invalid(#[from] InvalidValue),
    /// No such referral.
    #[error("no such referral")]
    NotFound,
    /// The caller has no referral code (erased).
    #[error("the member has no referral code")]
    NoCode,
    /// The referral was rejected; it is never paid.
    #[error("the referral was rejected ({reason})")]
    Rejected {
        /// Why.
        reason: String,
    },
    /// The referral is paid already.
    #[error("the referral's reward is paid already")]
    AlreadyPaid,
    /// No qualifying purchase yet, or its refund hold has not passed.
    #[error("the referral's reward is not due yet")]
    NotDue,
    /// The voucher could not be created.
    #[error(transparent)]
    Promo(#[from] PromoError),
    /// Storage failed.
    #[error(transparent)]
    Unknown(#[from] StoreError),
}

impl UseCaseError for ReferralError {
    fn code(&self) -> &'static str {
        match self {
            ReferralError::Invalid(e) => e.code,
            ReferralError::NotFound => "REFERRAL_NOT_FOUND",
            ReferralError::NoCode => "REFERRAL_CODE_UNAVAILABLE",
            ReferralError::Rejected { .. } => "REFERRAL_REJECTED",
            ReferralError::AlreadyPaid => "REFERRAL_ALREADY_PAID",
            ReferralError::NotDue => "REFERRAL_NOT_DUE",
            ReferralError::Promo(e) => e.code(),
            ReferralError::Unknown(e) => e.code(),
        }
    }

    fn class(&self) -> ErrorClass {
        match self {
            ReferralError::Invalid(e) => e.class(),
            ReferralError::NotFound | ReferralError::NoCode => ErrorClass::NotFound,
            ReferralError::Rejected { .. } | ReferralError::AlreadyPaid | ReferralError::NotDue => {
                ErrorClass::Conflict
            }
            ReferralError::Promo(e) => e.class(),
            ReferralError::Unknown(e) => e.class(),
        }
    }
}
