//! Support settings and the SLA arithmetic: first-response deadlines per
//! priority (`support_sla_minutes`, e.g. `urgent=60,high=240,normal=1440,low=4320`).

use chrono::{DateTime, Duration, Utc};

use super::model::Priority;
use crate::ports::Variables;

/// Support settings from Spin variables.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SupportSettings {
    /// First-response deadline per priority, in minutes, indexed like
    /// [`Priority::ALL`].
    pub sla_minutes: [i64; 4],
    /// `telegram_api_url`: the Bot API origin.
    pub telegram_api_url: String,
    /// `telegram_bot_token`; empty means Telegram is not configured.
    pub telegram_bot_token: String,
    /// `telegram_chat_id`: the support chat.
    pub telegram_chat_id: String,
    /// `telegram_max_attempts` (10): sends of one outbox row before it is
    /// marked `failed`.
    pub telegram_max_attempts: i64,
}

/// `support_sla_minutes` when unset.
pub const DEFAULT_SLA: &str = "urgent=60,high=240,normal=1440,low=4320";

impl Default for SupportSettings {
    fn default() -> Self {
        Self {
            sla_minutes: [4320, 1440, 240, 60],
            telegram_api_url: "https://api.telegram.org".into(),
            telegram_bot_token: String::new(),
            telegram_chat_id: String::new(),
            telegram_max_attempts: 10,
        }
    }
}

/// Parses `support_sla_minutes`: comma-separated `priority=minutes`; any
/// priority left out keeps its default.
pub fn parse_sla(text: &str) -> Result<[i64; 4], String> {
    let mut out = SupportSettings::default().sla_minutes;
    for pair in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (name, minutes) = pair
            .split_once('=')
            .ok_or_else(|| format!("support_sla_minutes: {pair:?} is not priority=minutes"))?;
        let p = Priority::parse(name)
            .ok_or_else(|| format!("support_sla_minutes: unknown priority {name:?}"))?;
        let m: i64 = minutes
            .trim()
            .parse()
            .ok()
            .filter(|m| (1..=525_600).contains(m))
            .ok_or_else(|| format!("support_sla_minutes: {minutes:?} is not 1-525600 minutes"))?;
        out[p as usize] = m;
    }
    Ok(out)
}

impl SupportSettings {
    /// Reads the settings; unset or empty variables take their defaults, a
    /// malformed one is a deployment error.
    pub fn from_variables(vars: &dyn Variables) -> Result<Self, String> {
        let get = |name: &str| vars.get(name).filter(|v| !v.trim().is_empty());
        let d = Self::default();
        let telegram_max_attempts = match get("telegram_max_attempts") {
            None => d.telegram_max_attempts,
            Some(v) => v
                .trim()
                .parse()
                .ok()
                .filter(|n| (1..=100).contains(n))
                .ok_or_else(|| format!("telegram_max_attempts must be 1-100, got {v:?}"))?,
        };
        Ok(Self {
            sla_minutes: parse_sla(
                &get("support_sla_minutes").unwrap_or_else(|| DEFAULT_SLA.into()),
            )?,
            telegram_api_url: get("telegram_api_url")
                .map(|u| u.trim().trim_end_matches('/').to_string())
                .unwrap_or(d.telegram_api_url),
            telegram_bot_token: get("telegram_bot_token")
                .unwrap_or_default()
                .trim()
                .to_string(),
            telegram_chat_id: get("telegram_chat_id")
                .unwrap_or_default()
                .trim()
                .to_string(),
            telegram_max_attempts,
        })
    }

    /// The first-response window of `priority`.
    pub fn window(&self, priority: Priority) -> Duration {
        Duration::minutes(self.sla_minutes[priority as usize])
    }

    /// When a ticket of `priority` opened (or escalated) at `from` must
    /// have its first staff response.
    pub fn due(&self, priority: Priority, from: DateTime<Utc>) -> DateTime<Utc> {
        from + self.window(priority)
    }
}
