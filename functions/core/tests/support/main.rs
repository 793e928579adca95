//! Support against real SQLite: the status machine, SLA arithmetic, the
//! Telegram text rules, FAQ search, tickets and their visibility, the
//! outbox delivery (outage, 429, order, give-up), the webhook's
//! exactly-once effects, disputes ending in compensation, escalation.

// `params!` builds a Vec that is then borrowed as the statement's slice.
#![allow(clippy::useless_vec)]

#[path = "../wallet/support.rs"]
#[allow(dead_code)]
mod fixtures;

mod chat;
mod rules;
mod tickets;
