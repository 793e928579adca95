//! The support use cases' error.

use crate::error::{ErrorClass, InvalidValue, UseCaseError};
use crate::ports::StoreError;
use crate::wallet::WalletError;

/// Everything a support use case can refuse with.
#[derive(Debug, thiserror::Error)]
pub enum SupportError {
    /// A field is invalid.
    #[error(transparent)]
    Invalid(#[from] InvalidValue),
    /// No ticket with that id is visible to the caller.
    #[error("no such ticket")]
    TicketNotFound,
    /// No dispute with that id is visible to the caller.
    #[error("no such dispute")]
    DisputeNotFound,
    /// No FAQ entry with that id.
    #[error("no such FAQ entry")]
    FaqNotFound,
    /// The business does not exist.
    #[error("no such business")]
    BusinessNotFound,
    /// The purchase does not exist or is not the caller's.
    #[error("no such purchase of yours")]
    PurchaseNotFound,
    /// The member does not exist (or was erased).
    #[error("no such member")]
    MemberNotFound,
    /// The purchase was made at another business than the one named.
    #[error("the purchase was made at another business")]
    PurchaseBusinessMismatch,
    /// The status change is not allowed from the current status.
    #[error("a ticket cannot go from {from} to {to}")]
    InvalidTransition {
        /// Current status.
        from: &'static str,
        /// Requested status.
        to: &'static str,
    },
    /// A resolved or closed ticket can be reopened only within 7 days.
    #[error("the ticket can no longer be reopened (7 days have passed)")]
    ReopenWindowPassed,
    /// Closed tickets take no more messages.
    #[error("the ticket is closed")]
    TicketClosed,
    /// The caller may see this but not do that.
    #[error("not allowed")]
    Forbidden,
    /// A dispute for this purchase is still open.
    #[error("a dispute for this purchase is already open")]
    DisputeAlreadyOpen,
    /// The dispute was already decided.
    #[error("the dispute was already decided")]
    DisputeAlreadyDecided,
    /// Granting the compensation failed under the wallet's rules.
    #[error(transparent)]
    Wallet(#[from] WalletError),
    /// Storage failed.
    #[error(transparent)]
    Unknown(#[from] StoreError),
}

impl UseCaseError for SupportError {
    fn code(&self) -> &'static str {
        match self {
            SupportError::Invalid(e) => e.code,
            SupportError::TicketNotFound => "TICKET_NOT_FOUND",
            SupportError::DisputeNotFound => "DISPUTE_NOT_FOUND",
            SupportError::FaqNotFound => "FAQ_NOT_FOUND",
            SupportError::BusinessNotFound => "BUSINESS_NOT_FOUND",
            SupportError::PurchaseNotFound => "PURCHASE_NOT_FOUND",
            SupportError::MemberNotFound => "MEMBER_NOT_FOUND",
            SupportError::PurchaseBusinessMismatch => "PURCHASE_BUSINESS_MISMATCH",
            SupportError::InvalidTransition { .. } => "INVALID_STATUS_TRANSITION",
            SupportError::ReopenWindowPassed => "REOPEN_WINDOW_PASSED",
            SupportError::TicketClosed => "TICKET_CLOSED",
            SupportError::Forbidden => "FORBIDDEN",
            SupportError::DisputeAlreadyOpen => "DISPUTE_ALREADY_OPEN",
            SupportError::DisputeAlreadyDecided => "DISPUTE_ALREADY_DECIDED",
            SupportError::Wallet(e) => e.code(),
            SupportError::Unknown(e) => e.code(),
        }
    }

    fn class(&self) -> ErrorClass {
        match self {
            SupportError::Invalid(e) => e.class(),
            SupportError::TicketNotFound
            | SupportError::DisputeNotFound
            | SupportError::FaqNotFound
            | SupportError::BusinessNotFound
            | SupportError::PurchaseNotFound
            | SupportError::MemberNotFound => ErrorClass::NotFound,
            SupportError::PurchaseBusinessMismatch => ErrorClass::Invalid {
                field: Some("purchase_id".into()),
            },
            SupportError::InvalidTransition { .. }
            | SupportError::ReopenWindowPassed
            | SupportError::TicketClosed
            | SupportError::DisputeAlreadyOpen
            | SupportError::DisputeAlreadyDecided => ErrorClass::Conflict,
            SupportError::Forbidden => ErrorClass::Forbidden,
            SupportError::Wallet(e) => e.class(),
            SupportError::Unknown(e) => e.class(),
        }
    }
}
