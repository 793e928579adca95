//! Events against real SQLite with every migration applied: capacity with
//! plus-ones, strict FIFO promotion, payment holds and their settlement,
//! tickets and check-in, weighted votes, the closing rule and the budget.

// `params!` builds a Vec that is then borrowed as the statement's slice.
#![allow(clippy::useless_vec)]

#[path = "../wallet/support.rs"]
#[allow(dead_code)]
mod support;

mod proposals;
mod seats;

use chrono::Duration;
use krug_core::{
    auth::{Principal, Role},
    events::{
        manage::{self, EventInput},
        EventEnv, EventSettings,
    },
    params,
    ports::Clock,
};
use support::World;

pub fn admin() -> Principal {
    Principal::Member {
        member_id: "01890a5d-ac96-774b-bcce-b302099a0001".into(),
        roles: vec![Role::Member, Role::Admin],
        business: None,
        family_id: "f".into(),
        tier: "insider".into(),
    }
}

pub fn env<'a>(w: &'a World, settings: &'a EventSettings) -> EventEnv<'a> {
    EventEnv {
        sql: &w.sql,
        clock: &w.clock,
        random: &w.random,
        settings,
        request_id: None,
    }
}

pub fn input(business_id: &str, w: &World, format: &str, price: i64, capacity: i64) -> EventInput {
    let starts = w.clock.now() + Duration::days(3);
    EventInput {
        title: "Винный вечер".into(),
        description: "Дегустация".into(),
        full_description: None,
        kind: "tasting".into(),
        format: format.into(),
        price,
        starts_at: krug_core::db::ts(starts),
        ends_at: krug_core::db::ts(starts + Duration::hours(3)),
        business_id: business_id.into(),
        address: None,
        capacity,
        min_tier: None,
        plus_one_allowed: true,
        program: vec![],
        speakers: vec![],
        what_to_bring: vec![],
        cover_image_url: None,
    }
}

/// A new event of a new business; returns (event id, business id).
pub fn event(w: &World, format: &str, price: i64, capacity: i64) -> (String, String) {
    let b = w.business("gastronomy", 1.0, false);
    let settings = EventSettings::default();
    let id = manage::create(
        &env(w, &settings),
        &admin(),
        &input(&b.id, w, format, price, capacity),
    )
    .unwrap();
    (id, b.id)
}

pub fn set_tier(w: &World, member_id: &str, tier: &str) {
    use krug_core::ports::Sql;
    w.sql
        .execute(
            "UPDATE members SET tier = ? WHERE id = ?",
            &params![tier, member_id],
        )
        .unwrap();
}
