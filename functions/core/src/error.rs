//! The error model shared by every use case.
//!
//! Each use case defines its own error enum — named business variants plus an
//! `Unknown` variant carrying the storage failure — and implements
//! [`UseCaseError`]. The adapter turns the [`ErrorClass`] into an HTTP status
//! once, for all of them.

use crate::ports::StoreError;

/// How the outside world should understand an error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ErrorClass {
    /// The body cannot be read at all (not JSON, not UTF-8).
    Malformed,
    /// The input is invalid; `field` names it when one field is to blame.
    Invalid {
        /// Path of the offending field, e.g. `items[2].quantity`.
        field: Option<String>,
    },
    /// Credentials are missing, wrong or expired.
    Unauthorized,
    /// Credentials are fine but do not allow this.
    Forbidden,
    /// The resource does not exist (or is not visible to the caller).
    NotFound,
    /// A conflicting state or a duplicate still in flight; may be retried.
    Conflict,
    /// Too many attempts; retry after the given number of seconds.
    RateLimited {
        /// Seconds until a retry can succeed.
        retry_after_secs: u64,
    },
    /// The input is larger than allowed.
    PayloadTooLarge,
    /// A dependency (SMS gateway, payment provider) failed; may be retried.
    Unavailable,
    /// A bug or an infrastructure failure; opaque to clients.
    Unknown,
}

/// Implemented by every use case's error enum.
pub trait UseCaseError: std::error::Error {
    /// Stable machine-readable code, e.g. `INVALID_PHONE`.
    fn code(&self) -> &'static str;
    /// How to present it.
    fn class(&self) -> ErrorClass;
}

/// An invalid value: which field and why. Returned by value-type parsers.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {reason}")]
pub struct InvalidValue {
    /// Stable code, e.g. `INVALID_PHONE`.
    pub code: &'static str,
    /// The field that failed.
    pub field: String,
    /// Human-readable reason.
    pub reason: String,
}

impl InvalidValue {
    /// A new invalid-value error.
    pub fn new(code: &'static str, field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self {
            code,
            field: field.into(),
            reason: reason.into(),
        }
    }

    /// The same error attributed to another field path.
    pub fn at(mut self, field: impl Into<String>) -> Self {
        self.field = field.into();
        self
    }
}

impl UseCaseError for InvalidValue {
    fn code(&self) -> &'static str {
        self.code
    }

    fn class(&self) -> ErrorClass {
        ErrorClass::Invalid {
            field: Some(self.field.clone()),
        }
    }
}

impl UseCaseError for StoreError {
    fn code(&self) -> &'static str {
        match self {
            StoreError::Busy => "BUSY",
            _ => "INTERNAL",
        }
    }

    fn class(&self) -> ErrorClass {
        match self {
            // Contention beyond our retry budget: tell the client to retry.
            StoreError::Busy => ErrorClass::Unavailable,
            _ => ErrorClass::Unknown,
        }
    }
}
