//! Checkout: quotes, reservations (15-minute holds of promo uses, budget
//! and points), commit through the purchase pipeline, release, expiry, and
//! the brute-force limit on unknown codes.
//!
//! Every reservation is decided inside one `BEGIN IMMEDIATE` transaction
//! that reads the promos' usage (committed + live holds) and writes the new
//! holds, so however many checkouts race, committed plus held uses never
//! exceed a promo's limits.

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::engine::{self, CartLine, MemberFacts, Quote, QuoteInput};
use super::error::PromoError;
use super::input::sku;
use super::model::{Channel, Usage};
use super::store::{self, PromoEnv};
use super::uses::{self, Freed};
use crate::db::{immediate, parse_ts, ts};
use crate::error::InvalidValue;
use crate::params;
use crate::ports::{Sql, StoreError};
use crate::types::{Id, Kopecks};
use crate::wallet::cashback::{first_purchase_bonus, Ratio};
use crate::wallet::ledger::{Actor, LedgerError};
use crate::wallet::member::{self, Business};
use crate::wallet::purchases::{self, NewPurchase, Source};
use crate::wallet::{Category, WalletSettings};

/// A reservation holds for this long.
pub const HOLD_MINUTES: i64 = 15;
/// Most lines in one cart.
pub const MAX_LINES: usize = 500;
/// Most codes in one checkout.
pub const MAX_CODES: usize = 10;
/// Unknown codes a member or an IP may try per hour.
pub const MAX_UNKNOWN_CODES_PER_HOUR: i64 = 10;

/// A cart line as sent.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawItem {
    /// SKU.
    pub sku: String,
    /// Category slug.
    pub category: String,
    /// Units (1–10 000).
    pub quantity: i64,
    /// Kopecks per unit (0–10 000 000 ₽).
    pub unit_price: i64,
}

/// `POST /checkout/quote` and (with `order_ref`) `POST /checkout/reservations`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCheckout {
    /// The business.
    pub business_id: String,
    /// `app`, `pos` or `web`.
    pub channel: String,
    /// Lines.
    pub items: Vec<RawItem>,
    /// Codes typed.
    #[serde(default)]
    pub promo_codes: Vec<String>,
    /// Points to spend.
    #[serde(default)]
    pub points: Option<i64>,
    /// The business's order id (reservations only).
    #[serde(default)]
    pub order_ref: Option<String>,
    /// The referral code the buyer came with (reservations only).
    #[serde(default)]
    pub ref_code: Option<String>,
}

/// A checked checkout request.
#[derive(Debug, Clone)]
pub struct Checkout {
    /// Business id.
    pub business_id: String,
    /// Channel.
    pub channel: Channel,
    /// Lines.
    pub lines: Vec<CartLine>,
    /// Codes as typed (trimmed, duplicates kept for the engine to fold).
    pub codes: Vec<String>,
    /// Points to spend.
    pub points: i64,
    /// Order id.
    pub order_ref: Option<String>,
    /// Referral code (format checked, upper case).
    pub ref_code: Option<String>,
}

impl Checkout {
    /// Checks a request. Carts are capped at [`MAX_LINES`] lines and the
    /// subtotal at 10 000 000 ₽.
    pub fn parse(raw: &RawCheckout) -> Result<Self, InvalidValue> {
        let business_id = Id::parse(&raw.business_id, "business_id")?.to_text();
        let channel = Channel::parse(raw.channel.trim()).ok_or_else(|| {
            InvalidValue::new("INVALID_CHANNEL", "channel", "channel is app, pos or web")
        })?;
        if raw.items.is_empty() {
            return Err(InvalidValue::new(
                "INVALID_FIELD",
                "items",
                "a cart needs at least one item",
            ));
        }
        if raw.items.len() > MAX_LINES {
            return Err(InvalidValue::new(
                "TOO_MANY_ITEMS",
                "items",
                format!("a cart has at most {MAX_LINES} lines"),
            ));
        }
        let mut subtotal: i64 = 0;
        let mut lines = Vec::with_capacity(raw.items.len());
        for (i, it) in raw.items.iter().enumerate() {
            if !(1..=10_000).contains(&it.quantity) {
                return Err(InvalidValue::new(
                    "INVALID_QUANTITY",
                    format!("items[{i}].quantity"),
                    "quantity is an integer from 1 to 10000",
                ));
            }
            if !(0..=Kopecks::MAX_AMOUNT.get()).contains(&it.unit_price) {
                return Err(InvalidValue::new(
                    "INVALID_AMOUNT",
                    format!("items[{i}].unit_price"),
                    "unit_price is 0 to 1000000000 kopecks",
                ));
            }
            let category = Category::parse(&it.category, &format!("items[{i}].category"))?;
            subtotal = subtotal.saturating_add(it.quantity.saturating_mul(it.unit_price));
            if subtotal > Kopecks::MAX_AMOUNT.get() {
                return Err(InvalidValue::new(
                    "INVALID_AMOUNT",
                    "items",
                    "the cart's subtotal exceeds 10 000 000 RUB",
                ));
            }
            lines.push(CartLine {
                sku: sku(&it.sku, &format!("items[{i}].sku"))?,
                category: category.as_str().to_string(),
                quantity: it.quantity,
                unit_price: it.unit_price,
            });
        }
        if raw.promo_codes.len() > MAX_CODES {
            return Err(InvalidValue::new(
                "INVALID_FIELD",
                "promo_codes",
                format!("at most {MAX_CODES} codes"),
            ));
        }
        let mut codes = Vec::new();
        for (i, c) in raw.promo_codes.iter().enumerate() {
            let c = c.trim();
            if c.is_empty() || c.chars().count() > 64 || c.chars().any(char::is_control) {
                return Err(InvalidValue::new(
                    "INVALID_FIELD",
                    format!("promo_codes[{i}]"),
                    "a code is 1-64 characters",
                ));
            }
            codes.push(c.to_string());
        }
        let points = match raw.points {
            None | Some(0) => 0,
            Some(p) => crate::wallet::pos::points(p, "points")?,
        };
        let order_ref = raw
            .order_ref
            .as_deref()
            .map(|o| crate::wallet::pos::order_ref(o, "order_ref"))
            .transpose()?;
        let ref_code = raw
            .ref_code
            .as_deref()
            .map(|c| {
                crate::auth::members::parse_referral_code(c).map_err(|mut e| {
                    e.field = "ref_code".into();
                    e
                })
            })
            .transpose()?;
        Ok(Self {
            business_id,
            channel,
            lines,
            codes,
            points,
            order_ref,
            ref_code,
        })
    }
}

// The points of one member (first parameter) held by live reservations at
// a time (second).
const HELD_POINTS: &str = "SELECT COALESCE(SUM(points_applied), 0) FROM reservations \
     WHERE member_id = ? AND status = 'held' AND expires_at > ?";

/// Points of `member_id` held by live reservations.
pub fn held_points(sql: &dyn Sql, member_id: &str, now: DateTime<Utc>) -> Result<i64, StoreError> {
    let rows = sql.execute(
        &format!("SELECT ({HELD_POINTS}) AS held"),
        &params![member_id, ts(now)],
    )?;
    rows.first().map_or(Ok(0), |r| r.i64("held"))
}

fn business_tz(sql: &dyn Sql, id: &str) -> Result<(Business, Tz), PromoError> {
    let (b, name) = member::business_in_zone(sql, id)?.ok_or(PromoError::BusinessNotFound)?;
    // A zone the database does not know is a configuration error; the
    // business's happy hours then run on Moscow time rather than failing
    // every checkout.
    let tz = name
        .and_then(|n| n.parse::<Tz>().ok())
        .unwrap_or(chrono_tz::Europe::Moscow);
    Ok((b, tz))
}

// What pricing needs to know of the member, read with the member in one
// statement: whether they ever paid (anywhere, and in this business's
// category), their available balance and the points their live
// reservations hold.
fn member_facts(
    sql: &dyn Sql,
    member_id: &str,
    b: &Business,
    now: DateTime<Utc>,
) -> Result<MemberFacts, PromoError> {
    let (m, rows) = member::by_id_with(
        sql,
        member_id,
        &format!(
            ", CASE WHEN EXISTS (SELECT 1 FROM purchases WHERE member_id = ?) THEN 1 ELSE 0 END AS any_paid, \
               CASE WHEN EXISTS (SELECT 1 FROM purchases WHERE member_id = ? AND category = ?) THEN 1 ELSE 0 END \
                   AS in_category, \
               (SELECT available FROM member_balances WHERE member_id = ?) AS available, \
               ({HELD_POINTS}) AS held"
        ),
        params![
            member_id,
            member_id,
            b.category.as_str(),
            member_id,
            member_id,
            ts(now)
        ],
    )?
    .ok_or(PromoError::MemberNotFound)?;
    let r = rows
        .first()
        .ok_or_else(|| StoreError::Other("no facts row".into()))?;
    let bonus = if r.i64("in_category")? == 0 {
        first_purchase_bonus(m.tier)
    } else {
        Ratio::ONE
    };
    let available = r.opt_i64("available")?.unwrap_or(0) - r.i64("held")?;
    let rate = crate::wallet::cashback::rate_percent(m.tier);
    Ok(MemberFacts {
        tier: m.tier,
        has_paid_order: r.i64("any_paid")? != 0,
        points_available: available.max(0),
        cashback_rate: Ratio {
            num: u64::from(rate) * bonus.num * b.multiplier.num,
            den: 100 * bonus.den * b.multiplier.den,
        },
    })
}

// Records the unknown codes of a quote and refuses when the member or the
// IP has tried more than the limit in the last hour. Runs in its own write
// transaction so racing guesses are all counted.
fn record_misses(
    env: &PromoEnv<'_>,
    member_id: &str,
    ip: &str,
    misses: usize,
) -> Result<(), PromoError> {
    let now = env.clock.now();
    let since = ts(now - Duration::hours(1));
    immediate(env.sql, |tx| {
        for _ in 0..misses {
            tx.execute(
                "INSERT INTO promo_code_misses (id, member_id, ip, at) VALUES (?, ?, ?, ?)",
                &params![Id::at(now, env.random).to_text(), member_id, ip, ts(now)],
            )?;
        }
        over_limit(tx, member_id, ip, &since, now, MAX_UNKNOWN_CODES_PER_HOUR)
    })
}

fn over_limit(
    sql: &dyn Sql,
    member_id: &str,
    ip: &str,
    since: &str,
    now: DateTime<Utc>,
    allowed: i64,
) -> Result<(), PromoError> {
    for (col, value) in [("member_id", member_id), ("ip", ip)] {
        let rows = sql.execute(
            &format!(
                "SELECT COUNT(*) AS n, MIN(at) AS oldest FROM promo_code_misses WHERE {col} = ? AND at > ?"
            ),
            &params![value, since],
        )?;
        let Some(r) = rows.first() else { continue };
        if r.i64("n")? > allowed {
            let oldest = r.opt_text("oldest")?.map(|t| parse_ts(&t)).transpose()?;
            let retry = oldest.map_or(3600, |o| {
                (o + Duration::hours(1) - now).num_seconds().max(1)
            });
            return Err(PromoError::TooManyUnknownCodes {
                retry_after_secs: u64::try_from(retry).unwrap_or(3600),
            });
        }
    }
    Ok(())
}

fn upper_codes(codes: &[String]) -> Vec<String> {
    let mut out: Vec<String> = codes
        .iter()
        .map(|c| c.trim().to_ascii_uppercase())
        .collect();
    out.sort();
    out.dedup();
    out
}

// Prices `c` for `member_id` against the current usage, reading through `sql`.
fn price(
    sql: &dyn Sql,
    member_id: &str,
    c: &Checkout,
    now: DateTime<Utc>,
) -> Result<(Quote, Business), PromoError> {
    let candidates = store::candidates(sql, &c.business_id, &upper_codes(&c.codes), &c.lines)?;
    price_with(sql, member_id, c, now, candidates)
}

// What a quote depends on besides the checkout and the candidates: read
// from the database, so a copy read outside the write lock can be checked
// for staleness inside it by reading again and comparing.
#[derive(Debug, Clone, PartialEq)]
struct Inputs {
    business: Business,
    tz: Tz,
    facts: MemberFacts,
    usage: HashMap<String, Usage>,
}

fn input_for<'a>(
    c: &'a Checkout,
    now: DateTime<Utc>,
    candidates: &'a [super::model::Promo],
    business: &'a Business,
    tz: Tz,
    facts: MemberFacts,
    usage: &'a HashMap<String, Usage>,
) -> QuoteInput<'a> {
    QuoteInput {
        business_id: &business.id,
        tz,
        channel: c.channel,
        now,
        lines: &c.lines,
        codes: &c.codes,
        candidates,
        usage,
        member: facts,
        points_requested: c.points,
        max_points_share_pct: business.max_points_share_pct,
    }
}

// Reads the inputs of pricing `c` against `candidates`. Uses are counted
// only where a limit could refuse the promo.
fn read_inputs(
    sql: &dyn Sql,
    member_id: &str,
    c: &Checkout,
    now: DateTime<Utc>,
    candidates: &[super::model::Promo],
) -> Result<Inputs, PromoError> {
    let (business, tz) = business_tz(sql, &c.business_id)?;
    let facts = member_facts(sql, member_id, &business, now)?;
    let none = HashMap::new();
    let input = input_for(c, now, candidates, &business, tz, facts, &none);
    let ids = engine::usage_needed(&input, candidates);
    let usage = uses::usage(sql, &ids, Some(member_id), now)?;
    Ok(Inputs {
        business,
        tz,
        facts,
        usage,
    })
}

fn price_inputs(
    c: &Checkout,
    now: DateTime<Utc>,
    candidates: &[super::model::Promo],
    i: &Inputs,
) -> Quote {
    engine::quote(&input_for(
        c,
        now,
        candidates,
        &i.business,
        i.tz,
        i.facts,
        &i.usage,
    ))
}

// Prices against candidates the caller loaded.
fn price_with(
    sql: &dyn Sql,
    member_id: &str,
    c: &Checkout,
    now: DateTime<Utc>,
    candidates: Vec<super::model::Promo>,
) -> Result<(Quote, Business), PromoError> {
    let inputs = read_inputs(sql, member_id, c, now, &candidates)?;
    Ok((price_inputs(c, now, &candidates, &inputs), inputs.business))
}

fn unknown_codes(q: &Quote) -> usize {
    q.rejected
        .iter()
        .filter(|r| r.reason == "UNKNOWN_CODE")
        .count()
}

/// Refuses at once when the member or IP has used up the unknown-code
/// allowance and the request carries codes — known or not, so a guess that
/// hits a real code cannot be told from a miss.
fn precheck(env: &PromoEnv<'_>, member_id: &str, ip: &str, c: &Checkout) -> Result<(), PromoError> {
    if c.codes.is_empty() {
        return Ok(());
    }
    let now = env.clock.now();
    let since = ts(now - Duration::hours(1));
    over_limit(
        env.sql,
        member_id,
        ip,
        &since,
        now,
        MAX_UNKNOWN_CODES_PER_HOUR - 1,
    )
}

/// `POST /checkout/quote`: reads only (plus the record of unknown codes).
pub fn quote(
    env: &PromoEnv<'_>,
    member_id: &str,
    ip: &str,
    c: &Checkout,
) -> Result<Quote, PromoError> {
    precheck(env, member_id, ip, c)?;
    let (q, _) = price(env.sql, member_id, c, env.clock.now())?;
    let misses = unknown_codes(&q);
    if misses > 0 {
        record_misses(env, member_id, ip, misses)?;
    }
    Ok(q)
}

/// A reservation as answered.
#[derive(Debug, Clone, Serialize)]
pub struct Reservation {
    /// Id.
    pub reservation_id: String,
    /// `held`, `committed`, `released` or `expired`.
    pub status: String,
    /// Until when it holds.
    pub expires_at: String,
    /// The business.
    pub business_id: String,
    /// The order.
    pub order_ref: String,
    /// The priced checkout.
    #[serde(flatten)]
    pub quote: Value,
}

/// `POST /checkout/reservations` → 201: prices and holds in one transaction.
pub fn reserve(
    env: &PromoEnv<'_>,
    member_id: &str,
    ip: &str,
    c: &Checkout,
) -> Result<Reservation, PromoError> {
    let order_ref = c.order_ref.clone().ok_or_else(|| {
        InvalidValue::new(
            "INVALID_FIELD",
            "order_ref",
            "a reservation needs order_ref",
        )
    })?;
    precheck(env, member_id, ip, c)?;
    let now = env.clock.now();
    let expires = now + Duration::minutes(HOLD_MINUTES);
    // Promo definitions are read before taking the write lock (decoding
    // hundreds of campaigns inside it would serialise every checkout on
    // it); inside, they are re-read only if one changed meanwhile. Usage is
    // always read inside, so limits stay exact.
    //
    // The quote itself is priced outside too: inside, the inputs it
    // depends on are read again, and only if they differ (another checkout
    // used a limited promo, the member's balance moved) is it priced again.
    // Pricing is a pure function of those inputs, so the held terms are
    // exactly what pricing under the lock would give.
    let codes = upper_codes(&c.codes);
    let loaded = store::candidates(env.sql, &c.business_id, &codes, &c.lines)?;
    let outside = read_inputs(env.sql, member_id, c, now, &loaded)?;
    let priced = price_inputs(c, now, &loaded, &outside);
    let result = immediate(env.sql, |tx| {
        let (q, b) = if store::changed_since(tx, now)? {
            let fresh = store::candidates(tx, &c.business_id, &codes, &c.lines)?;
            price_with(tx, member_id, c, now, fresh)?
        } else {
            let inside = read_inputs(tx, member_id, c, now, &loaded)?;
            if inside == outside {
                (priced.clone(), inside.business)
            } else {
                (price_inputs(c, now, &loaded, &inside), inside.business)
            }
        };
        if !q.rejected.is_empty() {
            // A reservation holds exactly the terms the member asked for:
            // a typed code that does not apply refuses it, with nothing
            // written here (unknown codes are counted below).
            return Ok(Err(q));
        }
        let id = Id::at(now, env.random).to_text();
        let quote_json = serde_json::to_value(&q).map_err(|e| StoreError::Other(e.to_string()))?;
        let m = q.promo_multiplier;
        // The partial unique index on (business_id, order_ref) of live
        // reservations is the only one a fresh id can meet: no row back
        // means the order already has one.
        let inserted = tx.execute(
            "INSERT INTO reservations (id, member_id, business_id, order_ref, channel, status, subtotal, \
             discount_total, points_applied, total, promo_multiplier, quote, created_at, expires_at, ref_code) \
             VALUES (?, ?, ?, ?, ?, 'held', ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING RETURNING id",
            &params![
                id.as_str(),
                member_id,
                b.id.as_str(),
                order_ref.as_str(),
                c.channel.as_str(),
                q.subtotal,
                q.discount_total,
                q.points_applied,
                q.total,
                format!("{}/{}", m.num, m.den),
                quote_json.to_string(),
                ts(now),
                ts(expires),
                c.ref_code.as_deref()
            ],
        )?;
        if inserted.rows.is_empty() {
            return Err(PromoError::OrderAlreadyReserved);
        }
        let held: Vec<_> = q
            .applied
            .iter()
            .map(|a| uses::Hold {
                promo_id: &a.promo_id,
                discount: a.discount,
            })
            .collect();
        uses::hold(tx, env.random, &id, member_id, &held, now, expires)?;
        Ok(Ok(Reservation {
            reservation_id: id,
            status: "held".into(),
            expires_at: ts(expires),
            business_id: b.id,
            order_ref: order_ref.clone(),
            quote: quote_json,
        }))
    })?;
    match result {
        Ok(r) => Ok(r),
        Err(q) => {
            let misses = unknown_codes(&q);
            if misses > 0 {
                record_misses(env, member_id, ip, misses)?;
            }
            let first = &q.rejected[0];
            Err(PromoError::CodeRejected {
                code: first.code.clone(),
                reason: first.reason,
            })
        }
    }
}

fn load(sql: &dyn Sql, id: &str) -> Result<Option<Value>, StoreError> {
    let rows = sql.execute(
        "SELECT id, member_id, business_id, order_ref, status, points_applied, total, promo_multiplier, \
                quote, expires_at, purchase_id, redemption_id, ref_code FROM reservations WHERE id = ?",
        &params![id],
    )?;
    rows.first()
        .map(|r| {
            Ok(json!({
                "id": r.text("id")?, "member_id": r.text("member_id")?, "business_id": r.text("business_id")?,
                "order_ref": r.text("order_ref")?, "status": r.text("status")?,
                "points_applied": r.i64("points_applied")?, "total": r.i64("total")?,
                "promo_multiplier": r.text("promo_multiplier")?, "quote": r.text("quote")?,
                "expires_at": r.text("expires_at")?, "purchase_id": r.opt_text("purchase_id")?,
                "redemption_id": r.opt_text("redemption_id")?, "ref_code": r.opt_text("ref_code")?,
            }))
        })
        .transpose()
}

// The priced lines of a stored quote as purchase lines (the quote keeps
// no per-line category: the business's is used).
fn quote_lines(quote: &str, category: &str) -> Vec<crate::wallet::lines::PurchaseLine> {
    let q: Value = serde_json::from_str(quote).unwrap_or(Value::Null);
    q["lines"]
        .as_array()
        .map(|lines| {
            lines
                .iter()
                .filter_map(|l| {
                    Some(crate::wallet::lines::PurchaseLine {
                        sku: l["sku"].as_str()?.to_string(),
                        name: None,
                        category: category.to_string(),
                        quantity: l["quantity"].as_i64().filter(|q| *q > 0)?,
                        unit_price: l["unit_price"].as_i64().filter(|p| *p >= 0)?,
                    })
                })
                .collect()
        })
        .unwrap_or_default()
}

fn field<'a>(v: &'a Value, k: &str) -> &'a str {
    v[k].as_str().unwrap_or_default()
}

fn ratio(text: &str) -> Ratio {
    text.split_once('/')
        .and_then(|(n, d)| {
            Some(Ratio {
                num: n.parse().ok()?,
                den: d.parse().ok()?,
            })
        })
        .filter(|r| r.den != 0)
        .unwrap_or(Ratio::ONE)
}

/// How a committed reservation was paid.
#[derive(Debug, Clone)]
pub struct Sale {
    /// The paid amount; the reserved total when `None`.
    pub amount: Option<i64>,
    /// The purchase's external id (`checkout:<reservation>` at the till, the
    /// provider's payment id from a webhook).
    pub external_id: String,
    /// Where the sale came from.
    pub source: Source,
    /// The referral code the payment came with; the reservation's own is
    /// used when `None`.
    pub ref_code: Option<String>,
}

/// `POST /checkout/reservations/{id}/commit` by the business's staff or API
/// key: spends the held points, records the paid purchase (the reserved
/// total) through the purchase pipeline and commits the promo uses. A
/// second commit answers the first result.
pub fn commit(
    env: &PromoEnv<'_>,
    settings: &WalletSettings,
    business_id: &str,
    actor: &Actor,
    reservation_id: &str,
) -> Result<Value, PromoError> {
    let sale = Sale {
        amount: None,
        external_id: format!("checkout:{reservation_id}"),
        source: Source::Checkout,
        ref_code: None,
    };
    immediate(env.sql, |tx| {
        commit_in(
            &PromoEnv { sql: tx, ..*env },
            settings,
            business_id,
            actor,
            reservation_id,
            &sale,
        )
    })
}

/// [`commit`] inside the caller's transaction (`env.sql` is it): the payment
/// webhook commits a reservation together with recording its event.
pub fn commit_in(
    env: &PromoEnv<'_>,
    settings: &WalletSettings,
    business_id: &str,
    actor: &Actor,
    reservation_id: &str,
    sale: &Sale,
) -> Result<Value, PromoError> {
    let now = env.clock.now();
    let tx = env.sql;
    let r = load(tx, reservation_id)?
        .filter(|r| field(r, "business_id") == business_id)
        .ok_or(PromoError::ReservationNotFound)?;
    let answer = |r: &Value, status: &str, points_earned: Value| {
        json!({
            "reservation_id": r["id"], "status": status, "order_ref": r["order_ref"],
            "total": r["total"], "points_spent": r["points_applied"],
            "purchase_id": r["purchase_id"], "points_earned": points_earned,
        })
    };
    match field(&r, "status") {
        "committed" => return Ok(answer(&r, "committed", Value::Null)),
        "held" if field(&r, "expires_at") > ts(now).as_str() => {}
        "held" => {
            return Err(PromoError::ReservationNotHeld {
                status: "expired".into(),
            })
        }
        other => {
            return Err(PromoError::ReservationNotHeld {
                status: other.into(),
            })
        }
    }
    let b = member::business(tx, business_id)?.ok_or(PromoError::BusinessNotFound)?;
    let m = member::by_id(tx, field(&r, "member_id"))?.ok_or(PromoError::MemberNotFound)?;
    let points = r["points_applied"].as_i64().unwrap_or(0);
    let order_ref = field(&r, "order_ref").to_string();
    let mut redemption_id: Option<String> = None;
    if points > 0 {
        let rid = crate::wallet::pos::spend_for_order(
            tx,
            now,
            env.random,
            actor,
            &m.id,
            &b,
            points,
            &order_ref,
            Some(r["total"].as_i64().unwrap_or(0) + points),
        )
        .map_err(|e| match e {
            LedgerError::Insufficient { .. } => PromoError::PointsUnavailable,
            LedgerError::Store(s) => PromoError::Unknown(s),
        })?;
        redemption_id = Some(rid);
    }
    let total = sale
        .amount
        .unwrap_or_else(|| r["total"].as_i64().unwrap_or(0));
    let mut purchase_id: Option<String> = None;
    let mut earned = Value::from(0);
    if total > 0 {
        let lines = quote_lines(field(&r, "quote"), b.category.as_str());
        let rec = purchases::record_with_lines(
            tx,
            env.clock,
            env.random,
            settings,
            &NewPurchase {
                member: m.clone(),
                business: b.clone(),
                amount: total,
                category: None,
                external_id: Some(sale.external_id.clone()),
                description: None,
                source: sale.source,
                promo_multiplier: ratio(field(&r, "promo_multiplier")),
                coupon_code: None,
                actor: actor.clone(),
                request_id: env.request_id.map(str::to_string),
                ref_code: sale
                    .ref_code
                    .clone()
                    .or_else(|| r["ref_code"].as_str().map(str::to_string)),
                paid_at: None,
            },
            &lines,
        )?;
        earned = Value::from(rec.points_earned);
        purchase_id = Some(rec.purchase_id);
    }
    tx.execute(
            "UPDATE reservations SET status = 'committed', committed_at = ?, purchase_id = ?, redemption_id = ? \
             WHERE id = ? AND status = 'held'",
            &params![ts(now), purchase_id.as_deref(), redemption_id.as_deref(), reservation_id],
        )?;
    uses::commit(tx, reservation_id)?;
    let mut r = r;
    r["purchase_id"] = json!(purchase_id);
    Ok(answer(&r, "committed", earned))
}

/// `DELETE /checkout/reservations/{id}` by the member who made it: frees
/// the uses, budget and points. Releasing twice is fine; a committed one
/// cannot be released.
pub fn release(
    env: &PromoEnv<'_>,
    member_id: &str,
    reservation_id: &str,
) -> Result<(), PromoError> {
    let now = env.clock.now();
    immediate(env.sql, |tx| {
        let r = load(tx, reservation_id)?
            .filter(|r| field(r, "member_id") == member_id)
            .ok_or(PromoError::ReservationNotFound)?;
        match field(&r, "status") {
            "committed" => Err(PromoError::ReservationCommitted),
            "held" => {
                tx.execute(
                    "UPDATE reservations SET status = 'released', released_at = ? WHERE id = ? AND status = 'held'",
                    &params![ts(now), reservation_id],
                )?;
                uses::release(tx, Freed::HeldBy(reservation_id))?;
                Ok(())
            }
            _ => Ok(()),
        }
    })
}

/// `GET /checkout/reservations/{id}` for the member who made it.
pub fn read(
    env: &PromoEnv<'_>,
    member_id: &str,
    reservation_id: &str,
) -> Result<Reservation, PromoError> {
    let r = load(env.sql, reservation_id)?
        .filter(|r| field(r, "member_id") == member_id)
        .ok_or(PromoError::ReservationNotFound)?;
    let mut status = field(&r, "status").to_string();
    if status == "held" && field(&r, "expires_at") <= ts(env.clock.now()).as_str() {
        status = "expired".into();
    }
    Ok(Reservation {
        reservation_id: field(&r, "id").into(),
        status,
        expires_at: field(&r, "expires_at").into(),
        business_id: field(&r, "business_id").into(),
        order_ref: field(&r, "order_ref").into(),
        quote: serde_json::from_str(field(&r, "quote")).unwrap_or(Value::Null),
    })
}

/// The `expire-reservations` job: marks held reservations past their hold
/// as expired and frees their uses; purges unknown-code records older than
/// an hour. Idempotent and safe to run twice at once.
pub fn expire(sql: &dyn Sql, now: DateTime<Utc>) -> Result<u64, StoreError> {
    immediate(sql, |tx| {
        uses::release(tx, Freed::ExpiredBy(now))?;
        tx.execute(
            "UPDATE reservations SET status = 'expired' WHERE status = 'held' AND expires_at <= ?",
            &params![ts(now)],
        )?;
        let n = tx.changes()?;
        tx.execute(
            "DELETE FROM promo_code_misses WHERE at <= ?",
            &params![ts(now - Duration::hours(1))],
        )?;
        Ok(n)
    })
}
