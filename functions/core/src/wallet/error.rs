//! The wallet's use-case error.

use crate::error::{ErrorClass, InvalidValue, UseCaseError};
use crate::idempotency::IdempotencyError;
use crate::ports::StoreError;

use super::qr::QrError;

/// Everything a wallet or POS use case can refuse with.
#[derive(Debug, thiserror::Error)]
pub enum WalletError {
    /// A field is invalid.
    #[error(transparent)]
    Invalid(#[from] InvalidValue),
    /// No member matches the card, token or phone given.
    #[error("no member matches")]
    MemberNotFound,
    /// The business does not exist.
    #[error("no such business")]
    BusinessNotFound,
    /// No purchase matches.
    #[error("no such purchase")]
    PurchaseNotFound,
    /// The QR token is forged, malformed or not ours.
    #[error("the QR token is not valid")]
    QrInvalid,
    /// The QR token is older than 60 s.
    #[error("the QR token has expired; ask the member to refresh the code")]
    QrExpired,
    /// Spending needs a QR token shown by the member, not a card or phone.
    #[error("spending points needs a fresh QR token from the member's app")]
    QrRequired,
    /// More points than the member has available.
    #[error("not enough points: {available} available")]
    InsufficientPoints {
        /// Points available now.
        available: i64,
    },
    /// The business caps the share of a check paid with points.
    #[error("at most {max} points may be spent on this check")]
    PointsShareExceeded {
        /// The most points this check allows.
        max: i64,
    },
    /// The business caps the share of a check, so the check amount is needed.
    #[error("this business caps the share of a check paid with points: check_amount is required")]
    CheckAmountRequired,
    /// The per-order compensation cap would be exceeded.
    #[error("compensation for this order is capped; at most {remaining} more points")]
    CompensationCapExceeded {
        /// What may still be granted for the order.
        remaining: i64,
    },
    /// The external id was already used for a different purchase.
    #[error("external_id was already used for a different purchase at this business")]
    ExternalIdConflict,
    /// A refund would exceed what is left of the purchase.
    #[error("refund exceeds the unrefunded amount of the purchase ({remaining})")]
    RefundTooLarge {
        /// Unrefunded amount.
        remaining: i64,
    },
    /// The refund id was already used for a different refund.
    #[error("refund external_id was already used for a different refund")]
    RefundIdConflict,
    /// Idempotency-Key handling refused the request.
    #[error(transparent)]
    Idempotency(#[from] IdempotencyError),
    /// Storage failed.
    #[error(transparent)]
    Unknown(#[from] StoreError),
}

impl From<QrError> for WalletError {
    fn from(e: QrError) -> Self {
        match e {
            QrError::Invalid => WalletError::QrInvalid,
            QrError::Expired => WalletError::QrExpired,
        }
    }
}

impl UseCaseError for WalletError {
    fn code(&self) -> &'static str {
        match self {
            WalletError::Invalid(e) => e.code,
            WalletError::MemberNotFound => "MEMBER_NOT_FOUND",
            WalletError::BusinessNotFound => "BUSINESS_NOT_FOUND",
            WalletError::PurchaseNotFound => "PURCHASE_NOT_FOUND",
            WalletError::QrInvalid => "INVALID_QR_TOKEN",
            WalletError::QrExpired => "QR_TOKEN_EXPIRED",
            WalletError::QrRequired => "QR_TOKEN_REQUIRED",
            WalletError::InsufficientPoints { .. } => "INSUFFICIENT_POINTS",
            WalletError::PointsShareExceeded { .. } => "POINTS_SHARE_EXCEEDED",
            WalletError::CheckAmountRequired => "CHECK_AMOUNT_REQUIRED",
            WalletError::CompensationCapExceeded { .. } => "COMPENSATION_CAP_EXCEEDED",
            WalletError::ExternalIdConflict => "EXTERNAL_ID_CONFLICT",
            WalletError::RefundTooLarge { .. } => "REFUND_TOO_LARGE",
            WalletError::RefundIdConflict => "REFUND_ID_CONFLICT",
            WalletError::Idempotency(e) => e.code(),
            WalletError::Unknown(e) => e.code(),
        }
    }

    fn class(&self) -> ErrorClass {
        let field = |f: &str| ErrorClass::Invalid {
            field: Some(f.to_string()),
        };
        match self {
            WalletError::Invalid(e) => e.class(),
            WalletError::MemberNotFound
            | WalletError::BusinessNotFound
            | WalletError::PurchaseNotFound => ErrorClass::NotFound,
            WalletError::QrInvalid | WalletError::QrExpired | WalletError::QrRequired => {
                field("member.qr_token")
            }
            WalletError::InsufficientPoints { .. } => ErrorClass::Conflict,
            WalletError::PointsShareExceeded { .. } => field("points"),
            WalletError::CheckAmountRequired => field("check_amount"),
            WalletError::CompensationCapExceeded { .. } => field("points"),
            WalletError::ExternalIdConflict | WalletError::RefundIdConflict => ErrorClass::Conflict,
            WalletError::RefundTooLarge { .. } => field("amount"),
            WalletError::Idempotency(e) => e.class(),
            WalletError::Unknown(e) => e.class(),
        }
    }
}
