//! The promo counters against the uses they summarise: after any sequence of
//! reservations, commits, releases, refunds, expiries and the passing of
//! time, each counter equals its held and committed uses, the usage read
//! from the counters equals a count of the uses, and no limit is exceeded.

use chrono::Duration;
use krug_core::{
    db::immediate,
    ports::{Sql, SqlValue},
    promo::{
        checkout,
        model::Usage,
        store,
        uses::{self, Freed},
    },
    wallet::{invariants, WalletSettings},
};
use proptest::prelude::*;
use serde_json::json;

use crate::checkout::cart;
use crate::store::{admin, env, raw};
use crate::support::{staff, World};

#[derive(Debug, Clone)]
enum Op {
    Reserve { member: usize, codes: u8 },
    Commit(usize),
    Release(usize),
    Refund(usize),
    Advance(i64),
    Expire,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0usize..2, 1u8..8).prop_map(|(member, codes)| Op::Reserve { member, codes }),
        2 => (0usize..16).prop_map(Op::Commit),
        1 => (0usize..16).prop_map(Op::Release),
        1 => (0usize..16).prop_map(Op::Refund),
        1 => (1i64..12).prop_map(Op::Advance),
        1 => Just(Op::Expire),
    ]
}

const CODES: [&str; 3] = ["TOTAL", "ONCE", "BUDGET"];

// The codes a bit mask picks.
fn picked(codes: u8) -> Vec<&'static str> {
    CODES
        .iter()
        .enumerate()
        .filter(|(i, _)| codes & (1 << i) != 0)
        .map(|(_, c)| *c)
        .collect()
}

// Usage as the definition says, counted from the uses themselves.
fn counted(w: &World, promo: &str, member: &str) -> Usage {
    let now = krug_core::db::ts(w.now());
    let rows = w
        .sql
        .execute(
            "SELECT COUNT(*), COALESCE(SUM(discount), 0), \
                    COALESCE(SUM(CASE WHEN member_id = ? THEN 1 ELSE 0 END), 0), \
                    COALESCE(SUM(CASE WHEN member_id = ? AND day = ? THEN 1 ELSE 0 END), 0) \
             FROM promo_uses WHERE promo_id = ? \
             AND (status = 'committed' OR (status = 'held' AND expires_at > ?))",
            &[
                SqlValue::Text(member.into()),
                SqlValue::Text(member.into()),
                SqlValue::Text(uses::day(w.now())),
                SqlValue::Text(promo.into()),
                SqlValue::Text(now),
            ],
        )
        .unwrap();
    let n = |i: usize| match rows.rows[0][i] {
        SqlValue::Integer(v) => v,
        ref other => panic!("{other:?}"),
    };
    Usage {
        total: n(0),
        budget_spent: n(1),
        member: n(2),
        member_today: n(3),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]

    #[test]
    fn counters_agree_with_the_uses_after_any_sequence(ops in prop::collection::vec(op(), 1..24)) {
        let w = World::new();
        let shop = w.business("floristry", 1.0, false);
        let members = [w.member(), w.member()];
        let e = env(&w);
        let mut ids = Vec::new();
        for (code, limits, kind, value) in [
            ("TOTAL", json!({ "total": 3 }), "fixed", 100),
            ("ONCE", json!({ "per_member": 1 }), "percent", 10),
            ("BUDGET", json!({ "budget": 700 }), "fixed", 300),
        ] {
            let p = store::create(&e, &admin(), &raw(json!({
                "code": code, "name": code, "kind": kind, "value": value,
                "stackable": true, "limits": limits,
            })))
            .unwrap();
            ids.push(p.id);
        }
        let mut reservations: Vec<String> = Vec::new();
        for (step, op) in ops.iter().enumerate() {
            match op {
                Op::Reserve { member, codes } => {
                    let order = format!("o-{step}");
                    if let Ok(r) = checkout::reserve(&e, &members[*member].id, "ip", &cart(&shop.id, &picked(*codes), Some(&order))) {
                        reservations.push(r.reservation_id);
                    }
                }
                Op::Commit(i) => {
                    if let Some(r) = reservations.get(*i % reservations.len().max(1)) {
                        let _ = checkout::commit(&e, &WalletSettings::default(), &shop.id, &staff(), r);
                    }
                }
                Op::Release(i) => {
                    if let Some(r) = reservations.get(*i % reservations.len().max(1)) {
                        let m = w.sql.execute("SELECT member_id FROM reservations WHERE id = ?", &[SqlValue::Text(r.clone())]).unwrap();
                        let SqlValue::Text(member) = m.rows[0][0].clone() else { panic!() };
                        let _ = checkout::release(&e, &member, r);
                    }
                }
                Op::Refund(i) => {
                    // What a full refund of the purchase does to its uses.
                    if let Some(r) = reservations.get(*i % reservations.len().max(1)) {
                        immediate(&w.sql, |tx| uses::release(tx, Freed::CommittedBy(r))).unwrap();
                    }
                }
                Op::Advance(minutes) => w.advance(Duration::minutes(*minutes)),
                Op::Expire => {
                    checkout::expire(&w.sql, w.now()).unwrap();
                }
            }
            let bad = invariants::check(&w.sql).unwrap();
            prop_assert!(bad.is_empty(), "after {op:?}: {bad:?}");
            for m in &members {
                for (id, code) in ids.iter().zip(CODES) {
                    let read = uses::usage(&w.sql, &[id.as_str()], Some(&m.id), w.now())
                        .unwrap()
                        .remove(id.as_str())
                        .unwrap_or_default();
                    let truth = counted(&w, id, &m.id);
                    prop_assert_eq!(read, truth, "{} after {:?}", code, op);
                    match code {
                        "TOTAL" => prop_assert!(truth.total <= 3),
                        "ONCE" => prop_assert!(truth.member <= 1),
                        _ => prop_assert!(truth.budget_spent <= 700),
                    }
                }
            }
        }
    }
}

#[test]
fn a_promo_read_without_a_member_has_its_totals_only() {
    let w = World::new();
    let shop = w.business("floristry", 1.0, false);
    let m = w.member();
    let e = env(&w);
    let p = store::create(
        &e,
        &admin(),
        &raw(json!({ "code": "TEN", "name": "Ten", "kind": "fixed", "value": 100 })),
    )
    .unwrap();
    checkout::reserve(&e, &m.id, "ip", &cart(&shop.id, &["TEN"], Some("a"))).unwrap();
    checkout::reserve(&e, &m.id, "ip", &cart(&shop.id, &["TEN"], Some("b"))).unwrap();
    let u = uses::usage(&w.sql, &[p.id.as_str()], None, w.now()).unwrap();
    assert_eq!(
        u[p.id.as_str()],
        Usage {
            total: 2,
            member: 0,
            member_today: 0,
            budget_spent: 200
        }
    );
    // Past the hold both stop counting, before the job has run.
    w.advance(Duration::minutes(16));
    let u = uses::usage(&w.sql, &[p.id.as_str()], None, w.now()).unwrap();
    assert_eq!(u[p.id.as_str()].total, 0);
    assert_eq!(u[p.id.as_str()].budget_spent, 0);
    w.assert_sound();
}
