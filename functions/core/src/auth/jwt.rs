//! HS256 JSON Web Tokens (RFC 7519), written with `hmac` + `sha2`.
//!
//! Only what Krug issues is accepted: header `{"alg":"HS256","typ":"JWT"}`,
//! three base64url parts without padding, a signature checked in constant
//! time before any claim is read, `exp` strictly in the future and `iat` no
//! more than [`MAX_CLOCK_SKEW_SECS`] ahead. There is no leeway on `exp`: a
//! token is valid while `now < exp` (seconds) and dead from the second `exp`
//! itself, so clients refresh on `TOKEN_EXPIRED` or a little before.

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine as _};
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// How far in the future `iat` may be (another instance's clock).
pub const MAX_CLOCK_SKEW_SECS: i64 = 60;

/// Longest token accepted; ours are a few hundred bytes.
const MAX_TOKEN_LEN: usize = 4096;

/// The claims of a Krug access token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// Member id.
    pub sub: String,
    /// `member`, `staff`, `admin`.
    pub roles: Vec<String>,
    /// Business id (staff only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub biz: Option<String>,
    /// `manager` or `owner` (staff only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub srole: Option<String>,
    /// Login family (session) id.
    pub sid: String,
    /// Issued at (Unix seconds).
    pub iat: i64,
    /// Expires at (Unix seconds).
    pub exp: i64,
    /// Token id.
    pub jti: String,
}

/// Why a token was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JwtError {
    /// Not three base64url parts of JSON.
    #[error("token is malformed")]
    Malformed,
    /// The header names another algorithm (or none).
    #[error("token algorithm is not HS256")]
    WrongAlgorithm,
    /// The signature does not match.
    #[error("token signature is invalid")]
    BadSignature,
    /// `now >= exp`.
    #[error("token has expired")]
    Expired,
    /// `iat` is too far in the future.
    #[error("token is not valid yet")]
    NotYetValid,
}

const HEADER: &str = r#"{"alg":"HS256","typ":"JWT"}"#;

fn mac(secret: &str) -> HmacSha256 {
    HmacSha256::new_from_slice(secret.as_bytes()).expect("HMAC takes any key")
}

/// Signs `claims` with `secret`.
pub fn sign(secret: &str, claims: &Claims) -> String {
    let header = URL_SAFE_NO_PAD.encode(HEADER);
    let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(claims).expect("claims serialise"));
    let signing_input = format!("{header}.{payload}");
    let mut m = mac(secret);
    m.update(signing_input.as_bytes());
    let sig = URL_SAFE_NO_PAD.encode(m.finalize().into_bytes());
    format!("{signing_input}.{sig}")
}

#[derive(Deserialize)]
struct Header {
    alg: Option<String>,
    typ: Option<String>,
}

/// Verifies `token` at Unix time `now` and returns its claims.
pub fn verify(secret: &str, token: &str, now: i64) -> Result<Claims, JwtError> {
    if token.len() > MAX_TOKEN_LEN {
        return Err(JwtError::Malformed);
    }
    let mut parts = token.split('.');
    let (Some(h), Some(p), Some(s), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(JwtError::Malformed);
    };
    let header_bytes = URL_SAFE_NO_PAD.decode(h).map_err(|_| JwtError::Malformed)?;
    let header: Header = serde_json::from_slice(&header_bytes).map_err(|_| JwtError::Malformed)?;
    if header.alg.as_deref() != Some("HS256") {
        return Err(JwtError::WrongAlgorithm);
    }
    if header.typ.as_deref().is_some_and(|t| t != "JWT") {
        return Err(JwtError::Malformed);
    }
    let sig = URL_SAFE_NO_PAD.decode(s).map_err(|_| JwtError::Malformed)?;
    let mut m = mac(secret);
    m.update(h.as_bytes());
    m.update(b".");
    m.update(p.as_bytes());
    // verify_slice compares in constant time.
    m.verify_slice(&sig).map_err(|_| JwtError::BadSignature)?;
    // Only now, with the signature proven, are the claims read.
    let payload = URL_SAFE_NO_PAD.decode(p).map_err(|_| JwtError::Malformed)?;
    let claims: Claims = serde_json::from_slice(&payload).map_err(|_| JwtError::Malformed)?;
    if now >= claims.exp {
        return Err(JwtError::Expired);
    }
    if claims.iat > now + MAX_CLOCK_SKEW_SECS {
        return Err(JwtError::NotYetValid);
    }
    Ok(claims)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "unit-test-secret";

    fn claims(iat: i64) -> Claims {
        Claims {
            sub: "m1".into(),
            roles: vec!["member".into(), "staff".into()],
            biz: Some("b1".into()),
            srole: Some("manager".into()),
            sid: "f1".into(),
            iat,
            exp: iat + 900,
            jti: "j1".into(),
        }
    }

    fn b64(s: &str) -> String {
        URL_SAFE_NO_PAD.encode(s)
    }

    #[test]
    fn round_trip() {
        let c = claims(1_000);
        let t = sign(SECRET, &c);
        assert_eq!(t.split('.').count(), 3);
        assert!(!t.contains('='));
        assert_eq!(verify(SECRET, &t, 1_000).unwrap(), c);
        let header = URL_SAFE_NO_PAD
            .decode(t.split('.').next().unwrap())
            .unwrap();
        assert_eq!(header, HEADER.as_bytes());
    }

    #[test]
    fn expiry_edges_have_no_leeway() {
        let t = sign(SECRET, &claims(1_000));
        assert!(verify(SECRET, &t, 1_899).is_ok(), "exp - 1");
        assert_eq!(verify(SECRET, &t, 1_900), Err(JwtError::Expired), "exp");
        assert_eq!(verify(SECRET, &t, 1_901), Err(JwtError::Expired), "exp + 1");
    }

    #[test]
    fn iat_in_the_future_is_tolerated_only_up_to_the_skew() {
        let t = sign(SECRET, &claims(1_060));
        assert!(verify(SECRET, &t, 1_000).is_ok());
        let t = sign(SECRET, &claims(1_061));
        assert_eq!(verify(SECRET, &t, 1_000), Err(JwtError::NotYetValid));
    }

    #[test]
    fn wrong_secret_is_a_bad_signature() {
        let t = sign(SECRET, &claims(1_000));
        assert_eq!(verify("other", &t, 1_000), Err(JwtError::BadSignature));
    }

    #[test]
    fn tampered_payload_is_refused() {
        let t = sign(SECRET, &claims(1_000));
        let parts: Vec<&str> = t.split('.').collect();
        let mut c = claims(1_000);
        c.roles.push("admin".into());
        let forged_payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&c).unwrap());
        let forged = format!("{}.{}.{}", parts[0], forged_payload, parts[2]);
        assert_eq!(verify(SECRET, &forged, 1_000), Err(JwtError::BadSignature));
        // A longer expiry with the old signature.
        c = claims(1_000);
        c.exp += 10_000;
        let forged_payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&c).unwrap());
        let forged = format!("{}.{}.{}", parts[0], forged_payload, parts[2]);
        assert_eq!(verify(SECRET, &forged, 1_000), Err(JwtError::BadSignature));
    }

    #[test]
    fn tampered_signature_is_refused() {
        let t = sign(SECRET, &claims(1_000));
        let (rest, sig) = t.rsplit_once('.').unwrap();
        let mut bytes = URL_SAFE_NO_PAD.decode(sig).unwrap();
        bytes[0] ^= 1;
        let forged = format!("{rest}.{}", URL_SAFE_NO_PAD.encode(bytes));
        assert_eq!(verify(SECRET, &forged, 1_000), Err(JwtError::BadSignature));
        assert_eq!(
            verify(SECRET, &format!("{rest}."), 1_000),
            Err(JwtError::BadSignature)
        );
    }

    #[test]
    fn other_algorithms_are_refused() {
        let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims(1_000)).unwrap());
        // alg "none" with an empty signature: the classic bypass.
        let none = format!("{}.{payload}.", b64(r#"{"alg":"none","typ":"JWT"}"#));
        assert_eq!(verify(SECRET, &none, 1_000), Err(JwtError::WrongAlgorithm));
        // RS256 with an HMAC made with the secret still names the wrong alg.
        for header in [
            r#"{"alg":"RS256","typ":"JWT"}"#,
            r#"{"alg":"HS512","typ":"JWT"}"#,
            r#"{"alg":"hs256","typ":"JWT"}"#,
            r#"{"typ":"JWT"}"#,
        ] {
            let h = b64(header);
            let mut m = mac(SECRET);
            m.update(format!("{h}.{payload}").as_bytes());
            let sig = URL_SAFE_NO_PAD.encode(m.finalize().into_bytes());
            assert_eq!(
                verify(SECRET, &format!("{h}.{payload}.{sig}"), 1_000),
                Err(JwtError::WrongAlgorithm),
                "{header}"
            );
        }
    }

    #[test]
    fn malformed_tokens_are_refused() {
        let t = sign(SECRET, &claims(1_000));
        let parts: Vec<&str> = t.split('.').collect();
        for bad in [
            String::new(),
            "abc".into(),
            "a.b".into(),
            format!("{t}.x"),
            format!("{}=.{}.{}", parts[0], parts[1], parts[2]),
            format!("{}.{}.{}=", parts[0], parts[1], parts[2]),
            format!("{}.{}.{}", b64("not json"), parts[1], parts[2]),
            format!("{}.{}.{}", parts[0], parts[1], "%%%"),
            "x".repeat(5000),
        ] {
            assert!(
                matches!(
                    verify(SECRET, &bad, 1_000),
                    Err(JwtError::Malformed | JwtError::BadSignature)
                ),
                "{bad}"
            );
        }
        // A correctly signed payload that is not our claims.
        let h = b64(HEADER);
        let p = b64(r#"{"sub":"x"}"#);
        let mut m = mac(SECRET);
        m.update(format!("{h}.{p}").as_bytes());
        let sig = URL_SAFE_NO_PAD.encode(m.finalize().into_bytes());
        assert_eq!(
            verify(SECRET, &format!("{h}.{p}.{sig}"), 1_000),
            Err(JwtError::Malformed)
        );
    }
}
