//! End-to-end API tests through the local host. One binary, one module per
//! capability, so the components are built and compiled once.

mod analytics;
mod auth;
mod checkout;
mod contract;
mod crash;
mod events;
mod flags;
mod ingest;
mod payments;
mod platform;
mod preorders;
mod referral;
mod reviews;
mod support;
mod wallet;
