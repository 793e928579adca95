//! Promo requests as clients send them ([`RawPromo`]) and their checked
//! form ([`Promo`]), plus the wire view ([`PromoView`]) that `GET` returns
//! and `PATCH` merges into.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::model::{Channel, Conditions, Kind, Limits, Promo, Schedule, Window};
use crate::error::InvalidValue;
use crate::types::{Id, Kopecks};
use crate::wallet::{Category, Tier};

/// A weekly window as sent: `{days: [1-7], from: "HH:MM", to: "HH:MM"}`.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawWindow {
    /// ISO weekdays.
    pub days: Vec<i64>,
    /// Start, `HH:MM`.
    pub from: String,
    /// End, `HH:MM` (`24:00` allowed; earlier than `from` crosses midnight).
    pub to: String,
}

/// `conditions.schedule` as sent.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawSchedule {
    /// RFC 3339.
    #[serde(default)]
    pub starts_at: Option<String>,
    /// RFC 3339.
    #[serde(default)]
    pub ends_at: Option<String>,
    /// Weekly windows.
    #[serde(default)]
    pub weekly: Vec<RawWindow>,
}

/// `conditions` as sent.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawConditions {
    /// Kopecks.
    #[serde(default)]
    pub min_subtotal: Option<i64>,
    /// Category slugs.
    #[serde(default)]
    pub categories: Vec<String>,
    /// SKUs.
    #[serde(default)]
    pub skus: Vec<String>,
    /// First order only.
    #[serde(default)]
    pub first_order: bool,
    /// Lowest tier.
    #[serde(default)]
    pub min_tier: Option<String>,
    /// Channels.
    #[serde(default)]
    pub channels: Vec<String>,
    /// Schedule.
    #[serde(default)]
    pub schedule: Option<RawSchedule>,
}

/// `limits` as sent.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawLimits {
    /// Uses overall.
    #[serde(default)]
    pub total: Option<i64>,
    /// Uses per member.
    #[serde(default)]
    pub per_member: Option<i64>,
    /// Uses per member per day.
    #[serde(default)]
    pub per_member_per_day: Option<i64>,
    /// Kopecks of discount overall.
    #[serde(default)]
    pub budget: Option<i64>,
}

/// `POST /admin/promos` (and a `PATCH` merged over the current view).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawPromo {
    /// Code (3–32 of `A-Z a-z 0-9 _ -`), case-insensitive.
    #[serde(default)]
    pub code: Option<String>,
    /// Name.
    pub name: String,
    /// Kind.
    pub kind: String,
    /// See [`Promo::value`].
    #[serde(default)]
    pub value: Option<i64>,
    /// Cap of a percent or bogo discount.
    #[serde(default)]
    pub max_discount: Option<i64>,
    /// Bogo: buy.
    #[serde(default)]
    pub buy_qty: Option<i64>,
    /// Bogo: free.
    #[serde(default)]
    pub free_qty: Option<i64>,
    /// Business ids; empty = network-wide (admins only).
    #[serde(default)]
    pub businesses: Option<Vec<String>>,
    /// Conditions.
    #[serde(default)]
    pub conditions: Option<RawConditions>,
    /// Limits.
    #[serde(default)]
    pub limits: Option<RawLimits>,
    /// Combines with others (default false).
    #[serde(default)]
    pub stackable: Option<bool>,
    /// −1000..=1000 (default 0).
    #[serde(default)]
    pub priority: Option<i64>,
    /// Applies without a code (default false).
    #[serde(default)]
    pub auto: Option<bool>,
    /// Switched on (default true).
    #[serde(default)]
    pub active: Option<bool>,
}

/// Most SKUs or categories one promo may list.
pub const MAX_LIST: usize = 1_000;

fn invalid(code: &'static str, field: &str, reason: impl Into<String>) -> InvalidValue {
    InvalidValue::new(code, field, reason)
}

/// Normalises a promo code: trimmed, upper-cased, 3–32 of `A-Z 0-9 _ -`.
pub fn normalise_code(raw: &str) -> Option<String> {
    let c = raw.trim().to_ascii_uppercase();
    let ok = (3..=32).contains(&c.len())
        && c.bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
    ok.then_some(c)
}

fn minutes(raw: &str, field: &str, allow_24: bool) -> Result<u16, InvalidValue> {
    let bad = || invalid("INVALID_SCHEDULE", field, "times are HH:MM, 00:00-23:59");
    let (h, m) = raw.split_once(':').ok_or_else(bad)?;
    // Two ASCII digits each: `parse` alone would also take a sign ("+9").
    if h.len() != 2 || m.len() != 2 || !h.bytes().chain(m.bytes()).all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let h: u16 = h.parse().map_err(|_| bad())?;
    let m: u16 = m.parse().map_err(|_| bad())?;
    if allow_24 && h == 24 && m == 0 {
        return Ok(1440);
    }
    if h > 23 || m > 59 {
        return Err(bad());
    }
    Ok(h * 60 + m)
}

fn instant(raw: &Option<String>, field: &str) -> Result<Option<DateTime<Utc>>, InvalidValue> {
    raw.as_deref()
        .map(|s| {
            crate::db::parse_instant(s.trim())
                .ok_or_else(|| invalid("INVALID_SCHEDULE", field, "must be an RFC 3339 time"))
        })
        .transpose()
}

fn schedule(raw: &RawSchedule) -> Result<Schedule, InvalidValue> {
    let starts_at = instant(&raw.starts_at, "conditions.schedule.starts_at")?;
    let ends_at = instant(&raw.ends_at, "conditions.schedule.ends_at")?;
    if let (Some(s), Some(e)) = (starts_at, ends_at) {
        if e <= s {
            return Err(invalid(
                "INVALID_SCHEDULE",
                "conditions.schedule.ends_at",
                "ends_at must be after starts_at",
            ));
        }
    }
    if raw.weekly.len() > 28 {
        return Err(invalid(
            "INVALID_SCHEDULE",
            "conditions.schedule.weekly",
            "at most 28 weekly windows",
        ));
    }
    let mut weekly = Vec::with_capacity(raw.weekly.len());
    for (i, w) in raw.weekly.iter().enumerate() {
        let field = format!("conditions.schedule.weekly[{i}]");
        if w.days.is_empty() || w.days.iter().any(|d| !(1..=7).contains(d)) {
            return Err(invalid(
                "INVALID_SCHEDULE",
                &format!("{field}.days"),
                "days are 1 (Monday) to 7 (Sunday), at least one",
            ));
        }
        let from_min = minutes(&w.from, &format!("{field}.from"), false)?;
        let to_min = minutes(&w.to, &format!("{field}.to"), true)?;
        if from_min == to_min {
            return Err(invalid(
                "INVALID_SCHEDULE",
                &format!("{field}.to"),
                "an empty window: from equals to",
            ));
        }
        let mut days: Vec<u8> = w.days.iter().map(|d| *d as u8).collect();
        days.sort_unstable();
        days.dedup();
        weekly.push(Window {
            days,
            from_min,
            to_min,
        });
    }
    Ok(Schedule {
        starts_at,
        ends_at,
        weekly,
    })
}

fn positive(v: Option<i64>, field: &str, max: i64) -> Result<Option<i64>, InvalidValue> {
    match v {
        Some(n) if n < 1 || n > max => Err(invalid(
            "INVALID_LIMIT",
            field,
            format!("must be an integer from 1 to {max}"),
        )),
        other => Ok(other),
    }
}

fn conditions(raw: &RawConditions) -> Result<Conditions, InvalidValue> {
    let min_subtotal = match raw.min_subtotal {
        Some(v) => Some(
            Kopecks::positive(v, "conditions.min_subtotal")
                .map_err(|e| invalid("INVALID_AMOUNT", &e.field, e.reason))?
                .get(),
        ),
        None => None,
    };
    if raw.categories.len() > MAX_LIST || raw.skus.len() > MAX_LIST {
        return Err(invalid(
            "INVALID_FIELD",
            "conditions",
            format!("at most {MAX_LIST} categories and {MAX_LIST} SKUs"),
        ));
    }
    let mut categories = Vec::new();
    for (i, c) in raw.categories.iter().enumerate() {
        let c = Category::parse(c, &format!("conditions.categories[{i}]"))?;
        categories.push(c.as_str().to_string());
    }
    let mut skus = Vec::new();
    for (i, s) in raw.skus.iter().enumerate() {
        skus.push(sku(s, &format!("conditions.skus[{i}]"))?);
    }
    let min_tier = raw
        .min_tier
        .as_deref()
        .map(|t| {
            Tier::parse(t.trim()).map_err(|e| invalid(e.code, "conditions.min_tier", e.reason))
        })
        .transpose()?;
    let mut channels = Vec::new();
    for (i, c) in raw.channels.iter().enumerate() {
        channels.push(Channel::parse(c.trim()).ok_or_else(|| {
            invalid(
                "INVALID_CHANNEL",
                &format!("conditions.channels[{i}]"),
                "channel is app, pos or web",
            )
        })?);
    }
    let schedule = match &raw.schedule {
        Some(s) => schedule(s)?,
        None => Schedule::default(),
    };
    Ok(Conditions {
        min_subtotal,
        categories,
        skus,
        first_order: raw.first_order,
        min_tier,
        channels,
        schedule,
    })
}

/// A SKU: 1–64 printable characters, trimmed.
pub fn sku(raw: &str, field: &str) -> Result<String, InvalidValue> {
    crate::types::display_text(raw, field, "INVALID_SKU", 64)
}

/// Checks a promo request. `id` is the promo's id; business ids are only
/// checked for shape here (existence and the caller's right to them are
/// the use case's job).
pub fn parse(raw: &RawPromo, id: &str) -> Result<Promo, InvalidValue> {
    let name = crate::types::display_text(&raw.name, "name", "INVALID_NAME", 200)?;
    let name = name.as_str();
    let kind = Kind::parse(raw.kind.trim()).ok_or_else(|| {
        invalid(
            "INVALID_KIND",
            "kind",
            "kind is percent, fixed, bogo or points_multiplier",
        )
    })?;
    let code = match &raw.code {
        Some(c) => Some(normalise_code(c).ok_or_else(|| {
            invalid(
                "INVALID_CODE_FORMAT",
                "code",
                "a code is 3-32 letters, digits, '_' or '-'",
            )
        })?),
        None => None,
    };
    let auto = raw.auto.unwrap_or(false);
    if code.is_none() && !auto {
        return Err(invalid(
            "CODE_REQUIRED",
            "code",
            "a promo that is not auto needs a code",
        ));
    }
    let absent = |v: Option<i64>, field: &str| -> Result<(), InvalidValue> {
        match v {
            Some(_) => Err(invalid(
                "INVALID_FIELD",
                field,
                format!("{field} does not apply to a {} promo", kind.as_str()),
            )),
            None => Ok(()),
        }
    };
    let need = |v: Option<i64>, field: &str, lo: i64, hi: i64| -> Result<i64, InvalidValue> {
        match v {
            Some(n) if (lo..=hi).contains(&n) => Ok(n),
            _ => Err(invalid(
                "INVALID_VALUE",
                field,
                format!("a {} promo needs {field} from {lo} to {hi}", kind.as_str()),
            )),
        }
    };
    let max_amount = Kopecks::MAX_AMOUNT.get();
    let (value, max_discount, buy_qty, free_qty) = match kind {
        Kind::Percent => {
            absent(raw.buy_qty, "buy_qty")?;
            absent(raw.free_qty, "free_qty")?;
            let v = need(raw.value, "value", 1, 100)?;
            let cap = raw
                .max_discount
                .map(|m| need(Some(m), "max_discount", 1, max_amount))
                .transpose()?;
            (v, cap, 0, 0)
        }
        Kind::Fixed => {
            absent(raw.buy_qty, "buy_qty")?;
            absent(raw.free_qty, "free_qty")?;
            absent(raw.max_discount, "max_discount")?;
            (need(raw.value, "value", 1, max_amount)?, None, 0, 0)
        }
        Kind::Bogo => {
            absent(raw.value, "value")?;
            let cap = raw
                .max_discount
                .map(|m| need(Some(m), "max_discount", 1, max_amount))
                .transpose()?;
            let buy = need(raw.buy_qty, "buy_qty", 1, 100)?;
            let free = need(raw.free_qty, "free_qty", 1, 100)?;
            (0, cap, buy, free)
        }
        Kind::PointsMultiplier => {
            absent(raw.buy_qty, "buy_qty")?;
            absent(raw.free_qty, "free_qty")?;
            absent(raw.max_discount, "max_discount")?;
            (need(raw.value, "value", 101, 1000)?, None, 0, 0)
        }
    };
    let mut businesses = Vec::new();
    for (i, b) in raw.businesses.iter().flatten().enumerate() {
        let b = Id::parse(b, &format!("businesses[{i}]"))?.to_text();
        if !businesses.contains(&b) {
            businesses.push(b);
        }
    }
    if businesses.len() > 100 {
        return Err(invalid(
            "INVALID_FIELD",
            "businesses",
            "at most 100 businesses",
        ));
    }
    let conditions = conditions(&raw.conditions.clone().unwrap_or_default())?;
    let l = raw.limits.clone().unwrap_or_default();
    let limits = Limits {
        total: positive(l.total, "limits.total", 1_000_000_000)?,
        per_member: positive(l.per_member, "limits.per_member", 1_000_000)?,
        per_member_per_day: positive(l.per_member_per_day, "limits.per_member_per_day", 1_000_000)?,
        budget: positive(l.budget, "limits.budget", 1_000_000_000_000)?,
    };
    let priority = raw.priority.unwrap_or(0);
    if !(-1000..=1000).contains(&priority) {
        return Err(invalid(
            "INVALID_FIELD",
            "priority",
            "priority is from -1000 to 1000",
        ));
    }
    Ok(Promo {
        id: id.to_string(),
        code,
        name: name.to_string(),
        kind,
        value,
        max_discount,
        buy_qty,
        free_qty,
        businesses,
        conditions,
        limits,
        stackable: raw.stackable.unwrap_or(false),
        priority,
        auto,
        active: raw.active.unwrap_or(true),
    })
}

fn hhmm(m: u16) -> String {
    format!("{:02}:{:02}", m / 60, m % 60)
}

/// The wire form of a promo's definition (what `POST` accepts, less
/// nothing): `GET` returns it with the read-only fields of [`PromoView`].
pub fn raw_of(p: &Promo) -> RawPromo {
    let c = &p.conditions;
    RawPromo {
        code: p.code.clone(),
        name: p.name.clone(),
        kind: p.kind.as_str().to_string(),
        value: (p.kind != Kind::Bogo).then_some(p.value),
        max_discount: p.max_discount,
        buy_qty: (p.kind == Kind::Bogo).then_some(p.buy_qty),
        free_qty: (p.kind == Kind::Bogo).then_some(p.free_qty),
        businesses: Some(p.businesses.clone()),
        conditions: Some(RawConditions {
            min_subtotal: c.min_subtotal,
            categories: c.categories.clone(),
            skus: c.skus.clone(),
            first_order: c.first_order,
            min_tier: c.min_tier.map(|t| t.as_str().to_string()),
            channels: c
                .channels
                .iter()
                .map(|ch| ch.as_str().to_string())
                .collect(),
            schedule: Some(RawSchedule {
                starts_at: c.schedule.starts_at.map(crate::db::ts),
                ends_at: c.schedule.ends_at.map(crate::db::ts),
                weekly: c
                    .schedule
                    .weekly
                    .iter()
                    .map(|w| RawWindow {
                        days: w.days.iter().map(|d| i64::from(*d)).collect(),
                        from: hhmm(w.from_min),
                        to: hhmm(w.to_min),
                    })
                    .collect(),
            }),
        }),
        limits: Some(RawLimits {
            total: p.limits.total,
            per_member: p.limits.per_member,
            per_member_per_day: p.limits.per_member_per_day,
            budget: p.limits.budget,
        }),
        stackable: Some(p.stackable),
        priority: Some(p.priority),
        auto: Some(p.auto),
        active: Some(p.active),
    }
}

/// A promo as `GET`/`POST`/`PATCH` answer it.
#[derive(Debug, Clone, Serialize)]
pub struct PromoView {
    /// Id.
    pub id: String,
    /// The definition.
    #[serde(flatten)]
    pub definition: RawPromo,
    /// The business whose staff created it (`None` for admin promos).
    pub owner_business_id: Option<String>,
    /// Uses held or committed, and discount given (kopecks).
    pub usage: UsageView,
    /// Created.
    pub created_at: String,
    /// Last changed.
    pub updated_at: String,
}

/// Usage summary in a [`PromoView`].
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct UsageView {
    /// Uses held or committed.
    pub uses: i64,
    /// Kopecks of discount held or committed.
    pub budget_spent: i64,
}
