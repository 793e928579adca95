//! Verified-purchase reviews of businesses, products (business + SKU) and
//! events: the verification rule, one review per member, target and
//! purchase, the 48-hour edit window, the daily limit, withdrawal,
//! auto-moderation ([`moderation`]), the moderation queue, one public reply
//! per review, ratings kept exact in the same transaction ([`rating`]) and
//! reward points through the wallet ledger.
//!
//! Every write runs in one `BEGIN IMMEDIATE` transaction: the review row,
//! its aggregate row, its reward or clawback and its audit entry commit
//! together, so a reader never sees a count that disagrees with the list
//! and racing requests cannot review one purchase twice or pay twice.

// `params!` builds a Vec that is then borrowed as the statement's slice.
#![allow(clippy::useless_vec)]

pub mod error;
pub mod moderation;
pub mod purchases;
pub mod rating;
pub mod reads;
pub mod submit;

pub use error::{ReviewError, Unverified};

use serde::Serialize;

use crate::error::InvalidValue;
use crate::ports::Variables;

/// Days after payment within which a purchase can be reviewed.
pub const REVIEW_WINDOW_DAYS: i64 = 180;
/// Hours after writing within which the author may edit.
pub const EDIT_WINDOW_HOURS: i64 = 48;
/// Reviews one member may write in any 24 hours.
pub const DAILY_LIMIT: i64 = 5;
/// Longest review text, characters.
pub const MAX_TEXT: usize = 2_000;
/// Shown instead of the name of an author who erased their data.
pub const ANONYMOUS: &str = "Участница клуба";

/// What is reviewed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TargetKind {
    /// A partner business.
    Business,
    /// One product (SKU) of a business.
    Product,
    /// A club event.
    Event,
}

impl TargetKind {
    /// Storage and wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            TargetKind::Business => "business",
            TargetKind::Product => "product",
            TargetKind::Event => "event",
        }
    }

    /// Parses the wire name.
    pub fn parse(s: &str, field: &str) -> Result<Self, InvalidValue> {
        match s {
            "business" => Ok(TargetKind::Business),
            "product" => Ok(TargetKind::Product),
            "event" => Ok(TargetKind::Event),
            _ => Err(InvalidValue::new(
                "INVALID_FIELD",
                field,
                "type must be business, product or event",
            )),
        }
    }
}

/// A reviewed thing: a business, a business's SKU, or an event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// Kind.
    pub kind: TargetKind,
    /// The business (empty for events).
    pub business_id: String,
    /// The SKU of a product.
    pub sku: Option<String>,
    /// The event.
    pub event_id: Option<String>,
}

impl Target {
    /// A business.
    pub fn business(business_id: &str) -> Self {
        Self {
            kind: TargetKind::Business,
            business_id: business_id.to_string(),
            sku: None,
            event_id: None,
        }
    }

    /// A product of a business.
    pub fn product(business_id: &str, sku: &str) -> Self {
        Self {
            kind: TargetKind::Product,
            business_id: business_id.to_string(),
            sku: Some(sku.to_string()),
            event_id: None,
        }
    }

    /// The stored `target_key`: '' for a business, the SKU, the event id.
    pub fn key(&self) -> &str {
        match self.kind {
            TargetKind::Business => "",
            TargetKind::Product => self.sku.as_deref().unwrap_or(""),
            TargetKind::Event => self.event_id.as_deref().unwrap_or(""),
        }
    }
}

/// Review settings (Spin variables).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReviewSettings {
    /// `review_reward_points` (5 000 kopecks): points for a review when it
    /// is first published.
    pub reward_points: i64,
    /// `review_rewards_per_month` (4): rewarded reviews per member per
    /// calendar month (UTC).
    pub rewards_per_month: i64,
    /// `review_burst_per_hour` (10): reviews of one business within an hour
    /// beyond which the next ones wait for a moderator.
    pub burst_per_hour: i64,
    /// `points_ttl_days` (365): how long reward points live.
    pub ttl_days: i64,
}

impl Default for ReviewSettings {
    fn default() -> Self {
        Self {
            reward_points: 5_000,
            rewards_per_month: 4,
            burst_per_hour: 10,
            ttl_days: 365,
        }
    }
}

impl ReviewSettings {
    /// Reads the settings; unset or empty takes the default, malformed is a
    /// deployment error (`Err` names it).
    pub fn from_variables(vars: &dyn Variables) -> Result<Self, String> {
        let d = Self::default();
        let read = |name: &str, default: i64, min: i64, max: i64| {
            crate::wallet::settings::int_setting(vars, name, default, min, max)
        };
        Ok(Self {
            reward_points: read("review_reward_points", d.reward_points, 0, 100_000_000)?,
            rewards_per_month: read("review_rewards_per_month", d.rewards_per_month, 0, 1_000)?,
            burst_per_hour: read("review_burst_per_hour", d.burst_per_hour, 1, 1_000_000)?,
            ttl_days: read("points_ttl_days", d.ttl_days, 1, 36_500)?,
        })
    }
}
