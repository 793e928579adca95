//! Saleor money amounts (GraphQL `Float`, JSON numbers) to exact kopecks.
//!
//! A JSON number is converted from its decimal text, never through floating
//! point arithmetic. Without serde_json's `arbitrary_precision` a decimal is
//! held as the nearest `f64` and printed back as the shortest text that
//! reads back to it, which for amounts of up to 15 significant digits is the
//! number Saleor wrote (`1500.5`, `0.3`, `1000.0`). Text that needs more
//! than two decimals (`1500.505`, `0.30000000000000004`) is refused rather
//! than rounded: it is not an amount in roubles and kopecks.

use serde_json::Number;

use crate::types::Kopecks;

/// Longest numeric text looked at.
const MAX_TEXT: usize = 40;
/// Largest exponent magnitude looked at (`1e30` is far beyond any amount).
const MAX_EXPONENT: i32 = 30;

/// The kopecks of a non-negative JSON number of roubles, from 0 to
/// [`Kopecks::MAX_AMOUNT`]; `None` for negatives, fractions of a kopeck and
/// larger amounts.
pub fn number_to_kopecks(number: &Number) -> Option<i64> {
    decimal_to_kopecks(&number.to_string())
}

/// The kopecks of a plain or exponent decimal text of roubles (`"1500.5"`,
/// `"15"`, `"1.5e3"`, `"1000.0"`), from 0 to [`Kopecks::MAX_AMOUNT`].
pub fn decimal_to_kopecks(text: &str) -> Option<i64> {
    if text.is_empty() || text.len() > MAX_TEXT {
        return None;
    }
    let (mantissa, exponent) = match text.find(['e', 'E']) {
        Some(at) => {
            let exp = &text[at + 1..];
            let digits = exp.strip_prefix(['+', '-']).unwrap_or(exp);
            if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            let exp: i32 = exp.parse().ok()?;
            if exp.abs() > MAX_EXPONENT {
                return None;
            }
            (&text[..at], exp)
        }
        None => (text, 0),
    };
    let (whole, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    if whole.is_empty()
        || (mantissa.contains('.') && frac.is_empty())
        || !whole.bytes().all(|b| b.is_ascii_digit())
        || !frac.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    // value = digits × 10^(-scale)
    let mut digits: String = format!("{whole}{frac}");
    let mut scale = i32::try_from(frac.len()).ok()? - exponent;
    // Trailing zeros beyond the kopeck carry no value.
    while scale > 2 && digits.ends_with('0') {
        digits.pop();
        scale -= 1;
    }
    if scale > 2 {
        return None;
    }
    let digits = digits.trim_start_matches('0');
    if digits.is_empty() {
        return Some(0);
    }
    if digits.len() > 18 {
        return None;
    }
    let value: i64 = digits.parse().ok()?;
    let kopecks = value.checked_mul(10_i64.checked_pow(u32::try_from(2 - scale).ok()?)?)?;
    (kopecks <= Kopecks::MAX_AMOUNT.get()).then_some(kopecks)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_become_exact_kopecks() {
        for (s, k) in [
            ("0", 0),
            ("0.0", 0),
            ("1500.5", 150_050),
            ("1500.50", 150_050),
            ("1500.500", 150_050),
            ("0.3", 30),
            ("0.01", 1),
            ("1000.0", 100_000),
            ("15", 1_500),
            ("1.5e3", 150_000),
            ("1E3", 100_000),
            ("1e-2", 1),
            ("150e-2", 150),
            ("10000000", 1_000_000_000),
        ] {
            assert_eq!(decimal_to_kopecks(s), Some(k), "{s}");
        }
    }

    #[test]
    fn anything_else_is_refused() {
        for s in [
            "",
            "-1",
            "-0.5",
            "+1",
            "1.",
            ".5",
            "1.005",
            "0.30000000000000004",
            "1e-3",
            "1e",
            "1e+",
            "1e99",
            "10000000.01",
            "NaN",
            "inf",
            " 1",
            "1,5",
            "99999999999999999999",
        ] {
            assert_eq!(decimal_to_kopecks(s), None, "{s:?}");
        }
    }

    #[test]
    fn json_floats_keep_their_text() {
        let v: serde_json::Value = serde_json::from_str("[1500.5, 0.3, 0.1, 1000.0, 7]").unwrap();
        let got: Vec<_> = v
            .as_array()
            .unwrap()
            .iter()
            .map(|n| number_to_kopecks(n.as_number().unwrap()))
            .collect();
        assert_eq!(
            got,
            vec![Some(150_050), Some(30), Some(10), Some(100_000), Some(700)]
        );
    }
}
