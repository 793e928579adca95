//! Preorders against real SQLite with every migration applied: pricing and
//! its rounding, the refund policy at each boundary, upgrade cost, the
//! lifecycle (illegal transitions refused), and the use cases — points
//! held and spent, payments settled through the webhook port, upgrades,
//! cancellation, expiry and fulfilment granting each bonus once.

// `params!` builds a Vec that is then borrowed as the statement's slice.
#![allow(clippy::useless_vec)]

#[path = "../wallet/support.rs"]
#[allow(dead_code)]
mod support;

mod flows;
mod rules;
