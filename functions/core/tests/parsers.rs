//! Property-based fuzzing of the parsers that read outside input before any
//! other check: phones, the webhook signature header, YooKassa amounts, the
//! ingest's ruble amounts, partner CSV files, access tokens and Telegram's
//! answers, commands and buttons. Each must refuse bad input
//! with an error — never panic — and what it accepts must be canonical and
//! round-trip.

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine as _};
use chrono_tz::Tz;
use krug_core::{
    auth::jwt::{self, Claims, JwtError},
    ingest::{csv_file, normalize},
    payments::{amount, signature},
    support::telegram::{self, Button},
    types::Phone,
};
use proptest::prelude::*;

/// Strings a client might plausibly send for a field: printable noise,
/// digits with separators, and anything at all.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        "[0-9 ()+.\\-]{0,24}",
        "[ -~]{0,40}",
        any::<String>().prop_map(|s| s.chars().take(60).collect()),
    ]
}

/// The ten national digits of a valid Russian number.
fn national() -> impl Strategy<Value = String> {
    ("[3489]", "[0-9]{9}").prop_map(|(a, b)| format!("{a}{b}"))
}

proptest! {
    // PROPTEST_CASES, when set, runs these longer (scripts/reliability).
    #![proptest_config(ProptestConfig::with_cases(
        std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(512)
    ))]

    #[test]
    fn phone_parsing_never_panics_and_accepts_only_canonical_numbers(input in text()) {
        if let Ok(p) = Phone::parse(&input) {
            let s = p.as_str();
            prop_assert!(s.len() == 12 && s.starts_with("+7"), "{s}");
            prop_assert!(s[2..].bytes().all(|b| b.is_ascii_digit()));
            prop_assert!(matches!(s.as_bytes()[2], b'3' | b'4' | b'8' | b'9'));
            let again = Phone::parse(s).unwrap();
            prop_assert_eq!(again.as_str(), s, "canonical form parses to itself");
        }
    }

    #[test]
    fn every_common_spelling_of_a_number_is_the_same_phone(
        digits in national(),
        prefix in prop::sample::select(vec!["+7", "8", "7", ""]),
        seps in prop::collection::vec(prop::sample::select(vec!["", " ", "-", ".", "(", ")"]), 10),
    ) {
        let mut spelled = String::from(prefix);
        for (d, sep) in digits.chars().zip(&seps) {
            spelled.push_str(sep);
            spelled.push(d);
        }
        let parsed = Phone::parse(&spelled).map_err(|e| TestCaseError::fail(format!("{spelled}: {e:?}")))?;
        prop_assert_eq!(parsed.as_str(), format!("+7{digits}"));
    }

    #[test]
    fn signature_headers_never_panic_and_only_the_right_mac_passes(
        header in text(),
        body in prop::collection::vec(any::<u8>(), 0..200),
        t in 1_000_000_000i64..2_000_000_000,
        flip in any::<prop::sample::Index>(),
    ) {
        // Noise is refused, never accepted, whatever it looks like.
        prop_assert!(signature::verify("secret", &header, &body, t).is_err());
        let signed = signature::sign("secret", t, &body);
        prop_assert_eq!(signature::verify("secret", &signed, &body, t), Ok(()));
        prop_assert_eq!(signature::verify("other", &signed, &body, t), Err(signature::SignatureError::Mismatch));
        prop_assert_eq!(
            signature::verify("secret", &signed, &body, t + signature::TOLERANCE_SECS + 1),
            Err(signature::SignatureError::Stale)
        );
        if !body.is_empty() {
            let mut tampered = body.clone();
            tampered[flip.index(body.len())] ^= 0x01;
            prop_assert_eq!(signature::verify("secret", &signed, &tampered, t), Err(signature::SignatureError::Mismatch));
        }
    }

    #[test]
    fn yookassa_amounts_are_exact_or_refused(input in text(), kopecks in 1i64..=1_000_000_000) {
        if let Some(k) = amount::parse_rub(&input) {
            prop_assert!((1..=1_000_000_000).contains(&k), "{input} → {k}");
        }
        let written = format!("{}.{:02}", kopecks / 100, kopecks % 100);
        prop_assert_eq!(amount::parse_rub(&written), Some(kopecks), "{}", written);
    }

    #[test]
    fn ingest_rubles_are_exact_or_refused(input in text(), kopecks in 1i64..=normalize::MAX_AMOUNT) {
        if let Ok(k) = normalize::rubles(&input, "amount") {
            prop_assert!((1..=normalize::MAX_AMOUNT).contains(&k), "{input} → {k}");
        }
        // The spellings partners export: comma or point, spaced thousands.
        let rub = kopecks / 100;
        let kop = kopecks % 100;
        let spaced = rub
            .to_string()
            .as_bytes()
            .rchunks(3)
            .rev()
            .map(|c| std::str::from_utf8(c).unwrap())
            .collect::<Vec<_>>()
            .join("\u{a0}");
        for written in [format!("{rub},{kop:02}"), format!("{rub}.{kop:02}"), format!("{spaced},{kop:02}")] {
            prop_assert_eq!(normalize::rubles(&written, "amount").ok(), Some(kopecks), "{}", written);
        }
    }

    #[test]
    fn csv_files_of_any_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..600)) {
        let _ = csv_file::parse(&bytes, Tz::Europe__Moscow);
    }

    #[test]
    fn csv_files_with_the_header_and_noise_rows_never_panic(
        rows in prop::collection::vec(prop::collection::vec("[ -~а-я;,\"\\n]{0,12}", 0..8), 0..12),
        sep in prop::sample::select(vec![",", ";"]),
    ) {
        let mut file = format!("external_id{sep}date{sep}customer_phone{sep}amount{sep}category{sep}description\n");
        for row in &rows {
            file.push_str(&row.join(sep));
            file.push('\n');
        }
        // Every record ends a line (a quoted cell may hold more), and the
        // header is not one.
        let lines = file.matches('\n').count();
        if let Ok(parsed) = csv_file::parse(file.as_bytes(), Tz::Europe__Moscow) {
            prop_assert!(parsed.len() < lines, "{} records from {} lines", parsed.len(), lines);
        }
    }

    #[test]
    fn tokens_never_panic_and_only_our_own_signature_passes(
        noise in text(),
        sub in "[a-f0-9-]{36}",
        alg in prop::sample::select(vec!["none", "HS384", "HS512", "RS256", "hs256", ""]),
        flip in any::<prop::sample::Index>(),
    ) {
        let now = 1_800_000_000;
        prop_assert!(jwt::verify("secret", &noise, now).is_err());
        let claims = Claims {
            sub, roles: vec!["member".into()], biz: None, srole: None,
            sid: "s".into(), iat: now, exp: now + 900, jti: "j".into(),
        };
        let token = jwt::sign("secret", &claims);
        prop_assert_eq!(jwt::verify("secret", &token, now), Ok(claims.clone()));
        prop_assert_eq!(jwt::verify("other", &token, now), Err(JwtError::BadSignature));
        prop_assert_eq!(jwt::verify("secret", &token, now + 900), Err(JwtError::Expired));
        // Another algorithm in the header is refused before any signature check.
        let parts: Vec<&str> = token.split('.').collect();
        let header = URL_SAFE_NO_PAD.encode(format!(r#"{{"alg":"{alg}","typ":"JWT"}}"#));
        for sig in [parts[2], ""] {
            let forged = format!("{header}.{}.{sig}", parts[1]);
            prop_assert!(jwt::verify("secret", &forged, now).is_err(), "{alg} accepted");
        }
        // One changed character anywhere breaks it.
        let mut bytes = token.clone().into_bytes();
        let i = flip.index(bytes.len());
        bytes[i] = if bytes[i] == b'A' { b'B' } else { b'A' };
        let tampered = String::from_utf8(bytes).unwrap();
        if tampered != token {
            prop_assert!(jwt::verify("secret", &tampered, now).is_err());
        }
    }

    #[test]
    fn telegram_answers_commands_and_buttons_never_panic(
        status in 100u16..600,
        body in prop::collection::vec(any::<u8>(), 0..300),
        text_in in text(),
    ) {
        let _ = telegram::parse_send_response(status, &body);
        let _ = telegram::parse_command(&text_in);
        if let Some(button) = Button::parse(&text_in) {
            // What parses renders back to data that parses to the same button.
            prop_assert_eq!(Button::parse(&button.data()), Some(button));
        }
    }
}
