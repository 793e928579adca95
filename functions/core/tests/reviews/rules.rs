//! The review use cases end to end in core: verification, uniqueness, the
//! edit window, the daily limit, withdrawal, ratings, rewards, decisions,
//! replies, purchase lines and `reviewable`.

use chrono::Duration;
use krug_core::{
    db::immediate,
    params,
    ports::Sql as _,
    reviews::{
        purchases as review_purchases, rating,
        reads::{self, Sort},
        submit::{self, Decision, Moderator, NewReview, ReviewEdit, ReviewEnv},
        ReviewError, ReviewSettings, Target, Unverified,
    },
    wallet::{
        ledger,
        lines::PurchaseLine,
        member::{Business, Member},
        purchases::{self, NewRefund},
    },
};

use crate::support::{pos_sale, staff, World};

fn line(sku: &str) -> PurchaseLine {
    PurchaseLine {
        sku: sku.into(),
        name: Some(format!("Product {sku}")),
        category: String::new(),
        quantity: 1,
        unit_price: 50_000,
    }
}

fn buy(w: &World, m: &Member, b: &Business, amount: i64, lines: &[PurchaseLine]) -> String {
    let m = w.reload(&m.id);
    immediate(&w.sql, |tx| {
        purchases::record_with_lines(
            tx,
            &w.clock,
            &w.random,
            &w.settings,
            &pos_sale(&m, b, amount),
            lines,
        )
    })
    .unwrap()
    .purchase_id
}

fn env<'a>(w: &'a World, s: &'a ReviewSettings) -> ReviewEnv<'a> {
    ReviewEnv {
        sql: &w.sql,
        clock: &w.clock,
        random: &w.random,
        settings: s,
        request_id: None,
    }
}

fn business_review(purchase: &str, rating: i64, text: &str) -> NewReview {
    NewReview {
        kind: "business".into(),
        purchase_id: Some(purchase.into()),
        rating,
        text: Some(text.into()),
        ..NewReview::default()
    }
}

fn assert_recount(w: &World, target: &Target) {
    let r = rating::read(&w.sql, target).unwrap();
    let (count, total, stars) = rating::recount(&w.sql, target).unwrap();
    assert_eq!(r.count, count);
    let dist: Vec<i64> = (1..=5).map(|i| r.distribution[&i.to_string()]).collect();
    assert_eq!(dist, stars.to_vec());
    if count > 0 {
        let avg = ((total as f64 / count as f64) * 100.0).round() / 100.0;
        assert_eq!(r.average, Some(avg));
    } else {
        assert_eq!(r.average, None);
    }
}

// Points the member holds: available + pending − debt.
fn available(w: &World, m: &Member) -> i64 {
    let b = ledger::balance(&w.sql, &m.id).unwrap();
    b.available + b.pending - b.debt
}

fn err(r: Result<impl std::fmt::Debug, ReviewError>) -> ReviewError {
    r.expect_err("expected an error")
}

#[test]
fn verification_rules() {
    let w = World::new();
    let s = ReviewSettings::default();
    let (m, other) = (w.member(), w.member());
    let (a, b) = (
        w.business("beauty", 1.0, false),
        w.business("gastronomy", 1.0, false),
    );
    let p = buy(&w, &m, &a, 100_000, &[line("SKU-1")]);

    // Another business named for the purchase.
    let mut cmd = business_review(&p, 5, "ok");
    cmd.business_id = Some(b.id.clone());
    assert!(matches!(
        err(submit::create(&env(&w, &s), &m.id, &cmd)),
        ReviewError::NotVerified(Unverified::OtherBusiness)
    ));
    // Someone else's purchase, and an unknown one.
    assert!(matches!(
        err(submit::create(
            &env(&w, &s),
            &other.id,
            &business_review(&p, 5, "ok")
        )),
        ReviewError::NotVerified(Unverified::Unknown)
    ));
    let unknown = "0190a000-0000-7000-8000-000000000000";
    assert!(matches!(
        err(submit::create(
            &env(&w, &s),
            &m.id,
            &business_review(unknown, 5, "ok")
        )),
        ReviewError::NotVerified(Unverified::Unknown)
    ));
    // A SKU that is not among the lines.
    let product = |sku: &str| NewReview {
        kind: "product".into(),
        sku: Some(sku.into()),
        ..business_review(&p, 4, "good")
    };
    assert!(matches!(
        err(submit::create(&env(&w, &s), &m.id, &product("SKU-2"))),
        ReviewError::NotVerified(Unverified::SkuNotInLines)
    ));
    assert_eq!(w.count("SELECT COUNT(*) FROM reviews"), 0);
    submit::create(&env(&w, &s), &m.id, &product("SKU-1")).unwrap();

    // A full refund ends verification; a partial one does not.
    let refunded = buy(&w, &m, &a, 100_000, &[]);
    let partly = buy(&w, &m, &a, 100_000, &[]);
    for (id, amount) in [(&refunded, 100_000), (&partly, 40_000)] {
        immediate(&w.sql, |tx| {
            purchases::refund(
                tx,
                &w.clock,
                &w.random,
                &NewRefund {
                    purchase_id: id.clone(),
                    amount,
                    external_id: None,
                    actor: staff(),
                },
            )
        })
        .unwrap();
    }
    assert!(matches!(
        err(submit::create(
            &env(&w, &s),
            &m.id,
            &business_review(&refunded, 1, "x")
        )),
        ReviewError::NotVerified(Unverified::Refunded)
    ));
    submit::create(&env(&w, &s), &m.id, &business_review(&partly, 3, "fine")).unwrap();

    // 180 days: the last day still counts, the day after does not.
    let old = buy(&w, &m, &a, 100_000, &[]);
    let older = buy(&w, &m, &b, 100_000, &[]);
    w.advance(Duration::days(180) - Duration::seconds(1));
    submit::create(&env(&w, &s), &m.id, &business_review(&old, 5, "still")).unwrap();
    w.advance(Duration::seconds(2));
    assert!(matches!(
        err(submit::create(
            &env(&w, &s),
            &m.id,
            &business_review(&older, 5, "late")
        )),
        ReviewError::NotVerified(Unverified::TooOld)
    ));
}

#[test]
fn events_and_bad_fields_are_refused_with_nothing_written() {
    let w = World::new();
    let s = ReviewSettings::default();
    let m = w.member();
    let a = w.business("beauty", 1.0, false);
    let p = buy(&w, &m, &a, 100_000, &[]);
    let event = NewReview {
        kind: "event".into(),
        event_id: Some("0190a000-0000-7000-8000-000000000001".into()),
        purchase_id: None,
        ..business_review(&p, 5, "fun")
    };
    assert!(matches!(
        err(submit::create(&env(&w, &s), &m.id, &event)),
        ReviewError::EventsNotAvailable
    ));
    for rating in [0, 6, -1] {
        assert!(matches!(
            err(submit::create(&env(&w, &s), &m.id, &business_review(&p, rating, "x"))),
            ReviewError::Invalid(ref e) if e.field == "rating"
        ));
    }
    let long = "а".repeat(2_001);
    assert!(matches!(
        err(submit::create(&env(&w, &s), &m.id, &business_review(&p, 5, &long))),
        ReviewError::Invalid(ref e) if e.field == "text"
    ));
    submit::create(
        &env(&w, &s),
        &m.id,
        &business_review(&p, 5, &"а".repeat(2_000)),
    )
    .unwrap();
    assert_eq!(w.count("SELECT COUNT(*) FROM reviews"), 1);
}

#[test]
fn one_review_per_member_target_and_purchase() {
    let w = World::new();
    let s = ReviewSettings::default();
    let m = w.member();
    let a = w.business("beauty", 1.0, false);
    let p = buy(&w, &m, &a, 100_000, &[line("A")]);
    submit::create(&env(&w, &s), &m.id, &business_review(&p, 5, "ok")).unwrap();
    assert!(matches!(
        err(submit::create(
            &env(&w, &s),
            &m.id,
            &business_review(&p, 4, "again")
        )),
        ReviewError::AlreadyReviewed
    ));
    // The product is another target; a second purchase is another purchase.
    let product = NewReview {
        kind: "product".into(),
        sku: Some("A".into()),
        ..business_review(&p, 4, "good")
    };
    submit::create(&env(&w, &s), &m.id, &product).unwrap();
    let p2 = buy(&w, &m, &a, 100_000, &[]);
    submit::create(&env(&w, &s), &m.id, &business_review(&p2, 3, "ok")).unwrap();
    // Withdrawn still counts: no second review of the same purchase.
    let mine = reads::mine_page(&w.sql, &m.id, 10, None).unwrap();
    assert_eq!(mine.items.len(), 3);
    let first = mine
        .items
        .iter()
        .find(|r| r.purchase_id == p && r.target.sku.is_none())
        .unwrap();
    submit::withdraw(&env(&w, &s), &m.id, &first.id).unwrap();
    assert!(matches!(
        err(submit::create(
            &env(&w, &s),
            &m.id,
            &business_review(&p, 5, "back")
        )),
        ReviewError::AlreadyReviewed
    ));
}

#[test]
fn edits_within_48_hours_only_and_by_the_author() {
    let w = World::new();
    let s = ReviewSettings::default();
    let (m, other) = (w.member(), w.member());
    let a = w.business("beauty", 1.0, false);
    let p = buy(&w, &m, &a, 100_000, &[]);
    let r = submit::create(&env(&w, &s), &m.id, &business_review(&p, 2, "meh")).unwrap();
    let target = Target::business(&a.id);
    let change = ReviewEdit {
        rating: Some(4),
        text: Some("better on second visit".into()),
    };
    assert!(matches!(
        err(submit::edit(&env(&w, &s), &other.id, &r.id, &change)),
        ReviewError::NotFound
    ));
    w.advance(Duration::hours(47));
    let edited = submit::edit(&env(&w, &s), &m.id, &r.id, &change).unwrap();
    assert_eq!((edited.rating, edited.status.as_str()), (4, "published"));
    assert_eq!(rating::read(&w.sql, &target).unwrap().distribution["4"], 1);
    assert_recount(&w, &target);
    // A flagged edit goes back to the queue and leaves the ratings.
    let flagged = submit::edit(
        &env(&w, &s),
        &m.id,
        &r.id,
        &ReviewEdit {
            rating: None,
            text: Some("звоните 8 (999) 123-45-67".into()),
        },
    )
    .unwrap();
    assert_eq!(flagged.status, "pending");
    assert_eq!(flagged.flags, vec!["phone"]);
    assert_eq!(rating::read(&w.sql, &target).unwrap().count, 0);
    assert_recount(&w, &target);
    w.advance(Duration::hours(2));
    assert!(matches!(
        err(submit::edit(&env(&w, &s), &m.id, &r.id, &change)),
        ReviewError::EditWindowClosed
    ));
}

#[test]
fn at_most_five_reviews_a_day() {
    let w = World::new();
    let s = ReviewSettings::default();
    let m = w.member();
    let a = w.business("beauty", 1.0, false);
    let purchases: Vec<String> = (0..7).map(|_| buy(&w, &m, &a, 10_000, &[])).collect();
    for p in &purchases[..5] {
        submit::create(&env(&w, &s), &m.id, &business_review(p, 5, "ok")).unwrap();
        w.advance(Duration::minutes(10));
    }
    match err(submit::create(
        &env(&w, &s),
        &m.id,
        &business_review(&purchases[5], 5, "ok"),
    )) {
        ReviewError::DailyLimit { retry_after_secs } => {
            assert_eq!(retry_after_secs, 24 * 3600 - 50 * 60)
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(w.count("SELECT COUNT(*) FROM reviews"), 5);
    w.advance(Duration::hours(24) - Duration::minutes(50));
    submit::create(
        &env(&w, &s),
        &m.id,
        &business_review(&purchases[5], 5, "ok"),
    )
    .unwrap();
}

#[test]
fn rewards_are_credited_once_capped_monthly_and_clawed_back() {
    let w = World::new();
    let s = ReviewSettings::default();
    let m = w.member();
    let a = w.business("beauty", 1.0, false);
    let ps: Vec<String> = (0..6).map(|_| buy(&w, &m, &a, 10_000, &[])).collect();
    let before = available(&w, &m);
    let mut ids = Vec::new();
    for p in &ps[..5] {
        let r = submit::create(&env(&w, &s), &m.id, &business_review(p, 5, "nice")).unwrap();
        assert_eq!(r.status, "published");
        ids.push(r.id);
    }
    // Four rewards a month; the fifth review earns nothing.
    assert_eq!(available(&w, &m) - before, 4 * 5_000);
    assert_eq!(
        w.count("SELECT COUNT(*) FROM ledger_entries WHERE kind = 'reward'"),
        4
    );
    // Reject after publish: clawed back; publish again: no second reward.
    let admin = Moderator {
        member_id: "admin-1".into(),
        staff_of: None,
    };
    submit::decide(
        &env(&w, &s),
        &admin,
        &ids[0],
        Decision::Reject,
        Some("spam"),
    )
    .unwrap();
    assert_eq!(available(&w, &m) - before, 3 * 5_000);
    submit::decide(&env(&w, &s), &admin, &ids[0], Decision::Publish, None).unwrap();
    assert_eq!(available(&w, &m) - before, 3 * 5_000);
    // Withdrawal claws back too, once.
    submit::withdraw(&env(&w, &s), &m.id, &ids[1]).unwrap();
    submit::withdraw(&env(&w, &s), &m.id, &ids[1]).unwrap();
    assert_eq!(available(&w, &m) - before, 2 * 5_000);
    assert_eq!(
        w.count("SELECT COUNT(*) FROM ledger_entries WHERE kind = 'reward'"),
        4
    );
    assert_eq!(
        w.count(
            "SELECT COUNT(*) FROM ledger_entries WHERE kind = 'clawback' AND cause_type = 'reward'"
        ),
        2
    );
    assert_recount(&w, &Target::business(&a.id));
    w.assert_sound();
    // Next month the cap starts again.
    w.advance(Duration::days(32));
    let p = buy(&w, &m, &a, 10_000, &[]);
    submit::create(&env(&w, &s), &m.id, &business_review(&p, 4, "again")).unwrap();
    assert_eq!(
        w.count("SELECT COUNT(*) FROM ledger_entries WHERE kind = 'reward'"),
        5
    );
    w.assert_sound();
}

#[test]
fn flagged_reviews_wait_and_moderators_decide() {
    let w = World::new();
    let s = ReviewSettings::default();
    let m = w.member();
    let a = w.business("beauty", 1.0, false);
    let p = buy(&w, &m, &a, 100_000, &[]);
    let r = submit::create(
        &env(&w, &s),
        &m.id,
        &business_review(&p, 1, "ХУЖЕ НЕ БЫВАЕТ НИГДЕ И НИКОГДА, ПИШИТЕ a@mail.ru"),
    )
    .unwrap();
    assert_eq!(r.status, "pending");
    assert_eq!(r.flags, vec!["link", "email", "shouting"]);
    assert_eq!(r.reward_points, 0);
    let target = Target::business(&a.id);
    assert_eq!(rating::read(&w.sql, &target).unwrap().count, 0);
    let queue = reads::admin_page(&w.sql, "pending", 10, None).unwrap();
    assert_eq!(queue.items.len(), 1);
    // An admin who is staff of the business may not decide.
    let own = Moderator {
        member_id: "admin-2".into(),
        staff_of: Some(a.id.clone()),
    };
    assert!(matches!(
        err(submit::decide(
            &env(&w, &s),
            &own,
            &r.id,
            Decision::Publish,
            None
        )),
        ReviewError::OwnBusiness
    ));
    assert!(matches!(
        err(submit::decide(
            &env(&w, &s),
            &own,
            &r.id,
            Decision::Reject,
            None
        )),
        ReviewError::Invalid(_)
    ));
    let admin = Moderator {
        member_id: "admin-1".into(),
        staff_of: None,
    };
    let done = submit::decide(&env(&w, &s), &admin, &r.id, Decision::Publish, Some("ok")).unwrap();
    assert_eq!(
        (done.status.as_str(), done.reward_points),
        ("published", 5_000)
    );
    assert!(matches!(
        err(submit::decide(
            &env(&w, &s),
            &admin,
            &r.id,
            Decision::Publish,
            None
        )),
        ReviewError::WrongStatus { .. }
    ));
    assert_eq!(
        w.count("SELECT COUNT(*) FROM audit_log WHERE action = 'review.published'"),
        1
    );
    assert_recount(&w, &target);
}

#[test]
fn a_burst_of_reviews_of_one_business_goes_to_the_queue() {
    let w = World::new();
    let s = ReviewSettings {
        burst_per_hour: 2,
        ..ReviewSettings::default()
    };
    let a = w.business("beauty", 1.0, false);
    let statuses: Vec<String> = (0..3)
        .map(|_| {
            let m = w.member();
            let p = buy(&w, &m, &a, 10_000, &[]);
            submit::create(&env(&w, &s), &m.id, &business_review(&p, 5, "ok"))
                .unwrap()
                .status
        })
        .collect();
    assert_eq!(statuses, ["published", "published", "pending"]);
    w.advance(Duration::minutes(61));
    let m = w.member();
    let p = buy(&w, &m, &a, 10_000, &[]);
    let r = submit::create(&env(&w, &s), &m.id, &business_review(&p, 5, "ok")).unwrap();
    assert_eq!(r.status, "published");
}

#[test]
fn bayesian_average_at_zero_one_and_many_reviews() {
    // No reviews anywhere: no prior, no figure.
    assert_eq!(rating::bayesian(0, 0, 0, 0), None);
    // No reviews of this target: the club's mean.
    assert_eq!(rating::bayesian(0, 0, 40, 10), Some(4.0));
    // One 5 against a club mean of 3: (10 × 3 + 5) / 11.
    assert_eq!(rating::bayesian(5, 1, 30, 10), Some(3.18));
    // Many: the target's own mean dominates.
    assert_eq!(rating::bayesian(5 * 1000, 1000, 3 * 2000, 2000), Some(4.98));

    let w = World::new();
    let s = ReviewSettings::default();
    let (a, b) = (
        w.business("beauty", 1.0, false),
        w.business("gastronomy", 1.0, false),
    );
    let ta = Target::business(&a.id);
    let empty = rating::read(&w.sql, &ta).unwrap();
    assert_eq!(
        (empty.count, empty.average, empty.bayesian_average),
        (0, None, None)
    );
    for (biz, stars) in [(&b, 2), (&b, 2), (&a, 5)] {
        let m = w.member();
        let p = buy(&w, &m, biz, 10_000, &[]);
        submit::create(&env(&w, &s), &m.id, &business_review(&p, stars, "ok")).unwrap();
    }
    let r = rating::read(&w.sql, &ta).unwrap();
    assert_eq!((r.count, r.average), (1, Some(5.0)));
    // Club: 9 / 3 = 3 → (10 × 3 + 5) / 11.
    assert_eq!(r.bayesian_average, Some(3.18));
    assert_eq!(r.distribution["5"], 1);
}

#[test]
fn public_lists_sort_page_and_show_names_or_the_anonymous_label() {
    let w = World::new();
    let s = ReviewSettings::default();
    let a = w.business("beauty", 1.0, false);
    let mut authors = Vec::new();
    for stars in [3, 5, 1, 4] {
        let m = w.member();
        w.sql
            .execute(
                "UPDATE members SET first_name = 'Анна', last_name = 'петрова' WHERE id = ?",
                &params![m.id.as_str()],
            )
            .unwrap();
        let p = buy(&w, &m, &a, 10_000, &[]);
        submit::create(&env(&w, &s), &m.id, &business_review(&p, stars, "ok")).unwrap();
        authors.push(m);
        w.advance(Duration::minutes(1));
    }
    let target = Target::business(&a.id);
    let ratings_of = |sort| {
        let mut out = Vec::new();
        let mut cursor = None;
        loop {
            let page = reads::public_page(&w.sql, &target, sort, 3, cursor.as_ref()).unwrap();
            out.extend(page.items.iter().map(|r| r.rating));
            match page.next_cursor {
                Some(c) => cursor = Some(krug_core::pagination::Cursor::decode(&c).unwrap()),
                None => break,
            }
        }
        out
    };
    assert_eq!(ratings_of(Sort::Newest), [4, 1, 5, 3]);
    assert_eq!(ratings_of(Sort::RatingDesc), [5, 4, 3, 1]);
    assert_eq!(ratings_of(Sort::RatingAsc), [1, 3, 4, 5]);
    let page = reads::public_page(&w.sql, &target, Sort::Newest, 10, None).unwrap();
    assert_eq!(page.items[0].author.name, "Анна П.");
    // Erasure keeps the review, anonymised.
    w.sql
        .execute(
            "UPDATE members SET first_name = NULL, last_name = NULL, phone = NULL, erased_at = ? WHERE id = ?",
            &params![krug_core::db::ts(w.now()), authors[3].id.as_str()],
        )
        .unwrap();
    let page = reads::public_page(&w.sql, &target, Sort::Newest, 10, None).unwrap();
    assert_eq!(page.items.len(), 4);
    assert_eq!(page.items[0].author.name, "Участница клуба");
}

#[test]
fn staff_reply_once_to_a_published_review_of_their_business() {
    let w = World::new();
    let s = ReviewSettings::default();
    let m = w.member();
    let (a, b) = (
        w.business("beauty", 1.0, false),
        w.business("gastronomy", 1.0, false),
    );
    let p = buy(&w, &m, &a, 10_000, &[]);
    let r = submit::create(&env(&w, &s), &m.id, &business_review(&p, 4, "ok")).unwrap();
    assert!(matches!(
        err(submit::reply(
            &env(&w, &s),
            "staff-b",
            &b.id,
            &r.id,
            "thanks"
        )),
        ReviewError::Forbidden
    ));
    let done = submit::reply(&env(&w, &s), "staff-a", &a.id, &r.id, "Спасибо!").unwrap();
    assert_eq!(done.reply.unwrap().text, "Спасибо!");
    assert!(matches!(
        err(submit::reply(
            &env(&w, &s),
            "staff-a",
            &a.id,
            &r.id,
            "again"
        )),
        ReviewError::ReplyExists
    ));
}

#[test]
fn lines_are_kept_except_for_medical_businesses_and_reviewable_follows_the_rules() {
    let w = World::new();
    let s = ReviewSettings::default();
    let m = w.member();
    let shop = w.business("floristry", 1.0, false);
    let clinic = w.business("dentistry", 1.0, true);
    let p_shop = buy(&w, &m, &shop, 100_000, &[line("ROSE"), line("TULIP")]);
    let p_clinic = buy(&w, &m, &clinic, 100_000, &[line("IMPLANT")]);
    assert_eq!(
        w.count("SELECT COUNT(*) FROM purchase_lines WHERE category = 'floristry'"),
        2
    );
    assert_eq!(
        w.count(&format!(
            "SELECT COUNT(*) FROM purchase_lines WHERE purchase_id = '{p_clinic}'"
        )),
        0
    );
    let page = |w: &World| review_purchases::page(&w.sql, &m.id, w.now(), 10, None).unwrap();
    let first = page(&w);
    assert_eq!(first.items.len(), 2);
    assert!(first.items.iter().all(|p| p.reviewable));
    let shop_view = first.items.iter().find(|p| p.id == p_shop).unwrap();
    assert_eq!(shop_view.items.len(), 2);
    // The business reviewed, a product still open: reviewable.
    submit::create(&env(&w, &s), &m.id, &business_review(&p_shop, 5, "ok")).unwrap();
    assert!(
        page(&w)
            .items
            .iter()
            .find(|p| p.id == p_shop)
            .unwrap()
            .reviewable
    );
    for sku in ["ROSE", "TULIP"] {
        let cmd = NewReview {
            kind: "product".into(),
            sku: Some(sku.into()),
            ..business_review(&p_shop, 5, "ok")
        };
        submit::create(&env(&w, &s), &m.id, &cmd).unwrap();
    }
    assert!(
        !page(&w)
            .items
            .iter()
            .find(|p| p.id == p_shop)
            .unwrap()
            .reviewable
    );
    // After 180 days nothing is reviewable.
    w.advance(Duration::days(181));
    assert!(page(&w).items.iter().all(|p| !p.reviewable));
}

#[test]
fn decisions_racing_leave_one_outcome_and_exact_ratings() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    let w = World::file(&path);
    let s = ReviewSettings::default();
    let m = w.member();
    let a = w.business("beauty", 1.0, false);
    let p = buy(&w, &m, &a, 100_000, &[]);
    let r = submit::create(
        &env(&w, &s),
        &m.id,
        &business_review(&p, 2, "СЕРВИС УЖАСНЫЙ СОВСЕМ"),
    )
    .unwrap();
    assert_eq!(r.status, "pending");
    let handles: Vec<_> = (0..8)
        .map(|i| {
            let path = path.clone();
            let id = r.id.clone();
            std::thread::spawn(move || {
                let sql = krug_core::native::NativeSql::open(&path).unwrap();
                let random = krug_core::native::SeqRandom::new(500 + i);
                let clock = krug_core::native::ManualClock::at(crate::support::t0());
                let settings = ReviewSettings::default();
                let env = ReviewEnv {
                    sql: &sql,
                    clock: &clock,
                    random: &random,
                    settings: &settings,
                    request_id: None,
                };
                let admin = Moderator {
                    member_id: format!("admin-{i}"),
                    staff_of: None,
                };
                let d = if i % 2 == 0 {
                    Decision::Publish
                } else {
                    Decision::Reject
                };
                submit::decide(&env, &admin, &id, d, Some("racing")).is_ok()
            })
        })
        .collect();
    let ok = handles
        .into_iter()
        .map(|h| h.join())
        .filter(Result::is_ok)
        .count();
    assert_eq!(ok, 8);
    assert_recount(&w, &Target::business(&a.id));
    let credits = w.count("SELECT COUNT(*) FROM ledger_entries WHERE kind = 'reward'");
    let clawbacks = w.count("SELECT COUNT(*) FROM ledger_entries WHERE kind = 'clawback'");
    assert!(
        credits <= 1 && clawbacks <= credits,
        "{credits} {clawbacks}"
    );
    w.assert_sound();
}

#[test]
fn webhook_items_become_purchase_lines_except_for_medical_businesses() {
    use krug_core::payments::{
        providers::{self, GenericEvent},
        webhook::{self, WebhookEnv},
    };
    let w = World::new();
    let m = w.member();
    let shop = w.business("floristry", 1.0, false);
    let clinic = w.business("cosmetology", 1.0, true);
    let settings = krug_core::wallet::WalletSettings::default();
    let env = WebhookEnv {
        sql: &w.sql,
        clock: &w.clock,
        random: &w.random,
        settings: &settings,
        request_id: None,
        orders: &[],
        referral: &Default::default(),
    };
    let deliver = |id: &str, business: &str| {
        let body = serde_json::json!({
            "id": format!("evt_{id}"), "type": "payment.succeeded", "created": 1,
            "data": { "payment_id": format!("pay_{id}"), "business_id": business, "amount": 120_000,
                      "currency": "RUB", "member_id": m.id,
                      "items": [{ "sku": "PEONY", "name": "Пион", "quantity": 3, "unit_price": 40_000 }] }
        });
        let e: GenericEvent = serde_json::from_value(body).unwrap();
        let event = providers::generic(&e).unwrap().unwrap();
        webhook::process(&env, &event).unwrap();
    };
    deliver("1", &shop.id);
    deliver("2", &clinic.id);
    // Redelivery: no second set of lines.
    deliver("1", &shop.id);
    assert_eq!(w.count("SELECT COUNT(*) FROM purchase_lines"), 1);
    assert_eq!(
        w.count("SELECT COUNT(*) FROM purchase_lines WHERE sku = 'PEONY' AND quantity = 3 AND category = 'floristry'"),
        1
    );
    // A bad line is refused with its path.
    let bad: GenericEvent = serde_json::from_value(serde_json::json!({
        "id": "evt_3", "type": "payment.succeeded", "created": 1,
        "data": { "payment_id": "pay_3", "business_id": shop.id, "amount": 1, "currency": "RUB",
                  "member_id": m.id, "items": [{ "sku": "", "quantity": 1, "unit_price": 1 }] }
    }))
    .unwrap();
    assert_eq!(
        providers::generic(&bad).unwrap_err().field,
        "data.items[0].sku"
    );
}
