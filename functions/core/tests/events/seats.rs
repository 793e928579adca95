use chrono::Duration;
use krug_core::{
    db::ts,
    events::{
        manage::{self, EventPatch},
        registration::{self, EventOrders, RegisterInput},
        ticket::TicketKey,
        EventError, EventSettings, HOLD_MINUTES,
    },
    payments::webhook::{OrderSettler, PaidOrder},
    ports::Clock,
};

use crate::support::World;
use crate::{admin, env, event, input};

fn reg(plus_one: bool) -> RegisterInput {
    RegisterInput {
        plus_one,
        dietary_restrictions: None,
    }
}

fn key() -> TicketKey {
    TicketKey::derive("test-secret")
}

fn taken(w: &World, event_id: &str) -> i64 {
    w.count(&format!(
        "SELECT seats_taken FROM events WHERE id = '{event_id}'"
    ))
}

fn status_of(w: &World, registration_id: &str) -> String {
    use krug_core::ports::Sql;
    w.sql
        .execute(
            "SELECT status FROM event_registrations WHERE id = ?",
            &krug_core::params![registration_id],
        )
        .unwrap()
        .first()
        .unwrap()
        .text("status")
        .unwrap()
}

#[test]
fn capacity_counts_plus_ones_and_a_cancellation_promotes_in_order() {
    let w = World::new();
    let s = EventSettings::default();
    let (e, _) = event(&w, "free", 0, 3);
    let [a, b, c] = [w.member(), w.member(), w.member()];
    let ra = registration::register(&env(&w, &s), &key(), &a.id, &e, &reg(true)).unwrap();
    assert_eq!((ra.status.as_str(), ra.seats), ("confirmed", 2));
    assert!(ra.ticket.is_some());
    // One seat left, two wanted: waitlist.
    let rb = registration::register(&env(&w, &s), &key(), &b.id, &e, &reg(true)).unwrap();
    assert_eq!((rb.status.as_str(), rb.position), ("waitlist", Some(1)));
    // A seat is free, but someone waits: a newcomer queues behind them.
    let rc = registration::register(&env(&w, &s), &key(), &c.id, &e, &reg(false)).unwrap();
    assert_eq!((rc.status.as_str(), rc.position), ("waitlist", Some(2)));
    assert_eq!(taken(&w, &e), 2);
    let done = registration::cancel(&env(&w, &s), &a.id, &e).unwrap();
    assert_eq!((done.released_seats, done.promoted), (2, 2));
    assert_eq!(status_of(&w, &rb.registration_id), "confirmed");
    assert_eq!(status_of(&w, &rc.registration_id), "confirmed");
    assert_eq!(taken(&w, &e), 3);
    assert!(matches!(
        registration::register(&env(&w, &s), &key(), &b.id, &e, &reg(false)),
        Err(EventError::AlreadyRegistered)
    ));
}

#[test]
fn the_first_waitlisted_needing_two_seats_keeps_its_place_and_nobody_jumps_ahead() {
    let w = World::new();
    let s = EventSettings::default();
    let (e, _) = event(&w, "free", 0, 2);
    let [a, b, c, d, n] = [w.member(), w.member(), w.member(), w.member(), w.member()];
    for m in [&a, &b] {
        registration::register(&env(&w, &s), &key(), &m.id, &e, &reg(false)).unwrap();
    }
    let rc = registration::register(&env(&w, &s), &key(), &c.id, &e, &reg(true)).unwrap();
    let rd = registration::register(&env(&w, &s), &key(), &d.id, &e, &reg(false)).unwrap();
    assert_eq!((rc.position, rd.position), (Some(1), Some(2)));
    // One seat frees up: the two-seat registration at the head does not fit,
    // and the single one behind it may not take the seat.
    let done = registration::cancel(&env(&w, &s), &a.id, &e).unwrap();
    assert_eq!(done.promoted, 0);
    assert_eq!(status_of(&w, &rc.registration_id), "waitlist");
    assert_eq!(status_of(&w, &rd.registration_id), "waitlist");
    assert_eq!(taken(&w, &e), 1);
    // Nor may a newcomer.
    let rn = registration::register(&env(&w, &s), &key(), &n.id, &e, &reg(false)).unwrap();
    assert_eq!((rn.status.as_str(), rn.position), ("waitlist", Some(3)));
    // A second seat frees up: the head is promoted with both.
    let done = registration::cancel(&env(&w, &s), &b.id, &e).unwrap();
    assert_eq!(done.promoted, 1);
    assert_eq!(status_of(&w, &rc.registration_id), "confirmed");
    assert_eq!(status_of(&w, &rd.registration_id), "waitlist");
    assert_eq!(taken(&w, &e), 2);
    // A larger capacity promotes the next ones at once.
    let patch = EventPatch {
        capacity: Some(4),
        ..EventPatch::default()
    };
    manage::edit(&env(&w, &s), &admin(), &e, &patch).unwrap();
    assert_eq!(status_of(&w, &rd.registration_id), "confirmed");
    assert_eq!(status_of(&w, &rn.registration_id), "confirmed");
    assert_eq!(taken(&w, &e), 4);
    let below = EventPatch {
        capacity: Some(3),
        ..EventPatch::default()
    };
    assert!(matches!(
        manage::edit(&env(&w, &s), &admin(), &e, &below),
        Err(EventError::CapacityBelowTaken { taken: 4 })
    ));
}

type Change = Box<dyn Fn(&mut krug_core::events::manage::EventInput)>;

#[test]
fn bad_events_are_refused() {
    let w = World::new();
    let s = EventSettings::default();
    let b = w.business("beauty", 1.0, false);
    let cases: Vec<(Change, &str)> = vec![
        (Box::new(|i| i.capacity = 0), "capacity"),
        (Box::new(|i| i.capacity = -5), "capacity"),
        (Box::new(|i| i.ends_at = i.starts_at.clone()), "ends_at"),
        (Box::new(|i| i.price = 100), "price"),
        (Box::new(|i| i.format = "vip".into()), "format"),
        (
            Box::new(|i| i.starts_at = "2020-01-01T00:00:00Z".into()),
            "starts_at",
        ),
    ];
    for (change, field) in cases {
        let mut i = input(&b.id, &w, "free", 0, 10);
        change(&mut i);
        match manage::create(&env(&w, &s), &admin(), &i) {
            Err(EventError::Invalid(e)) => assert_eq!(e.field, field),
            other => panic!("{field}: {other:?}"),
        }
    }
    assert_eq!(w.count("SELECT COUNT(*) FROM events"), 0);
}

#[test]
fn a_paid_hold_is_confirmed_by_payment_and_a_lapsed_one_goes_to_the_waitlist() {
    let w = World::new();
    let s = EventSettings::default();
    let (e, b) = event(&w, "paid", 150_000, 1);
    let [a, c] = [w.member(), w.member()];
    let ra = registration::register(&env(&w, &s), &key(), &a.id, &e, &reg(false)).unwrap();
    assert_eq!(ra.status, "pending_payment");
    assert_eq!(ra.amount_due, Some(150_000));
    assert!(ra.ticket.is_none());
    let rc = registration::register(&env(&w, &s), &key(), &c.id, &e, &reg(false)).unwrap();
    assert_eq!(rc.status, "waitlist");
    // The hold lapses: the job gives the seat to the waitlist (held anew).
    w.advance(Duration::minutes(HOLD_MINUTES + 1));
    assert_eq!(registration::expire_holds(&env(&w, &s)).unwrap(), 1);
    assert_eq!(registration::expire_holds(&env(&w, &s)).unwrap(), 0);
    assert_eq!(status_of(&w, &ra.registration_id), "expired");
    assert_eq!(status_of(&w, &rc.registration_id), "pending_payment");
    assert_eq!(taken(&w, &e), 1);
    fn paid<'a>(id: &'a str, pid: &'a str, b: &'a str, w: &World) -> PaidOrder<'a> {
        PaidOrder {
            id,
            business_id: b,
            member_id: None,
            provider: "generic",
            payment_id: pid,
            amount: 150_000,
            purchase_id: None,
            now: w.clock.now(),
        }
    }
    // The late payment finds no seat: refund due.
    let out = EventOrders
        .paid(&w.sql, &paid(&ra.registration_id, "p1", &b, &w))
        .unwrap();
    assert_eq!(out["outcome"], "no_seat");
    assert_eq!(status_of(&w, &ra.registration_id), "expired");
    // The promoted hold's payment confirms it.
    let out = EventOrders
        .paid(&w.sql, &paid(&rc.registration_id, "p2", &b, &w))
        .unwrap();
    assert_eq!(out["outcome"], "confirmed");
    assert_eq!(status_of(&w, &rc.registration_id), "confirmed");
    assert_eq!(
        w.count(&format!(
            "SELECT refund_due FROM event_registrations WHERE id = '{}'",
            ra.registration_id
        )),
        150_000
    );
    // The organiser cancels: the paid seat is owed back.
    let cancelled = manage::cancel(&env(&w, &s), &admin(), &e).unwrap();
    assert_eq!(cancelled.refunds_due.len(), 1);
    assert_eq!(cancelled.refunds_due[0].registration_id, rc.registration_id);
    assert_eq!(cancelled.refunds_due[0].amount, 150_000);
    assert_eq!(taken(&w, &e), 0);
}

#[test]
fn a_ticket_checks_in_once_at_its_own_event_only() {
    let w = World::new();
    let s = EventSettings::default();
    let (e1, _) = event(&w, "free", 0, 5);
    let (e2, _) = event(&w, "free", 0, 5);
    let m = w.member();
    let r = registration::register(&env(&w, &s), &key(), &m.id, &e1, &reg(false)).unwrap();
    let code = r.ticket.unwrap().code;
    assert!(matches!(
        registration::check_in(&env(&w, &s), &key(), &admin(), &e2, &code),
        Err(EventError::TicketOtherEvent)
    ));
    assert!(matches!(
        registration::check_in(&env(&w, &s), &key(), &admin(), &e1, "forged"),
        Err(EventError::TicketInvalid)
    ));
    let done = registration::check_in(&env(&w, &s), &key(), &admin(), &e1, &code).unwrap();
    assert_eq!((done.status, done.events_attended), ("attended", 1));
    assert!(matches!(
        registration::check_in(&env(&w, &s), &key(), &admin(), &e1, &code),
        Err(EventError::AlreadyCheckedIn)
    ));
    let _ = ts(w.clock.now());
}
