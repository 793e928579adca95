//! What a promo is: kind, value, conditions, limits, stacking. Checked
//! values only — [`super::validate`] builds them from requests, the
//! repository from rows.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::wallet::Tier;

/// How a promo changes a checkout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// `value` whole percent (1–100) off the eligible lines, optionally
    /// capped at `max_discount` kopecks.
    Percent,
    /// `value` kopecks off the eligible lines (never more than they cost).
    Fixed,
    /// Buy `buy_qty`, get `free_qty` of the eligible units free: of every
    /// `buy_qty + free_qty` eligible units, the `free_qty` cheapest are free
    /// (cheapest units across the cart first).
    Bogo,
    /// No discount; points earned are multiplied by `value` percent
    /// (200 = × 2).
    PointsMultiplier,
}

impl Kind {
    /// Wire and storage name.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Percent => "percent",
            Kind::Fixed => "fixed",
            Kind::Bogo => "bogo",
            Kind::PointsMultiplier => "points_multiplier",
        }
    }

    /// Parses the wire name.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "percent" => Some(Kind::Percent),
            "fixed" => Some(Kind::Fixed),
            "bogo" => Some(Kind::Bogo),
            "points_multiplier" => Some(Kind::PointsMultiplier),
            _ => None,
        }
    }
}

/// Where the checkout happens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    /// The member's mobile app.
    App,
    /// A business's till.
    Pos,
    /// The web app.
    Web,
}

impl Channel {
    /// Wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::App => "app",
            Channel::Pos => "pos",
            Channel::Web => "web",
        }
    }

    /// Parses the wire name.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "app" => Some(Channel::App),
            "pos" => Some(Channel::Pos),
            "web" => Some(Channel::Web),
            _ => None,
        }
    }
}

/// A weekly window in the business's local time. `from_min`/`to_min` are
/// minutes after local midnight (`from_min` 0..1440, `to_min` 0..=1440,
/// 1440 being 24:00); `to_min < from_min` crosses
/// midnight into the next day (22:00–02:00 on Friday covers Friday 22:00 to
/// Saturday 02:00). `from_min == to_min` never occurs (validation refuses it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Window {
    /// ISO weekdays the window starts on: 1 = Monday … 7 = Sunday.
    pub days: Vec<u8>,
    /// Start, minutes after local midnight (inclusive).
    pub from_min: u16,
    /// End, minutes after local midnight (exclusive).
    pub to_min: u16,
}

/// When a promo runs. Every part is optional; an empty schedule is always.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Schedule {
    /// Not before this instant.
    pub starts_at: Option<DateTime<Utc>>,
    /// Not at or after this instant.
    pub ends_at: Option<DateTime<Utc>>,
    /// If any, the promo runs only inside one of these windows.
    pub weekly: Vec<Window>,
}

/// What a checkout must satisfy. Empty lists mean "any".
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Conditions {
    /// Cart subtotal (before any discount) at least this (kopecks).
    pub min_subtotal: Option<i64>,
    /// Only lines in these category slugs are eligible.
    pub categories: Vec<String>,
    /// Only lines with these SKUs are eligible. With `categories` too, a
    /// line is eligible when it matches either list.
    pub skus: Vec<String>,
    /// Only for members without a paid purchase yet.
    pub first_order: bool,
    /// Only for members of at least this tier.
    pub min_tier: Option<Tier>,
    /// Only in these channels.
    pub channels: Vec<Channel>,
    /// When it runs.
    pub schedule: Schedule,
}

/// Use limits; `None` is unlimited. Uses count committed plus held
/// reservations.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Limits {
    /// Uses overall.
    pub total: Option<i64>,
    /// Uses per member, ever.
    pub per_member: Option<i64>,
    /// Uses per member per UTC day.
    pub per_member_per_day: Option<i64>,
    /// Kopecks of discount overall.
    pub budget: Option<i64>,
}

/// A promo or campaign.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Promo {
    /// Id (UUID v7).
    pub id: String,
    /// The code members type, upper-cased; `None` for code-less campaigns.
    pub code: Option<String>,
    /// Display name.
    pub name: String,
    /// Kind.
    pub kind: Kind,
    /// Percent (1–100) for `percent`; kopecks for `fixed`; percent of the
    /// normal points for `points_multiplier` (101–1000); 0 for `bogo`.
    pub value: i64,
    /// Cap of a `percent` discount (kopecks).
    pub max_discount: Option<i64>,
    /// `bogo`: units to buy (≥ 1; 0 for other kinds).
    pub buy_qty: i64,
    /// `bogo`: units free (≥ 1; 0 for other kinds).
    pub free_qty: i64,
    /// Businesses it applies at; empty = network-wide.
    pub businesses: Vec<String>,
    /// Conditions.
    pub conditions: Conditions,
    /// Limits.
    pub limits: Limits,
    /// Combines with other promos.
    pub stackable: bool,
    /// Higher applies first among stackable promos and wins ties.
    pub priority: i64,
    /// Applies without a code.
    pub auto: bool,
    /// Switched on.
    pub active: bool,
}

/// How much of a promo is used (committed + held), for its limits.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    /// Uses overall.
    pub total: i64,
    /// Uses by this member.
    pub member: i64,
    /// Uses by this member today (UTC).
    pub member_today: i64,
    /// Discount given overall (kopecks).
    pub budget_spent: i64,
}
