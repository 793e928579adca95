//! Checkout promos: the pure engine ([`engine`]) over promo definitions
//! ([`model`]); requests and their checks ([`input`]); persistence and the
//! admin/owner use cases ([`store`]); quotes, reservations, commit and
//! release ([`checkout`]); uses and their counters ([`uses`]); banners ([`banners`]); cross-promo coupons
//! ([`coupons`]); the scheduled job
//! ([`jobs`]).

// `params!` builds a Vec that is then borrowed as the statement's slice.
#![allow(clippy::useless_vec)]

pub mod banners;
pub mod checkout;
pub mod coupons;
pub mod engine;
pub mod error;
pub mod input;
pub mod jobs;
pub mod model;
pub mod store;
pub mod uses;

pub use error::PromoError;
