//! Random secrets and their stored forms: one-time codes, refresh tokens,
//! partner API keys, card numbers and referral codes.

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine as _};
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::crypto::{hex, sha256_hex};
use crate::ports::Random;

/// Partner API keys start with this, so a bearer credential can be told
/// from an access token without trying to parse it.
pub const API_KEY_PREFIX: &str = "krug_pk_";

/// Characters of the stored display prefix of an API key (`krug_pk_` + 4).
pub const API_KEY_DISPLAY_LEN: usize = API_KEY_PREFIX.len() + 4;

/// Referral codes use capitals and digits without the look-alikes 0/O, 1/I.
pub use crate::types::CODE_ALPHABET as REFERRAL_ALPHABET;

/// A uniformly random six-digit code, `000000`–`999999`.
pub fn otp_code(random: &dyn Random) -> String {
    // 4 294 000 000 is the largest multiple of 10^6 below 2^32: values at or
    // above it are redrawn so every code is equally likely.
    loop {
        let mut b = [0u8; 4];
        random.fill(&mut b);
        let v = u32::from_le_bytes(b);
        if v < 4_294_000_000 {
            return format!("{:06}", v % 1_000_000);
        }
    }
}

/// The stored form of a one-time code: HMAC-SHA256 keyed with the server
/// secret over the phone and the code, hex. A leaked table does not reveal
/// codes without the secret, and a code is bound to its phone.
pub fn otp_hash(secret: &str, phone: &str, code: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key");
    mac.update(b"krug-otp\n");
    mac.update(phone.as_bytes());
    mac.update(b"\n");
    mac.update(code.as_bytes());
    hex(&mac.finalize().into_bytes())
}

/// 32 random bytes, base64url without padding (43 characters).
pub fn random_token(random: &dyn Random) -> String {
    let mut b = [0u8; 32];
    random.fill(&mut b);
    URL_SAFE_NO_PAD.encode(b)
}

/// The stored form of a refresh token or API key: SHA-256 hex. The secrets
/// carry 256 bits of entropy, so a plain hash is enough.
pub fn token_hash(token: &str) -> String {
    sha256_hex(token.as_bytes())
}

/// A new partner API key: `krug_pk_` + 43 base64url characters.
pub fn api_key(random: &dyn Random) -> String {
    format!("{API_KEY_PREFIX}{}", random_token(random))
}

/// True when `s` has the shape of a refresh token (43 base64url chars).
pub fn looks_like_token(s: &str) -> bool {
    s.len() == 43
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// A random 13-digit card number starting with 2 (the EAN-13 range for
/// in-house numbering) with a correct check digit.
pub fn card_number(random: &dyn Random) -> String {
    let mut first12 = [0u8; 12];
    first12[0] = 2;
    let mut i = 1;
    while i < 12 {
        let mut b = [0u8; 16];
        random.fill(&mut b);
        for v in b {
            // 250 is a multiple of 10: redraw above it for uniform digits.
            if v < 250 && i < 12 {
                first12[i] = v % 10;
                i += 1;
            }
        }
    }
    let check = crate::wallet::card::check_digit(&first12);
    first12
        .iter()
        .chain(std::iter::once(&check))
        .map(|d| char::from(b'0' + d))
        .collect()
}

/// A random 8-character referral code from [`REFERRAL_ALPHABET`].
pub fn referral_code(random: &dyn Random) -> String {
    let mut b = [0u8; 8];
    random.fill(&mut b);
    // 256 is a multiple of 32, so `% 32` is uniform.
    b.iter()
        .map(|v| char::from(REFERRAL_ALPHABET[usize::from(v % 32)]))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::native::SeqRandom;
    use crate::wallet::card::CardNumber;

    #[test]
    fn otp_codes_are_six_digits_and_spread() {
        let r = SeqRandom::new(1);
        let codes: Vec<String> = (0..2000).map(|_| otp_code(&r)).collect();
        assert!(codes
            .iter()
            .all(|c| c.len() == 6 && c.bytes().all(|b| b.is_ascii_digit())));
        let distinct: std::collections::HashSet<_> = codes.iter().collect();
        assert!(distinct.len() > 1990);
        // Leading digits are all used (no bias towards low codes).
        for d in b'0'..=b'9' {
            assert!(codes.iter().any(|c| c.as_bytes()[0] == d));
        }
    }

    #[test]
    fn otp_hash_binds_secret_phone_and_code() {
        let h = otp_hash("s", "+79990000000", "123456");
        assert_eq!(h.len(), 64);
        assert_eq!(h, otp_hash("s", "+79990000000", "123456"));
        assert_ne!(h, otp_hash("t", "+79990000000", "123456"));
        assert_ne!(h, otp_hash("s", "+79990000001", "123456"));
        assert_ne!(h, otp_hash("s", "+79990000000", "123457"));
    }

    #[test]
    fn tokens_and_keys_have_their_shapes() {
        let r = SeqRandom::new(2);
        let t = random_token(&r);
        assert!(looks_like_token(&t), "{t}");
        assert_ne!(t, random_token(&r));
        let k = api_key(&r);
        assert!(k.starts_with(API_KEY_PREFIX) && k.len() == 51);
        assert!(!looks_like_token("short"));
        assert!(!looks_like_token(&format!("{}=", &t[..42])));
    }

    #[test]
    fn card_numbers_are_valid_ean13_and_random() {
        let r = SeqRandom::new(3);
        let cards: Vec<String> = (0..500).map(|_| card_number(&r)).collect();
        for c in &cards {
            assert_eq!(c.len(), 13);
            assert!(c.starts_with('2'));
            CardNumber::parse(c, "card_number").unwrap();
        }
        let distinct: std::collections::HashSet<_> = cards.iter().collect();
        assert_eq!(distinct.len(), cards.len());
        // Not sequential: consecutive numbers differ in more than the tail.
        assert!(cards.windows(2).any(|w| w[0][..6] != w[1][..6]));
    }

    #[test]
    fn referral_codes_use_the_unambiguous_alphabet() {
        let r = SeqRandom::new(4);
        for _ in 0..200 {
            let c = referral_code(&r);
            assert_eq!(c.len(), 8);
            assert!(c.bytes().all(|b| REFERRAL_ALPHABET.contains(&b)), "{c}");
            assert!(!c.contains(['0', 'O', '1', 'I']));
        }
    }
}
