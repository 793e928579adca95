//! Checked value types shared by every capability. Each `parse` is the only
//! way in, so a value of the type is valid by construction.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::InvalidValue;
use crate::ports::{Clock, Random};

/// A Russian mobile or landline number in E.164 form, `+7XXXXXXXXXX`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Phone(String);

impl Phone {
    /// Normalises any common Russian spelling — `+7 999 123-45-67`,
    /// `8 (999) 1234567`, `79991234567`, `9991234567`, with spaces, dashes,
    /// dots or parentheses — to `+79991234567`. Anything else, including
    /// other country codes and letters, is `INVALID_PHONE`.
    pub fn parse(input: &str) -> Result<Self, InvalidValue> {
        let invalid = |reason: &str| InvalidValue::new("INVALID_PHONE", "phone", reason);
        let trimmed = input.trim();
        if trimmed.is_empty() {
            return Err(invalid("phone is empty"));
        }
        if trimmed.len() > 32 {
            return Err(invalid("phone is too long"));
        }
        let mut digits = String::with_capacity(12);
        for (i, c) in trimmed.chars().enumerate() {
            match c {
                '0'..='9' => digits.push(c),
                '+' if i == 0 => {}
                ' ' | '-' | '(' | ')' | '.' | '\u{a0}' => {}
                _ => {
                    return Err(invalid(
                        "phone may contain only digits, spaces, dashes, dots and parentheses",
                    ))
                }
            }
        }
        let plus = trimmed.starts_with('+');
        let national = match (plus, digits.len()) {
            (true, 11) if digits.starts_with('7') => &digits[1..],
            (false, 11) if digits.starts_with('7') || digits.starts_with('8') => &digits[1..],
            (false, 10) => &digits[..],
            _ => return Err(invalid("not a Russian phone number (+7 and 10 digits)")),
        };
        // Russian numbers start with 3, 4, 8 or 9 after the country code.
        if !matches!(national.as_bytes()[0], b'3' | b'4' | b'8' | b'9') {
            return Err(invalid("not a Russian phone number (+7 and 10 digits)"));
        }
        Ok(Self(format!("+7{national}")))
    }

    /// The E.164 string.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Phone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Serialize for Phone {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

/// An email address, pragmatically validated; the domain is lower-cased.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Email(String);

impl Email {
    /// Accepts `local@domain.tld`: one `@`, no spaces or control characters,
    /// local part 1–64 chars, domain with a dot, whole ≤ 254 chars.
    pub fn parse(input: &str) -> Result<Self, InvalidValue> {
        let invalid = |reason: &str| InvalidValue::new("INVALID_EMAIL", "email", reason);
        let s = input.trim();
        if s.len() > 254 {
            return Err(invalid("email is too long"));
        }
        let (local, domain) = s
            .split_once('@')
            .ok_or_else(|| invalid("email needs an @"))?;
        if local.is_empty() || local.len() > 64 {
            return Err(invalid("the part before @ must be 1-64 characters"));
        }
        if domain.contains('@') {
            return Err(invalid("email has more than one @"));
        }
        if s.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(invalid("email may not contain spaces"));
        }
        let labels: Vec<&str> = domain.split('.').collect();
        if labels.len() < 2
            || labels
                .iter()
                .any(|l| l.is_empty() || l.starts_with('-') || l.ends_with('-'))
        {
            return Err(invalid("email domain is not valid"));
        }
        Ok(Self(format!("{local}@{}", domain.to_lowercase())))
    }

    /// The address.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Whether `c` shows as what it is: not a control character (newlines
/// included) and not an invisible formatting character — bidi embeddings,
/// overrides, isolates and marks (U+202A–U+202E, U+2066–U+2069, U+200E,
/// U+200F, U+061C), zero-width characters (U+200B–U+200D, U+2060), the BOM
/// (U+FEFF), line and paragraph separators, soft hyphens, tag characters and
/// the other Unicode format characters (category Cf). Such characters let a
/// name or a review display as something other than what was stored, so
/// text shown to other people refuses them.
pub fn is_display_safe(c: char) -> bool {
    !(c.is_control()
        || matches!(c,
            '\u{00AD}'
            | '\u{0600}'..='\u{0605}'
            | '\u{061C}'
            | '\u{06DD}'
            | '\u{070F}'
            | '\u{0890}'..='\u{0891}'
            | '\u{08E2}'
            | '\u{180E}'
            | '\u{200B}'..='\u{200F}'
            | '\u{2028}'..='\u{202E}'
            | '\u{2060}'..='\u{2064}'
            | '\u{2066}'..='\u{206F}'
            | '\u{FEFF}'
            | '\u{FFF9}'..='\u{FFFB}'
            | '\u{110BD}'
            | '\u{110CD}'
            | '\u{13430}'..='\u{1343F}'
            | '\u{1BCA0}'..='\u{1BCA3}'
            | '\u{1D173}'..='\u{1D17A}'
            | '\u{E0001}'
            | '\u{E0020}'..='\u{E007F}'))
}

/// Validates one line of text that people read (a name, a title, a note):
/// trimmed, 1–`max` characters, every one [display-safe](is_display_safe).
/// Such characters are refused, not stripped, so what is stored is exactly
/// what the caller sent. Errors carry `code` and `field`.
pub fn display_text(
    input: &str,
    field: &str,
    code: &'static str,
    max: usize,
) -> Result<String, InvalidValue> {
    // Only ordinary spaces are trimmed: a line separator or NEL at an end is
    // refused below like anywhere else, not silently dropped.
    let s = input.trim_matches(|c: char| {
        c.is_ascii_whitespace() || (c.is_whitespace() && is_display_safe(c))
    });
    let count = s.chars().count();
    if count == 0 {
        return Err(InvalidValue::new(code, field, format!("{field} is empty")));
    }
    if count > max {
        return Err(InvalidValue::new(
            code,
            field,
            format!("{field} is longer than {max} characters"),
        ));
    }
    if !s.chars().all(is_display_safe) {
        return Err(InvalidValue::new(
            code,
            field,
            format!(
                "{field} contains control or invisible formatting characters \
                 (bidi controls, zero-width characters, BOM)"
            ),
        ));
    }
    Ok(s.to_string())
}

/// A first or last name: trimmed, 1–100 characters, [display-safe](is_display_safe).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonName(String);

impl PersonName {
    /// Validates `input` as the value of `field` (422 `INVALID_NAME`).
    pub fn parse(input: &str, field: &str) -> Result<Self, InvalidValue> {
        display_text(input, field, "INVALID_NAME", 100).map(Self)
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An amount of money or points in minor units (kopecks; 1 point = 1 kopeck).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Kopecks(i64);

/// Money amounts (RUB kopecks).
pub type Money = Kopecks;
/// Bonus points (1 point unit = 1 kopeck).
pub type Points = Kopecks;

impl Kopecks {
    /// Zero.
    pub const ZERO: Kopecks = Kopecks(0);
    /// The largest single amount the API accepts: 10 000 000 ₽.
    pub const MAX_AMOUNT: Kopecks = Kopecks(1_000_000_000);

    /// Wraps a raw value (may be negative: ledger amounts are signed).
    pub const fn new(v: i64) -> Self {
        Self(v)
    }

    /// A positive amount no larger than [`Self::MAX_AMOUNT`], for `field`.
    pub fn positive(v: i64, field: &str) -> Result<Self, InvalidValue> {
        if v <= 0 {
            return Err(InvalidValue::new(
                "INVALID_AMOUNT",
                field,
                "must be a positive integer number of kopecks",
            ));
        }
        if v > Self::MAX_AMOUNT.0 {
            return Err(InvalidValue::new(
                "INVALID_AMOUNT",
                field,
                "must not exceed 1000000000 kopecks (10 000 000 RUB)",
            ));
        }
        Ok(Self(v))
    }

    /// The raw value.
    pub const fn get(self) -> i64 {
        self.0
    }

    /// `self + other`, or `None` on overflow.
    pub fn checked_add(self, other: Self) -> Option<Self> {
        self.0.checked_add(other.0).map(Self)
    }

    /// `self - other`, or `None` on overflow.
    pub fn checked_sub(self, other: Self) -> Option<Self> {
        self.0.checked_sub(other.0).map(Self)
    }
}

impl fmt::Display for Kopecks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// ISO currency; the club trades in roubles only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum Currency {
    /// Russian rouble.
    #[default]
    #[serde(rename = "RUB")]
    Rub,
}

/// A UUID v7 identifier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Id(uuid::Uuid);

impl Id {
    /// A new time-ordered id from the clock and the CSPRNG.
    pub fn generate(clock: &dyn Clock, random: &dyn Random) -> Self {
        Self::at(clock.now(), random)
    }

    /// A new id for instant `at`.
    pub fn at(at: DateTime<Utc>, random: &dyn Random) -> Self {
        let mut bytes = [0u8; 10];
        random.fill(&mut bytes);
        let millis = u64::try_from(at.timestamp_millis()).unwrap_or(0);
        Self(uuid::Builder::from_unix_timestamp_millis(millis, &bytes).into_uuid())
    }

    /// Parses a UUID string as the value of `field` (`INVALID_ID` otherwise).
    pub fn parse(input: &str, field: &str) -> Result<Self, InvalidValue> {
        uuid::Uuid::parse_str(input.trim())
            .map(Self)
            .map_err(|_| InvalidValue::new("INVALID_ID", field, "must be a UUID"))
    }

    /// Hyphenated lower-case form.
    pub fn to_text(&self) -> String {
        self.0.hyphenated().to_string()
    }
}

impl fmt::Display for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0.hyphenated())
    }
}

impl Serialize for Id {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_text())
    }
}

impl<'de> Deserialize<'de> for Id {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        uuid::Uuid::parse_str(&s)
            .map(Self)
            .map_err(serde::de::Error::custom)
    }
}

/// Capitals and digits without the look-alikes 0/O and 1/I: the alphabet
/// of referral codes and of the vouchers the referral program issues.
pub const CODE_ALPHABET: &[u8; 32] = b"23456789ABCDEFGHJKLMNPQRSTUVWXYZ";

/// Validates a referral code as typed by a person (case-insensitive):
/// eight characters of [`CODE_ALPHABET`], returned upper case.
pub fn parse_referral_code(input: &str) -> Result<String, InvalidValue> {
    let code = input.trim().to_ascii_uppercase();
    if code.len() != 8 || !code.bytes().all(|b| CODE_ALPHABET.contains(&b)) {
        return Err(InvalidValue::new(
            "INVALID_REFERRAL_CODE",
            "referral_code",
            "referral code is 8 letters and digits",
        ));
    }
    Ok(code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phone_spellings_normalise() {
        for input in [
            "+7 999 123-45-67",
            "8 (999) 1234567",
            "89991234567",
            "79991234567",
            "+79991234567",
            "9991234567",
            " +7(999)123-45-67 ",
            "8.999.123.45.67",
            "+7 (999) 123 45 67",
        ] {
            assert_eq!(
                Phone::parse(input).unwrap().as_str(),
                "+79991234567",
                "{input}"
            );
        }
        assert_eq!(
            Phone::parse("8 (495) 123-45-67").unwrap().as_str(),
            "+74951234567"
        );
    }

    #[test]
    fn phone_rejects_other_spellings() {
        for input in [
            "",
            "   ",
            "12345",
            "+1 202 555 0100",
            "+380 44 123 4567",
            "+8 999 123 45 67",
            "999123456",
            "899912345678",
            "+7 999 123-45-6a",
            "phone",
            "+7 099 123 45 67",
            "7 (999) 123-45-67 ext 5",
            "++79991234567",
            "9+991234567",
            "+7 999 123 45 67 89 00 11 22 33 44 55 66",
        ] {
            let err = Phone::parse(input).unwrap_err();
            assert_eq!(err.code, "INVALID_PHONE", "{input}");
            assert_eq!(err.field, "phone");
        }
    }

    #[test]
    fn email_validation() {
        assert_eq!(
            Email::parse(" Anna@Example.RU ").unwrap().as_str(),
            "Anna@example.ru"
        );
        for bad in [
            "", "a", "a@", "@b.ru", "a@b", "a b@c.ru", "a@b@c.ru", "a@.ru", "a@b..ru", "a@-b.ru",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad}");
        }
        assert!(Email::parse(&format!("{}@b.ru", "x".repeat(65))).is_err());
    }

    #[test]
    fn names_are_trimmed_and_limited() {
        assert_eq!(
            PersonName::parse("  Анна ", "first_name").unwrap().as_str(),
            "Анна"
        );
        assert!(PersonName::parse("   ", "first_name").is_err());
        assert!(PersonName::parse(&"я".repeat(101), "first_name").is_err());
        assert!(PersonName::parse(&"я".repeat(100), "first_name").is_ok());
        assert!(PersonName::parse("a\u{0}b", "last_name").is_err());
    }

    #[test]
    fn names_refuse_invisible_formatting_but_keep_real_names() {
        for bad in [
            "Ева\u{202E}авЕ",
            "\u{2066}Admin\u{2069}",
            "Ева\u{200B}",
            "\u{FEFF}Ева",
            "Е\u{200D}ва",
            "Ева\u{061C}",
            "Ева\u{2028}",
            "Ева\u{E0041}",
            "Ева\u{00AD}",
            "Ева\u{0085}",
        ] {
            let e = PersonName::parse(bad, "first_name").unwrap_err();
            assert_eq!(
                (e.code, e.field.as_str()),
                ("INVALID_NAME", "first_name"),
                "{bad:?}"
            );
        }
        for good in [
            "Ева-Мария",
            "Zoë",
            "O'Brien",
            "李小龙",
            "Ёлка Д'Арк",
            "José María",
        ] {
            assert_eq!(
                PersonName::parse(good, "first_name").unwrap().as_str(),
                good
            );
        }
    }

    #[test]
    fn amounts_are_bounded() {
        assert!(Kopecks::positive(1, "amount").is_ok());
        assert!(Kopecks::positive(1_000_000_000, "amount").is_ok());
        assert!(Kopecks::positive(1_000_000_001, "amount").is_err());
        assert!(Kopecks::positive(0, "amount").is_err());
        assert!(Kopecks::positive(-5, "amount").is_err());
        assert_eq!(Kopecks::new(i64::MAX).checked_add(Kopecks::new(1)), None);
    }

    struct Fixed;
    impl Random for Fixed {
        fn fill(&self, buf: &mut [u8]) {
            buf.iter_mut().for_each(|b| *b = 7);
        }
    }

    #[test]
    fn ids_are_v7_and_time_ordered() {
        let t1 = DateTime::from_timestamp(1_700_000_000, 0).unwrap();
        let t2 = DateTime::from_timestamp(1_700_000_001, 0).unwrap();
        let (a, b) = (Id::at(t1, &Fixed), Id::at(t2, &Fixed));
        assert!(a < b);
        assert!(a.to_text() < b.to_text());
        assert_eq!(a.0.get_version_num(), 7);
        assert_eq!(Id::parse(&a.to_text(), "id").unwrap(), a);
        assert!(Id::parse("nope", "id").is_err());
    }
}
