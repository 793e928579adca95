//! Krug's domain: value types, use cases and SQL repositories.
//!
//! Core has no spin-sdk dependency. It reaches storage, time, randomness,
//! outbound HTTP and settings only through the traits in [`ports`], which the
//! Spin adapter implements on Spin's host interfaces and [`native`] (feature
//! `native`) implements on rusqlite for tests and tools.
//!
//! Errors follow one pattern: each use case has its own enum with named
//! business variants (plus `Unknown` for storage failures) implementing
//! [`error::UseCaseError`], whose [`error::ErrorClass`] the adapter maps to an
//! HTTP status in exactly one place.
#![warn(missing_docs)]

pub mod analytics;
pub mod audit;
pub mod auth;
pub mod crypto;
pub mod csv;
pub mod db;
pub mod error;
pub mod events;
pub mod flags;
pub mod idempotency;
pub mod ingest;
pub mod jobs;
pub mod json;
pub mod migrate;
pub mod pagination;
pub mod payments;
pub mod ports;
pub mod postgres;
pub mod preorders;
pub mod promo;
pub mod referral;
pub mod reviews;
pub mod saleor;
pub mod support;
pub mod types;
pub mod wallet;

#[cfg(feature = "native")]
pub mod native;
