//! Rotating QR tokens for the member card.
//!
//! A token is `base64url(payload || tag)` where the payload is a version
//! byte, the member id (16 bytes), the issue time (Unix seconds, big-endian)
//! and an 8-byte nonce, and the tag is the first 16 bytes of
//! HMAC-SHA256(payload) under a key derived from `jwt_secret` with a label of
//! its own, so a QR token can never pass for an access token or the reverse.
//! The POS accepts a token for [`TTL_SECS`] after issue; the app fetches a
//! new one before then, so a photographed code is useless a minute later.

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine as _};
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::crypto::constant_time_eq;
use crate::ports::Random;

/// How long a token is accepted after it was issued.
pub const TTL_SECS: i64 = 60;
/// Tolerated clock difference for tokens stamped slightly in the future.
pub const SKEW_SECS: i64 = 5;

const VERSION: u8 = 1;
const PAYLOAD_LEN: usize = 1 + 16 + 8 + 8;
const TAG_LEN: usize = 16;
const KEY_LABEL: &[u8] = b"krug/wallet/qr-token/v1";

/// The signing key, derived from `jwt_secret`.
#[derive(Clone)]
pub struct QrKey([u8; 32]);

impl std::fmt::Debug for QrKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("QrKey(..)")
    }
}

impl QrKey {
    /// Derives the QR key: HMAC-SHA256(jwt_secret, label).
    pub fn derive(jwt_secret: &str) -> Self {
        let mut mac = Hmac::<Sha256>::new_from_slice(jwt_secret.as_bytes())
            .expect("HMAC takes keys of any length");
        mac.update(KEY_LABEL);
        Self(mac.finalize().into_bytes().into())
    }

    fn tag(&self, payload: &[u8]) -> [u8; TAG_LEN] {
        let mut mac =
            Hmac::<Sha256>::new_from_slice(&self.0).expect("HMAC takes keys of any length");
        mac.update(payload);
        let full = mac.finalize().into_bytes();
        let mut tag = [0u8; TAG_LEN];
        tag.copy_from_slice(&full[..TAG_LEN]);
        tag
    }
}

/// A freshly issued token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedToken {
    /// The token text (66 URL-safe characters).
    pub token: String,
    /// When the POS stops accepting it.
    pub expires_at: DateTime<Utc>,
}

/// Why a token was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum QrError {
    /// Not a token this service issues, or its signature does not match.
    #[error("the QR token is not valid")]
    Invalid,
    /// Older than [`TTL_SECS`]: the member must show a fresh code.
    #[error("the QR token has expired; ask the member to refresh the code")]
    Expired,
}

/// Issues a token for `member_id` (a UUID string) at `now`.
pub fn issue(
    key: &QrKey,
    member_id: &str,
    now: DateTime<Utc>,
    random: &dyn Random,
) -> Result<IssuedToken, QrError> {
    let id = uuid::Uuid::parse_str(member_id).map_err(|_| QrError::Invalid)?;
    let mut payload = [0u8; PAYLOAD_LEN];
    payload[0] = VERSION;
    payload[1..17].copy_from_slice(id.as_bytes());
    payload[17..25].copy_from_slice(&now.timestamp().to_be_bytes());
    random.fill(&mut payload[25..33]);
    let mut bytes = payload.to_vec();
    bytes.extend_from_slice(&key.tag(&payload));
    Ok(IssuedToken {
        token: URL_SAFE_NO_PAD.encode(bytes),
        expires_at: DateTime::from_timestamp(now.timestamp() + TTL_SECS, 0).unwrap_or(now),
    })
}

/// Checks `token` at `now` and returns the member id it names.
pub fn verify(key: &QrKey, token: &str, now: DateTime<Utc>) -> Result<String, QrError> {
    let token = token.trim();
    if token.len() > 128 {
        return Err(QrError::Invalid);
    }
    let bytes = URL_SAFE_NO_PAD
        .decode(token)
        .map_err(|_| QrError::Invalid)?;
    if bytes.len() != PAYLOAD_LEN + TAG_LEN || bytes[0] != VERSION {
        return Err(QrError::Invalid);
    }
    let (payload, tag) = bytes.split_at(PAYLOAD_LEN);
    if !constant_time_eq(&key.tag(payload), tag) {
        return Err(QrError::Invalid);
    }
    let mut issued = [0u8; 8];
    issued.copy_from_slice(&payload[17..25]);
    let issued_at = i64::from_be_bytes(issued);
    let age = now.timestamp() - issued_at;
    if age < -SKEW_SECS {
        return Err(QrError::Invalid);
    }
    if age > TTL_SECS {
        return Err(QrError::Expired);
    }
    let id = uuid::Uuid::from_slice(&payload[1..17]).map_err(|_| QrError::Invalid)?;
    Ok(id.hyphenated().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;

    struct Counter(std::sync::atomic::AtomicU8);
    impl Random for Counter {
        fn fill(&self, buf: &mut [u8]) {
            let n = self.0.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            buf.iter_mut().for_each(|b| *b = n);
        }
    }

    const MEMBER: &str = "01934f3a-7b2c-7def-8a12-3456789abcde";

    fn t0() -> DateTime<Utc> {
        DateTime::from_timestamp(1_790_000_000, 0).unwrap()
    }

    #[test]
    fn round_trip_within_sixty_seconds() {
        let key = QrKey::derive("secret");
        let rnd = Counter(0.into());
        let issued = issue(&key, MEMBER, t0(), &rnd).unwrap();
        assert_eq!(issued.expires_at, t0() + Duration::seconds(60));
        assert_eq!(issued.token.len(), 66);
        for secs in [0, 1, 59, 60] {
            assert_eq!(
                verify(&key, &issued.token, t0() + Duration::seconds(secs)).unwrap(),
                MEMBER
            );
        }
        assert_eq!(
            verify(&key, &issued.token, t0() + Duration::seconds(61)),
            Err(QrError::Expired)
        );
        // Each issue rotates the token.
        let again = issue(&key, MEMBER, t0(), &rnd).unwrap();
        assert_ne!(again.token, issued.token);
    }

    #[test]
    fn forged_and_foreign_tokens_are_invalid() {
        let key = QrKey::derive("secret");
        let rnd = Counter(0.into());
        let token = issue(&key, MEMBER, t0(), &rnd).unwrap().token;
        assert_eq!(
            verify(&QrKey::derive("other"), &token, t0()),
            Err(QrError::Invalid)
        );
        // Flip one bit anywhere: refused (the last char only carries 2 payload bits).
        let raw = URL_SAFE_NO_PAD.decode(&token).unwrap();
        for i in 0..raw.len() {
            let mut forged = raw.clone();
            forged[i] ^= 1;
            let text = URL_SAFE_NO_PAD.encode(&forged);
            assert_eq!(verify(&key, &text, t0()), Err(QrError::Invalid), "byte {i}");
        }
        // A re-dated token loses its signature.
        let mut redated = raw.clone();
        redated[17..25].copy_from_slice(&(t0().timestamp() + 3_600).to_be_bytes());
        assert_eq!(
            verify(
                &key,
                &URL_SAFE_NO_PAD.encode(&redated),
                t0() + Duration::hours(1)
            ),
            Err(QrError::Invalid)
        );
        for junk in ["", "abc", "!!!!", &"A".repeat(200)] {
            assert_eq!(verify(&key, junk, t0()), Err(QrError::Invalid));
        }
        // Stamped well in the future (a stolen key would be needed): refused.
        let future = issue(&key, MEMBER, t0() + Duration::seconds(30), &rnd).unwrap();
        assert_eq!(verify(&key, &future.token, t0()), Err(QrError::Invalid));
    }

    #[test]
    fn key_is_domain_separated_from_the_secret() {
        let key = QrKey::derive("secret");
        assert_ne!(&key.0[..], b"secret");
        assert_ne!(key.0, QrKey::derive("secret2").0);
    }
}
