//! IANA time-zone names for businesses.
//!
//! Core carries no time-zone database, so a name is accepted when it is one
//! of Russia's zones (listed below, checked exactly), `UTC`, or has the
//! shape of an IANA name in one of the IANA regions (`Europe/Paris`,
//! `America/Argentina/Salta`). Capabilities that convert times (happy
//! hours) must treat an unknown but well-shaped zone as a configuration
//! error, not a crash.

use crate::error::InvalidValue;

/// The default zone of a business.
pub const DEFAULT: &str = "Europe/Moscow";

/// Every zone in Russia (IANA 2025).
pub const RUSSIAN_ZONES: [&str; 27] = [
    "Europe/Kaliningrad",
    "Europe/Moscow",
    "Europe/Simferopol",
    "Europe/Kirov",
    "Europe/Volgograd",
    "Europe/Astrakhan",
    "Europe/Saratov",
    "Europe/Ulyanovsk",
    "Europe/Samara",
    "Asia/Yekaterinburg",
    "Asia/Omsk",
    "Asia/Novosibirsk",
    "Asia/Barnaul",
    "Asia/Tomsk",
    "Asia/Novokuznetsk",
    "Asia/Krasnoyarsk",
    "Asia/Irkutsk",
    "Asia/Chita",
    "Asia/Yakutsk",
    "Asia/Khandyga",
    "Asia/Vladivostok",
    "Asia/Ust-Nera",
    "Asia/Magadan",
    "Asia/Sakhalin",
    "Asia/Srednekolymsk",
    "Asia/Kamchatka",
    "Asia/Anadyr",
];

const REGIONS: [&str; 10] = [
    "Africa",
    "America",
    "Antarctica",
    "Arctic",
    "Asia",
    "Atlantic",
    "Australia",
    "Europe",
    "Indian",
    "Pacific",
];

fn segment_ok(s: &str) -> bool {
    (1..=30).contains(&s.len())
        && s.as_bytes()[0].is_ascii_uppercase()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'+'))
}

/// Validates `input` as the value of `field` (`INVALID_TIMEZONE`).
pub fn parse(input: &str, field: &str) -> Result<String, InvalidValue> {
    let s = input.trim();
    if s == "UTC" || s == "Etc/UTC" || RUSSIAN_ZONES.contains(&s) {
        return Ok(s.to_string());
    }
    let parts: Vec<&str> = s.split('/').collect();
    let shaped = (2..=3).contains(&parts.len())
        && REGIONS.contains(&parts[0])
        && parts[1..].iter().all(|p| segment_ok(p));
    if shaped {
        Ok(s.to_string())
    } else {
        Err(InvalidValue::new(
            "INVALID_TIMEZONE",
            field,
            "timezone must be an IANA name such as Europe/Moscow",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zones() {
        for ok in [
            "Europe/Moscow",
            "Asia/Vladivostok",
            "Asia/Ust-Nera",
            "Asia/Anadyr",
            "UTC",
            "Europe/Paris",
            "America/Argentina/Salta",
            "America/Port-au-Prince",
        ] {
            assert_eq!(parse(ok, "timezone").unwrap(), ok);
        }
        for bad in [
            "",
            "Moscow",
            "europe/moscow",
            "Europe/",
            "Mars/Olympus",
            "Europe/Moscow/Extra/More",
            "+03:00",
            "MSK",
            "Europe/Mos cow",
        ] {
            assert_eq!(
                parse(bad, "timezone").unwrap_err().code,
                "INVALID_TIMEZONE",
                "{bad}"
            );
        }
    }
}
