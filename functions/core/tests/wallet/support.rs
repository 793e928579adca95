//! Shared fixtures: a migrated database, members, businesses and a clock.

use std::path::Path;

use chrono::{DateTime, Duration, TimeZone, Utc};
use krug_core::{
    db::immediate,
    migrate,
    native::{ManualClock, NativeSql, SeqRandom, SystemClock},
    params,
    ports::{Clock, Sql},
    types::Id,
    wallet::{
        cashback::Ratio,
        invariants,
        ledger::Actor,
        member::{self, Business, Member},
        purchases::{self, NewPurchase, NewRefund, Recorded, Refunded, Source},
        qr::QrKey,
        WalletSettings,
    },
};

pub const JWT_SECRET: &str = "test-secret";

pub fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 10, 12, 0, 0).unwrap()
}

/// A migrated database with a manual clock and deterministic randomness.
pub struct World {
    pub sql: NativeSql,
    pub clock: ManualClock,
    pub random: SeqRandom,
    pub settings: WalletSettings,
    pub key: QrKey,
}

pub fn migrate_db(sql: &NativeSql) {
    migrate::migrate(sql, &SystemClock).unwrap();
}

impl World {
    pub fn new() -> Self {
        Self::on(NativeSql::memory().unwrap())
    }

    pub fn file(path: &Path) -> Self {
        Self::on(NativeSql::open(path).unwrap())
    }

    fn on(sql: NativeSql) -> Self {
        migrate_db(&sql);
        Self {
            sql,
            clock: ManualClock::at(t0()),
            random: SeqRandom::new(7),
            settings: WalletSettings::default(),
            key: QrKey::derive(JWT_SECRET),
        }
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    pub fn advance(&self, by: Duration) {
        self.clock.advance(by);
    }

    pub fn member(&self) -> Member {
        add_member(&self.sql, &self.random)
    }

    pub fn business(&self, category: &str, multiplier: f64, medical: bool) -> Business {
        add_business(&self.sql, &self.random, category, multiplier, medical)
    }

    pub fn reload(&self, id: &str) -> Member {
        member::by_id(&self.sql, id).unwrap().unwrap()
    }

    pub fn assert_sound(&self) {
        let bad = invariants::check(&self.sql).unwrap();
        assert!(bad.is_empty(), "invariants violated:\n{}", bad.join("\n"));
    }

    pub fn count(&self, query: &str) -> i64 {
        match &self.sql.execute(query, &[]).unwrap().rows[0][0] {
            krug_core::ports::SqlValue::Integer(i) => *i,
            other => panic!("not an integer: {other:?}"),
        }
    }
}

pub fn staff() -> Actor {
    Actor {
        role: "staff",
        id: Some("staff-1".into()),
    }
}

/// Inserts a member the way registration does (card number included).
pub fn add_member(sql: &dyn Sql, random: &dyn krug_core::ports::Random) -> Member {
    let id = Id::at(t0(), random).to_text();
    let mut digits = [0u8; 12];
    random.fill(&mut digits);
    let mut first12 = [0u8; 12];
    for (d, r) in first12.iter_mut().zip(digits) {
        *d = r % 10;
    }
    first12[0] = 2;
    let check = krug_core::wallet::card::check_digit(&first12);
    let card: String = first12
        .iter()
        .chain(std::iter::once(&check))
        .map(|d| char::from(b'0' + d))
        .collect();
    let phone = format!(
        "+7999{:07}",
        u32::from_le_bytes([digits[0], digits[1], digits[2], 0]) % 10_000_000
    );
    sql.execute(
        "INSERT INTO members (id, phone, first_name, tier, card_number, referral_code, created_at) \
         VALUES (?, ?, 'Anna', 'insider', ?, ?, ?)",
        &params![id.as_str(), phone, card.as_str(), format!("R{}", &id[id.len() - 8..]), krug_core::db::ts(t0())],
    )
    .unwrap();
    member::by_id(sql, &id).unwrap().unwrap()
}

/// Inserts a business the way the admin route does.
pub fn add_business(
    sql: &dyn Sql,
    random: &dyn krug_core::ports::Random,
    category: &str,
    multiplier: f64,
    medical: bool,
) -> Business {
    let id = Id::at(t0(), random).to_text();
    sql.execute(
        "INSERT INTO businesses (id, name, category, timezone, points_multiplier, medical, created_at) \
         VALUES (?, ?, ?, 'Europe/Moscow', ?, ?, ?)",
        &[
            id.as_str().into(),
            format!("Shop {}", &id[..8]).into(),
            category.into(),
            krug_core::ports::SqlValue::Real(multiplier),
            medical.into(),
            krug_core::db::ts(t0()).into(),
        ],
    )
    .unwrap();
    member::business(sql, &id).unwrap().unwrap()
}

/// A plain POS sale by `member` at `business` (no promo, coupon or code).
pub fn pos_sale(member: &Member, business: &Business, amount: i64) -> NewPurchase {
    NewPurchase {
        member: member.clone(),
        business: business.clone(),
        amount,
        category: None,
        external_id: None,
        description: None,
        source: Source::Pos,
        promo_multiplier: Ratio::ONE,
        coupon_code: None,
        actor: staff(),
        request_id: None,
        ref_code: None,
        paid_at: None,
    }
}

impl World {
    /// Records `sale` in its own transaction.
    pub fn record(&self, sale: &NewPurchase) -> Recorded {
        immediate(&self.sql, |tx| {
            purchases::record(tx, &self.clock, &self.random, &self.settings, sale)
        })
        .unwrap()
    }

    /// Refunds `amount` of `purchase_id` as `actor`, in its own transaction.
    pub fn refund(&self, purchase_id: &str, amount: i64, actor: Actor) -> Refunded {
        immediate(&self.sql, |tx| {
            purchases::refund(
                tx,
                &self.clock,
                &self.random,
                &NewRefund {
                    purchase_id: purchase_id.to_string(),
                    amount,
                    external_id: None,
                    actor: actor.clone(),
                },
            )
        })
        .unwrap()
    }
}
