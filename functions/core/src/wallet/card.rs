//! Member card numbers: 13 digits whose last digit is the EAN-13 check digit,
//! so a mistyped or misread number is caught before any lookup.

use crate::error::InvalidValue;

/// The EAN-13 check digit of the first 12 digits: weights 1,3,1,3,… from the
/// left, and the digit that brings the weighted sum to a multiple of ten.
pub fn check_digit(first12: &[u8; 12]) -> u8 {
    let sum: u32 = first12
        .iter()
        .enumerate()
        .map(|(i, d)| u32::from(*d) * if i % 2 == 0 { 1 } else { 3 })
        .sum();
    // `sum % 10` is < 10, so the result fits a digit.
    ((10 - sum % 10) % 10) as u8
}

/// A syntactically valid card number (13 digits, correct check digit).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CardNumber(String);

impl CardNumber {
    /// Accepts 13 digits, optionally spaced or dashed as printed on a card;
    /// anything else, or a wrong check digit, is `INVALID_CARD_NUMBER`.
    pub fn parse(input: &str, field: &str) -> Result<Self, InvalidValue> {
        let invalid = |reason: &str| InvalidValue::new("INVALID_CARD_NUMBER", field, reason);
        let mut digits = Vec::with_capacity(13);
        for c in input.trim().chars() {
            match c {
                '0'..='9' => digits.push(c as u8 - b'0'),
                ' ' | '-' => {}
                _ => return Err(invalid("card number must be 13 digits")),
            }
            if digits.len() > 13 {
                return Err(invalid("card number must be 13 digits"));
            }
        }
        let Ok(all) = <[u8; 13]>::try_from(digits.as_slice()) else {
            return Err(invalid("card number must be 13 digits"));
        };
        let mut first12 = [0u8; 12];
        first12.copy_from_slice(&all[..12]);
        if check_digit(&first12) != all[12] {
            return Err(invalid("card number check digit is wrong"));
        }
        Ok(Self(all.iter().map(|d| char::from(b'0' + d)).collect()))
    }

    /// The 13 digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_ean13_numbers_validate() {
        // Published EAN-13 examples.
        for n in ["4006381333931", "5901234123457", "9780306406157"] {
            assert_eq!(CardNumber::parse(n, "card_number").unwrap().as_str(), n);
        }
        assert_eq!(
            CardNumber::parse(" 4006381-333931 ", "card_number")
                .unwrap()
                .as_str(),
            "4006381333931"
        );
    }

    #[test]
    fn every_single_digit_error_is_caught() {
        let good = b"4006381333931";
        for pos in 0..13 {
            for d in b'0'..=b'9' {
                if good[pos] == d {
                    continue;
                }
                let mut bad = *good;
                bad[pos] = d;
                let text = std::str::from_utf8(&bad).unwrap();
                let err = CardNumber::parse(text, "member.card_number").unwrap_err();
                assert_eq!(err.code, "INVALID_CARD_NUMBER", "{text}");
                assert_eq!(err.field, "member.card_number");
            }
        }
    }

    #[test]
    fn wrong_shapes_are_refused() {
        for bad in [
            "",
            "123",
            "40063813339310",
            "400638133393a",
            "4006381333931x",
        ] {
            assert!(CardNumber::parse(bad, "card_number").is_err(), "{bad}");
        }
    }
}
