//! Value parsers shared by every ingest source: amounts in rubles as
//! partners write them, dates and times in the formats their systems
//! export, phone hashes and external ids.

use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc};
pub use chrono_tz::Tz;

use crate::error::InvalidValue;
use crate::types::Phone;
use crate::wallet::category::Category;

use super::Customer;

/// Largest amount of one row, kopecks (10 000 000 ₽, as at the till).
pub const MAX_AMOUNT: i64 = 1_000_000_000;

/// Parses a ruble amount written `3000`, `3000.50`, `3000,50`, `3 000,50`
/// (space or no-break space as thousands separator) into kopecks. At most
/// two decimals; must be positive and at most [`MAX_AMOUNT`].
pub fn rubles(input: &str, field: &str) -> Result<i64, InvalidValue> {
    let bad = |reason: &str| InvalidValue::new("INVALID_AMOUNT", field, reason);
    let s: String = input
        .trim()
        .chars()
        .filter(|c| !matches!(c, ' ' | '\u{a0}' | '\u{202f}'))
        .collect();
    if s.is_empty() {
        return Err(bad("amount is empty"));
    }
    if s.len() > 20 {
        return Err(bad("amount is too long"));
    }
    let (whole, frac) = match s.find([',', '.']) {
        Some(i) => (&s[..i], &s[i + 1..]),
        None => (&s[..], ""),
    };
    if whole.is_empty()
        || !whole.bytes().all(|b| b.is_ascii_digit())
        || !frac.bytes().all(|b| b.is_ascii_digit())
        || frac.len() > 2
        || (s.contains([',', '.']) && frac.is_empty())
    {
        return Err(bad(
            "amount must be rubles like 3000, 3000.50 or 3000,50 (at most two decimals)",
        ));
    }
    let whole: i64 = whole.parse().map_err(|_| bad("amount is too large"))?;
    let frac: i64 = match frac.len() {
        0 => 0,
        1 => frac.parse::<i64>().unwrap_or(0) * 10,
        _ => frac.parse::<i64>().unwrap_or(0),
    };
    let kopecks = whole
        .checked_mul(100)
        .and_then(|k| k.checked_add(frac))
        .ok_or_else(|| bad("amount is too large"))?;
    check_amount(kopecks, field)
}

/// Converts a JSON number of rubles (`3000`, `3000.5`) to kopecks, rounding
/// half away from zero at the kopeck.
pub fn rubles_number(v: f64, field: &str) -> Result<i64, InvalidValue> {
    if !v.is_finite() {
        return Err(InvalidValue::new(
            "INVALID_AMOUNT",
            field,
            "amount must be a number",
        ));
    }
    let k = (v * 100.0).round();
    if !(1.0..=MAX_AMOUNT as f64).contains(&k) {
        return Err(InvalidValue::new(
            "INVALID_AMOUNT",
            field,
            "amount must be more than 0 and at most 10 000 000 rubles",
        ));
    }
    Ok(k as i64)
}

/// Checks an amount already in kopecks.
pub fn check_amount(kopecks: i64, field: &str) -> Result<i64, InvalidValue> {
    if kopecks <= 0 || kopecks > MAX_AMOUNT {
        return Err(InvalidValue::new(
            "INVALID_AMOUNT",
            field,
            "amount must be more than 0 and at most 10 000 000 rubles",
        ));
    }
    Ok(kopecks)
}

/// Parses when a sale happened. Accepts RFC 3339 (`2026-11-30T14:05:00+03:00`,
/// `...Z`), `YYYY-MM-DD`, `DD.MM.YYYY`, and either date followed by a time
/// `HH:MM[:SS]` (space or `T` between them). A date or time without an
/// offset is local time of the business's zone `tz`; a bare date is its
/// local noon, so the UTC day stays the partner's day in every Russian zone.
pub fn occurred_at(input: &str, tz: Tz, field: &str) -> Result<DateTime<Utc>, InvalidValue> {
    let bad = || {
        InvalidValue::new(
            "INVALID_DATE",
            field,
            "date must be YYYY-MM-DD, DD.MM.YYYY or RFC 3339, optionally with a time HH:MM[:SS]",
        )
    };
    let s = input.trim();
    if s.is_empty() || s.len() > 40 {
        return Err(bad());
    }
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Ok(t.with_timezone(&Utc));
    }
    let (date_part, time_part) = match s.find([' ', 'T']) {
        Some(i) => (&s[..i], Some(s[i + 1..].trim())),
        None => (s, None),
    };
    let date = NaiveDate::parse_from_str(date_part, "%Y-%m-%d")
        .or_else(|_| NaiveDate::parse_from_str(date_part, "%d.%m.%Y"))
        .map_err(|_| bad())?;
    let time = match time_part {
        None => NaiveTime::from_hms_opt(12, 0, 0).unwrap_or_default(),
        Some(t) => NaiveTime::parse_from_str(t, "%H:%M:%S")
            .or_else(|_| NaiveTime::parse_from_str(t, "%H:%M"))
            .map_err(|_| bad())?,
    };
    local(NaiveDateTime::new(date, time), tz).ok_or_else(bad)
}

/// A local time of `tz` as UTC; in a gap (spring forward) the time an hour
/// later, in an overlap the earlier one.
pub fn local(t: NaiveDateTime, tz: Tz) -> Option<DateTime<Utc>> {
    tz.from_local_datetime(&t)
        .earliest()
        .or_else(|| {
            tz.from_local_datetime(&(t + chrono::Duration::hours(1)))
                .earliest()
        })
        .map(|d| d.with_timezone(&Utc))
}

/// The zone of a business (`Europe/Moscow` when the stored name is unknown
/// to the time-zone database).
pub fn zone(name: &str) -> Tz {
    name.parse().unwrap_or(chrono_tz::Europe::Moscow)
}

/// The zone of business `business_id` (see [`zone`]), `None` when there is
/// no such business.
pub fn business_zone(
    sql: &dyn crate::ports::Sql,
    business_id: &str,
) -> Result<Option<Tz>, crate::ports::StoreError> {
    let rows = sql.execute(
        "SELECT timezone FROM businesses WHERE id = ?",
        &[business_id.into()],
    )?;
    rows.first()
        .map(|r| r.text("timezone").map(|t| zone(&t)))
        .transpose()
}

/// A partner's external id: 1–128 printable characters, trimmed.
pub fn external_id(input: &str, field: &str) -> Result<String, InvalidValue> {
    let s = input.trim();
    if s.is_empty() || s.chars().count() > 128 || s.chars().any(char::is_control) {
        return Err(InvalidValue::new(
            "INVALID_EXTERNAL_ID",
            field,
            "external_id must be 1-128 printable characters",
        ));
    }
    Ok(s.to_string())
}

/// A SHA-256 hex digest of an E.164 phone (64 hex digits, any case; kept
/// lower-case).
pub fn phone_sha256(input: &str, field: &str) -> Result<String, InvalidValue> {
    let s = input.trim();
    if s.len() != 64 || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(InvalidValue::new(
            "INVALID_PHONE_HASH",
            field,
            "phone_sha256 must be 64 hexadecimal digits (SHA-256 of the E.164 phone)",
        ));
    }
    Ok(s.to_ascii_lowercase())
}

/// A customer named by a phone in any common Russian spelling.
pub fn phone_customer(input: &str, field: &str) -> Result<Customer, InvalidValue> {
    Phone::parse(input)
        .map(Customer::Phone)
        .map_err(|e| e.at(field))
}

/// A category slug, or `None` for an empty cell (the business's own).
pub fn category(input: &str, field: &str) -> Result<Option<Category>, InvalidValue> {
    let s = input.trim();
    if s.is_empty() {
        return Ok(None);
    }
    Category::parse(&s.to_ascii_lowercase(), field).map(Some)
}

/// Free text of a row: trimmed, control characters replaced by spaces, at
/// most 500 characters; `None` when empty.
pub fn description(input: &str) -> Option<String> {
    let s: String = input
        .trim()
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(500)
        .collect();
    let s = s.trim().to_string();
    (!s.is_empty()).then_some(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rubles_accept_the_ways_partners_write_them() {
        assert_eq!(rubles("3000", "a"), Ok(300_000));
        assert_eq!(rubles("3000.50", "a"), Ok(300_050));
        assert_eq!(rubles("3000,5", "a"), Ok(300_050));
        assert_eq!(rubles(" 3 000,50 ", "a"), Ok(300_050));
        assert_eq!(rubles("3\u{a0}000", "a"), Ok(300_000));
        assert_eq!(rubles("0,01", "a"), Ok(1));
        for bad in [
            "",
            "0",
            "-5",
            "3000,",
            "3000.505",
            "1e3",
            "3,000.50",
            "abc",
            "10000000,01",
        ] {
            assert!(rubles(bad, "a").is_err(), "{bad}");
        }
        assert_eq!(rubles_number(3000.5, "a"), Ok(300_050));
        assert_eq!(rubles_number(0.005, "a"), Ok(1));
        assert!(rubles_number(0.0, "a").is_err());
        assert!(rubles_number(f64::NAN, "a").is_err());
    }

    #[test]
    fn dates_in_each_format_land_on_the_partner_day() {
        let msk = zone("Europe/Moscow");
        let at = |s: &str| occurred_at(s, msk, "d").map(|t| t.to_rfc3339());
        assert_eq!(at("2026-11-30"), Ok("2026-11-30T09:00:00+00:00".into()));
        assert_eq!(at("30.11.2026"), Ok("2026-11-30T09:00:00+00:00".into()));
        assert_eq!(
            at("30.11.2026 23:30"),
            Ok("2026-11-30T20:30:00+00:00".into())
        );
        assert_eq!(
            at("2026-11-30 08:15:10"),
            Ok("2026-11-30T05:15:10+00:00".into())
        );
        assert_eq!(
            at("2026-11-30T14:05:00Z"),
            Ok("2026-11-30T14:05:00+00:00".into())
        );
        assert_eq!(
            at("2026-11-30T14:05:00+05:00"),
            Ok("2026-11-30T09:05:00+00:00".into())
        );
        for bad in [
            "",
            "30/11/2026",
            "2026-13-01",
            "31.02.2026",
            "2026-11-30 25:00",
            "yesterday",
        ] {
            assert!(at(bad).is_err(), "{bad}");
        }
        let kamchatka = zone("Asia/Kamchatka");
        assert_eq!(
            occurred_at("2026-11-30", kamchatka, "d").map(|t| t.date_naive().to_string()),
            Ok("2026-11-30".into())
        );
    }

    #[test]
    fn hashes_ids_and_text_are_checked() {
        let h = "A".repeat(64);
        assert_eq!(phone_sha256(&h, "h"), Ok("a".repeat(64)));
        assert!(phone_sha256("abc", "h").is_err());
        assert!(phone_sha256(&"g".repeat(64), "h").is_err());
        assert_eq!(external_id(" 42 ", "e"), Ok("42".into()));
        assert!(external_id("", "e").is_err());
        assert!(external_id(&"x".repeat(129), "e").is_err());
        assert_eq!(description("  a\nb  "), Some("a b".into()));
        assert_eq!(description("   "), None);
        assert_eq!(category("", "c"), Ok(None));
    }
}
