//! Fuzz targets (proptest) for the outside input `parsers.rs` leaves out:
//! promo schedules and their weekly time windows, and the JSON body of every
//! command core reads from a request (promos, banners, cross-promos,
//! checkouts, flags, commission rates, payment events, events, proposals,
//! registrations, preorder items, tiers, orders and upgrades, ingest
//! batches, app events, integrations).
//!
//! Every target must never panic: arbitrary bytes and arbitrary JSON give a
//! value or a typed error. Most inputs are *mutations of a valid body* (a
//! field replaced by any JSON value, removed, or an unknown one added), so
//! they get past the first type check and reach the validation and the use
//! case behind it. Use cases that write run against a migrated in-memory
//! SQLite database, and whatever they accept must read back; definitions
//! that have a wire form must round-trip through it.
//!
//! Cases come from `PROPTEST_CASES` when it is set (`scripts/reliability`
//! runs these long); otherwise each target runs a few dozen, so the file
//! stays quick in `scripts/test`. Crashes found become the `regression_*`
//! tests at the end.

// `params!` builds a Vec that is then borrowed as the statement's slice.
#![allow(clippy::useless_vec)]

#[path = "wallet/support.rs"]
#[allow(dead_code)]
mod support;

use std::cell::Cell;

use chrono::{DateTime, Datelike, Duration, TimeZone, Timelike, Utc};
use chrono_tz::Tz;
use krug_core::{
    auth::{Principal, Role},
    db::{parse_ts, ts},
    events::{
        manage::{self, EventInput, EventPatch},
        proposals::{self, ProposalInput},
        registration::{self, RegisterInput},
        ticket::TicketKey,
        EventEnv, EventSettings,
    },
    flags::{self, RawFlag, FLAGS},
    ingest::{app_events, batch, integrations},
    json::{self, JsonError},
    params,
    payments::{
        commission::{self, RawRate},
        providers::{self, GenericEvent},
    },
    ports::Sql,
    preorders::{
        admin::{self as preorder_admin, Manager as PreorderManager},
        orders::{self, RawOrder, RawUpgrade},
        rules::{self, ItemFields, RawItem, RawItemPatch, RawTier},
        PreorderEnv,
    },
    promo::{
        banners::{self, RawBanner},
        checkout::{Checkout, RawCheckout, MAX_LINES},
        coupons::{self, RawCrossPromo},
        engine,
        input::{self, RawPromo},
        model::{Conditions, Window},
        store::{self as promo_store, Manager as PromoManager, PromoEnv},
    },
    types::Id,
    wallet::{card, ledger::Actor},
};
use proptest::prelude::*;
use proptest::sample::Index;
use serde::de::DeserializeOwned;
use serde_json::{json, Map, Value};
use support::World;

/// The cases of each target: `PROPTEST_CASES` when set, else `quick`.
/// Failures are not written to files: a crash becomes a named test here.
fn config(quick: u32) -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(quick);
    ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

// ---------------------------------------------------------------------------
// Inputs.

/// Strings near the edges of what the parsers accept: times around the
/// day's ends, signs and non-ASCII digits, instants whose UTC form leaves
/// years 0000–9999, invisible characters, and the enum words the bodies use.
const EDGE_TEXT: &[&str] = &[
    "",
    " ",
    "00:00",
    "23:59",
    "24:00",
    "24:01",
    "12:60",
    "+9:00",
    "-0:30",
    "9:5",
    " 9:00",
    "09:00\n",
    "٠٩:٠٠",
    "09：00",
    "0000-01-01T00:00:00+23:59",
    "0000-01-01T00:00:00Z",
    "0001-01-01T00:00:00+23:59",
    "9999-12-31T23:59:59-23:59",
    "9999-12-31T23:59:59Z",
    "9999-12-31T23:59:59.999999999Z",
    "2026-02-30T10:00:00Z",
    "2026-01-10T12:00:00",
    "2026-01-10 12:00:00Z",
    "2026-06-01",
    "\u{202e}x",
    "\u{200b}",
    "\u{feff}",
    "Ева\u{0}",
    "home",
    "category:gastronomy",
    "category:nope",
    "https://",
    "https://x.ru/a.png",
    "/app/path",
    "//evil.example",
    "RUB",
    "payment.succeeded",
    "payment.canceled",
    "refund.succeeded",
    "yes",
    "no",
    "free",
    "paid",
    "closed",
    "app",
    "pos",
    "web",
    "insider",
    "vip",
    "inner_circle",
    "percent",
    "fixed",
    "bogo",
    "points_multiplier",
    "points",
    "coupon",
    "activation_code",
    "gift",
    "automatic",
    "pickup",
    "csv_url",
    "onec",
    "screen_view",
    "0190f0f0-0000-7000-8000-000000000001",
    "AB12CD34",
    "'; DROP TABLE members; --",
];

/// RFC 3339 instants with years and offsets at the edges.
fn instant_text() -> impl Strategy<Value = String> {
    (
        prop::sample::select(vec![
            0u32, 1, 1969, 1970, 2025, 2026, 2027, 2100, 9998, 9999,
        ]),
        1u32..=12,
        1u32..=31,
        0u32..24,
        0u32..60,
        0u32..61,
        prop::sample::select(vec!["", ".5", ".123456789"]),
        prop::sample::select(vec!["Z", "+00:00", "-23:59", "+23:59", "+03:00", "-05:00"]),
    )
        .prop_map(|(y, mo, d, h, mi, s, frac, off)| {
            format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}{frac}{off}")
        })
}

/// Times of day: valid ones, the edges, and valid ones with one character
/// changed, inserted or removed.
fn time_text() -> BoxedStrategy<String> {
    let valid = (0u16..=1440).prop_map(hhmm);
    prop_oneof![
        3 => valid.clone(),
        1 => prop::sample::select(EDGE_TEXT[..14].to_vec()).prop_map(String::from),
        2 => (valid, any::<Index>(), prop::sample::select(vec!['+', '-', ' ', '0', '9', ':', '\u{0660}', '\u{200b}', 'x']), 0u8..3)
            .prop_map(|(t, at, c, how)| {
                let mut chars: Vec<char> = t.chars().collect();
                let i = at.index(chars.len());
                match how {
                    0 => chars[i] = c,
                    1 => chars.insert(i, c),
                    _ => {
                        chars.remove(i);
                    }
                }
                chars.into_iter().collect()
            }),
        1 => text(),
    ]
    .boxed()
}

/// Text a client might send.
fn text() -> BoxedStrategy<String> {
    prop_oneof![
        "[0-9:+\\- .TZ]{0,26}",
        "[ -~]{0,40}",
        prop::sample::select(EDGE_TEXT.to_vec()).prop_map(String::from),
        instant_text(),
        any::<String>().prop_map(|s| s.chars().take(80).collect()),
    ]
    .boxed()
}

/// Numbers at the edges of the fields' ranges and of the JSON number types.
fn edge_number() -> impl Strategy<Value = Value> {
    prop_oneof![
        prop::sample::select(vec![
            json!(0),
            json!(1),
            json!(-1),
            json!(7),
            json!(8),
            json!(100),
            json!(101),
            json!(1000),
            json!(1001),
            json!(1440),
            json!(10_000),
            json!(1_000_000_000),
            json!(10_000_000_000i64),
            json!(i64::MAX),
            json!(i64::MIN),
            json!(u64::MAX),
            json!(12.5),
            json!(100.0),
            json!(-0.0),
            json!(1e300),
        ]),
        any::<i64>().prop_map(Value::from),
        (-2000i64..2000).prop_map(Value::from),
        any::<f64>().prop_filter_map("finite", |f| serde_json::Number::from_f64(f)
            .map(Value::Number)),
    ]
}

/// Any JSON value, a few levels deep.
fn json_value() -> BoxedStrategy<Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        edge_number(),
        text().prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec(("[a-z_]{1,10}", inner), 0..6)
                .prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })
    .boxed()
}

/// One change to a valid body.
#[derive(Debug, Clone)]
enum Edit {
    /// The value at a path becomes another (the whole body when the path
    /// is the root).
    Replace(Value),
    /// The value at a path goes.
    Remove,
    /// An object gains a field (or an array an element).
    Insert(String, Value),
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        5 => json_value().prop_map(Edit::Replace),
        1 => Just(Edit::Remove),
        1 => ("[a-z_]{1,12}", json_value()).prop_map(|(k, v)| Edit::Insert(k, v)),
    ]
}

fn pointer_escape(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

fn pointers(v: &Value, at: &str, out: &mut Vec<String>) {
    out.push(at.to_string());
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                pointers(x, &format!("{at}/{}", pointer_escape(k)), out);
            }
        }
        Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                pointers(x, &format!("{at}/{i}"), out);
            }
        }
        _ => {}
    }
}

fn apply(v: &mut Value, at: Index, e: Edit) {
    let mut all = Vec::new();
    pointers(v, "", &mut all);
    let p = all[at.index(all.len())].clone();
    match e {
        Edit::Replace(new) => {
            if let Some(slot) = v.pointer_mut(&p) {
                *slot = new;
            }
        }
        Edit::Remove => {
            let Some((parent, last)) = p.rsplit_once('/') else {
                return;
            };
            let key = last.replace("~1", "/").replace("~0", "~");
            match v.pointer_mut(parent) {
                Some(Value::Object(m)) => {
                    m.remove(&key);
                }
                Some(Value::Array(a)) => {
                    if let Ok(i) = key.parse::<usize>() {
                        if i < a.len() {
                            a.remove(i);
                        }
                    }
                }
                _ => {}
            }
        }
        Edit::Insert(k, new) => match v.pointer_mut(&p) {
            Some(Value::Object(m)) => {
                m.insert(k, new);
            }
            Some(Value::Array(a)) => a.push(new),
            _ => {}
        },
    }
}

/// `example` with up to three edits (none a quarter of the time).
fn mutated(example: Value) -> impl Strategy<Value = Value> {
    prop::collection::vec((any::<Index>(), edit()), 0..4).prop_map(move |edits| {
        let mut v = example.clone();
        for (at, e) in edits {
            apply(&mut v, at, e);
        }
        v
    })
}

/// One of `examples`, mutated.
fn mutated_any(examples: Vec<Value>) -> BoxedStrategy<Value> {
    prop::sample::select(examples)
        .prop_flat_map(mutated)
        .boxed()
}

/// Reads `v` as `T` both ways the adapter does (`from_slice` for a body,
/// `from_value` for a PATCH merged over a stored definition): they must
/// agree, and neither may panic.
fn read<T: DeserializeOwned>(v: &Value) -> Result<Option<T>, TestCaseError> {
    let bytes = serde_json::to_vec(v).expect("a Value always serialises");
    let a = json::from_slice::<T>(&bytes);
    let b = json::from_value::<T>(v.clone());
    match (&a, &b) {
        (Ok(_), Ok(_)) | (Err(JsonError::Invalid(_)), Err(_)) => {}
        (Err(JsonError::Malformed(m)), _) => {
            return Err(TestCaseError::fail(format!(
                "serialised JSON read as malformed: {m}"
            )))
        }
        _ => {
            return Err(TestCaseError::fail(format!(
                "the two readings disagree: from_slice ok = {}, from_value ok = {}",
                a.is_ok(),
                b.is_ok()
            )))
        }
    }
    Ok(a.ok())
}

/// The stored text form of an accepted instant reads back as the same
/// instant (what every repository relies on when it loads a row).
fn stores(at: DateTime<Utc>, what: &str) -> Result<(), TestCaseError> {
    match parse_ts(&ts(at)) {
        Ok(back) if back == at => Ok(()),
        other => Err(TestCaseError::fail(format!(
            "{what} {at:?} is stored as {:?}, which reads back as {other:?}",
            ts(at)
        ))),
    }
}

// ---------------------------------------------------------------------------
// Valid examples of each body.

const BIZ: &str = "0190f0f0-0000-7000-8000-000000000001";
const OTHER: &str = "0190f0f0-0000-7000-8000-000000000002";

fn promo_examples() -> Vec<Value> {
    vec![
        json!({"code": "SPRING-10", "name": "Весна", "kind": "percent", "value": 10, "max_discount": 50_000,
               "businesses": [BIZ],
               "conditions": {"min_subtotal": 100_000, "categories": ["gastronomy"], "skus": ["LATTE"],
                              "first_order": false, "min_tier": "vip", "channels": ["app", "pos"],
                              "schedule": {"starts_at": "2026-01-01T00:00:00Z", "ends_at": "2026-12-31T23:59:59+03:00",
                                           "weekly": [{"days": [5, 6], "from": "22:00", "to": "02:00"},
                                                      {"days": [1], "from": "09:00", "to": "24:00"}]}},
               "limits": {"total": 1000, "per_member": 2, "per_member_per_day": 1, "budget": 100_000_000},
               "stackable": true, "priority": 5, "auto": false, "active": true}),
        json!({"name": "Два по цене одного", "kind": "bogo", "buy_qty": 2, "free_qty": 1, "auto": true,
               "conditions": {"skus": ["CROISSANT"], "schedule": {"weekly": [{"days": [1, 2, 3], "from": "08:00", "to": "11:00"}]}}}),
        json!({"code": "x5", "name": "Пятикратные баллы", "kind": "points_multiplier", "value": 500,
               "limits": {"per_member": 1}}),
        json!({"code": "MINUS100", "name": "Сто рублей", "kind": "fixed", "value": 10_000}),
    ]
}

fn banner_examples() -> Vec<Value> {
    vec![
        json!({"placement": "home", "title": "Весенние скидки", "body": "До 30 %\nтолько в марте",
               "image_url": "https://cdn.krug.club/b.png", "link_url": "/promos", "priority": 10,
               "min_tier": "vip", "starts_at": "2026-03-01T00:00:00+03:00", "ends_at": "2026-03-31T21:00:00Z",
               "active": true}),
        json!({"placement": "category:beauty", "title": "Салон"}),
    ]
}

fn checkout_examples() -> Vec<Value> {
    vec![
        json!({"business_id": BIZ, "channel": "app",
               "items": [{"sku": "LATTE", "category": "gastronomy", "quantity": 2, "unit_price": 25_000},
                         {"sku": "CAKE", "category": "gastronomy", "quantity": 1, "unit_price": 40_000}],
               "promo_codes": ["SPRING-10"], "points": 1000, "order_ref": "A-17", "ref_code": "AB12CD34"}),
        json!({"business_id": BIZ, "channel": "pos", "items": [{"sku": "X", "category": "home", "quantity": 1, "unit_price": 0}]}),
    ]
}

fn generic_examples() -> Vec<Value> {
    vec![
        json!({"id": "evt_1", "type": "payment.succeeded", "created": 1_767_000_000,
               "data": {"payment_id": "pay_1", "order_ref": "A-1", "business_id": BIZ, "amount": 150_000,
                        "currency": "RUB", "member_id": OTHER, "category": "gastronomy", "ref_code": "ab12cd34",
                        "items": [{"sku": "LATTE", "name": "Латте", "quantity": 2, "unit_price": 75_000}]}}),
        json!({"id": "evt_2", "type": "refund.succeeded", "created": 1_767_000_100,
               "data": {"payment_id": "pay_1", "business_id": BIZ, "amount": 5_000, "currency": "RUB",
                        "customer_phone": "8 (999) 123-45-67", "refund_id": "re_1"}}),
    ]
}

fn event_example(now: DateTime<Utc>) -> Value {
    let starts = now + Duration::days(3);
    json!({"title": "Винный вечер", "description": "Дегустация\nс сомелье", "full_description": "Шесть вин",
           "type": "tasting", "format": "paid", "price": 150_000, "starts_at": ts(starts),
           "ends_at": ts(starts + Duration::hours(3)), "business_id": BIZ, "address": "Невский, 1",
           "capacity": 40, "min_tier": "insider", "plus_one_allowed": true,
           "program": [{"time": "19:00", "activity": "Сбор гостей"}], "speakers": [{"name": "Анна", "title": "Сомелье"}],
           "what_to_bring": ["Паспорт"], "cover_image_url": "https://cdn.krug.club/e.jpg"})
}

fn preorder_item_example(now: DateTime<Utc>) -> Value {
    json!({"business_id": BIZ, "title": "Новая коллекция", "description": "Осень",
           "release_at": ts(now + Duration::days(60)), "cancellation_deadline": ts(now + Duration::days(50)),
           "refund_policy": {"full_until": ts(now + Duration::days(20)), "partial_percent": 50,
                             "none_after": ts(now + Duration::days(40))},
           "per_member_limit": 2})
}

fn tier_example(now: DateTime<Utc>) -> Value {
    json!({"name": "Ранний", "base_price": 1_000_000, "discount_percent": 15, "max_quantity": 100,
           "early_access_days": 7, "available_from": ts(now - Duration::days(1)),
           "available_until": ts(now + Duration::days(30)), "priority": 10,
           "bonuses": [{"type": "points", "value": 5000, "delivery": "automatic"},
                       {"type": "gift", "value": "Шоппер", "delivery": "pickup"},
                       {"type": "coupon", "value": 10, "delivery": "activation_code"}]})
}

// ---------------------------------------------------------------------------
// Schedules and weekly windows.

/// A valid weekly window: days (duplicates allowed), minutes from and to.
fn window() -> impl Strategy<Value = (Vec<i64>, u16, u16)> {
    (
        prop::collection::vec(1i64..=7, 1..9),
        0u16..1440,
        0u16..=1440,
    )
        .prop_filter("a window is never empty", |(_, f, t)| f != t)
}

fn hhmm(m: u16) -> String {
    format!("{:02}:{:02}", m / 60, m % 60)
}

const ZONES: [Tz; 6] = [
    Tz::Europe__Moscow,
    Tz::Asia__Vladivostok,
    Tz::Europe__London,
    Tz::America__New_York,
    Tz::Asia__Kathmandu,
    Tz::Pacific__Chatham,
];

/// Whether `at` falls in window `w`, counted independently of the engine:
/// the window as an interval of minutes of the week, wrapping at Sunday's
/// end.
fn reference_in_window(w: &Window, at: DateTime<Utc>, tz: Tz) -> bool {
    let local = at.with_timezone(&tz);
    let week = 7 * 1440;
    let minute = i64::from(local.weekday().num_days_from_monday()) * 1440
        + i64::from(local.hour() * 60 + local.minute());
    let len = if w.to_min > w.from_min {
        i64::from(w.to_min - w.from_min)
    } else {
        i64::from(1440 - w.from_min + w.to_min)
    };
    w.days.iter().any(|d| {
        let start = (i64::from(*d) - 1) * 1440 + i64::from(w.from_min);
        (minute - start).rem_euclid(week) < len
    })
}

fn promo_with_schedule(schedule: Value) -> Value {
    json!({"name": "Счастливые часы", "kind": "fixed", "value": 100, "auto": true,
           "conditions": {"schedule": schedule}})
}

fn is_hhmm(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 5 && b[2] == b':' && [0, 1, 3, 4].iter().all(|&i| b[i].is_ascii_digit())
}

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn weekly_windows_of_any_text_parse_canonically_or_are_refused(
        days in prop::collection::vec(prop_oneof![1i64..=7, edge_number().prop_map(|v| v.as_i64().unwrap_or(0))], 0..5),
        from in time_text(),
        to in time_text(),
        extra in prop::collection::vec(window(), 0..3),
    ) {
        let mut weekly = vec![json!({"days": days, "from": from, "to": to})];
        weekly.extend(extra.iter().map(|(d, f, t)| json!({"days": d, "from": hhmm(*f), "to": hhmm(*t)})));
        let body = promo_with_schedule(json!({"weekly": weekly}));
        let raw: RawPromo = read(&body)?.expect("the body has the right shape");
        if let Ok(p) = input::parse(&raw, BIZ) {
            // What is accepted was written HH:MM in ASCII digits.
            prop_assert!(is_hhmm(from.trim()) && is_hhmm(to.trim()), "accepted {from:?}–{to:?}");
            for w in &p.conditions.schedule.weekly {
                prop_assert!(w.from_min < 1440 && w.to_min <= 1440 && w.from_min != w.to_min, "{w:?}");
                prop_assert!(!w.days.is_empty() && w.days.windows(2).all(|d| d[0] < d[1]), "{w:?}");
                prop_assert!(w.days.iter().all(|d| (1..=7).contains(d)), "{w:?}");
            }
            let w = &p.conditions.schedule.weekly[0];
            let expect = |s: &str| s.trim()[..2].parse::<u16>().unwrap() * 60 + s.trim()[3..].parse::<u16>().unwrap();
            prop_assert_eq!(w.from_min, expect(&from));
            prop_assert_eq!(w.to_min, expect(&to));
        }
    }

    #[test]
    fn valid_schedules_round_trip_and_match_a_minute_of_week_reference(
        windows in prop::collection::vec(window(), 1..5),
        at_secs in 1_700_000_000i64..1_900_000_000,
        zone in prop::sample::select(ZONES.to_vec()),
        bounds in prop::option::of((-200_000i64..200_000, 1i64..400_000)),
    ) {
        let at = Utc.timestamp_opt(at_secs, 0).unwrap();
        let mut schedule = json!({"weekly": windows.iter()
            .map(|(d, f, t)| json!({"days": d, "from": hhmm(*f), "to": hhmm(*t)}))
            .collect::<Vec<_>>()});
        if let Some((from, len)) = bounds {
            let starts = at + Duration::seconds(from);
            schedule["starts_at"] = json!(ts(starts));
            schedule["ends_at"] = json!(ts(starts + Duration::seconds(len)));
        }
        let raw: RawPromo = read(&promo_with_schedule(schedule))?.unwrap();
        let p = input::parse(&raw, BIZ).map_err(|e| TestCaseError::fail(format!("refused: {e:?}")))?;
        let s = &p.conditions.schedule;
        for (w, (d, f, t)) in s.weekly.iter().zip(&windows) {
            let mut days: Vec<u8> = d.iter().map(|x| *x as u8).collect();
            days.sort_unstable();
            days.dedup();
            prop_assert_eq!(w, &Window { days, from_min: *f, to_min: *t });
        }
        // The wire form and the stored form give back the same schedule.
        let again: RawPromo = read(&serde_json::to_value(input::raw_of(&p)).unwrap())?.unwrap();
        prop_assert_eq!(&input::parse(&again, BIZ).unwrap(), &p);
        let stored: Conditions = serde_json::from_str(&serde_json::to_string(&p.conditions).unwrap()).unwrap();
        prop_assert_eq!(&stored, &p.conditions);
        // In the schedule exactly when the reference says so.
        let inside_instants = s.starts_at.is_none_or(|b| at >= b) && s.ends_at.is_none_or(|e| at < e);
        let expected = inside_instants && s.weekly.iter().any(|w| reference_in_window(w, at, zone));
        prop_assert_eq!(engine::in_schedule(s, zone, at), expected, "{:?} in {}", at, zone);
    }

    #[test]
    fn schedule_instants_are_refused_or_stored_readably(
        starts in prop::option::of(text()),
        ends in prop::option::of(text()),
    ) {
        let body = promo_with_schedule(json!({"starts_at": starts, "ends_at": ends}));
        let raw: RawPromo = read(&body)?.unwrap();
        if let Ok(p) = input::parse(&raw, BIZ) {
            let s = &p.conditions.schedule;
            for at in s.starts_at.iter().chain(&s.ends_at) {
                stores(*at, "a schedule instant")?;
            }
            if let (Some(a), Some(b)) = (s.starts_at, s.ends_at) {
                prop_assert!(a < b);
            }
            let again: RawPromo = read(&serde_json::to_value(input::raw_of(&p)).unwrap())?.unwrap();
            prop_assert_eq!(&input::parse(&again, BIZ).map_err(|e| TestCaseError::fail(format!("{e:?}")))?, &p);
        }
    }

    #[test]
    fn schedules_are_evaluated_at_any_instant_in_any_zone(
        windows in prop::collection::vec(window(), 0..4),
        at_secs in prop_oneof![any::<i64>(), -62_000_000_000i64..253_000_000_000],
        zone in prop::sample::select(chrono_tz::TZ_VARIANTS.to_vec()),
    ) {
        let Some(at) = Utc.timestamp_opt(at_secs, 0).single() else { return Ok(()); };
        let schedule = json!({"weekly": windows.iter()
            .map(|(d, f, t)| json!({"days": d, "from": hhmm(*f), "to": hhmm(*t)}))
            .collect::<Vec<_>>()});
        let raw: RawPromo = read(&promo_with_schedule(schedule))?.unwrap();
        let p = input::parse(&raw, BIZ).unwrap();
        let _ = engine::in_schedule(&p.conditions.schedule, zone, at);
    }
}

// ---------------------------------------------------------------------------
// Bodies read without a database.

/// Bodies as bytes: noise, JSON of any shape, valid bodies cut short or with
/// a byte changed, and a few classic troublemakers.
fn body_bytes() -> BoxedStrategy<Vec<u8>> {
    let mut examples = promo_examples();
    examples.extend(banner_examples());
    examples.extend(checkout_examples());
    examples.extend(generic_examples());
    examples.push(event_example(support::t0()));
    examples.push(preorder_item_example(support::t0()));
    examples.push(tier_example(support::t0()));
    let valid: Vec<Vec<u8>> = examples
        .iter()
        .map(|v| serde_json::to_vec(v).unwrap())
        .collect();
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..200),
        json_value().prop_map(|v| serde_json::to_vec(&v).unwrap()),
        (
            prop::sample::select(valid),
            any::<Index>(),
            any::<u8>(),
            0u8..3
        )
            .prop_map(|(mut b, at, byte, how)| {
                let i = at.index(b.len());
                match how {
                    0 => b.truncate(i),
                    1 => b[i] = byte,
                    _ => b.insert(i, byte),
                }
                b
            }),
        prop::sample::select(vec![
            br#""\ud800""#.to_vec(),
            br#"{"name":"\udfff"}"#.to_vec(),
            b"\xef\xbb\xbf{}".to_vec(),
            b"[]".to_vec(),
            b"null".to_vec(),
            b"1e999999".to_vec(),
            br#"{"name":1e400}"#.to_vec(),
            br#"{"name":"a","name":"b"}"#.to_vec(),
            "[".repeat(5000).into_bytes(),
            format!("{}1{}", "{\"a\":".repeat(3000), "}".repeat(3000)).into_bytes(),
        ]),
    ]
    .boxed()
}

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn every_command_body_reads_any_bytes_as_a_value_or_a_typed_error(bytes in body_bytes()) {
        macro_rules! each {
            ($($t:ty),* $(,)?) => {
                $(
                    match json::from_slice::<$t>(&bytes) {
                        Ok(_) | Err(JsonError::Malformed(_)) | Err(JsonError::Invalid(_)) => {}
                    }
                )*
            };
        }
        each!(
            RawPromo, RawBanner, RawCrossPromo, RawCheckout, RawFlag, RawRate, GenericEvent,
            EventInput, EventPatch, ProposalInput, RegisterInput, RawItem, RawItemPatch, RawTier,
            RawOrder, RawUpgrade, Value, Map<String, Value>,
        );
    }

    #[test]
    fn promo_definitions_are_refused_or_round_trip(body in mutated_any(promo_examples())) {
        let Some(raw) = read::<RawPromo>(&body)? else { return Ok(()); };
        if let Ok(p) = input::parse(&raw, BIZ) {
            let wire = serde_json::to_value(input::raw_of(&p)).unwrap();
            let again: RawPromo = read(&wire)?.expect("the wire form reads");
            let back = input::parse(&again, BIZ).map_err(|e| TestCaseError::fail(format!("wire form refused: {e:?}")))?;
            prop_assert_eq!(&back, &p);
            let stored: Conditions = serde_json::from_str(&serde_json::to_string(&p.conditions).unwrap()).unwrap();
            prop_assert_eq!(&stored, &p.conditions);
        }
    }

    #[test]
    fn banners_are_refused_or_normalised_once(body in mutated_any(banner_examples())) {
        let Some(raw) = read::<RawBanner>(&body)? else { return Ok(()); };
        if let Ok(b) = banners::check(&raw) {
            let again = banners::check(&b).map_err(|e| TestCaseError::fail(format!("normalised form refused: {e:?}")))?;
            prop_assert_eq!(serde_json::to_value(&again).unwrap(), serde_json::to_value(&b).unwrap());
        }
    }

    #[test]
    fn checkouts_are_refused_or_within_their_limits(body in mutated_any(checkout_examples())) {
        let Some(raw) = read::<RawCheckout>(&body)? else { return Ok(()); };
        if let Ok(c) = Checkout::parse(&raw) {
            prop_assert!(!c.lines.is_empty() && c.lines.len() <= MAX_LINES);
            let subtotal: i128 = c.lines.iter().map(|l| i128::from(l.quantity) * i128::from(l.unit_price)).sum();
            prop_assert!((0..=1_000_000_000).contains(&subtotal), "{subtotal}");
            prop_assert!(c.points >= 0);
        }
    }

    #[test]
    fn flags_are_refused_or_round_trip(
        name in prop_oneof![prop::sample::select(FLAGS.iter().map(|(n, _)| n.to_string()).collect::<Vec<_>>()), text()],
        body in mutated(json!({"enabled": true, "percent": 25, "tiers": ["vip", "elite"], "businesses": [BIZ, BIZ], "members": [OTHER]})),
    ) {
        let Some(raw) = read::<RawFlag>(&body)? else { return Ok(()); };
        if let Ok(f) = flags::parse(&name, &raw) {
            let again = RawFlag {
                enabled: f.enabled,
                percent: f.percent.map(i64::from),
                tiers: Some(f.tiers.clone()),
                businesses: Some(f.businesses.clone()),
                members: Some(f.members.clone()),
            };
            prop_assert_eq!(flags::parse(&name, &again).unwrap(), f);
        }
    }

    #[test]
    fn payment_events_are_refused_ignored_or_well_formed(body in mutated_any(generic_examples())) {
        if let Some(raw) = read::<GenericEvent>(&body)? {
            if let Ok(Some(e)) = providers::generic(&raw) {
                prop_assert!(e.amount >= 1);
                prop_assert!(!e.event_id.is_empty() && !e.payment_id.is_empty());
            }
        }
        let _ = providers::yookassa_notification(&body);
        let notification = json!({"type": "notification", "event": body.get("type").cloned().unwrap_or(Value::Null), "object": body});
        let _ = providers::yookassa_notification(&notification);
    }

    #[test]
    fn preorder_items_and_tiers_are_refused_or_stored_readably(
        item in mutated(preorder_item_example(support::t0())),
        patch in mutated(json!({"title": "Зима", "release_at": ts(support::t0() + Duration::days(90)),
                                "refund_policy": {"full_until": ts(support::t0()), "partial_percent": 0, "none_after": ts(support::t0())},
                                "per_member_limit": 100})),
        tier in mutated(tier_example(support::t0())),
    ) {
        let now = support::t0();
        let check = |f: &ItemFields| -> Result<(), TestCaseError> {
            for at in [f.release_at, f.policy.full_until, f.policy.none_after, f.policy.cancellation_deadline] {
                stores(at, "a preorder item date")?;
            }
            prop_assert!(f.release_at > now && f.policy.full_until <= f.policy.none_after);
            prop_assert!(f.policy.cancellation_deadline <= f.release_at);
            Ok(())
        };
        let old = rules::item_fields(&read::<RawItem>(&preorder_item_example(now))?.unwrap(), now).unwrap();
        if let Some(raw) = read::<RawItem>(&item)? {
            if let Ok(f) = rules::item_fields(&raw, now) {
                check(&f)?;
            }
        }
        if let Some(raw) = read::<RawItemPatch>(&patch)? {
            if let Ok(f) = rules::patched(&old, &raw, now) {
                check(&f)?;
            }
        }
        if let Some(raw) = read::<RawTier>(&tier)? {
            if let Ok(t) = rules::tier_fields(&raw) {
                prop_assert!((0..=t.base_price).contains(&t.final_price));
                prop_assert!(t.available_from < t.available_until);
                stores(t.available_from, "a tier's start")?;
                stores(t.available_until, "a tier's end")?;
            }
        }
    }

    #[test]
    fn ingest_batches_reject_rows_not_the_batch(
        body in mutated(json!({"transactions": [
            {"external_id": "s1", "occurred_at": "2026-01-09T10:00:00+03:00", "amount": "1 500,50",
             "customer": {"phone": "+79991234567"}, "category": "gastronomy", "description": "Обед",
             "items": [{"sku": "tea", "quantity": 2, "unit_price": 10_000}]},
            {"external_id": 42, "occurred_at": "09.01.2026 10:00", "amount": 100, "customer": {"card_number": "2000000000008"},
             "refund_of": "s1"}]})),
        zone in prop::sample::select(ZONES.to_vec()),
    ) {
        if let Ok(rows) = batch::parse(&body, zone) {
            let n = body["transactions"].as_array().map_or(0, Vec::len);
            prop_assert_eq!(rows.len(), n);
            prop_assert!(rows.iter().enumerate().all(|(i, r)| r.row == i + 1));
        }
    }
}

// ---------------------------------------------------------------------------
// Bodies whose use case writes: run against a migrated database.

/// A migrated in-memory database with what the use cases need: a business,
/// a vip member, an event, a preorder item with two tiers, and a preorder.
struct Db {
    w: World,
    business: String,
    member: String,
    vip: String,
    event: String,
    tier: String,
    preorder: String,
    settings: EventSettings,
    key: TicketKey,
    members: Cell<u32>,
}

fn admin() -> Principal {
    Principal::Member {
        member_id: "01890a5d-ac96-774b-bcce-b302099a0001".into(),
        roles: vec![Role::Member, Role::Admin],
        business: None,
        family_id: "f".into(),
        tier: "insider".into(),
    }
}

const ADMIN_ID: &str = "01890a5d-ac96-774b-bcce-b302099a0001";

impl Db {
    fn new() -> Self {
        let w = World::new();
        let business = w.business("gastronomy", 1.0, false).id;
        let member = w.member().id;
        let vip = w.member().id;
        w.sql
            .execute(
                "UPDATE members SET tier = 'vip' WHERE id = ?",
                &params![vip.as_str()],
            )
            .unwrap();
        let settings = EventSettings::default();
        let mut db = Self {
            w,
            business,
            member,
            vip,
            event: String::new(),
            tier: String::new(),
            preorder: String::new(),
            settings,
            key: TicketKey::derive("fuzz"),
            members: Cell::new(0),
        };
        let now = db.w.now();
        let mut e = event_example(now);
        e["business_id"] = json!(db.business);
        db.event = manage::create(
            &db.events(),
            &admin(),
            &read::<EventInput>(&e).unwrap().unwrap(),
        )
        .unwrap();
        let mut item = preorder_item_example(now);
        item["business_id"] = json!(db.business);
        let manager = PreorderManager {
            admin: true,
            owner_of: None,
        };
        let item = preorder_admin::create_item(
            &db.preorders(),
            &manager,
            &read::<RawItem>(&item).unwrap().unwrap(),
        )
        .unwrap();
        let cheap = read::<RawTier>(&tier_example(now)).unwrap().unwrap();
        db.tier = preorder_admin::add_tier(&db.preorders(), &manager, &item.id, &cheap)
            .unwrap()
            .id;
        let mut dear = tier_example(now);
        dear["name"] = json!("Полный");
        dear["base_price"] = json!(2_000_000);
        preorder_admin::add_tier(
            &db.preorders(),
            &manager,
            &item.id,
            &read::<RawTier>(&dear).unwrap().unwrap(),
        )
        .unwrap();
        let order = RawOrder {
            tier_id: db.tier.clone(),
            points: None,
        };
        db.preorder = orders::place(&db.preorders(), &db.member, &order)
            .unwrap()
            .id;
        db
    }

    fn events(&self) -> EventEnv<'_> {
        EventEnv {
            sql: &self.w.sql,
            clock: &self.w.clock,
            random: &self.w.random,
            settings: &self.settings,
            request_id: None,
        }
    }

    fn preorders(&self) -> PreorderEnv<'_> {
        PreorderEnv {
            sql: &self.w.sql,
            clock: &self.w.clock,
            random: &self.w.random,
        }
    }

    /// A new member with a phone and card no other has (the shared fixture
    /// draws them at random, which collides over thousands of cases).
    fn fresh_member(&self) -> String {
        let n = self.members.get() + 1;
        self.members.set(n);
        let id = Id::at(self.w.now(), &self.w.random).to_text();
        let mut first12 = [0u8; 12];
        for (i, d) in format!("3{n:011}").bytes().enumerate() {
            first12[i] = d - b'0';
        }
        let check = card::check_digit(&first12);
        let card: String = first12
            .iter()
            .chain([&check])
            .map(|d| char::from(b'0' + d))
            .collect();
        self.w
            .sql
            .execute(
                "INSERT INTO members (id, phone, first_name, tier, card_number, referral_code, created_at) \
                 VALUES (?, ?, 'Fuzz', 'insider', ?, ?, ?)",
                &params![id.as_str(), format!("+7988{n:07}"), card.as_str(), format!("F{n:07}"), ts(self.w.now())],
            )
            .unwrap();
        id
    }

    fn promos(&self) -> PromoEnv<'_> {
        PromoEnv {
            sql: &self.w.sql,
            clock: &self.w.clock,
            random: &self.w.random,
            request_id: None,
        }
    }

    /// `v` with every mention of the placeholder business made the real one.
    fn localise(&self, v: &Value) -> Value {
        serde_json::from_str(&v.to_string().replace(BIZ, &self.business)).unwrap()
    }
}

thread_local! {
    static DB: Db = Db::new();
}

fn must_read<T, E: std::fmt::Debug>(r: Result<T, E>, what: &str) -> Result<T, TestCaseError> {
    r.map_err(|e| TestCaseError::fail(format!("{what} was accepted but does not read back: {e:?}")))
}

proptest! {
    #![proptest_config(config(96))]

    #[test]
    fn events_created_or_edited_read_back(
        mut new in mutated(event_example(support::t0())),
        time in time_text(),
        patch in mutated(json!({"title": "Новое", "starts_at": ts(support::t0() + Duration::days(4)),
                                "ends_at": ts(support::t0() + Duration::days(5)), "capacity": 80,
                                "program": [{"time": "20:00", "activity": "Ужин"}], "cover_image_url": "https://x.ru/c.jpg"})),
    ) {
        if let Some(t) = new.pointer_mut("/program/0/time") {
            *t = json!(time);
        }
        DB.with(|db| -> Result<(), TestCaseError> {
            let env = db.events();
            if let Some(b) = read::<EventInput>(&db.localise(&new))? {
                if let Ok(id) = manage::create(&env, &admin(), &b) {
                    let row = must_read(manage::load(&db.w.sql, &id), "an event")?.expect("the new event exists");
                    prop_assert!(row.starts_at < row.ends_at);
                    for p in &b.program {
                        prop_assert!(is_hhmm(p.time.trim()), "programme time {:?}", p.time);
                    }
                }
            }
            if let Some(p) = read::<EventPatch>(&patch)? {
                if manage::edit(&env, &admin(), &db.event, &p).is_ok() {
                    must_read(manage::load(&db.w.sql, &db.event), "an edited event")?;
                }
            }
            Ok(())
        })?;
    }

    #[test]
    fn proposals_and_registrations_are_refused_or_read_back(
        proposal in mutated(json!({"title": "Йога на крыше", "description": "На рассвете", "type": "wellness",
                                   "preferred_date": "2026-02-01", "business_id": BIZ, "budget_per_person": 50_000,
                                   "capacity": 20, "program": [{"time": "06:00", "activity": "Йога"}]})),
        register in mutated(json!({"plus_one": true, "dietary_restrictions": "без глютена"})),
    ) {
        DB.with(|db| -> Result<(), TestCaseError> {
            let env = db.events();
            if let Some(b) = read::<ProposalInput>(&db.localise(&proposal))? {
                if let Ok(p) = proposals::propose(&env, &db.vip, &b) {
                    must_read(proposals::get(&db.w.sql, &p.proposal_id, Some(&db.vip)), "a proposal")?;
                }
            }
            if let Some(b) = read::<RegisterInput>(&register)? {
                let member = db.fresh_member();
                if registration::register(&env, &db.key, &member, &db.event, &b).is_ok() {
                    let ev = must_read(manage::load(&db.w.sql, &db.event), "the event")?.expect("the event exists");
                    must_read(registration::mine(&db.w.sql, &db.key, &ev, &member), "a registration")?;
                }
            }
            Ok(())
        })?;
    }

    #[test]
    fn promos_and_banners_created_read_back_as_sent(
        promo in mutated_any(promo_examples()),
        banner in mutated_any(banner_examples()),
    ) {
        DB.with(|db| -> Result<(), TestCaseError> {
            let env = db.promos();
            let who = PromoManager::Admin { id: ADMIN_ID.into() };
            if let Some(raw) = read::<RawPromo>(&db.localise(&promo))? {
                if let Ok(v) = promo_store::create(&env, &who, &raw) {
                    let back = must_read(promo_store::read(&env, &who, &v.id), "a promo")?;
                    prop_assert_eq!(serde_json::to_value(&back.definition).unwrap(), serde_json::to_value(&v.definition).unwrap());
                }
            }
            if let Some(raw) = read::<RawBanner>(&banner)? {
                if let Ok(b) = banners::create(&env, &who, &raw) {
                    let back = must_read(banners::read(&env, &who, &b.id), "a banner")?;
                    prop_assert_eq!(serde_json::to_value(&back.definition).unwrap(), serde_json::to_value(&b.definition).unwrap());
                }
            }
            Ok(())
        })?;
    }

    #[test]
    fn cross_promos_and_commission_rates_are_refused_or_read_back(
        cross in mutated(json!({"from_business_id": BIZ, "to_business_id": OTHER, "title": "Кофе после стрижки",
                                "bonus_pct": 15, "min_amount": 100_000, "coupon_ttl_days": 30, "active": true})),
        rate in mutated(json!({"business_id": BIZ, "rate_bp": 300, "effective_from": "2026-02-01T00:00:00+03:00"})),
    ) {
        DB.with(|db| -> Result<(), TestCaseError> {
            let w = &db.w;
            let other = support::add_business(&w.sql, &w.random, "beauty", 1.0, false).id;
            let cross = serde_json::from_str(&db.localise(&cross).to_string().replace(OTHER, &other)).unwrap();
            if let Some(raw) = read::<RawCrossPromo>(&cross)? {
                if coupons::create_campaign(&w.sql, &w.clock, &w.random, ADMIN_ID, None, &raw).is_ok() {
                    must_read(coupons::list_campaigns(&w.sql, 5, None), "a cross-promo")?;
                }
            }
            if let Some(raw) = read::<RawRate>(&db.localise(&rate))? {
                if commission::set_rate(&w.sql, &w.clock, &w.random, ADMIN_ID, None, &raw).is_ok() {
                    must_read(commission::list_rates(&w.sql, Some(&db.business), 5, None), "a commission rate")?;
                    must_read(commission::rate_at(&w.sql, &db.business, w.now()), "the rate in force")?;
                }
            }
            Ok(())
        })?;
    }

    #[test]
    fn preorders_items_tiers_orders_and_upgrades_are_refused_or_read_back(
        item in mutated(preorder_item_example(support::t0())),
        tier in mutated(tier_example(support::t0())),
        order in mutated(json!({"tier_id": "TIER", "points": 1000})),
        upgrade in mutated(json!({"tier_id": "TIER"})),
    ) {
        DB.with(|db| -> Result<(), TestCaseError> {
            let env = db.preorders();
            let manager = PreorderManager { admin: true, owner_of: None };
            if let Some(raw) = read::<RawItem>(&db.localise(&item))? {
                if let Ok(v) = preorder_admin::create_item(&env, &manager, &raw) {
                    must_read(orders::read_item(&env, &v.id), "a preorder item")?;
                    if let Some(t) = read::<RawTier>(&tier)? {
                        if preorder_admin::add_tier(&env, &manager, &v.id, &t).is_ok() {
                            must_read(orders::read_item(&env, &v.id), "a preorder item with a new tier")?;
                        }
                    }
                }
            }
            let tier_ref = |v: &Value| serde_json::from_str::<Value>(&v.to_string().replace("TIER", &db.tier)).unwrap();
            if let Some(raw) = read::<RawOrder>(&tier_ref(&order))? {
                let member = db.fresh_member();
                if let Ok(p) = orders::place(&env, &member, &raw) {
                    must_read(orders::read(&env, &member, &p.id), "a preorder")?;
                }
            }
            if let Some(raw) = read::<RawUpgrade>(&tier_ref(&upgrade))? {
                let _ = orders::upgrade(&env, &db.member, &db.preorder, &raw);
            }
            Ok(())
        })?;
    }

    #[test]
    fn app_events_and_integrations_are_refused_or_read_back(
        events in mutated(json!({"events": [
            {"id": "0190a000-0000-7000-8000-0000000000aa", "type": "banner_click", "occurred_at": ts(support::t0() - Duration::hours(1)),
             "properties": {"banner_id": "b1", "position": 2}},
            {"type": "screen_view", "occurred_at": ts(support::t0() - Duration::minutes(5))}]})),
        integration in mutated(json!({"type": "csv_url", "settings": {"url": "https://files.example.ru/sales.csv", "authorization": "Bearer s"},
                                      "enabled": true, "since": ts(support::t0() - Duration::days(2))})),
    ) {
        DB.with(|db| -> Result<(), TestCaseError> {
            let w = &db.w;
            if let Ok(s) = app_events::store(&w.sql, &w.clock, &w.random, &db.member, &events) {
                let n = events["events"].as_array().map_or(0, Vec::len) as u64;
                prop_assert_eq!(s.accepted + s.duplicates, n);
            }
            let env = integrations::AdminEnv { sql: &w.sql, clock: &w.clock, random: &w.random, request_id: None };
            let actor = Actor { role: "admin", id: Some(ADMIN_ID.into()) };
            if integrations::put(&env, &actor, &db.business, &integration).is_ok() {
                must_read(integrations::get(&w.sql, &db.business), "an integration")?;
            }
            Ok(())
        })?;
    }
}

// ---------------------------------------------------------------------------
// Regressions: each input a target once broke on.

/// The error code of a refused promo, or `None` when it is accepted.
fn promo_refusal(body: Value) -> Option<String> {
    let raw: RawPromo = json::from_value(body).unwrap();
    input::parse(&raw, BIZ).err().map(|e| e.code.to_string())
}

#[test]
fn regression_instants_past_year_9999_in_utc_are_refused() {
    // 9999-12-31T23:59:59-23:59 is 10000-01-01T23:58:59Z: stored as
    // "+10000-…", which no reader parses, so every read of the row failed.
    for at in ["9999-12-31T23:59:59-23:59", "0000-01-01T00:00:00+23:59"] {
        assert_eq!(
            promo_refusal(promo_with_schedule(json!({ "ends_at": at }))).as_deref(),
            Some("INVALID_SCHEDULE"),
            "{at}"
        );
        let mut b = banner_examples()[1].clone();
        b["ends_at"] = json!(at);
        assert!(
            banners::check(&json::from_value(b).unwrap()).is_err(),
            "{at}"
        );
        let now = support::t0();
        let mut item = preorder_item_example(now);
        item["release_at"] = json!(at);
        assert!(
            rules::item_fields(&json::from_value(item).unwrap(), now).is_err(),
            "{at}"
        );
        let mut tier = tier_example(now);
        tier["available_until"] = json!(at);
        assert!(
            rules::tier_fields(&json::from_value(tier).unwrap()).is_err(),
            "{at}"
        );
    }
    // The last instant that is written as it reads is still fine.
    assert_eq!(
        promo_refusal(promo_with_schedule(
            json!({ "ends_at": "9999-12-31T23:59:59Z" })
        )),
        None
    );
}

#[test]
fn regression_events_and_rates_far_in_the_future_are_refused_not_stored_unreadably() {
    DB.with(|db| {
        let mut e = event_example(db.w.now());
        e["business_id"] = json!(db.business);
        e["ends_at"] = json!("9999-12-31T23:59:59-23:59");
        let input: EventInput = json::from_value(e).unwrap();
        let err = manage::create(&db.events(), &admin(), &input).unwrap_err();
        assert_eq!(krug_core::error::UseCaseError::code(&err), "INVALID_TIME");
        let rate: RawRate = json::from_value(json!({
            "business_id": db.business, "rate_bp": 300, "effective_from": "9999-12-31T23:59:59-23:59"
        }))
        .unwrap();
        let w = &db.w;
        assert!(commission::set_rate(&w.sql, &w.clock, &w.random, ADMIN_ID, None, &rate).is_err());
    });
}

#[test]
fn regression_instants_are_checked_at_the_precision_they_are_stored() {
    // Both ends fall in the same microsecond: stored, the window would be
    // empty although "until after from" was checked on the nanoseconds.
    let mut tier = tier_example(support::t0());
    tier["available_from"] = json!("2026-02-01T00:00:00.0000001Z");
    tier["available_until"] = json!("2026-02-01T00:00:00.0000009Z");
    assert!(rules::tier_fields(&json::from_value(tier).unwrap()).is_err());
    let at = krug_core::db::parse_instant("2026-02-01T10:00:00.123456789+03:00").unwrap();
    assert_eq!(ts(at), "2026-02-01T07:00:00.123456Z");
    assert_eq!(parse_ts(&ts(at)).unwrap(), at);
}

#[test]
fn regression_signed_times_in_weekly_windows_are_refused() {
    // `u16::from_str` takes a leading '+', so "+9:00" was read as 09:00.
    for (from, to) in [
        ("00:00", "+0:01"),
        ("+9:00", "18:00"),
        ("09:00", "-0:30"),
        ("+1:+1", "12:00"),
    ] {
        let body = promo_with_schedule(json!({"weekly": [{"days": [1], "from": from, "to": to}]}));
        assert_eq!(
            promo_refusal(body).as_deref(),
            Some("INVALID_SCHEDULE"),
            "{from}–{to}"
        );
    }
}

#[test]
fn regression_programme_times_are_two_pairs_of_digits() {
    // chrono's %H:%M also reads "00: 0" (a space-padded minute).
    DB.with(|db| {
        for time in ["00: 0", "0 :00", "+9:00"] {
            let mut e = event_example(db.w.now());
            e["business_id"] = json!(db.business);
            e["program"] = json!([{ "time": time, "activity": "Сбор" }]);
            let input: EventInput = json::from_value(e).unwrap();
            let err = manage::create(&db.events(), &admin(), &input).unwrap_err();
            assert_eq!(
                krug_core::error::UseCaseError::code(&err),
                "INVALID_FIELD",
                "{time}"
            );
        }
    });
}
