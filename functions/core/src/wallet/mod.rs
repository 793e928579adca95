//! The wallet: member cards and QR tokens, the points ledger (lots and
//! entries), the purchase pipeline (cashback, caps, events budget, tiers,
//! badges) and the scheduled jobs that mature and expire points and move
//! tiers as the 365-day window slides.
//!
//! Pure rules live in [`cashback`], [`tiers`], [`badges`], [`card`] and
//! [`qr`]; everything that touches SQL is in [`ledger`], [`purchases`],
//! [`pos`], [`queries`], [`jobs`] and [`invariants`]. Every money write runs
//! inside one `BEGIN IMMEDIATE` transaction that also updates the member's
//! balance row, so a balance read is one `SELECT` and concurrent spends can
//! never overdraw.

// `params!` builds a Vec that is then borrowed as the statement's slice.
#![allow(clippy::useless_vec)]

pub mod badges;
pub mod card;
pub mod cashback;
pub mod category;
pub mod error;
pub mod invariants;
pub mod jobs;
pub mod ledger;
pub mod lines;
pub mod member;
pub mod pos;
pub mod purchases;
pub mod qr;
pub mod queries;
pub mod settings;
pub mod tiers;

pub use category::Category;
pub use error::WalletError;
pub use settings::WalletSettings;
pub use tiers::Tier;
