//! Promo repositories and checkout use cases against real SQLite with every
//! migration applied: admin/owner scope, code uniqueness, patch, banners,
//! reservations under racing checkouts, commit through the purchase
//! pipeline, release and expiry, the unknown-code limit.

// `params!` builds a Vec that is then borrowed as the statement's slice.
#![allow(clippy::useless_vec)]

#[path = "../wallet/support.rs"]
#[allow(dead_code)]
mod support;

mod checkout;
mod engine;
mod store;
mod uses;
