use chrono::Duration;
use krug_core::{
    events::{
        approved, budget,
        proposals::{self, ProposalInput},
        Counts, EventError, EventSettings,
    },
    ports::{Clock, Sql},
};

use crate::support::World;
use crate::{env, event, set_tier};

fn proposal(w: &World, s: &EventSettings) -> String {
    let m = w.member();
    set_tier(w, &m.id, "vip");
    let p = ProposalInput {
        title: "Йога на крыше".into(),
        description: "Утренняя практика".into(),
        kind: "wellness".into(),
        preferred_date: (w.clock.now() + Duration::days(20))
            .format("%Y-%m-%d")
            .to_string(),
        business_id: None,
        budget_per_person: 150_000,
        capacity: 15,
        program: vec![],
    };
    proposals::propose(&env(w, s), &m.id, &p)
        .unwrap()
        .proposal_id
}

#[test]
fn insiders_do_not_propose() {
    let w = World::new();
    let s = EventSettings::default();
    let m = w.member();
    let p = ProposalInput {
        title: "T".into(),
        description: "D".into(),
        kind: "k".into(),
        preferred_date: "2099-01-01".into(),
        business_id: None,
        budget_per_person: 0,
        capacity: 5,
        program: vec![],
    };
    assert!(matches!(
        proposals::propose(&env(&w, &s), &m.id, &p),
        Err(EventError::TierTooLow("vip"))
    ));
    assert_eq!(w.count("SELECT COUNT(*) FROM event_proposals"), 0);
}

#[test]
fn the_weight_is_the_tier_at_voting_time_and_a_vote_is_replaced() {
    let w = World::new();
    let s = EventSettings::default();
    let p = proposal(&w, &s);
    let m = w.member();
    let t = proposals::vote(&env(&w, &s), &m.id, &p, "yes").unwrap();
    assert_eq!(
        (t.total_votes, t.user_vote_weight, t.weighted_score),
        (1, 1, 1)
    );
    set_tier(&w, &m.id, "elite");
    let t = proposals::vote(&env(&w, &s), &m.id, &p, "no").unwrap();
    assert_eq!(
        (
            t.total_votes,
            t.yes_votes,
            t.no_votes,
            t.user_vote_weight,
            t.weighted_score
        ),
        (1, 0, 1, 3, -3)
    );
    assert_eq!(t.user_vote.as_deref(), Some("no"));
    set_tier(&w, &m.id, "inner_circle");
    let t = proposals::vote(&env(&w, &s), &m.id, &p, "yes").unwrap();
    assert_eq!((t.user_vote_weight, t.approval_rate), (5, 1.0));
}

#[test]
fn the_rule_at_exactly_half_at_the_minimum_turnout_and_with_a_veto() {
    let c = |yes, no, wy, wn| Counts {
        yes,
        no,
        weighted_yes: wy,
        weighted_no: wn,
    };
    // Exactly 0.5 with exactly the minimum of votes approves.
    assert!(approved(&c(4, 6, 6, 6), false, 10));
    // One vote short of the minimum rejects.
    assert!(!approved(&c(4, 5, 6, 5), false, 10));
    // Just under half rejects.
    assert!(!approved(&c(5, 5, 5, 6), false, 10));
    // A veto rejects whatever the votes.
    assert!(!approved(&c(10, 0, 30, 0), true, 10));

    let w = World::new();
    let s = EventSettings::default();
    let half = proposal(&w, &s);
    let short = proposal(&w, &s);
    let vetoed = proposal(&w, &s);
    for i in 0..10 {
        let m = w.member();
        let vote = if i % 2 == 0 { "yes" } else { "no" };
        proposals::vote(&env(&w, &s), &m.id, &half, vote).unwrap();
        proposals::vote(&env(&w, &s), &m.id, &vetoed, "yes").unwrap();
        if i < 9 {
            proposals::vote(&env(&w, &s), &m.id, &short, "yes").unwrap();
        }
    }
    let insider = w.member();
    assert!(matches!(
        proposals::veto(&env(&w, &s), &insider.id, &vetoed, "no"),
        Err(EventError::TierTooLow("inner_circle"))
    ));
    let ic = w.member();
    set_tier(&w, &ic.id, "inner_circle");
    proposals::veto(&env(&w, &s), &ic.id, &vetoed, "Не для клуба").unwrap();
    assert!(matches!(
        proposals::veto(&env(&w, &s), &ic.id, &vetoed, "again"),
        Err(EventError::AlreadyVetoed)
    ));
    assert_eq!(proposals::close_due(&env(&w, &s)).unwrap(), 0);
    w.advance(Duration::days(7));
    assert_eq!(proposals::close_due(&env(&w, &s)).unwrap(), 3);
    assert_eq!(proposals::close_due(&env(&w, &s)).unwrap(), 0);
    let status = |id: &str| {
        w.sql
            .execute(
                "SELECT status FROM event_proposals WHERE id = ?",
                &krug_core::params![id],
            )
            .unwrap()
            .first()
            .unwrap()
            .text("status")
            .unwrap()
    };
    assert_eq!(status(&half), "approved");
    assert_eq!(status(&short), "rejected");
    assert_eq!(status(&vetoed), "rejected");
    let late = w.member();
    assert!(matches!(
        proposals::vote(&env(&w, &s), &late.id, &half, "yes"),
        Err(EventError::VotingClosed)
    ));
}

#[test]
fn allocations_never_exceed_the_budget() {
    let w = World::new();
    let s = EventSettings::default();
    let (e, _) = event(&w, "free", 0, 10);
    let m = w.member();
    let b = w.business("beauty", 1.0, false);
    let purchase = krug_core::wallet::purchases::NewPurchase {
        member: m.clone(),
        business: b,
        amount: 100_000,
        category: None,
        external_id: None,
        description: None,
        source: krug_core::wallet::purchases::Source::Pos,
        promo_multiplier: krug_core::wallet::cashback::Ratio::ONE,
        coupon_code: None,
        actor: crate::support::staff(),
        request_id: None,
        ref_code: None,
        paid_at: None,
    };
    krug_core::wallet::purchases::record(&w.sql, &w.clock, &w.random, &w.settings, &purchase)
        .unwrap();
    let a = budget::allocate(&env(&w, &s), "admin", &e, 1_500).unwrap();
    assert_eq!(a.available, 500);
    assert!(matches!(
        budget::allocate(&env(&w, &s), "admin", &e, 501),
        Err(EventError::BudgetExceeded { available: 500 })
    ));
    let month = w.clock.now().format("%Y-%m").to_string();
    let v = budget::view(&w.sql, w.clock.now(), &m.id, Some(&month)).unwrap();
    assert_eq!(
        (
            v.contributed,
            v.my_contribution,
            v.my_purchases,
            v.available
        ),
        (2_000, 2_000, 100_000, 500)
    );
    assert_eq!(v.allocated.len(), 1);
    assert!(budget::view(&w.sql, w.clock.now(), &m.id, Some("2026-13")).is_err());
}
