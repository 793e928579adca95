//! `Krug-Signature: t=<unix>,v1=<hex>[,v1=<hex>...]`: HMAC-SHA256 with
//! `payments_webhook_secret` over `"<t>.<raw body>"`. Several `v1` values
//! are allowed so a provider can sign with an old and a new secret while
//! rotating; any one matching is enough. Checked on the raw bytes, before
//! the body is parsed, with a constant-time comparison.

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::crypto::{constant_time_eq, hex};

/// How far `t` may be from now, either way (seconds).
pub const TOLERANCE_SECS: i64 = 300;

/// Most `v1` values one header may carry.
pub const MAX_SIGNATURES: usize = 8;

/// Why a signature was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// The header is missing or not `t=...,v1=...`.
    #[error("malformed signature header")]
    Malformed,
    /// `t` is more than the tolerance away from now.
    #[error("signature timestamp outside the tolerance")]
    Stale,
    /// No `v1` matches.
    #[error("no signature matches")]
    Mismatch,
}

/// A parsed header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// The signed timestamp (unix seconds).
    pub t: i64,
    /// The candidate signatures (32 bytes each).
    pub v1: Vec<[u8; 32]>,
}

fn unhex(s: &str) -> Option<[u8; 32]> {
    if s.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, pair) in s.as_bytes().chunks(2).enumerate() {
        let hi = char::from(pair[0]).to_digit(16)?;
        let lo = char::from(pair[1]).to_digit(16)?;
        out[i] = u8::try_from(hi * 16 + lo).ok()?;
    }
    Some(out)
}

/// Parses the header. Unknown keys (future schemes) are ignored; a header
/// needs exactly one `t` and at least one well-formed `v1`.
pub fn parse(header: &str) -> Result<Header, SignatureError> {
    if header.len() > 2048 {
        return Err(SignatureError::Malformed);
    }
    let mut t = None;
    let mut v1 = Vec::new();
    for part in header.split(',') {
        let (k, v) = part
            .trim()
            .split_once('=')
            .ok_or(SignatureError::Malformed)?;
        match k.trim() {
            "t" => {
                if t.is_some() {
                    return Err(SignatureError::Malformed);
                }
                let v = v.trim();
                if v.is_empty() || v.len() > 12 || !v.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(SignatureError::Malformed);
                }
                t = Some(v.parse::<i64>().map_err(|_| SignatureError::Malformed)?);
            }
            "v1" => {
                v1.push(unhex(&v.trim().to_ascii_lowercase()).ok_or(SignatureError::Malformed)?)
            }
            _ => {}
        }
    }
    let t = t.ok_or(SignatureError::Malformed)?;
    if v1.is_empty() || v1.len() > MAX_SIGNATURES {
        return Err(SignatureError::Malformed);
    }
    Ok(Header { t, v1 })
}

fn mac(secret: &[u8], t: i64, body: &[u8]) -> [u8; 32] {
    // HMAC accepts keys of any length, so this cannot fail.
    let mut m = <Hmac<Sha256> as Mac>::new_from_slice(secret).unwrap_or_else(|_| unreachable!());
    m.update(t.to_string().as_bytes());
    m.update(b".");
    m.update(body);
    m.finalize().into_bytes().into()
}

/// The header a provider would send for `body` at `t` (tests, tools).
pub fn sign(secret: &str, t: i64, body: &[u8]) -> String {
    format!("t={t},v1={}", hex(&mac(secret.as_bytes(), t, body)))
}

/// Verifies `header` for the raw `body` at `now` (unix seconds).
pub fn verify(secret: &str, header: &str, body: &[u8], now: i64) -> Result<(), SignatureError> {
    let h = parse(header)?;
    if (now - h.t).abs() > TOLERANCE_SECS {
        return Err(SignatureError::Stale);
    }
    let expected = mac(secret.as_bytes(), h.t, body);
    // Compare against every candidate, without stopping early.
    let mut ok = false;
    for v in &h.v1 {
        ok |= constant_time_eq(v, &expected);
    }
    if ok {
        Ok(())
    } else {
        Err(SignatureError::Mismatch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "whsec_test";
    const BODY: &[u8] = br#"{"id":"evt_1","type":"payment.succeeded"}"#;
    const NOW: i64 = 1_790_000_000;

    #[test]
    fn a_good_signature_verifies() {
        let h = sign(SECRET, NOW, BODY);
        assert_eq!(verify(SECRET, &h, BODY, NOW), Ok(()));
        assert_eq!(
            verify(
                SECRET,
                &h.to_uppercase().replace("T=", "t=").replace("V1=", "v1="),
                BODY,
                NOW
            ),
            Ok(())
        );
    }

    #[test]
    fn tampered_body_or_wrong_secret_is_a_mismatch() {
        let h = sign(SECRET, NOW, BODY);
        let mut tampered = BODY.to_vec();
        tampered[10] ^= 1;
        assert_eq!(
            verify(SECRET, &h, &tampered, NOW),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify("other", &h, BODY, NOW),
            Err(SignatureError::Mismatch)
        );
        // A signature over the same body at another time does not carry over.
        let other_t =
            sign(SECRET, NOW - 1, BODY).replace(&format!("t={}", NOW - 1), &format!("t={NOW}"));
        assert_eq!(
            verify(SECRET, &other_t, BODY, NOW),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn the_timestamp_must_be_within_five_minutes_either_way() {
        for (t, ok) in [
            (NOW - 300, true),
            (NOW + 300, true),
            (NOW - 301, false),
            (NOW + 301, false),
        ] {
            let r = verify(SECRET, &sign(SECRET, t, BODY), BODY, NOW);
            assert_eq!(r.is_ok(), ok, "t = now {:+}", t - NOW);
            if !ok {
                assert_eq!(r, Err(SignatureError::Stale));
            }
        }
    }

    #[test]
    fn any_of_several_v1_values_may_match() {
        let good = sign(SECRET, NOW, BODY);
        let good_v1 = good.split_once(",v1=").unwrap().1;
        let stale_v1 = "0".repeat(64);
        let h = format!("t={NOW},v1={stale_v1},v1={good_v1}");
        assert_eq!(verify(SECRET, &h, BODY, NOW), Ok(()));
        let h = format!("t={NOW},v1={stale_v1},v1={stale_v1}");
        assert_eq!(verify(SECRET, &h, BODY, NOW), Err(SignatureError::Mismatch));
        // Unknown schemes are ignored.
        let h = format!("t={NOW},v0=abc,v1={good_v1}");
        assert_eq!(verify(SECRET, &h, BODY, NOW), Ok(()));
    }

    #[test]
    fn malformed_headers_are_refused() {
        let v = "a".repeat(64);
        for h in [
            String::new(),
            "garbage".into(),
            format!("v1={v}"),
            format!("t={NOW}"),
            format!("t=abc,v1={v}"),
            format!("t=-5,v1={v}"),
            format!("t={NOW},t={NOW},v1={v}"),
            format!("t={NOW},v1=abc"),
            format!("t={NOW},v1={}", "g".repeat(64)),
            format!("t={NOW},v1={v},"),
            format!("t={NOW},{}", vec![format!("v1={v}"); 9].join(",")),
        ] {
            assert_eq!(parse(&h), Err(SignatureError::Malformed), "{h:?}");
        }
    }
}
