//! Payment webhooks: the generic provider's signature ([`signature`]),
//! YooKassa's decimal amounts ([`amount`]), source-address allow-lists
//! ([`cidr`]), both providers' formats ([`providers`]), exactly-once
//! processing of their events ([`webhook`]), the platform's commission
//! ([`commission`]) and the parked-payments job ([`jobs`]).

// `params!` builds a Vec that is then borrowed as the statement's slice.
#![allow(clippy::useless_vec)]

pub mod amount;
pub mod cidr;
pub mod commission;
pub mod jobs;
pub mod providers;
pub mod saleor;
pub mod signature;
pub mod webhook;
