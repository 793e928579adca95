//! The promo engine: pure and deterministic. Given a cart, the member, the
//! business's time zone, the channel, the time, the candidate promos and
//! their usage, [`quote`] returns the priced checkout.
//!
//! Rules, in order:
//!
//! 1. Codes are matched case-insensitively (trimmed, upper-cased) against
//!    the candidates' codes; a code given twice counts once; a code that
//!    matches no candidate is rejected `UNKNOWN_CODE`. Auto promos
//!    (`auto: true`, active) are considered without a code; an auto promo
//!    that fails a check is silently left out (it is not in `rejected`).
//!    Inactive promos behave as unknown.
//! 2. Each considered promo is checked in this order, the first failure
//!    being its rejection reason: `NOT_ELIGIBLE_BUSINESS` (non-empty
//!    `businesses` without this business), `NOT_STARTED` (now <
//!    `starts_at`), `EXPIRED` (now ≥ `ends_at`), `OUTSIDE_SCHEDULE` (weekly
//!    windows exist and the local time is in none), `NOT_ELIGIBLE_CHANNEL`,
//!    `TIER_TOO_LOW`, `FIRST_ORDER_ONLY`, `MIN_SUBTOTAL` (cart subtotal
//!    before discounts), `NOT_ELIGIBLE_ITEMS` (no line matches the
//!    categories/SKUs), `LIMIT_REACHED` (total, per member or per member
//!    per day used ≥ limit), `BUDGET_EXHAUSTED` (budget − spent ≤ 0).
//! 3. Stacking: of the non-stackable promos that pass, the one with the
//!    largest discount on the full cart wins (ties: higher priority, then
//!    smaller id); the others are rejected `NOT_COMBINABLE` (auto ones
//!    silently dropped). The winner applies first, then every stackable
//!    promo in priority order (higher first, ties by id), each on what the
//!    earlier ones left of each line. A discount never exceeds what is left
//!    of the lines it applies to, nor `max_discount`, nor the promo's
//!    remaining budget. A coded promo whose discount comes to 0 (other than
//!    `points_multiplier`) is rejected `NOT_ELIGIBLE_ITEMS`.
//! 4. Discounts: `percent` = eligible remaining × value / 100 rounded half
//!    up; `fixed` = value; `bogo` = the unit prices of the free units, the
//!    cheapest eligible units being the free ones (groups of `buy + free`
//!    over all eligible units of the cart). Each promo's discount is spread
//!    over its lines in proportion to what is left of them (largest
//!    remainder, ties to the earlier line; bogo: to the lines whose units
//!    are free), so line allocations sum exactly to the promo's discount.
//! 5. Points: `points_applied` = min(requested, available, total after
//!    discounts, the business's share cap of that total if any). The
//!    points estimate is the cashback of the paid total (after discounts
//!    and points) with the multipliers of the applied `points_multiplier`
//!    promos multiplied together.
//!
//! All money is integer kopecks; nothing here touches storage or the clock.

use std::collections::HashMap;

use chrono::{DateTime, Datelike, Timelike, Utc};
use chrono_tz::Tz;
use serde::Serialize;

use super::model::{Channel, Conditions, Kind, Promo, Schedule, Usage, Window};
use crate::wallet::cashback::{round_half_up, Ratio};
use crate::wallet::Tier;

/// A cart line (validated: quantity ≥ 1, unit price ≥ 0).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CartLine {
    /// SKU.
    pub sku: String,
    /// Category slug.
    pub category: String,
    /// Units.
    pub quantity: i64,
    /// Price of one unit (kopecks).
    pub unit_price: i64,
}

/// What the engine knows of the member.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemberFacts {
    /// Current tier.
    pub tier: Tier,
    /// Has at least one paid purchase (for `first_order` promos).
    pub has_paid_order: bool,
    /// Points available to spend.
    pub points_available: i64,
    /// The cashback this checkout would earn before promo multipliers is
    /// `total × rate`, where `rate` is tier rate × first-in-category bonus ×
    /// business multiplier (see [`crate::wallet::cashback`]).
    pub cashback_rate: Ratio,
}

/// Everything a quote depends on.
#[derive(Debug, Clone)]
pub struct QuoteInput<'a> {
    /// The business checking out.
    pub business_id: &'a str,
    /// Its time zone (weekly windows are local to it).
    pub tz: Tz,
    /// Channel.
    pub channel: Channel,
    /// Now.
    pub now: DateTime<Utc>,
    /// The cart.
    pub lines: &'a [CartLine],
    /// Codes as typed.
    pub codes: &'a [String],
    /// Candidates: every promo whose code matches a typed code, and every
    /// active auto promo that could apply at this business.
    pub candidates: &'a [Promo],
    /// Usage of each candidate by id (missing = unused).
    pub usage: &'a HashMap<String, Usage>,
    /// The member.
    pub member: MemberFacts,
    /// Points the member wants to spend.
    pub points_requested: i64,
    /// The business's cap on the share of a check paid with points
    /// (percent), if any.
    pub max_points_share_pct: Option<i64>,
}

/// A priced line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct QuoteLine {
    /// SKU.
    pub sku: String,
    /// Units.
    pub quantity: i64,
    /// Unit price.
    pub unit_price: i64,
    /// Discount on the whole line (all promos).
    pub discount: i64,
}

/// An applied promo.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Applied {
    /// Promo id.
    pub promo_id: String,
    /// Its code (`None` for auto campaigns).
    pub code: Option<String>,
    /// Name.
    pub name: String,
    /// Discount it gave (kopecks).
    pub discount: i64,
    /// Its allocation per cart line (same order as the cart).
    #[serde(skip)]
    pub line_discounts: Vec<i64>,
}

/// A refused code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Rejected {
    /// The code as the member typed it.
    pub code: String,
    /// Why: `UNKNOWN_CODE`, `EXPIRED`, ... (see the module docs).
    pub reason: &'static str,
}

/// The priced checkout.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Quote {
    /// Σ quantity × unit price.
    pub subtotal: i64,
    /// Σ applied discounts.
    pub discount_total: i64,
    /// Points spent on this checkout.
    pub points_applied: i64,
    /// subtotal − discount_total − points_applied.
    pub total: i64,
    /// Lines with their discounts.
    pub lines: Vec<QuoteLine>,
    /// Applied promos, in the order they applied.
    pub applied: Vec<Applied>,
    /// Refused codes.
    pub rejected: Vec<Rejected>,
    /// Points the paid total would earn.
    pub points_estimate: i64,
    /// Product of the applied `points_multiplier` promos (× 1 if none).
    #[serde(skip)]
    pub promo_multiplier: Ratio,
}

/// Splits `total` over `weights` in proportion (largest remainder; ties go
/// to the earlier index). The parts sum to `total`; when `total ≤ Σ
/// weights` no part exceeds its weight. All-zero weights give all zeros
/// (and `total` must then be 0).
pub fn allocate(total: i64, weights: &[i64]) -> Vec<i64> {
    let sum: i128 = weights.iter().map(|w| i128::from((*w).max(0))).sum();
    if sum == 0 || total <= 0 {
        return vec![0; weights.len()];
    }
    let total_i = i128::from(total);
    let mut parts = Vec::with_capacity(weights.len());
    let mut rems = Vec::with_capacity(weights.len());
    let mut given: i128 = 0;
    for w in weights {
        let exact = total_i * i128::from((*w).max(0));
        let floor = exact / sum;
        parts.push(floor);
        rems.push(exact % sum);
        given += floor;
    }
    // Hand out what flooring left, largest remainder first, earlier index on
    // ties; never above a weight while the total fits under the weights.
    let mut order: Vec<usize> = (0..weights.len()).collect();
    order.sort_by(|a, b| rems[*b].cmp(&rems[*a]).then(a.cmp(b)));
    let mut left = total_i - given;
    for &i in &order {
        if left <= 0 || rems[i] == 0 {
            break;
        }
        parts[i] += 1;
        left -= 1;
    }
    // Only when the total exceeds the weights: the rest goes to the first
    // largest remainder so the parts still sum to the total.
    if left > 0 {
        if let Some(&i) = order.first() {
            parts[i] += left;
        }
    }
    parts
        .into_iter()
        .map(|p| i64::try_from(p).unwrap_or(i64::MAX))
        .collect()
}

fn iso_weekday(d: chrono::Weekday) -> u8 {
    // Monday = 1 … Sunday = 7.
    u8::try_from(d.number_from_monday()).unwrap_or(1)
}

fn in_window(w: &Window, day: u8, minute: u16) -> bool {
    let previous = if day == 1 { 7 } else { day - 1 };
    if w.from_min < w.to_min {
        w.days.contains(&day) && w.from_min <= minute && minute < w.to_min
    } else {
        (w.days.contains(&day) && minute >= w.from_min)
            || (w.days.contains(&previous) && minute < w.to_min)
    }
}

fn weekly_ok(schedule: &Schedule, tz: Tz, now: DateTime<Utc>) -> bool {
    if schedule.weekly.is_empty() {
        return true;
    }
    let local = now.with_timezone(&tz);
    let day = iso_weekday(local.weekday());
    let minute = u16::try_from(local.hour() * 60 + local.minute()).unwrap_or(0);
    schedule.weekly.iter().any(|w| in_window(w, day, minute))
}

/// True when `now` is inside the schedule's instants and, if it has weekly
/// windows, inside one of them in `tz`.
pub fn in_schedule(schedule: &Schedule, tz: Tz, now: DateTime<Utc>) -> bool {
    if schedule.starts_at.is_some_and(|s| now < s) || schedule.ends_at.is_some_and(|e| now >= e) {
        return false;
    }
    weekly_ok(schedule, tz, now)
}

fn line_total(l: &CartLine) -> i64 {
    i64::try_from(i128::from(l.quantity) * i128::from(l.unit_price)).unwrap_or(i64::MAX)
}

/// The trigger key of a promo (or cart) that every cart matches.
pub const ANY_LINE: &str = "*";

/// The keys under which a promo with conditions `c` is stored for
/// [`cart_triggers`] to find: `sku:<sku>` and `category:<slug>` for each
/// SKU and category it is limited to, or [`ANY_LINE`] when it lists
/// neither. A cart whose keys share none of these has no line the promo is
/// eligible for (the same test as the engine's own), so leaving the promo
/// out of that cart's candidates never changes an auto campaign's quote.
pub fn promo_triggers(c: &Conditions) -> Vec<String> {
    if c.categories.is_empty() && c.skus.is_empty() {
        return vec![ANY_LINE.to_string()];
    }
    let mut keys: Vec<String> = c
        .skus
        .iter()
        .map(|s| sku_key(s))
        .chain(c.categories.iter().map(|k| category_key(k)))
        .collect();
    keys.sort();
    keys.dedup();
    keys
}

/// The keys a cart of `lines` matches: [`ANY_LINE`] and each line's
/// `sku:<sku>` and `category:<slug>` (see [`promo_triggers`]), sorted and
/// once each.
pub fn cart_triggers(lines: &[CartLine]) -> Vec<String> {
    let mut keys: Vec<String> = std::iter::once(ANY_LINE.to_string())
        .chain(
            lines
                .iter()
                .flat_map(|l| [sku_key(&l.sku), category_key(&l.category)]),
        )
        .collect();
    keys.sort();
    keys.dedup();
    keys
}

fn sku_key(sku: &str) -> String {
    format!("sku:{sku}")
}

fn category_key(category: &str) -> String {
    format!("category:{category}")
}

fn eligible(p: &Promo, l: &CartLine) -> bool {
    let c = &p.conditions;
    (c.categories.is_empty() && c.skus.is_empty())
        || c.categories.contains(&l.category)
        || c.skus.contains(&l.sku)
}

// The first check a promo fails that does not depend on its usage.
fn pure_rejection(input: &QuoteInput<'_>, p: &Promo, subtotal: i64) -> Option<&'static str> {
    let c = &p.conditions;
    if !p.businesses.is_empty() && !p.businesses.iter().any(|b| b == input.business_id) {
        return Some("NOT_ELIGIBLE_BUSINESS");
    }
    if c.schedule.starts_at.is_some_and(|s| input.now < s) {
        return Some("NOT_STARTED");
    }
    if c.schedule.ends_at.is_some_and(|e| input.now >= e) {
        return Some("EXPIRED");
    }
    if !weekly_ok(&c.schedule, input.tz, input.now) {
        return Some("OUTSIDE_SCHEDULE");
    }
    if !c.channels.is_empty() && !c.channels.contains(&input.channel) {
        return Some("NOT_ELIGIBLE_CHANNEL");
    }
    if c.min_tier.is_some_and(|t| input.member.tier < t) {
        return Some("TIER_TOO_LOW");
    }
    if c.first_order && input.member.has_paid_order {
        return Some("FIRST_ORDER_ONLY");
    }
    if c.min_subtotal.is_some_and(|m| subtotal < m) {
        return Some("MIN_SUBTOTAL");
    }
    if !input.lines.iter().any(|l| eligible(p, l)) {
        return Some("NOT_ELIGIBLE_ITEMS");
    }
    None
}

fn has_limits(p: &Promo) -> bool {
    let l = &p.limits;
    l.total.is_some()
        || l.per_member.is_some()
        || l.per_member_per_day.is_some()
        || l.budget.is_some()
}

// The first check a promo fails, if any (module docs, rule 2).
fn rejection(input: &QuoteInput<'_>, p: &Promo, subtotal: i64) -> Option<&'static str> {
    if let Some(reason) = pure_rejection(input, p, subtotal) {
        return Some(reason);
    }
    let u = input.usage.get(&p.id).copied().unwrap_or_default();
    let l = &p.limits;
    if l.total.is_some_and(|t| u.total >= t)
        || l.per_member.is_some_and(|m| u.member >= m)
        || l.per_member_per_day.is_some_and(|d| u.member_today >= d)
    {
        return Some("LIMIT_REACHED");
    }
    if l.budget.is_some_and(|b| b - u.budget_spent <= 0) {
        return Some("BUDGET_EXHAUSTED");
    }
    None
}

/// The candidates whose usage can change the quote: those with a limit or
/// a budget that pass every other check. The quote reads `input.usage`
/// only for these, so the caller need not count uses of the others (an
/// unlimited campaign, or one for items the cart lacks, costs no query).
pub fn usage_needed<'p>(input: &QuoteInput<'_>, candidates: &'p [Promo]) -> Vec<&'p str> {
    let subtotal = input
        .lines
        .iter()
        .map(line_total)
        .fold(0i64, i64::saturating_add);
    candidates
        .iter()
        .filter(|p| has_limits(p) && pure_rejection(input, p, subtotal).is_none())
        .map(|p| p.id.as_str())
        .collect()
}

// The promo's discount on `left` (what is left of each line), allocated per
// line. Points multipliers give none.
fn discount(input: &QuoteInput<'_>, p: &Promo, left: &[i64]) -> Vec<i64> {
    let n = input.lines.len();
    let elig: Vec<i64> = input
        .lines
        .iter()
        .zip(left)
        .map(|(l, rest)| if eligible(p, l) { (*rest).max(0) } else { 0 })
        .collect();
    let pool: i64 = elig.iter().sum();
    let budget_left = p
        .limits
        .budget
        .map(|b| b - input.usage.get(&p.id).map_or(0, |u| u.budget_spent));
    let cap = |d: i64| {
        let mut d = d.min(pool);
        if let Some(m) = p.max_discount {
            d = d.min(m);
        }
        if let Some(b) = budget_left {
            d = d.min(b);
        }
        d.max(0)
    };
    match p.kind {
        Kind::PointsMultiplier => vec![0; n],
        Kind::Percent => {
            let raw = round_half_up(i128::from(pool) * i128::from(p.value), 100);
            allocate(cap(raw), &elig)
        }
        Kind::Fixed => allocate(cap(p.value), &elig),
        Kind::Bogo => {
            let group = p.buy_qty + p.free_qty;
            if group <= 0 || p.free_qty <= 0 {
                return vec![0; n];
            }
            let units: i64 = input
                .lines
                .iter()
                .zip(&elig)
                .filter(|(_, e)| **e > 0)
                .map(|(l, _)| l.quantity)
                .sum();
            let mut free = (units / group) * p.free_qty;
            // Cheapest eligible units first (ties: earlier line).
            let mut order: Vec<usize> = (0..n).filter(|i| elig[*i] > 0).collect();
            order.sort_by(|a, b| {
                input.lines[*a]
                    .unit_price
                    .cmp(&input.lines[*b].unit_price)
                    .then(a.cmp(b))
            });
            let mut raw = vec![0i64; n];
            for i in order {
                if free == 0 {
                    break;
                }
                let take = free.min(input.lines[i].quantity);
                free -= take;
                let amount =
                    i64::try_from(i128::from(take) * i128::from(input.lines[i].unit_price))
                        .unwrap_or(i64::MAX);
                raw[i] = amount.min(elig[i]);
            }
            let uncapped: i64 = raw.iter().sum();
            let capped = cap(uncapped);
            if capped == uncapped {
                raw
            } else {
                allocate(capped, &raw)
            }
        }
    }
}

/// Prices the checkout.
pub fn quote(input: &QuoteInput<'_>) -> Quote {
    let subtotal: i64 = input
        .lines
        .iter()
        .map(line_total)
        .fold(0i64, i64::saturating_add);
    let mut rejected: Vec<Rejected> = Vec::new();

    // Rule 1: typed codes (trimmed, once each, case-insensitive) and the
    // active auto campaigns.
    let mut considered: Vec<(&Promo, Option<String>)> = Vec::new();
    let mut seen: Vec<String> = Vec::new();
    for typed in input.codes {
        let typed = typed.trim();
        let upper = typed.to_ascii_uppercase();
        if typed.is_empty() || seen.contains(&upper) {
            continue;
        }
        seen.push(upper.clone());
        match input
            .candidates
            .iter()
            .find(|p| p.active && p.code.as_deref() == Some(upper.as_str()))
        {
            Some(p) => considered.push((p, Some(typed.to_string()))),
            None => rejected.push(Rejected {
                code: typed.to_string(),
                reason: "UNKNOWN_CODE",
            }),
        }
    }
    for p in input.candidates.iter().filter(|p| p.auto && p.active) {
        if !considered.iter().any(|(c, _)| c.id == p.id) {
            considered.push((p, None));
        }
    }

    // Rule 2: checks.
    let mut passing: Vec<(&Promo, Option<String>)> = Vec::new();
    for (p, typed) in considered {
        match rejection(input, p, subtotal) {
            None => passing.push((p, typed)),
            Some(reason) => {
                if let Some(code) = typed {
                    rejected.push(Rejected { code, reason });
                }
            }
        }
    }

    // Rule 3: one non-stackable (largest discount on the untouched cart),
    // then the stackable ones by priority.
    let full: Vec<i64> = input.lines.iter().map(line_total).collect();
    let mut winner: Option<(usize, i64)> = None;
    for (i, (p, _)) in passing.iter().enumerate() {
        if p.stackable {
            continue;
        }
        let d: i64 = discount(input, p, &full).iter().sum();
        let better = match winner {
            None => true,
            Some((w, wd)) => {
                let q = passing[w].0;
                d > wd
                    || (d == wd
                        && (p.priority > q.priority || (p.priority == q.priority && p.id < q.id)))
            }
        };
        if better {
            winner = Some((i, d));
        }
    }
    let mut order: Vec<usize> = Vec::new();
    if let Some((w, _)) = winner {
        order.push(w);
    }
    let mut stackable: Vec<usize> = (0..passing.len())
        .filter(|i| passing[*i].0.stackable)
        .collect();
    stackable.sort_by(|a, b| {
        let (pa, pb) = (passing[*a].0, passing[*b].0);
        pb.priority.cmp(&pa.priority).then(pa.id.cmp(&pb.id))
    });
    order.extend(stackable);
    for (i, (p, typed)) in passing.iter().enumerate() {
        if !p.stackable && Some(i) != winner.map(|(w, _)| w) {
            if let Some(code) = typed {
                rejected.push(Rejected {
                    code: code.clone(),
                    reason: "NOT_COMBINABLE",
                });
            }
        }
    }

    // Rule 4: apply in order on what is left.
    let mut left = full.clone();
    let mut applied: Vec<Applied> = Vec::new();
    let mut multiplier = Ratio::ONE;
    for i in order {
        let (p, typed) = &passing[i];
        let parts = discount(input, p, &left);
        let total: i64 = parts.iter().sum();
        if p.kind == Kind::PointsMultiplier {
            let m = Ratio::percent(u32::try_from(p.value).unwrap_or(100));
            multiplier = Ratio {
                num: multiplier.num.saturating_mul(m.num),
                den: multiplier.den.saturating_mul(m.den),
            };
        } else if total == 0 {
            if let Some(code) = typed {
                rejected.push(Rejected {
                    code: code.clone(),
                    reason: "NOT_ELIGIBLE_ITEMS",
                });
            }
            continue;
        }
        for (l, d) in left.iter_mut().zip(&parts) {
            *l -= d;
        }
        applied.push(Applied {
            promo_id: p.id.clone(),
            code: p.code.clone(),
            name: p.name.clone(),
            discount: total,
            line_discounts: parts,
        });
    }

    let discount_total: i64 = applied.iter().map(|a| a.discount).sum();
    let lines: Vec<QuoteLine> = input
        .lines
        .iter()
        .enumerate()
        .map(|(i, l)| QuoteLine {
            sku: l.sku.clone(),
            quantity: l.quantity,
            unit_price: l.unit_price,
            discount: applied
                .iter()
                .map(|a| a.line_discounts.get(i).copied().unwrap_or(0))
                .sum(),
        })
        .collect();

    // Rule 5: points.
    let after = subtotal - discount_total;
    let mut cap = after;
    if let Some(pct) = input.max_points_share_pct {
        cap = i64::try_from(i128::from(after) * i128::from(pct) / 100).unwrap_or(after);
    }
    let points_applied = input
        .points_requested
        .min(input.member.points_available)
        .min(cap)
        .max(0);
    let total = after - points_applied;
    let rate = input.member.cashback_rate;
    let points_estimate = if total <= 0 || rate.den == 0 || multiplier.den == 0 {
        0
    } else {
        round_half_up(
            i128::from(total) * i128::from(rate.num) * i128::from(multiplier.num),
            i128::from(rate.den) * i128::from(multiplier.den),
        )
    };
    Quote {
        subtotal,
        discount_total,
        points_applied,
        total,
        lines,
        applied,
        rejected,
        points_estimate,
        promo_multiplier: multiplier,
    }
}
