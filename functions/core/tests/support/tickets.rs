//! Tickets, disputes, FAQ and escalation against SQLite.

use std::sync::Arc;

use chrono::Duration;
use krug_core::{
    error::UseCaseError,
    jobs::JobEnv,
    native::{MapVariables, MemoryKv, NativeSql, SeqRandom},
    params,
    ports::Sql as _,
    support::{
        disputes::{self, Decision, DisputeEnv, NewDispute},
        faq::{self, EntryInput},
        jobs,
        tickets::{self, NewTicket, TicketEnv, TicketPatch},
        Caller, Priority, Status, SupportSettings,
    },
    wallet::ledger,
};

use crate::fixtures::World;

pub fn env<'a>(w: &'a World, s: &'a SupportSettings) -> TicketEnv<'a> {
    TicketEnv {
        sql: &w.sql,
        clock: &w.clock,
        random: &w.random,
        settings: s,
    }
}

pub fn member(id: &str) -> Caller {
    Caller {
        member_id: id.into(),
        business_id: None,
        admin: false,
    }
}

pub fn staff(business: &str) -> Caller {
    Caller {
        member_id: format!("staff-of-{business}"),
        business_id: Some(business.into()),
        admin: false,
    }
}

pub fn admin() -> Caller {
    Caller {
        member_id: "admin-1".into(),
        business_id: None,
        admin: true,
    }
}

pub fn new_ticket(subject: &str, business: Option<&str>) -> NewTicket {
    NewTicket {
        subject: subject.into(),
        body: "Баллы не пришли <после> покупки & всё".into(),
        business_id: business.map(str::to_string),
        ..NewTicket::default()
    }
}

pub fn purchase(
    w: &World,
    member_id: &str,
    business_id: &str,
    amount: i64,
    external_id: Option<&str>,
) -> String {
    let id = krug_core::types::Id::at(w.now(), &w.random).to_text();
    w.sql
        .execute(
            "INSERT INTO purchases (id, member_id, business_id, external_id, source, amount, category, \
             tier_at_purchase, first_in_category, points_computed, points_earned, actor_role, paid_at, created_at) \
             VALUES (?, ?, ?, ?, 'pos', ?, 'gastronomy', 'insider', 0, 0, 0, 'staff', ?, ?)",
            &params![
                id.as_str(),
                member_id,
                business_id,
                external_id,
                amount,
                krug_core::db::ts(w.now()),
                krug_core::db::ts(w.now())
            ],
        )
        .unwrap();
    id
}

#[test]
fn a_ticket_is_written_with_its_message_and_outbox_row() {
    let w = World::new();
    let s = SupportSettings::default();
    let shop = w.business("gastronomy", 1.0, false);
    let m = w.member();
    let t = tickets::create(
        &env(&w, &s),
        &member(&m.id),
        &new_ticket("Где баллы?", Some(&shop.id)),
    )
    .unwrap();
    assert_eq!((t.status, t.priority), (Status::Open, Priority::Normal));
    assert_eq!(
        t.first_response_due_at,
        krug_core::db::ts(w.now() + Duration::hours(24))
    );
    assert_eq!(w.count("SELECT COUNT(*) FROM support_messages"), 1);
    assert_eq!(
        w.count("SELECT COUNT(*) FROM support_outbox WHERE kind = 'ticket' AND with_buttons = 1"),
        1
    );
    let parts = w
        .sql
        .execute("SELECT parts FROM support_outbox", &[])
        .unwrap();
    let parts = parts.first().unwrap().text("parts").unwrap();
    assert!(
        parts.contains("&lt;после&gt;") && parts.contains("&amp; всё"),
        "{parts}"
    );
    assert!(parts.contains(&shop.name));

    // Bad input writes nothing.
    for (bad, code) in [
        (new_ticket("", None), "INVALID_SUBJECT"),
        (
            NewTicket {
                body: "x".repeat(100_000),
                ..new_ticket("s", None)
            },
            "INVALID_BODY",
        ),
        (
            NewTicket {
                priority: Some("asap".into()),
                ..new_ticket("s", None)
            },
            "INVALID_PRIORITY",
        ),
        (
            new_ticket("s", Some("0190a0b0-0000-7000-8000-000000000001")),
            "BUSINESS_NOT_FOUND",
        ),
    ] {
        let e = tickets::create(&env(&w, &s), &member(&m.id), &bad).unwrap_err();
        assert_eq!(e.code(), code);
    }
    // Another member's purchase is not found.
    let other = w.member();
    let theirs = purchase(&w, &other.id, &shop.id, 10_000, None);
    let e = tickets::create(
        &env(&w, &s),
        &member(&m.id),
        &NewTicket {
            purchase_id: Some(theirs),
            ..new_ticket("s", None)
        },
    )
    .unwrap_err();
    assert_eq!(e.code(), "PURCHASE_NOT_FOUND");
    assert_eq!(w.count("SELECT COUNT(*) FROM support_tickets"), 1);
    assert_eq!(w.count("SELECT COUNT(*) FROM support_outbox"), 1);
}

#[test]
fn visibility_member_own_staff_their_business_admin_all() {
    let w = World::new();
    let s = SupportSettings::default();
    let a = w.business("gastronomy", 1.0, false);
    let b = w.business("beauty", 1.0, false);
    let (m1, m2) = (w.member(), w.member());
    let e = env(&w, &s);
    let t1 = tickets::create(&e, &member(&m1.id), &new_ticket("at a", Some(&a.id))).unwrap();
    w.advance(Duration::seconds(1));
    let t2 = tickets::create(&e, &member(&m2.id), &new_ticket("at b", Some(&b.id))).unwrap();
    w.advance(Duration::seconds(1));
    let t3 = tickets::create(&e, &member(&m1.id), &new_ticket("general", None)).unwrap();
    let ids = |c: &Caller| {
        tickets::list(&w.sql, c, None, None, 100)
            .unwrap()
            .items
            .into_iter()
            .map(|t| t.id)
            .collect::<Vec<_>>()
    };
    assert_eq!(ids(&member(&m1.id)), vec![t3.id.clone(), t1.id.clone()]);
    assert_eq!(ids(&member(&m2.id)), vec![t2.id.clone()]);
    assert_eq!(ids(&staff(&a.id)), vec![t1.id.clone()]);
    assert_eq!(
        ids(&admin()),
        vec![t3.id.clone(), t2.id.clone(), t1.id.clone()]
    );
    assert_eq!(
        tickets::get(&w.sql, &member(&m2.id), &t1.id)
            .unwrap_err()
            .code(),
        "TICKET_NOT_FOUND"
    );
    assert_eq!(
        tickets::get(&w.sql, &staff(&b.id), &t1.id)
            .unwrap_err()
            .code(),
        "TICKET_NOT_FOUND"
    );
    assert!(tickets::get(&w.sql, &staff(&a.id), &t1.id).is_ok());
    // Pages follow the cursor.
    let first = tickets::list(&w.sql, &admin(), None, None, 2).unwrap();
    assert_eq!(first.items.len(), 2);
    let cursor =
        krug_core::pagination::Cursor::decode(first.next_cursor.as_deref().unwrap()).unwrap();
    let second = tickets::list(&w.sql, &admin(), None, Some(&cursor), 2).unwrap();
    assert_eq!(
        second
            .items
            .iter()
            .map(|t| t.id.clone())
            .collect::<Vec<_>>(),
        vec![t1.id]
    );
    assert_eq!(second.next_cursor, None);
    // Status filter.
    assert_eq!(
        tickets::list(&w.sql, &admin(), Some(Status::Closed), None, 10)
            .unwrap()
            .items
            .len(),
        0
    );
}

#[test]
fn staff_replies_notify_the_member_and_stop_the_sla_clock() {
    let w = World::new();
    let s = SupportSettings::default();
    let a = w.business("gastronomy", 1.0, false);
    let m = w.member();
    let e = env(&w, &s);
    let t = tickets::create(&e, &member(&m.id), &new_ticket("help", Some(&a.id))).unwrap();
    tickets::add_message(&e, &member(&m.id), &t.id, "any news?").unwrap();
    assert_eq!(
        tickets::get(&w.sql, &member(&m.id), &t.id)
            .unwrap()
            .notifications
            .len(),
        0
    );
    w.advance(Duration::minutes(5));
    let reply = tickets::add_message(&e, &staff(&a.id), &t.id, "Начислим сегодня").unwrap();
    assert_eq!(reply.author_role, "staff");
    let d = tickets::get(&w.sql, &member(&m.id), &t.id).unwrap();
    assert_eq!(d.messages.len(), 3);
    assert_eq!(d.notifications.len(), 1);
    assert_eq!(d.notifications[0].message_id, reply.id);
    assert_eq!(d.ticket.status, Status::InProgress);
    assert_eq!(
        d.ticket.first_response_at.as_deref(),
        Some(krug_core::db::ts(w.now()).as_str())
    );
    assert_eq!(w.count("SELECT COUNT(*) FROM support_outbox"), 3);
    assert_eq!(
        w.count("SELECT COUNT(*) FROM support_outbox WHERE ticket_id = (SELECT id FROM support_tickets) AND seq IN (1, 2, 3)"),
        3
    );
    // Another member cannot write there.
    let other = w.member();
    assert_eq!(
        tickets::add_message(&e, &member(&other.id), &t.id, "hi")
            .unwrap_err()
            .code(),
        "TICKET_NOT_FOUND"
    );
}

#[test]
fn status_changes_by_member_and_staff() {
    let w = World::new();
    let s = SupportSettings::default();
    let a = w.business("gastronomy", 1.0, false);
    let m = w.member();
    let e = env(&w, &s);
    let t = tickets::create(&e, &member(&m.id), &new_ticket("help", Some(&a.id))).unwrap();
    let patch = |st: &str| TicketPatch {
        status: Some(st.into()),
        priority: None,
    };
    assert_eq!(
        tickets::update(&e, &member(&m.id), &t.id, &patch("resolved"))
            .unwrap_err()
            .code(),
        "FORBIDDEN"
    );
    assert_eq!(
        tickets::update(
            &e,
            &member(&m.id),
            &t.id,
            &TicketPatch {
                status: None,
                priority: Some("urgent".into())
            }
        )
        .unwrap_err()
        .code(),
        "FORBIDDEN"
    );
    assert_eq!(
        tickets::update(&e, &staff(&a.id), &t.id, &patch("in_progress"))
            .unwrap()
            .status,
        Status::InProgress
    );
    let resolved = tickets::update(&e, &staff(&a.id), &t.id, &patch("resolved")).unwrap();
    assert!(resolved.resolved_at.is_some());
    let closed = tickets::update(&e, &member(&m.id), &t.id, &patch("closed")).unwrap();
    assert!(closed.closed_at.is_some());
    assert_eq!(
        tickets::add_message(&e, &member(&m.id), &t.id, "x")
            .unwrap_err()
            .code(),
        "TICKET_CLOSED"
    );
    w.advance(Duration::days(6));
    let reopened = tickets::update(&e, &member(&m.id), &t.id, &patch("open")).unwrap();
    assert_eq!((reopened.status, reopened.closed_at), (Status::Open, None));
    tickets::update(&e, &member(&m.id), &t.id, &patch("closed")).unwrap();
    w.advance(Duration::days(7) + Duration::seconds(1));
    assert_eq!(
        tickets::update(&e, &member(&m.id), &t.id, &patch("open"))
            .unwrap_err()
            .code(),
        "REOPEN_WINDOW_PASSED"
    );
    assert_eq!(
        tickets::update(&e, &staff(&a.id), &t.id, &patch("bogus"))
            .unwrap_err()
            .code(),
        "INVALID_STATUS"
    );
    // Priority by staff recomputes the unanswered deadline from creation.
    let t2 = tickets::create(&e, &member(&m.id), &new_ticket("again", Some(&a.id))).unwrap();
    let up = tickets::update(
        &e,
        &staff(&a.id),
        &t2.id,
        &TicketPatch {
            status: None,
            priority: Some("urgent".into()),
        },
    )
    .unwrap();
    assert_eq!(up.priority, Priority::Urgent);
    assert_eq!(
        up.first_response_due_at,
        krug_core::db::ts(krug_core::db::parse_ts(&t2.created_at).unwrap() + Duration::hours(1))
    );
}

fn dispute_env<'a>(w: &'a World, s: &'a SupportSettings) -> DisputeEnv<'a> {
    DisputeEnv {
        sql: &w.sql,
        clock: &w.clock,
        random: &w.random,
        settings: s,
        wallet: &w.settings,
        request_id: None,
    }
}

#[test]
fn an_accepted_dispute_compensates_through_the_wallet_once() {
    let w = World::new();
    let s = SupportSettings::default();
    let a = w.business("gastronomy", 1.0, false);
    let m = w.member();
    let p = purchase(&w, &m.id, &a.id, 120_000, Some("order-7"));
    let e = dispute_env(&w, &s);
    let new = NewDispute {
        purchase_id: p.clone(),
        reason: "Недовес 200 г".into(),
        requested: "compensation".into(),
        amount: Some(5_000),
    };
    let d = disputes::open(&e, &member(&m.id), &new).unwrap();
    assert_eq!(d.status, "open");
    assert_eq!(
        disputes::open(&e, &member(&m.id), &new).unwrap_err().code(),
        "DISPUTE_ALREADY_OPEN"
    );
    // The dispute opened a high-priority ticket at the business.
    let t = tickets::get(&w.sql, &staff(&a.id), &d.ticket_id).unwrap();
    assert_eq!(t.ticket.priority, Priority::High);
    // Someone else's purchase, bad requested.
    let other = w.member();
    assert_eq!(
        disputes::open(&e, &member(&other.id), &new)
            .unwrap_err()
            .code(),
        "PURCHASE_NOT_FOUND"
    );
    let decision = |points: Option<i64>| Decision {
        decision: "accept".into(),
        points,
        note: "Извините".into(),
    };
    // The member cannot decide; another business's staff cannot see it.
    assert_eq!(
        disputes::decide(&e, &member(&m.id), &d.id, &decision(None))
            .unwrap_err()
            .code(),
        "FORBIDDEN"
    );
    let b = w.business("beauty", 1.0, false);
    assert_eq!(
        disputes::decide(&e, &staff(&b.id), &d.id, &decision(None))
            .unwrap_err()
            .code(),
        "DISPUTE_NOT_FOUND"
    );
    // Beyond the per-order cap: refused, nothing written.
    let e2 = disputes::decide(&e, &staff(&a.id), &d.id, &decision(Some(60_000))).unwrap_err();
    assert_eq!(e2.code(), "COMPENSATION_CAP_EXCEEDED");
    assert_eq!(w.count("SELECT COUNT(*) FROM ledger_entries"), 0);
    let done = disputes::decide(&e, &staff(&a.id), &d.id, &decision(None)).unwrap();
    assert_eq!(
        (done.status.as_str(), done.points),
        ("accepted", Some(5_000))
    );
    assert_eq!(ledger::balance(&w.sql, &m.id).unwrap().available, 5_000);
    assert_eq!(
        w.count("SELECT COUNT(*) FROM compensations WHERE order_ref = 'order-7' AND points = 5000"),
        1
    );
    assert_eq!(
        w.count(
            "SELECT COUNT(*) FROM ledger_entries WHERE kind = 'compensation' AND amount = 5000"
        ),
        1
    );
    let again = disputes::decide(&e, &admin(), &d.id, &decision(Some(1))).unwrap_err();
    assert_eq!(again.code(), "DISPUTE_ALREADY_DECIDED");
    assert_eq!(ledger::balance(&w.sql, &m.id).unwrap().available, 5_000);
    // The member was told on the ticket.
    assert_eq!(
        tickets::get(&w.sql, &member(&m.id), &d.ticket_id)
            .unwrap()
            .notifications
            .len(),
        1
    );
    w.assert_sound();

    // A refund request accepted records the agreed amount, no points.
    let p2 = purchase(&w, &m.id, &a.id, 30_000, None);
    let r = disputes::open(
        &e,
        &member(&m.id),
        &NewDispute {
            purchase_id: p2,
            reason: "Не тот товар".into(),
            requested: "refund".into(),
            amount: None,
        },
    )
    .unwrap();
    let r = disputes::decide(&e, &admin(), &r.id, &decision(None)).unwrap();
    assert_eq!((r.refund_amount, r.points), (Some(30_000), None));
}

#[test]
fn escalation_runs_once_per_breach_even_when_two_run_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let path = Arc::new(dir.path().join("db"));
    let w = World::file(&path);
    let s = SupportSettings::default();
    let m = w.member();
    let t = tickets::create(
        &env(&w, &s),
        &member(&m.id),
        &NewTicket {
            priority: Some("high".into()),
            ..new_ticket("slow", None)
        },
    )
    .unwrap();
    let later = w.now() + Duration::hours(4) + Duration::seconds(1);
    let handles: Vec<_> = (0..2)
        .map(|i| {
            let path = path.clone();
            std::thread::spawn(move || {
                let sql = NativeSql::open(&path).unwrap();
                let clock = krug_core::native::ManualClock::at(later);
                let random = SeqRandom::new(100 + i);
                let vars = MapVariables::default();
                let kv = MemoryKv::default();
                let env = JobEnv {
                    sql: &sql,
                    kv: &kv,
                    clock: &clock,
                    random: &random,
                    variables: &vars,
                };
                jobs::escalate(&env).unwrap().affected
            })
        })
        .collect();
    let total: u64 = handles.into_iter().map(|h| h.join().unwrap()).sum();
    assert_eq!(total, 1);
    let after = tickets::load(&w.sql, &t.id).unwrap().unwrap();
    assert_eq!((after.priority, after.escalations), (Priority::Urgent, 1));
    assert_eq!(
        w.count("SELECT COUNT(*) FROM support_outbox WHERE kind = 'escalation'"),
        1
    );
    assert_eq!(
        after.first_response_due_at,
        krug_core::db::ts(later + Duration::hours(1))
    );
    // Answered tickets are not escalated.
    let vars = MapVariables::default();
    let kv = MemoryKv::default();
    let clock = krug_core::native::ManualClock::at(later + Duration::hours(2));
    let env = JobEnv {
        sql: &w.sql,
        kv: &kv,
        clock: &clock,
        random: &w.random,
        variables: &vars,
    };
    tickets::add_message(
        &TicketEnv {
            sql: &w.sql,
            clock: &clock,
            random: &w.random,
            settings: &s,
        },
        &admin(),
        &t.id,
        "on it",
    )
    .unwrap();
    assert_eq!(jobs::escalate(&env).unwrap().affected, 0);
}

#[test]
fn faq_search_is_case_and_yo_insensitive() {
    let w = World::new();
    let input = |q: &str, a: &str, p: i64| EntryInput {
        question: Some(q.into()),
        answer: Some(a.into()),
        position: Some(p),
    };
    let e1 = faq::create(
        &w.sql,
        &w.clock,
        &w.random,
        &input("Как копить баллы?", "Покупайте у партнёров", 2),
    )
    .unwrap();
    let e2 = faq::create(
        &w.sql,
        &w.clock,
        &w.random,
        &input("Где мой QR-код?", "На главном экране", 1),
    )
    .unwrap();
    let ids = |q: Option<&str>| {
        faq::search(&w.sql, q)
            .unwrap()
            .into_iter()
            .map(|e| e.id)
            .collect::<Vec<_>>()
    };
    assert_eq!(ids(None), vec![e2.id.clone(), e1.id.clone()]);
    assert_eq!(ids(Some("ПАРТНЕРОВ")), vec![e1.id.clone()]);
    assert_eq!(ids(Some("партнёров баллы")), vec![e1.id.clone()]);
    assert_eq!(ids(Some("qr")), vec![e2.id.clone()]);
    assert!(ids(Some("100%")).is_empty());
    faq::update(
        &w.sql,
        &w.clock,
        &e2.id,
        &EntryInput {
            answer: Some("Ёлочка".into()),
            ..EntryInput::default()
        },
    )
    .unwrap();
    assert_eq!(ids(Some("елочка")), vec![e2.id.clone()]);
    faq::delete(&w.sql, &e2.id).unwrap();
    assert_eq!(
        faq::delete(&w.sql, &e2.id).unwrap_err().code(),
        "FAQ_NOT_FOUND"
    );
    assert_eq!(
        faq::create(&w.sql, &w.clock, &w.random, &input("", "a", 0))
            .unwrap_err()
            .code(),
        "INVALID_QUESTION"
    );
}
