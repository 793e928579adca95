//! POS use cases with idempotency keys, QR tokens, caps and races.

use std::sync::Arc;

use chrono::Duration;
use krug_core::{
    error::UseCaseError,
    idempotency,
    native::{NativeSql, SeqRandom, SystemClock},
    params,
    ports::{Clock, Sql as _},
    wallet::{
        card::CardNumber,
        ledger::{self, Actor},
        member::MemberRef,
        pos::{self, CompensateCmd, Keyed, PosEnv, PurchaseCmd, RedeemCmd},
        qr::{self, QrKey},
        WalletError, WalletSettings,
    },
};

use crate::support::{staff, World, JWT_SECRET};

fn env<'a>(w: &'a World, business_id: &'a str, actor: &'a Actor) -> PosEnv<'a> {
    PosEnv {
        sql: &w.sql,
        clock: &w.clock,
        random: &w.random,
        qr_key: &w.key,
        settings: &w.settings,
        business_id,
        actor,
        request_id: Some("req-1"),
    }
}

fn key(k: &str, body: &str) -> Keyed {
    Keyed {
        key: k.into(),
        request_hash: idempotency::request_hash("POST", "/api/v1/pos/x", body.as_bytes()),
    }
}

fn qr_of(w: &World, member_id: &str) -> MemberRef {
    MemberRef::QrToken(
        qr::issue(&w.key, member_id, w.now(), &w.random)
            .unwrap()
            .token,
    )
}

fn give(w: &World, business_id: &str, member_id: &str, points: i64) {
    let a = staff();
    let e = env(w, business_id, &a);
    pos::compensate(
        &e,
        &key(&format!("give-{}", w.now().timestamp_micros()), member_id),
        &CompensateCmd {
            member: MemberRef::QrToken(
                qr::issue(&w.key, member_id, w.now(), &w.random)
                    .unwrap()
                    .token,
            ),
            points,
            reason: "setup".into(),
            order_ref: format!("setup-{points}-{}", w.now().timestamp_micros()),
        },
    )
    .unwrap();
}

#[test]
fn identify_by_qr_or_card_shows_no_phone() {
    let w = World::new();
    let m = w.member();
    let shop = w.business("beauty", 1.0, false);
    let a = staff();
    let e = env(&w, &shop.id, &a);
    let token = qr_of(&w, &m.id);
    let who = pos::identify(&e, &token).unwrap();
    assert_eq!((who.member_id.as_str(), who.available), (m.id.as_str(), 0));
    let json = serde_json::to_value(&who).unwrap();
    assert_eq!(
        json.as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect::<Vec<_>>(),
        vec!["available", "first_name", "member_id", "tier"]
    );
    let card = CardNumber::parse(m.card_number.as_deref().unwrap(), "card_number").unwrap();
    assert_eq!(
        pos::identify(&e, &MemberRef::Card(card)).unwrap().member_id,
        m.id
    );
    // A valid card number nobody holds.
    let nobody = CardNumber::parse("4006381333931", "card_number").unwrap();
    assert_eq!(
        pos::identify(&e, &MemberRef::Card(nobody))
            .unwrap_err()
            .code(),
        "MEMBER_NOT_FOUND"
    );
    // 61 s later the same token is refused; a forged one always.
    w.advance(Duration::seconds(61));
    assert!(matches!(
        pos::identify(&e, &token),
        Err(WalletError::QrExpired)
    ));
    let forged = qr::issue(&QrKey::derive("not-ours"), &m.id, w.now(), &w.random).unwrap();
    assert!(matches!(
        pos::identify(&e, &MemberRef::QrToken(forged.token)),
        Err(WalletError::QrInvalid)
    ));
}

#[test]
fn redemption_needs_a_fresh_qr_and_enough_points() {
    let w = World::new();
    let m = w.member();
    let shop = w.business("beauty", 1.0, false);
    give(&w, &shop.id, &m.id, 1_000);
    let a = staff();
    let e = env(&w, &shop.id, &a);
    let card = CardNumber::parse(m.card_number.as_deref().unwrap(), "c").unwrap();
    let by_card = RedeemCmd {
        member: MemberRef::Card(card),
        points: 100,
        order_ref: "o-1".into(),
        check_amount: None,
    };
    assert!(matches!(
        pos::redeem(&e, &key("k1", "a"), &by_card),
        Err(WalletError::QrRequired)
    ));
    let token = qr_of(&w, &m.id);
    let cmd = RedeemCmd {
        member: token.clone(),
        points: 400,
        order_ref: "o-1".into(),
        check_amount: None,
    };
    let reply = pos::redeem(&e, &key("k1", "b"), &cmd).unwrap();
    assert_eq!(
        (reply.status, reply.body["available"].as_i64()),
        (201, Some(600))
    );
    // The same key and body replays; the same key with another body is refused.
    let again = pos::redeem(&e, &key("k1", "b"), &cmd).unwrap();
    assert_eq!(again, reply);
    assert_eq!(
        pos::redeem(&e, &key("k1", "c"), &cmd).unwrap_err().code(),
        "IDEMPOTENCY_KEY_REUSED"
    );
    let too_much = RedeemCmd {
        points: 601,
        ..cmd.clone()
    };
    assert!(matches!(
        pos::redeem(&e, &key("k2", "d"), &too_much),
        Err(WalletError::InsufficientPoints { available: 600 })
    ));
    // An expired token is refused even with points to spend.
    w.advance(Duration::seconds(61));
    assert!(matches!(
        pos::redeem(&e, &key("k3", "e"), &cmd),
        Err(WalletError::QrExpired)
    ));
    assert_eq!(ledger::balance(&w.sql, &m.id).unwrap().available, 600);
    assert_eq!(w.count("SELECT COUNT(*) FROM redemptions"), 1);
    w.assert_sound();
}

#[test]
fn share_of_check_cap_applies_when_the_business_sets_one() {
    let w = World::new();
    let m = w.member();
    let shop = w.business("gastronomy", 1.0, false);
    w.sql
        .execute(
            "UPDATE businesses SET max_points_share_pct = 30 WHERE id = ?",
            &params![shop.id.as_str()],
        )
        .unwrap();
    give(&w, &shop.id, &m.id, 10_000);
    let a = staff();
    let e = env(&w, &shop.id, &a);
    let mut cmd = RedeemCmd {
        member: qr_of(&w, &m.id),
        points: 3_001,
        order_ref: "o".into(),
        check_amount: None,
    };
    assert!(matches!(
        pos::redeem(&e, &key("a", "1"), &cmd),
        Err(WalletError::CheckAmountRequired)
    ));
    cmd.check_amount = Some(10_000);
    assert!(matches!(
        pos::redeem(&e, &key("b", "2"), &cmd),
        Err(WalletError::PointsShareExceeded { max: 3_000 })
    ));
    cmd.points = 3_000;
    assert_eq!(pos::redeem(&e, &key("c", "3"), &cmd).unwrap().status, 201);
}

#[test]
fn compensations_are_capped_per_order() {
    let mut w = World::new();
    w.settings = WalletSettings {
        compensation_cap_per_order: 1_000,
        ..WalletSettings::default()
    };
    let m = w.member();
    let shop = w.business("gastronomy", 1.0, false);
    let a = staff();
    let e = env(&w, &shop.id, &a);
    let cmd = |points| CompensateCmd {
        member: MemberRef::Phone(krug_core::types::Phone::parse(&phone_of(&w, &m.id)).unwrap()),
        points,
        reason: "under-weight delivery".into(),
        order_ref: "order-7".into(),
    };
    assert_eq!(
        pos::compensate(&e, &key("1", "1"), &cmd(600))
            .unwrap()
            .status,
        201
    );
    assert!(matches!(
        pos::compensate(&e, &key("2", "2"), &cmd(401)),
        Err(WalletError::CompensationCapExceeded { remaining: 400 })
    ));
    assert_eq!(
        pos::compensate(&e, &key("3", "3"), &cmd(400))
            .unwrap()
            .status,
        201
    );
    // Compensation points are available at once.
    assert_eq!(ledger::balance(&w.sql, &m.id).unwrap().available, 1_000);
    assert_eq!(w.count("SELECT COUNT(*) FROM ledger_entries WHERE kind = 'compensation' AND reason IS NOT NULL"), 2);
    w.assert_sound();
}

fn phone_of(w: &World, id: &str) -> String {
    match &w
        .sql
        .execute("SELECT phone FROM members WHERE id = ?", &params![id])
        .unwrap()
        .rows[0][0]
    {
        krug_core::ports::SqlValue::Text(p) => p.clone(),
        other => panic!("{other:?}"),
    }
}

#[test]
fn racing_redemptions_never_overdraw() {
    let dir = tempfile::tempdir().unwrap();
    let path = Arc::new(dir.path().join("db"));
    let w = World::file(&path);
    let m = w.member();
    let shop = w.business("beauty", 1.0, false);
    give(&w, &shop.id, &m.id, 200);
    let handles: Vec<_> = (0..40)
        .map(|i| {
            let path = path.clone();
            let (member, business) = (m.id.clone(), shop.id.clone());
            std::thread::spawn(move || {
                let sql = NativeSql::open(&path).unwrap();
                let random = SeqRandom::new(1_000 + i);
                let qr_key = QrKey::derive(JWT_SECRET);
                let settings = WalletSettings::default();
                let a = staff();
                let e = PosEnv {
                    sql: &sql,
                    clock: &SystemClock,
                    random: &random,
                    qr_key: &qr_key,
                    settings: &settings,
                    business_id: &business,
                    actor: &a,
                    request_id: None,
                };
                let token = qr::issue(&qr_key, &member, SystemClock.now(), &random)
                    .unwrap()
                    .token;
                pos::redeem(
                    &e,
                    &key(&format!("r-{i}"), &i.to_string()),
                    &RedeemCmd {
                        member: MemberRef::QrToken(token),
                        points: 10,
                        order_ref: format!("o-{i}"),
                        check_amount: None,
                    },
                )
                .map(|r| r.status)
            })
        })
        .collect();
    let results: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    let ok = results.iter().filter(|r| matches!(r, Ok(201))).count();
    let refused = results
        .iter()
        .filter(|r| matches!(r, Err(WalletError::InsufficientPoints { .. })))
        .count();
    assert_eq!((ok, refused), (20, 20), "{results:?}");
    assert_eq!(ledger::balance(&w.sql, &m.id).unwrap().available, 0);
    w.assert_sound();
}

#[test]
fn racing_duplicates_of_one_purchase_record_it_once() {
    let dir = tempfile::tempdir().unwrap();
    let path = Arc::new(dir.path().join("db"));
    let w = World::file(&path);
    let m = w.member();
    let shop = w.business("beauty", 1.0, false);
    let card = m.card_number.clone().unwrap();
    let handles: Vec<_> = (0..20)
        .map(|i| {
            let path = path.clone();
            let (card, business) = (card.clone(), shop.id.clone());
            std::thread::spawn(move || {
                let sql = NativeSql::open(&path).unwrap();
                let random = SeqRandom::new(5_000 + i);
                let qr_key = QrKey::derive(JWT_SECRET);
                let settings = WalletSettings::default();
                let a = staff();
                let e = PosEnv {
                    sql: &sql,
                    clock: &SystemClock,
                    random: &random,
                    qr_key: &qr_key,
                    settings: &settings,
                    business_id: &business,
                    actor: &a,
                    request_id: None,
                };
                pos::purchase(
                    &e,
                    &key("same-key", "same-body"),
                    &PurchaseCmd {
                        member: MemberRef::Card(CardNumber::parse(&card, "c").unwrap()),
                        amount: 100_000,
                        category: None,
                        external_id: None,
                        description: None,
                        coupon_code: None,
                        ref_code: None,
                    },
                )
                .unwrap()
            })
        })
        .collect();
    let replies: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    let ids: std::collections::BTreeSet<String> = replies
        .iter()
        .map(|r| r.body["purchase_id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(ids.len(), 1);
    assert!(replies.iter().all(|r| r.status == 201));
    assert_eq!(w.count("SELECT COUNT(*) FROM purchases"), 1);
    assert_eq!(ledger::balance(&w.sql, &m.id).unwrap().pending, 7_500);
    w.assert_sound();
}
