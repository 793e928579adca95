//! Reviews against real SQLite with every migration applied: the
//! verification rules, one review per member/target/purchase, the edit
//! window, the daily limit, withdrawal, auto-moderation, the Bayesian
//! average, ratings kept equal to a recount, rewards and their clawback,
//! moderation decisions, replies, purchase lines and `reviewable`.

// `params!` builds a Vec that is then borrowed as the statement's slice.
#![allow(clippy::useless_vec)]

#[path = "../wallet/support.rs"]
#[allow(dead_code)]
mod support;

mod moderation;
mod rules;
