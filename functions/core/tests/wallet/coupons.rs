//! The coupons read model: newest first, cursor pages, expiry as of the read.

use chrono::Duration;
use krug_core::{db::ts, pagination::Cursor, params, ports::Sql as _, wallet::queries};

use crate::support::World;

fn add_coupon(w: &World, member_id: &str, business_id: &str, n: i64, lifetime: Duration) -> String {
    let id = format!("00000000-0000-7000-8000-{n:012}");
    let issued = w.now() + Duration::seconds(n);
    w.sql
        .execute(
            "INSERT INTO coupons (id, member_id, business_id, title, bonus_pct, status, issued_at, expires_at) \
             VALUES (?, ?, ?, ?, 10, 'issued', ?, ?)",
            &params![id.as_str(), member_id, business_id, format!("Coupon {n}"), ts(issued), ts(issued + lifetime)],
        )
        .unwrap();
    id
}

#[test]
fn coupons_page_newest_first_and_mark_expired_ones() {
    let w = World::new();
    let m = w.member();
    let other = w.member();
    let b = w.business("floristry", 1.0, false);
    let ids: Vec<String> = (1..=3)
        .map(|n| add_coupon(&w, &m.id, &b.id, n, Duration::days(30)))
        .collect();
    add_coupon(&w, &other.id, &b.id, 4, Duration::days(30));
    let short = add_coupon(&w, &m.id, &b.id, 5, Duration::hours(1));

    let now = w.now() + Duration::hours(2);
    let first = queries::coupons_page(&w.sql, &m.id, now, 2, None).unwrap();
    let got: Vec<&str> = first.items.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(got, vec![short.as_str(), ids[2].as_str()]);
    assert_eq!(first.items[0].status, "expired");
    assert_eq!(first.items[1].status, "issued");

    let cursor = Cursor::decode(first.next_cursor.as_deref().unwrap()).unwrap();
    let second = queries::coupons_page(&w.sql, &m.id, now, 2, Some(&cursor)).unwrap();
    let got: Vec<&str> = second.items.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(got, vec![ids[1].as_str(), ids[0].as_str()]);
    assert!(second.next_cursor.is_none());

    let none = queries::coupons_page(&w.sql, &w.member().id, now, 10, None).unwrap();
    assert!(none.items.is_empty() && none.next_cursor.is_none());
}
