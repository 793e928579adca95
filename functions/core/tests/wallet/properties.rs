//! Property test: after any sequence of purchases, spends, refunds,
//! compensations, time passing and jobs, the ledger's invariants hold.

use chrono::Duration;
use krug_core::{
    db::immediate,
    idempotency,
    wallet::{
        cashback::Ratio,
        invariants, jobs,
        ledger::{self, Actor},
        member::{Business, MemberRef},
        pos::{self, CompensateCmd, Keyed, PosEnv, RedeemCmd},
        purchases::{self, NewPurchase, NewRefund, Source},
        qr, Category, WalletError, WalletSettings,
    },
};
use proptest::prelude::*;

use crate::support::{staff, World};

#[derive(Debug, Clone)]
enum Op {
    Buy {
        member: usize,
        amount: i64,
        category: usize,
    },
    Spend {
        member: usize,
        points: i64,
    },
    Refund {
        purchase: usize,
        percent: i64,
    },
    Compensate {
        member: usize,
        points: i64,
    },
    Wait {
        hours: i64,
    },
    Mature,
    Expire,
    Tiers,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0..3usize, 1..3_000_000i64, 0..9usize)
            .prop_map(|(member, amount, category)| Op::Buy { member, amount, category }),
        4 => (0..3usize, 1..40_000i64).prop_map(|(member, points)| Op::Spend { member, points }),
        2 => (0..64usize, 1..=100i64).prop_map(|(purchase, percent)| Op::Refund { purchase, percent }),
        1 => (0..3usize, 1..5_000i64).prop_map(|(member, points)| Op::Compensate { member, points }),
        3 => (0..24 * 20i64).prop_map(|hours| Op::Wait { hours }),
        1 => Just(Op::Mature),
        1 => Just(Op::Expire),
        1 => Just(Op::Tiers),
    ]
}

struct Run {
    w: World,
    members: Vec<String>,
    business: Business,
    purchases: Vec<String>,
    n: u64,
}

impl Run {
    fn key(&mut self) -> Keyed {
        self.n += 1;
        Keyed {
            key: format!("k{}", self.n),
            request_hash: idempotency::request_hash("POST", "/", &self.n.to_le_bytes()),
        }
    }

    fn apply(&mut self, op: &Op) {
        let a = staff();
        let w = &self.w;
        match *op {
            Op::Buy {
                member,
                amount,
                category,
            } => {
                let m = w.reload(&self.members[member]);
                let r = immediate(&w.sql, |tx| {
                    purchases::record(
                        tx,
                        &w.clock,
                        &w.random,
                        &w.settings,
                        &NewPurchase {
                            member: m.clone(),
                            business: self.business.clone(),
                            amount,
                            category: Some(Category::ALL[category]),
                            external_id: None,
                            description: None,
                            source: Source::Pos,
                            promo_multiplier: Ratio::ONE,
                            coupon_code: None,
                            actor: a.clone(),
                            request_id: None,
                            ref_code: None,
                            paid_at: None,
                        },
                    )
                })
                .unwrap();
                self.purchases.push(r.purchase_id);
            }
            Op::Spend { member, points } => {
                let id = self.members[member].clone();
                let before = ledger::balance(&self.w.sql, &id).unwrap();
                let key = self.key();
                let w = &self.w;
                let e = env(w, &self.business.id, &a);
                let token = qr::issue(&w.key, &id, w.now(), &w.random).unwrap().token;
                let result = pos::redeem(
                    &e,
                    &key,
                    &RedeemCmd {
                        member: MemberRef::QrToken(token),
                        points,
                        order_ref: "o".into(),
                        check_amount: None,
                    },
                );
                let after = ledger::balance(&w.sql, &id).unwrap();
                match result {
                    Ok(_) => assert!(before.available + before.pending >= points),
                    // `available` is counted after maturing and expiring due
                    // lots, which the refused spend rolled back with itself.
                    Err(WalletError::InsufficientPoints { available }) => {
                        assert!(available < points);
                        assert!(available <= after.available + after.pending);
                    }
                    Err(other) => panic!("spend failed: {other}"),
                }
            }
            Op::Refund { purchase, percent } => {
                if self.purchases.is_empty() {
                    return;
                }
                let id = self.purchases[purchase % self.purchases.len()].clone();
                let left = w.count(&format!(
                    "SELECT amount - refunded_amount FROM purchases WHERE id = '{id}'"
                ));
                let amount = (left * percent / 100).max(1);
                let result = immediate(&w.sql, |tx| {
                    purchases::refund(
                        tx,
                        &w.clock,
                        &w.random,
                        &NewRefund {
                            purchase_id: id.clone(),
                            amount,
                            external_id: None,
                            actor: Actor::system(),
                        },
                    )
                });
                match result {
                    Ok(_) => {}
                    Err(WalletError::RefundTooLarge { remaining }) => assert_eq!(remaining, 0),
                    Err(other) => panic!("refund failed: {other}"),
                }
            }
            Op::Compensate { member, points } => {
                let id = self.members[member].clone();
                let key = self.key();
                let order = format!("order-{}", self.n);
                let w = &self.w;
                let e = env(w, &self.business.id, &a);
                let token = qr::issue(&w.key, &id, w.now(), &w.random).unwrap().token;
                pos::compensate(
                    &e,
                    &key,
                    &CompensateCmd {
                        member: MemberRef::QrToken(token),
                        points,
                        reason: "goodwill".into(),
                        order_ref: order,
                    },
                )
                .unwrap();
            }
            Op::Wait { hours } => w.advance(Duration::hours(hours)),
            Op::Mature => {
                jobs::mature_points(&w.sql, w.now()).unwrap();
            }
            Op::Expire => {
                jobs::expire_points(&w.sql, &w.random, w.now()).unwrap();
            }
            Op::Tiers => {
                jobs::recompute_tiers(&w.sql, &w.random, w.now()).unwrap();
            }
        }
    }
}

fn env<'a>(w: &'a World, business_id: &'a str, actor: &'a Actor) -> PosEnv<'a> {
    PosEnv {
        sql: &w.sql,
        clock: &w.clock,
        random: &w.random,
        qr_key: &w.key,
        settings: &w.settings,
        business_id,
        actor,
        request_id: None,
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn invariants_hold_after_any_sequence(ops in proptest::collection::vec(op(), 1..40)) {
        let mut w = World::new();
        // Short hold and lifetime so maturity and expiry happen within a run.
        w.settings = WalletSettings { hold_days: 3, ttl_days: 20, ..WalletSettings::default() };
        let members = (0..3).map(|_| w.member().id).collect();
        let business = w.business("beauty", 1.5, false);
        let mut run = Run { w, members, business, purchases: Vec::new(), n: 0 };
        for op in &ops {
            run.apply(op);
            let bad = invariants::check(&run.w.sql).unwrap();
            prop_assert!(bad.is_empty(), "after {:?}:\n{}", op, bad.join("\n"));
        }
        for m in &run.members {
            let b = ledger::balance(&run.w.sql, m).unwrap();
            prop_assert!(b.available >= 0 && b.pending >= 0 && b.debt >= 0);
        }
    }
}
