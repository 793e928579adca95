//! The referral program: a member's code brings a friend; the friend's
//! first qualifying paid purchase, once it survives the refund hold,
//! rewards both.
//!
//! - A referral is captured at registration (the code given to
//!   `/auth/verify`) or from the referred member's first paid purchase's
//!   `ref_code` (POS body, reservation, payment webhook). It moves
//!   `tracked → paid → rewarded`, or to `rejected` with a [`Reason`].
//! - The screening rules ([`screen`], [`cap_reason`]) are pure; the state
//!   machine ([`rules`]) runs inside the caller's transaction with
//!   conditional updates (`... WHERE state = 'tracked'`), so any number of
//!   racing deliveries and purchases move a referral once, and a partial
//!   unique index keeps one live referral per referred member.
//! - Rewards are ledger `reward` entries (or a single-use promo code for the
//!   referrer), paid by the `referral-settle` job when the hold has passed
//!   (`auto`) or by an admin (`manual`, the beta).

// `params!` builds a Vec that is then borrowed as the statement's slice.
#![allow(clippy::useless_vec)]

pub mod error;
pub mod reads;
pub mod rules;

pub use error::ReferralError;

use serde::Serialize;

use crate::ports::Variables;
use crate::wallet::settings::int_setting;

/// Why a referral was refused. Stored as its `as_str` on the row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    /// The referrer is the referred member.
    SelfReferral,
    /// Both have the same phone.
    SamePhone,
    /// Both have the same e-mail (case-insensitive).
    SameEmail,
    /// Both signed in from the same device (`X-Device-Id`).
    SameDevice,
    /// The referred member already has a referral.
    AlreadyReferred,
    /// The referred member's e-mail domain is excluded.
    ExcludedDomain,
    /// The referrer reached the daily cap of referrals paid.
    DailyCap,
    /// The referrer reached the monthly cap of referrals paid.
    MonthlyCap,
    /// The qualifying purchase was refunded within the hold.
    Refunded,
    /// One of the two erased their data before the reward.
    Erased,
}

impl Reason {
    /// Storage and wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::SelfReferral => "self_referral",
            Reason::SamePhone => "same_phone",
            Reason::SameEmail => "same_email",
            Reason::SameDevice => "same_device",
            Reason::AlreadyReferred => "already_referred",
            Reason::ExcludedDomain => "excluded_domain",
            Reason::DailyCap => "daily_cap",
            Reason::MonthlyCap => "monthly_cap",
            Reason::Refunded => "refunded",
            Reason::Erased => "erased",
        }
    }
}

/// How rewards are paid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PayoutMode {
    /// As soon as the hold has passed.
    Auto,
    /// When an admin pays them (the beta).
    Manual,
}

/// What the referrer gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RewardType {
    /// `referral_reward_referrer` points.
    Points,
    /// A single-use promo code worth `referral_reward_referrer` kopecks.
    Voucher,
}

impl RewardType {
    /// Storage name.
    pub fn as_str(self) -> &'static str {
        match self {
            RewardType::Points => "points",
            RewardType::Voucher => "voucher",
        }
    }
}

/// The program's settings (Spin variables).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReferralSettings {
    /// `referral_min_purchase`: kopecks a purchase needs to qualify.
    pub min_purchase: i64,
    /// `referral_reward_referrer`: points (or the voucher's kopecks).
    pub reward_referrer: i64,
    /// `referral_reward_referred`: points for the referred member.
    pub reward_referred: i64,
    /// `referral_reward_type`: `points` or `voucher`.
    pub reward_type: RewardType,
    /// `referral_payout_mode`: `auto` or `manual`.
    pub payout_mode: PayoutMode,
    /// `referral_daily_cap`: referrals one referrer may have paid per UTC day.
    pub daily_cap: i64,
    /// `referral_monthly_cap`: ... per UTC calendar month.
    pub monthly_cap: i64,
    /// `referral_excluded_domains`: comma-separated e-mail domains.
    pub excluded_domains: Vec<String>,
    /// `points_hold_days`: how long the qualifying purchase must survive.
    pub hold_days: i64,
    /// `points_ttl_days`: reward points expire this long after crediting.
    pub ttl_days: i64,
    /// `referral_link_base`: the link is this followed by the code.
    pub link_base: String,
}

impl Default for ReferralSettings {
    fn default() -> Self {
        Self {
            min_purchase: 100_000,
            reward_referrer: 50_000,
            reward_referred: 25_000,
            reward_type: RewardType::Points,
            payout_mode: PayoutMode::Manual,
            daily_cap: 5,
            monthly_cap: 30,
            excluded_domains: Vec::new(),
            hold_days: 14,
            ttl_days: 365,
            link_base: "https://krug.club/join?ref=".into(),
        }
    }
}

impl ReferralSettings {
    /// Reads the settings, refusing out-of-range values.
    pub fn from_variables(vars: &dyn Variables) -> Result<Self, String> {
        let d = Self::default();
        let int = |name: &str, default: i64, min: i64, max: i64| {
            int_setting(vars, name, default, min, max)
        };
        let text = |name: &str| vars.get(name).map(|v| v.trim().to_string());
        let reward_type = match text("referral_reward_type").as_deref() {
            None | Some("") | Some("points") => RewardType::Points,
            Some("voucher") => RewardType::Voucher,
            Some(v) => {
                return Err(format!(
                    "referral_reward_type must be points or voucher, got {v:?}"
                ))
            }
        };
        let payout_mode = match text("referral_payout_mode").as_deref() {
            None | Some("") | Some("manual") => PayoutMode::Manual,
            Some("auto") => PayoutMode::Auto,
            Some(v) => {
                return Err(format!(
                    "referral_payout_mode must be auto or manual, got {v:?}"
                ))
            }
        };
        let excluded_domains = text("referral_excluded_domains")
            .unwrap_or_default()
            .split(',')
            .map(|d| d.trim().trim_start_matches('@').to_ascii_lowercase())
            .filter(|d| !d.is_empty())
            .collect();
        let link_base = text("referral_link_base")
            .filter(|v| !v.is_empty())
            .unwrap_or(d.link_base);
        Ok(Self {
            min_purchase: int("referral_min_purchase", d.min_purchase, 0, 1_000_000_000)?,
            reward_referrer: int(
                "referral_reward_referrer",
                d.reward_referrer,
                0,
                100_000_000,
            )?,
            reward_referred: int(
                "referral_reward_referred",
                d.reward_referred,
                0,
                100_000_000,
            )?,
            reward_type,
            payout_mode,
            daily_cap: int("referral_daily_cap", d.daily_cap, 1, 10_000)?,
            monthly_cap: int("referral_monthly_cap", d.monthly_cap, 1, 100_000)?,
            excluded_domains,
            hold_days: int("points_hold_days", d.hold_days, 0, 365)?,
            ttl_days: int("points_ttl_days", d.ttl_days, 1, 3650)?,
            link_base,
        })
    }
}

/// What the screening knows about one side of a referral.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Party {
    /// Member id.
    pub id: String,
    /// E.164 phone, when not erased.
    pub phone: Option<String>,
    /// E-mail, when given.
    pub email: Option<String>,
}

/// The facts the screening rules decide on.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Pair {
    /// The code's owner.
    pub referrer: Party,
    /// The new member.
    pub referred: Party,
    /// Whether they share a device.
    pub shared_device: bool,
    /// Whether the referred member already has a live referral (another one).
    pub already_referred: bool,
}

fn domain(email: &str) -> Option<String> {
    email
        .rsplit_once('@')
        .map(|(_, d)| d.trim().to_ascii_lowercase())
}

/// The first rule a pair breaks, in a fixed order (identity first, then
/// history, then the domain list), or `None` when it may be tracked.
pub fn screen(p: &Pair, excluded_domains: &[String]) -> Option<Reason> {
    let same = |a: &Option<String>, b: &Option<String>| match (a, b) {
        (Some(a), Some(b)) => a.trim().eq_ignore_ascii_case(b.trim()),
        _ => false,
    };
    if p.referrer.id == p.referred.id {
        return Some(Reason::SelfReferral);
    }
    if same(&p.referrer.phone, &p.referred.phone) {
        return Some(Reason::SamePhone);
    }
    if same(&p.referrer.email, &p.referred.email) {
        return Some(Reason::SameEmail);
    }
    if p.shared_device {
        return Some(Reason::SameDevice);
    }
    if p.already_referred {
        return Some(Reason::AlreadyReferred);
    }
    let excluded = p
        .referred
        .email
        .as_deref()
        .and_then(domain)
        .is_some_and(|d| excluded_domains.contains(&d));
    if excluded {
        return Some(Reason::ExcludedDomain);
    }
    None
}

/// Whether one more paid referral would exceed a cap, given how many the
/// referrer already has paid today and this month: a cap of N admits the
/// Nth and refuses the N+1st.
pub fn cap_reason(
    paid_today: i64,
    paid_this_month: i64,
    daily: i64,
    monthly: i64,
) -> Option<Reason> {
    if paid_today >= daily {
        Some(Reason::DailyCap)
    } else if paid_this_month >= monthly {
        Some(Reason::MonthlyCap)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn party(id: &str, phone: &str, email: Option<&str>) -> Party {
        Party {
            id: id.into(),
            phone: Some(phone.into()),
            email: email.map(str::to_string),
        }
    }

    fn pair() -> Pair {
        Pair {
            referrer: party("a", "+79990000001", Some("anna@mail.ru")),
            referred: party("b", "+79990000002", Some("boris@yandex.ru")),
            shared_device: false,
            already_referred: false,
        }
    }

    #[test]
    fn every_rejection_reason_in_its_order() {
        assert_eq!(screen(&pair(), &[]), None);
        let mut p = pair();
        p.referred.id = "a".into();
        assert_eq!(screen(&p, &[]), Some(Reason::SelfReferral));
        let mut p = pair();
        p.referred.phone = Some("+79990000001".into());
        assert_eq!(screen(&p, &[]), Some(Reason::SamePhone));
        let mut p = pair();
        p.referred.email = Some(" ANNA@mail.RU".into());
        assert_eq!(screen(&p, &[]), Some(Reason::SameEmail));
        let mut p = pair();
        p.shared_device = true;
        assert_eq!(screen(&p, &[]), Some(Reason::SameDevice));
        let mut p = pair();
        p.already_referred = true;
        assert_eq!(screen(&p, &[]), Some(Reason::AlreadyReferred));
        assert_eq!(
            screen(&pair(), &["yandex.ru".into()]),
            Some(Reason::ExcludedDomain)
        );
        assert_eq!(
            screen(&pair(), &["mail.ru".into()]),
            None,
            "the referrer's domain does not matter"
        );
        // Missing facts never match each other.
        let mut p = pair();
        p.referrer.email = None;
        p.referred.email = None;
        p.referrer.phone = None;
        p.referred.phone = None;
        assert_eq!(screen(&p, &["yandex.ru".into()]), None);
    }

    #[test]
    fn caps_admit_the_nth_and_refuse_the_next() {
        assert_eq!(cap_reason(0, 0, 1, 1), None);
        assert_eq!(cap_reason(1, 1, 1, 5), Some(Reason::DailyCap));
        assert_eq!(cap_reason(2, 4, 3, 5), None);
        assert_eq!(cap_reason(2, 5, 3, 5), Some(Reason::MonthlyCap));
        assert_eq!(
            cap_reason(3, 5, 3, 5),
            Some(Reason::DailyCap),
            "daily is reported first"
        );
    }

    #[test]
    fn settings_are_read_and_checked() {
        struct Vars(Vec<(&'static str, &'static str)>);
        impl Variables for Vars {
            fn get(&self, name: &str) -> Option<String> {
                self.0
                    .iter()
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| v.to_string())
            }
        }
        let s = ReferralSettings::from_variables(&Vars(vec![
            ("referral_reward_type", "voucher"),
            ("referral_payout_mode", "auto"),
            ("referral_excluded_domains", " @Test.RU , mailinator.com,"),
            ("points_hold_days", "0"),
        ]))
        .unwrap();
        assert_eq!(s.reward_type, RewardType::Voucher);
        assert_eq!(s.payout_mode, PayoutMode::Auto);
        assert_eq!(
            s.excluded_domains,
            vec!["test.ru".to_string(), "mailinator.com".into()]
        );
        assert_eq!(s.hold_days, 0);
        assert_eq!(
            ReferralSettings::from_variables(&Vars(vec![])).unwrap(),
            ReferralSettings::default()
        );
        for (k, v) in [
            ("referral_reward_type", "cash"),
            ("referral_payout_mode", "sometimes"),
            ("referral_daily_cap", "0"),
            ("referral_min_purchase", "-1"),
        ] {
            assert!(
                ReferralSettings::from_variables(&Vars(vec![(k, v)])).is_err(),
                "{k}={v}"
            );
        }
    }
}
