//! Lots and entries: FIFO spends, exact maturity and expiry boundaries,
//! clawbacks with partly spent points and debt.

use chrono::Duration;
use krug_core::{
    db::immediate,
    params,
    ports::Sql as _,
    ports::StoreError,
    wallet::{
        jobs,
        ledger::{self, Actor, Balance, CauseType, EntryKind, LedgerError, Posting},
        purchases::{self, NewRefund},
    },
};

use crate::support::{pos_sale, World};

fn admin() -> Actor {
    Actor {
        role: "admin",
        id: Some("admin-1".into()),
    }
}

fn grant(w: &World, member: &str, amount: i64, ttl_days: i64) -> String {
    let a = admin();
    immediate(&w.sql, |tx| {
        ledger::credit(
            tx,
            w.now(),
            &w.random,
            &Posting {
                member_id: member,
                business_id: None,
                cause_type: CauseType::Admin,
                cause_id: "admin-1",
                actor: &a,
                reason: Some("test grant"),
                description: None,
            },
            EntryKind::Adjust,
            amount,
            None,
            w.now(),
            ttl_days,
        )
    })
    .unwrap()
    .lot_id
}

pub fn take(w: &World, member: &str, amount: i64) -> Result<String, LedgerError> {
    let a = admin();
    immediate(&w.sql, |tx| {
        ledger::debit(
            tx,
            w.now(),
            &w.random,
            &Posting {
                member_id: member,
                business_id: None,
                cause_type: CauseType::Admin,
                cause_id: "admin-1",
                actor: &a,
                reason: Some("test spend"),
                description: None,
            },
            EntryKind::Spend,
            amount,
        )
    })
}

fn remaining(w: &World, lot: &str) -> i64 {
    w.count(&format!(
        "SELECT remaining FROM point_lots WHERE id = '{lot}'"
    ))
}

fn bal(w: &World, member: &str) -> Balance {
    ledger::balance(&w.sql, member).unwrap()
}

#[test]
fn spends_take_the_earliest_expiring_lots_first() {
    let w = World::new();
    let m = w.member();
    let long = grant(&w, &m.id, 100, 365);
    w.advance(Duration::days(10));
    let longer = grant(&w, &m.id, 200, 365);
    w.advance(Duration::days(1));
    let short = grant(&w, &m.id, 50, 30);
    take(&w, &m.id, 120).unwrap();
    assert_eq!(
        (
            remaining(&w, &short),
            remaining(&w, &long),
            remaining(&w, &longer)
        ),
        (0, 30, 200)
    );
    take(&w, &m.id, 100).unwrap();
    assert_eq!((remaining(&w, &long), remaining(&w, &longer)), (0, 130));
    assert_eq!(bal(&w, &m.id).available, 130);
    // Never beyond available, and a refused spend writes nothing.
    let entries = w.count("SELECT COUNT(*) FROM ledger_entries");
    assert!(matches!(
        take(&w, &m.id, 131),
        Err(LedgerError::Insufficient { available: 130 })
    ));
    assert_eq!(w.count("SELECT COUNT(*) FROM ledger_entries"), entries);
    w.assert_sound();
}

#[test]
fn expiry_happens_exactly_at_the_boundary() {
    let w = World::new();
    let m = w.member();
    let lot = grant(&w, &m.id, 100, 365);
    take(&w, &m.id, 40).unwrap();
    w.advance(Duration::days(365) - Duration::microseconds(1));
    assert_eq!(
        jobs::expire_points(&w.sql, &w.random, w.now()).unwrap(),
        (0, 0)
    );
    assert_eq!(bal(&w, &m.id).available, 60);
    // Still spendable one microsecond before expiry.
    take(&w, &m.id, 10).unwrap();
    w.advance(Duration::microseconds(1));
    // At the instant itself nothing is spendable...
    assert!(matches!(
        take(&w, &m.id, 1),
        Err(LedgerError::Insufficient { available: 0 })
    ));
    // ...and the job expires the rest, once (the refused spend rolled back
    // its own refresh).
    assert_eq!(
        jobs::expire_points(&w.sql, &w.random, w.now()).unwrap(),
        (1, 50)
    );
    assert_eq!(
        jobs::expire_points(&w.sql, &w.random, w.now()).unwrap(),
        (0, 0)
    );
    assert_eq!(remaining(&w, &lot), 0);
    assert_eq!(
        w.count("SELECT SUM(amount) FROM ledger_entries WHERE kind = 'expire'"),
        -50
    );
    w.assert_sound();
}

#[test]
fn expire_job_expires_at_the_instant_and_only_once() {
    let w = World::new();
    let m = w.member();
    grant(&w, &m.id, 70, 30);
    w.advance(Duration::days(30));
    assert_eq!(
        jobs::expire_points(&w.sql, &w.random, w.now()).unwrap(),
        (1, 70)
    );
    assert_eq!(
        jobs::expire_points(&w.sql, &w.random, w.now()).unwrap(),
        (0, 0)
    );
    assert_eq!(bal(&w, &m.id), Balance::default());
    w.assert_sound();
}

fn buy(
    w: &World,
    member: &str,
    business: &krug_core::wallet::member::Business,
    amount: i64,
) -> purchases::Recorded {
    let mut sale = pos_sale(&w.reload(member), business, amount);
    sale.description = Some("haircut".into());
    w.record(&sale)
}

fn refund(w: &World, purchase_id: &str, amount: i64) -> purchases::Refunded {
    w.refund(purchase_id, amount, Actor::system())
}

#[test]
fn earned_points_mature_exactly_after_the_hold() {
    let w = World::new();
    let m = w.member();
    let shop = w.business("beauty", 1.0, false);
    let p = buy(&w, &m.id, &shop, 100_000);
    assert_eq!((p.points_earned, p.points_status), (7_500, "pending"));
    assert_eq!(bal(&w, &m.id).pending, 7_500);
    w.advance(Duration::days(14) - Duration::seconds(1));
    assert_eq!(jobs::mature_points(&w.sql, w.now()).unwrap(), 0);
    w.advance(Duration::seconds(1));
    assert_eq!(jobs::mature_points(&w.sql, w.now()).unwrap(), 1);
    assert_eq!(jobs::mature_points(&w.sql, w.now()).unwrap(), 0);
    assert_eq!(
        bal(&w, &m.id),
        Balance {
            available: 7_500,
            pending: 0,
            debt: 0
        }
    );
    // It expires 365 days after it matured, not after it was earned.
    let expires =
        w.count("SELECT COUNT(*) FROM point_lots WHERE expires_at = '2027-01-24T12:00:00.000000Z'");
    assert_eq!(expires, 1);
    w.assert_sound();
}

#[test]
fn refund_claws_back_pending_first_then_available_then_debt() {
    let w = World::new();
    let m = w.member();
    let salon = w.business("beauty", 1.0, false);
    let other = w.business("beauty", 1.0, false);
    let p1 = buy(&w, &m.id, &salon, 100_000); // first in beauty: 7 500
    w.advance(Duration::days(14));
    jobs::mature_points(&w.sql, w.now()).unwrap();
    take(&w, &m.id, 7_000).unwrap();
    let p2 = buy(&w, &m.id, &other, 40_000); // repeat: 2 000 pending
    assert_eq!(p2.points_earned, 2_000);

    let r = refund(&w, &p1.purchase_id, 100_000);
    assert_eq!((r.points_clawed_back, r.debt_added), (7_500, 5_000));
    assert_eq!(
        bal(&w, &m.id),
        Balance {
            available: 0,
            pending: 0,
            debt: 5_000
        }
    );
    w.assert_sound();

    // Later earnings repay the debt first.
    let p3 = buy(&w, &m.id, &salon, 200_000); // 10 000, 5 000 of it repays debt
    assert_eq!(p3.debt_repaid, 5_000);
    assert_eq!(
        bal(&w, &m.id),
        Balance {
            available: 0,
            pending: 5_000,
            debt: 0
        }
    );
    w.assert_sound();

    // Half of p3 refunded: 5 000 back, from p3's own pending lot.
    let r3 = refund(&w, &p3.purchase_id, 100_000);
    assert_eq!((r3.points_clawed_back, r3.debt_added), (5_000, 0));
    assert_eq!(bal(&w, &m.id), Balance::default());
    // A refund beyond what is left is refused.
    let err = immediate(&w.sql, |tx| {
        purchases::refund(
            tx,
            &w.clock,
            &w.random,
            &NewRefund {
                purchase_id: p3.purchase_id.clone(),
                amount: 100_001,
                external_id: None,
                actor: Actor::system(),
            },
        )
    })
    .unwrap_err();
    assert_eq!(
        krug_core::error::UseCaseError::code(&err),
        "REFUND_TOO_LARGE"
    );
    w.assert_sound();
}

#[test]
fn partial_refunds_claw_back_exactly_what_was_earned() {
    let w = World::new();
    let m = w.member();
    let shop = w.business("optics", 1.0, false);
    let p = buy(&w, &m.id, &shop, 100_001); // 7 500.075 → 7 500
    let mut clawed = 0;
    for part in [33_333, 33_333, 33_335] {
        clawed += refund(&w, &p.purchase_id, part).points_clawed_back;
    }
    assert_eq!(clawed, p.points_earned);
    assert_eq!(bal(&w, &m.id), Balance::default());
    // The events budget is back to zero too.
    assert_eq!(purchases::events_budget_total(&w.sql).unwrap(), 0);
    w.assert_sound();
}

#[test]
fn ledger_entries_are_append_only() {
    let w = World::new();
    let m = w.member();
    grant(&w, &m.id, 10, 30);
    let update = w
        .sql
        .execute("UPDATE ledger_entries SET amount = 1000", &[]);
    assert!(
        matches!(
            update,
            Err(StoreError::Constraint(_)) | Err(StoreError::Other(_))
        ),
        "{update:?}"
    );
    let delete = w.sql.execute(
        "DELETE FROM ledger_entries WHERE member_id = ?",
        &params![m.id.as_str()],
    );
    assert!(delete.is_err());
}

#[test]
fn concurrent_job_runs_mature_each_lot_once() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    let w = World::file(&path);
    let shop = w.business("home", 1.0, false);
    for _ in 0..30 {
        let m = w.member();
        buy(&w, &m.id, &shop, 10_000);
    }
    let when = w.now() + Duration::days(400);
    let handles: Vec<_> = (0..4)
        .map(|i| {
            let path = path.clone();
            std::thread::spawn(move || {
                let sql = krug_core::native::NativeSql::open(&path).unwrap();
                let random = krug_core::native::SeqRandom::new(100 + i);
                if i % 2 == 0 {
                    jobs::mature_points(&sql, when).unwrap()
                } else {
                    jobs::expire_points(&sql, &random, when).unwrap().0
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    assert_eq!(
        w.count("SELECT COUNT(*) FROM point_lots WHERE status = 'expired'"),
        30
    );
    assert_eq!(
        w.count("SELECT COUNT(*) FROM ledger_entries WHERE kind = 'expire'"),
        30
    );
    w.assert_sound();
}
