//! Wallet repositories and use cases against real SQLite with every
//! migration applied: the ledger, the purchase pipeline, POS use cases,
//! jobs, and invariants after random sequences (property tests).

// `params!` builds a Vec that is then borrowed as the statement's slice.
#![allow(clippy::useless_vec)]

mod support;

mod coupons;
mod ledger;
mod pipeline;
mod pos;
mod properties;
