//! YooKassa amounts: decimal strings with at most two fractional digits
//! (`"3000.00"`, `"0.01"`, `"15"`), converted to kopecks exactly — never
//! through floating point. Exponents, signs, spaces and more than two
//! decimals are refused.

use crate::types::Kopecks;

/// Parses a YooKassa amount `value` into kopecks (1 kopeck to 10 000 000 ₽).
pub fn parse_rub(value: &str) -> Option<i64> {
    let (whole, frac) = match value.split_once('.') {
        Some((w, f)) => (w, f),
        None => (value, ""),
    };
    if whole.is_empty()
        || whole.len() > 10
        || frac.len() > 2
        || (value.contains('.') && frac.is_empty())
    {
        return None;
    }
    if !whole.bytes().all(|b| b.is_ascii_digit()) || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    // "007.5" is not how an amount is written.
    if whole.len() > 1 && whole.starts_with('0') {
        return None;
    }
    let rub: i64 = whole.parse().ok()?;
    let kop: i64 = match frac.len() {
        0 => 0,
        1 => frac.parse::<i64>().ok()? * 10,
        _ => frac.parse().ok()?,
    };
    let total = rub.checked_mul(100)?.checked_add(kop)?;
    (1..=Kopecks::MAX_AMOUNT.get())
        .contains(&total)
        .then_some(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_strings_become_exact_kopecks() {
        for (s, k) in [
            ("0.01", 1),
            ("3000.00", 300_000),
            ("3000", 300_000),
            ("3000.5", 300_050),
            ("19.99", 1_999),
            ("0.10", 10),
            ("10000000.00", 1_000_000_000),
        ] {
            assert_eq!(parse_rub(s), Some(k), "{s}");
        }
    }

    #[test]
    fn anything_else_is_refused() {
        for s in [
            "",
            "1e3",
            "1E3",
            "-1.00",
            "+1.00",
            " 1.00",
            "1.00 ",
            "1,00",
            "1.",
            ".5",
            "1.001",
            "0",
            "0.00",
            "00.50",
            "10000000.01",
            "NaN",
            "inf",
            "1_000",
            "٣.00",
            "99999999999",
        ] {
            assert_eq!(parse_rub(s), None, "{s:?}");
        }
    }
}
