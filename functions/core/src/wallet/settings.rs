//! Wallet settings from Spin variables, with the documented defaults.

use crate::ports::Variables;

/// Wallet settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WalletSettings {
    /// `points_hold_days` (14): days earned points stay pending.
    pub hold_days: i64,
    /// `points_ttl_days` (365): days points live once available.
    pub ttl_days: i64,
    /// `max_purchases_per_business_day` (20): purchases by one member at one
    /// business in any rolling 24 h that earn points; later ones are recorded
    /// but earn nothing.
    pub max_purchases_per_business_day: i64,
    /// `max_points_per_day` (500 000 kopecks): points one member may earn from
    /// purchases in any rolling 24 h; a purchase beyond it earns the rest.
    pub max_points_per_day: i64,
    /// `compensation_cap_per_order` (50 000 kopecks): total goodwill points per
    /// (business, order_ref).
    pub compensation_cap_per_order: i64,
}

impl Default for WalletSettings {
    fn default() -> Self {
        Self {
            hold_days: 14,
            ttl_days: 365,
            max_purchases_per_business_day: 20,
            max_points_per_day: 500_000,
            compensation_cap_per_order: 50_000,
        }
    }
}

impl WalletSettings {
    /// Reads the settings; an unset or empty variable takes its default, a
    /// malformed one is a deployment error (`Err` names it).
    pub fn from_variables(vars: &dyn Variables) -> Result<Self, String> {
        let d = Self::default();
        let read = |name: &str, default: i64, min: i64, max: i64| {
            int_setting(vars, name, default, min, max)
        };
        Ok(Self {
            hold_days: read("points_hold_days", d.hold_days, 0, 3_650)?,
            ttl_days: read("points_ttl_days", d.ttl_days, 1, 36_500)?,
            max_purchases_per_business_day: read(
                "max_purchases_per_business_day",
                d.max_purchases_per_business_day,
                1,
                1_000_000,
            )?,
            max_points_per_day: read(
                "max_points_per_day",
                d.max_points_per_day,
                0,
                1_000_000_000_000,
            )?,
            compensation_cap_per_order: read(
                "compensation_cap_per_order",
                d.compensation_cap_per_order,
                0,
                1_000_000_000,
            )?,
        })
    }
}

/// The integer setting `name` from `vars`: unset or empty takes `default`;
/// anything but an integer in `min..=max` is a deployment error naming it.
pub fn int_setting(
    vars: &dyn Variables,
    name: &str,
    default: i64,
    min: i64,
    max: i64,
) -> Result<i64, String> {
    match vars.get(name).filter(|v| !v.trim().is_empty()) {
        None => Ok(default),
        Some(v) => match v.trim().parse::<i64>() {
            Ok(n) if (min..=max).contains(&n) => Ok(n),
            _ => Err(format!(
                "variable {name} must be an integer from {min} to {max}, got {v:?}"
            )),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    struct Vars(HashMap<&'static str, &'static str>);
    impl Variables for Vars {
        fn get(&self, name: &str) -> Option<String> {
            self.0.get(name).map(|v| v.to_string())
        }
    }

    #[test]
    fn defaults_and_overrides() {
        assert_eq!(
            WalletSettings::from_variables(&Vars(HashMap::new())).unwrap(),
            WalletSettings::default()
        );
        let s = WalletSettings::from_variables(&Vars(HashMap::from([
            ("points_hold_days", "0"),
            ("points_ttl_days", " 30 "),
            ("max_points_per_day", ""),
        ])))
        .unwrap();
        assert_eq!((s.hold_days, s.ttl_days), (0, 30));
        assert_eq!(s.max_points_per_day, 500_000);
        assert!(
            WalletSettings::from_variables(&Vars(HashMap::from([("points_ttl_days", "x")])))
                .is_err()
        );
        assert!(
            WalletSettings::from_variables(&Vars(HashMap::from([("points_ttl_days", "0")])))
                .is_err()
        );
    }
}
