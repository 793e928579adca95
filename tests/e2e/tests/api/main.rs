//! End-to-end API tests through the local host. One binary, one module per
//! capability, so the components are built and compiled once.

mod analytics;
mod auth;
mod authz;
mod checkout;
mod contract;
mod crash;
mod events;
mod flags;
mod ingest;
mod payments;
mod platform;
mod postgres;
mod preorders;
mod referral;
mod reviews;
mod security;
mod support;
mod wallet;
