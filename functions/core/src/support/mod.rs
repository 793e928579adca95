//! Support: tickets with a message thread, statuses and priorities, staff
//! replies stored as notifications for the member's app, disputes on a
//! purchase that can end in compensation points, SLA escalation, the FAQ,
//! and the two-way Telegram support chat.
//!
//! Pure rules live in [`model`] (statuses, priorities, text limits),
//! [`sla`] (deadlines), [`telegram`] (escaping, splitting, Bot API shapes)
//! and [`faq::normalize`]. Every write runs in one `BEGIN IMMEDIATE`
//! transaction; the Telegram outbox row announcing a ticket or message is
//! written in that same transaction, and [`delivery`] sends it later, so an
//! outage of Telegram loses nothing.

// `params!` builds a Vec that is then borrowed as the statement's slice.
#![allow(clippy::useless_vec)]

pub mod delivery;
pub mod disputes;
pub mod error;
pub mod faq;
pub mod jobs;
pub mod model;
pub mod outbox;
pub mod sla;
pub mod telegram;
pub mod tickets;
pub mod webhook;

pub use error::SupportError;
pub use model::{Caller, Priority, Status};
pub use sla::SupportSettings;
