//! The referral program against real SQLite: capture, every rejection
//! reason, caps at their boundaries, the refund hold, auto and manual
//! payouts, vouchers, the badge, and racing settlements.

// `params!` builds a Vec that is then borrowed as the statement's slice.
#![allow(clippy::useless_vec)]

#[path = "wallet/support.rs"]
#[allow(dead_code)]
mod support;

use std::sync::Arc;

use chrono::Duration;
use krug_core::{
    db::immediate,
    error::UseCaseError,
    native::{NativeSql, SeqRandom, SystemClock},
    params,
    ports::Sql as _,
    referral::{
        reads::{self, Filter},
        rules::{self, ReferralEnv, Source},
        PayoutMode, Reason, ReferralSettings, RewardType,
    },
    wallet::{
        cashback::Ratio,
        ledger,
        member::{Business, Member},
        purchases::{self, NewPurchase, NewRefund, Source as PurchaseSource},
    },
};
use support::{staff, World};

fn settings(mode: PayoutMode) -> ReferralSettings {
    ReferralSettings {
        payout_mode: mode,
        daily_cap: 3,
        monthly_cap: 5,
        ..ReferralSettings::default()
    }
}

fn env<'a>(w: &'a World, s: &'a ReferralSettings) -> ReferralEnv<'a> {
    ReferralEnv {
        sql: &w.sql,
        clock: &w.clock,
        random: &w.random,
        settings: s,
        request_id: None,
    }
}

fn code_of(w: &World, m: &Member) -> String {
    w.sql
        .execute(
            "SELECT referral_code FROM members WHERE id = ?",
            &params![m.id.as_str()],
        )
        .unwrap()
        .first()
        .unwrap()
        .text("referral_code")
        .unwrap()
}

fn capture(
    w: &World,
    s: &ReferralSettings,
    referred: &Member,
    code: &str,
) -> Option<rules::Captured> {
    immediate(&w.sql, |tx| {
        rules::capture(
            tx,
            w.now(),
            &w.random,
            s,
            &referred.id,
            code,
            Source::Registration,
        )
    })
    .unwrap()
}

// A paid purchase, settled the way the till settles it.
fn buy(
    w: &World,
    s: &ReferralSettings,
    m: &Member,
    b: &Business,
    amount: i64,
    ref_code: Option<&str>,
) -> String {
    let m = w.reload(&m.id);
    let id = immediate(&w.sql, |tx| {
        purchases::record_with_lines(
            tx,
            &w.clock,
            &w.random,
            &w.settings,
            &NewPurchase {
                member: m.clone(),
                business: b.clone(),
                amount,
                category: None,
                external_id: None,
                description: None,
                source: PurchaseSource::Pos,
                promo_multiplier: Ratio::ONE,
                coupon_code: None,
                actor: staff(),
                request_id: None,
                ref_code: ref_code.map(str::to_string),
                paid_at: None,
            },
            &[],
        )
    })
    .unwrap()
    .purchase_id;
    rules::settle_purchase_now(&env(w, s), &id).unwrap();
    id
}

fn refund(w: &World, purchase: &str, amount: i64) {
    immediate(&w.sql, |tx| {
        purchases::refund(
            tx,
            &w.clock,
            &w.random,
            &NewRefund {
                purchase_id: purchase.into(),
                amount,
                external_id: None,
                actor: staff(),
            },
        )
    })
    .unwrap();
}

fn state(w: &World, referred: &Member) -> (String, Option<String>) {
    let rows = w
        .sql
        .execute(
            "SELECT state, reason FROM referrals WHERE referred_id = ? ORDER BY created_at DESC, id DESC LIMIT 1",
            &params![referred.id.as_str()],
        )
        .unwrap();
    let r = rows.first().unwrap();
    (r.text("state").unwrap(), r.opt_text("reason").unwrap())
}

fn rewards(w: &World, m: &Member) -> i64 {
    w.count(&format!(
        "SELECT COALESCE(SUM(amount), 0) FROM ledger_entries WHERE member_id = '{}' AND kind = 'reward'",
        m.id
    ))
}

#[test]
fn a_qualifying_purchase_rewards_both_after_the_hold_and_only_once() {
    let w = World::new();
    let s = settings(PayoutMode::Auto);
    let shop = w.business("gastronomy", 1.0, false);
    let (a, b) = (w.member(), w.member());
    let c = capture(&w, &s, &b, &code_of(&w, &a)).unwrap();
    assert_eq!((c.state, c.reason), ("tracked", None));
    // Below the minimum: still tracked.
    buy(&w, &s, &b, &shop, 99_999, None);
    assert_eq!(state(&w, &b).0, "tracked");
    buy(&w, &s, &b, &shop, 100_000, None);
    assert_eq!(state(&w, &b).0, "paid");
    // A second qualifying purchase changes nothing.
    buy(&w, &s, &b, &shop, 300_000, None);
    let e = env(&w, &s);
    assert_eq!(rules::settle_due(&e).unwrap().rewarded, 0, "on hold");
    w.advance(Duration::days(14));
    let r = rules::settle_due(&e).unwrap();
    assert_eq!(r.rewarded, 1);
    assert_eq!(state(&w, &b).0, "rewarded");
    assert_eq!(rewards(&w, &a), 50_000);
    assert_eq!(rewards(&w, &b), 25_000);
    assert_eq!(
        rules::settle_due(&e).unwrap(),
        Default::default(),
        "a second run pays nothing"
    );
    assert_eq!(rewards(&w, &a), 50_000);
    let me = reads::me(&w.sql, &s, &a.id).unwrap();
    assert_eq!(
        (me.invited, me.converted, me.rewarded, me.pending_rewards),
        (1, 1, 1, 0)
    );
    assert!(me.link.ends_with(&me.code));
    w.assert_sound();
}

#[test]
fn a_refund_within_the_hold_rejects_and_after_it_the_reward_stays() {
    let w = World::new();
    let s = settings(PayoutMode::Auto);
    let shop = w.business("gastronomy", 1.0, false);
    let (a, b, c) = (w.member(), w.member(), w.member());
    capture(&w, &s, &b, &code_of(&w, &a));
    let p = buy(&w, &s, &b, &shop, 150_000, None);
    w.advance(Duration::days(3));
    // Partly refunded below the minimum within the hold.
    refund(&w, &p, 60_000);
    w.advance(Duration::days(11));
    assert_eq!(rules::settle_due(&env(&w, &s)).unwrap().rejected, 1);
    assert_eq!(state(&w, &b), ("rejected".into(), Some("refunded".into())));
    assert_eq!(rewards(&w, &a), 0);
    // After the hold the reward stands whatever the refund.
    capture(&w, &s, &c, &code_of(&w, &a));
    let p = buy(&w, &s, &c, &shop, 150_000, None);
    w.advance(Duration::days(14));
    rules::settle_due(&env(&w, &s)).unwrap();
    refund(&w, &p, 150_000);
    rules::settle_due(&env(&w, &s)).unwrap();
    assert_eq!(state(&w, &c).0, "rewarded");
    assert_eq!(rewards(&w, &a), 50_000);
    w.assert_sound();
}

#[test]
fn every_rejection_reason_is_kept() {
    let w = World::new();
    let s = ReferralSettings {
        excluded_domains: vec!["test.ru".into()],
        ..settings(PayoutMode::Auto)
    };
    let shop = w.business("gastronomy", 1.0, false);
    let a = w.member();
    let code = code_of(&w, &a);
    // Self-referral.
    assert_eq!(
        capture(&w, &s, &a, &code).unwrap().reason,
        Some(Reason::SelfReferral)
    );
    // A shared device.
    let b = w.member();
    let device = rules::device_hash("device-1").unwrap();
    rules::remember_device(&w.sql, &a.id, &device, w.now()).unwrap();
    rules::remember_device(&w.sql, &b.id, &device, w.now()).unwrap();
    assert_eq!(
        capture(&w, &s, &b, &code).unwrap().reason,
        Some(Reason::SameDevice)
    );
    // The same e-mail.
    let c = w.member();
    for (m, e) in [(&a, "anna@mail.ru"), (&c, "ANNA@mail.ru")] {
        w.sql
            .execute(
                "UPDATE members SET email = ? WHERE id = ?",
                &params![e, m.id.as_str()],
            )
            .unwrap();
    }
    assert_eq!(
        capture(&w, &s, &c, &code).unwrap().reason,
        Some(Reason::SameEmail)
    );
    // Already referred by someone else.
    let (d, other) = (w.member(), w.member());
    assert_eq!(
        capture(&w, &s, &d, &code_of(&w, &other)).unwrap().state,
        "tracked"
    );
    assert_eq!(
        capture(&w, &s, &d, &code).unwrap().reason,
        Some(Reason::AlreadyReferred)
    );
    assert!(
        capture(&w, &s, &d, &code_of(&w, &other)).is_none(),
        "the same pair twice is one row"
    );
    // An excluded domain that appears before the qualifying purchase.
    let e = w.member();
    assert_eq!(capture(&w, &s, &e, &code).unwrap().state, "tracked");
    w.sql
        .execute(
            "UPDATE members SET email = 'e@Test.RU' WHERE id = ?",
            &params![e.id.as_str()],
        )
        .unwrap();
    buy(&w, &s, &e, &shop, 100_000, None);
    assert_eq!(
        state(&w, &e),
        ("rejected".into(), Some("excluded_domain".into()))
    );
    // Unknown or erased codes capture nothing.
    let f = w.member();
    assert!(capture(&w, &s, &f, "ZZZZZZZZ").is_none());
    w.sql
        .execute("UPDATE members SET erased_at = '2026-01-01T00:00:00.000000Z', referral_code = NULL WHERE id = ?", &params![other.id.as_str()])
        .unwrap();
    assert!(capture(&w, &s, &f, &code_of(&w, &a)).is_some());
    // The erased referrer's tracked referral is rejected at its purchase.
    buy(&w, &s, &d, &shop, 100_000, None);
    let reason = w
        .sql
        .execute(
            "SELECT reason FROM referrals WHERE referred_id = ? AND referrer_id = ?",
            &params![d.id.as_str(), other.id.as_str()],
        )
        .unwrap()
        .first()
        .unwrap()
        .opt_text("reason")
        .unwrap();
    assert_eq!(reason.as_deref(), Some("erased"));
    let all = reads::list(&w.sql, &Filter::default(), None, 100).unwrap();
    assert_eq!(all.totals.rejected, 6);
    assert!(all
        .page
        .items
        .iter()
        .filter(|v| v.state == "rejected")
        .all(|v| v.reason.is_some()));
}

#[test]
fn caps_admit_the_nth_referral_and_refuse_the_next() {
    let w = World::new();
    let s = settings(PayoutMode::Auto); // 3 a day, 5 a month
    let shop = w.business("gastronomy", 1.0, false);
    let a = w.member();
    let code = code_of(&w, &a);
    let mut friends = Vec::new();
    for _ in 0..4 {
        let f = w.member();
        capture(&w, &s, &f, &code);
        buy(&w, &s, &f, &shop, 100_000, None);
        friends.push(f);
    }
    let states: Vec<_> = friends.iter().map(|f| state(&w, f)).collect();
    assert_eq!(states[2].0, "paid", "the 3rd of the day is admitted");
    assert_eq!(states[3], ("rejected".into(), Some("daily_cap".into())));
    w.advance(Duration::days(1));
    for _ in 0..3 {
        let f = w.member();
        capture(&w, &s, &f, &code);
        buy(&w, &s, &f, &shop, 100_000, None);
        friends.push(f);
    }
    assert_eq!(
        state(&w, &friends[5]).0,
        "paid",
        "the 5th of the month is admitted"
    );
    assert_eq!(
        state(&w, &friends[6]),
        ("rejected".into(), Some("monthly_cap".into()))
    );
}

#[test]
fn manual_payouts_wait_for_an_admin_and_never_pay_twice() {
    let w = World::new();
    let manual = settings(PayoutMode::Manual);
    let shop = w.business("gastronomy", 1.0, false);
    let (a, b, c) = (w.member(), w.member(), w.member());
    capture(&w, &manual, &b, &code_of(&w, &a));
    capture(&w, &manual, &c, &code_of(&w, &a));
    buy(&w, &manual, &b, &shop, 100_000, None);
    buy(&w, &manual, &c, &shop, 100_000, None);
    let e = env(&w, &manual);
    let id_of = |m: &Member| {
        w.sql
            .execute(
                "SELECT id FROM referrals WHERE referred_id = ?",
                &params![m.id.as_str()],
            )
            .unwrap()
            .first()
            .unwrap()
            .text("id")
            .unwrap()
    };
    assert_eq!(
        rules::payout(&e, "admin-1", &id_of(&b)).unwrap_err().code(),
        "REFERRAL_NOT_DUE"
    );
    w.advance(Duration::days(14));
    assert_eq!(rules::settle_due(&e).unwrap().awaiting_payout, 2);
    assert_eq!(rewards(&w, &a), 0, "manual mode pays nothing by itself");
    assert_eq!(
        reads::me(&w.sql, &manual, &a.id).unwrap().pending_rewards,
        2
    );
    let paid = rules::payout(&e, "admin-1", &id_of(&b)).unwrap();
    assert_eq!(
        (paid.state.as_str(), paid.payout.as_deref()),
        ("rewarded", Some("manual"))
    );
    assert_eq!(paid.paid_out_by.as_deref(), Some("admin-1"));
    assert_eq!(
        rules::payout(&e, "admin-1", &id_of(&b)).unwrap_err().code(),
        "REFERRAL_ALREADY_PAID"
    );
    assert_eq!(rewards(&w, &a), 50_000);
    // Switching to auto pays the one still waiting, once.
    let auto = settings(PayoutMode::Auto);
    assert_eq!(rules::settle_due(&env(&w, &auto)).unwrap().rewarded, 1);
    assert_eq!(rules::settle_due(&env(&w, &auto)).unwrap().rewarded, 0);
    assert_eq!(rewards(&w, &a), 100_000);
    assert_eq!(
        w.count("SELECT COUNT(*) FROM audit_log WHERE action = 'referral.rewarded'"),
        2
    );
    // A rejected referral is never paid.
    let d = w.member();
    assert_eq!(
        capture(&w, &manual, &d, &code_of(&w, &d)).unwrap().reason,
        Some(Reason::SelfReferral)
    );
    assert_eq!(
        rules::payout(&e, "admin-1", &id_of(&d)).unwrap_err().code(),
        "REFERRAL_REJECTED"
    );
    assert_eq!(
        rules::payout(&e, "admin-1", "0190f0f0-0000-7000-8000-000000000000")
            .unwrap_err()
            .code(),
        "REFERRAL_NOT_FOUND"
    );
    w.assert_sound();
}

#[test]
fn a_voucher_reward_is_a_single_use_promo_and_three_rewards_earn_the_badge() {
    let w = World::new();
    let s = ReferralSettings {
        reward_type: RewardType::Voucher,
        ..settings(PayoutMode::Auto)
    };
    let shop = w.business("gastronomy", 1.0, false);
    let a = w.member();
    for _ in 0..3 {
        let f = w.member();
        capture(&w, &s, &f, &code_of(&w, &a));
        buy(&w, &s, &f, &shop, 100_000, None);
    }
    w.advance(Duration::days(14));
    assert_eq!(rules::settle_due(&env(&w, &s)).unwrap().rewarded, 3);
    assert_eq!(rewards(&w, &a), 0, "the referrer gets vouchers, not points");
    let vouchers = w.sql
        .execute("SELECT p.kind, p.value, p.limit_total, p.code FROM promos p JOIN referrals r ON r.voucher_code = p.code", &[])
        .unwrap();
    assert_eq!(vouchers.len(), 3);
    for v in vouchers.iter() {
        assert_eq!(
            (
                v.text("kind").unwrap().as_str(),
                v.i64("value").unwrap(),
                v.i64("limit_total").unwrap()
            ),
            ("fixed", 50_000, 1)
        );
        assert!(v.text("code").unwrap().starts_with("REF-"));
    }
    assert_eq!(
        w.count(&format!(
            "SELECT COUNT(*) FROM member_badges WHERE member_id = '{}' AND badge = 'ambassador'",
            a.id
        )),
        1
    );
}

#[test]
fn a_first_purchase_with_a_code_captures_the_referral() {
    let w = World::new();
    let s = settings(PayoutMode::Auto);
    let shop = w.business("gastronomy", 1.0, false);
    let (a, b, c) = (w.member(), w.member(), w.member());
    buy(&w, &s, &b, &shop, 120_000, Some(&code_of(&w, &a)));
    let v = reads::list(&w.sql, &Filter::default(), None, 10)
        .unwrap()
        .page
        .items;
    assert_eq!(
        (v[0].source.as_str(), v[0].state.as_str()),
        ("purchase", "paid")
    );
    // Only the first purchase's code counts.
    buy(&w, &s, &c, &shop, 120_000, None);
    w.advance(Duration::minutes(5));
    buy(&w, &s, &c, &shop, 120_000, Some(&code_of(&w, &a)));
    assert_eq!(
        w.count(&format!(
            "SELECT COUNT(*) FROM referrals WHERE referred_id = '{}'",
            c.id
        )),
        0
    );
}

#[test]
fn racing_settlements_pay_one_reward_pair() {
    let dir = tempfile::tempdir().unwrap();
    let path = Arc::new(dir.path().join("db"));
    let w = World::file(&path);
    let s = settings(PayoutMode::Auto);
    let shop = w.business("gastronomy", 1.0, false);
    let (a, b) = (w.member(), w.member());
    capture(&w, &s, &b, &code_of(&w, &a));
    buy(&w, &s, &b, &shop, 200_000, None);
    // Past the hold on the wall clock the threads use.
    w.sql
        .execute(
            "UPDATE referrals SET hold_until = '2000-01-01T00:00:00.000000Z'",
            &[],
        )
        .unwrap();
    let handles: Vec<_> = (0..8)
        .map(|i| {
            let path = Arc::clone(&path);
            let (member, s) = (b.id.clone(), s.clone());
            std::thread::spawn(move || {
                let sql = NativeSql::open(&path).unwrap();
                let random = SeqRandom::new(300 + i);
                let e = ReferralEnv {
                    sql: &sql,
                    clock: &SystemClock,
                    random: &random,
                    settings: &s,
                    request_id: None,
                };
                rules::settle_member_now(&e, &member).unwrap();
                rules::settle_due(&e).unwrap().rewarded
            })
        })
        .collect();
    let paid: u64 = handles.into_iter().map(|h| h.join().unwrap()).sum();
    assert_eq!(paid, 1);
    assert_eq!(rewards(&w, &a), 50_000);
    assert_eq!(rewards(&w, &b), 25_000);
    assert_eq!(ledger::balance(&w.sql, &a.id).unwrap().available, 50_000);
    w.assert_sound();
}

#[test]
fn device_ids_are_checked_and_hashed() {
    assert_eq!(rules::device_hash(" abc-123 ").unwrap().len(), 64);
    for bad in ["", "   ", "a b", "тест", &"x".repeat(129)] {
        assert!(rules::device_hash(bad).is_err(), "{bad:?}");
    }
    assert!(Filter::parse(Some("lost"), None, None, None).is_err());
    assert!(Filter::parse(
        None,
        Some("2026-02-01T00:00:00Z"),
        Some("2026-01-01T00:00:00Z"),
        None
    )
    .is_err());
    assert!(Filter::parse(None, Some("yesterday"), None, None).is_err());
    assert!(Filter::parse(None, None, None, Some("../x")).is_err());
}

#[test]
fn the_export_is_rfc_4180_with_a_bom() {
    let w = World::new();
    let s = settings(PayoutMode::Auto);
    let (a, b) = (w.member(), w.member());
    capture(&w, &s, &b, &code_of(&w, &a));
    capture(&w, &s, &a, &code_of(&w, &a));
    let csv = reads::export_csv(&w.sql, &Filter::default()).unwrap();
    assert!(csv.starts_with("\u{feff}id,created_at,state,reason,"));
    let lines: Vec<&str> = csv.trim_end_matches("\r\n").split("\r\n").collect();
    assert_eq!(lines.len(), 3);
    assert!(lines[1..]
        .iter()
        .all(|l| l.split(',').count() == reads::CSV_COLUMNS.len()));
    assert!(csv.contains(",rejected,self_referral,"));
}
