//! Signed event tickets.
//!
//! A ticket code is `base64url(version || registration id || event id ||
//! tag)`: a version byte, two 16-byte UUIDs and the first 16 bytes of
//! HMAC-SHA256 over them, under a key derived from `jwt_secret` with a
//! label of its own (so a ticket never passes for a QR token or an access
//! token). The code names the event, so a ticket shown at another event is
//! refused without a lookup; it does not expire — the registration's
//! status decides whether it still admits (cancelled tickets do not, and a
//! check-in happens once).

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine as _};
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::crypto::constant_time_eq;

const VERSION: u8 = 1;
const BODY_LEN: usize = 1 + 16 + 16;
const TAG_LEN: usize = 16;
const KEY_LABEL: &[u8] = b"krug/events/ticket/v1";

/// The ticket signing key.
#[derive(Clone)]
pub struct TicketKey([u8; 32]);

impl std::fmt::Debug for TicketKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TicketKey(..)")
    }
}

impl TicketKey {
    /// Derives the key: HMAC-SHA256(jwt_secret, label).
    pub fn derive(jwt_secret: &str) -> Self {
        let mut mac = Hmac::<Sha256>::new_from_slice(jwt_secret.as_bytes())
            .expect("HMAC takes keys of any length");
        mac.update(KEY_LABEL);
        Self(mac.finalize().into_bytes().into())
    }

    fn tag(&self, body: &[u8]) -> [u8; TAG_LEN] {
        let mut mac =
            Hmac::<Sha256>::new_from_slice(&self.0).expect("HMAC takes keys of any length");
        mac.update(body);
        let full = mac.finalize().into_bytes();
        let mut tag = [0u8; TAG_LEN];
        tag.copy_from_slice(&full[..TAG_LEN]);
        tag
    }
}

/// The code of the ticket of `registration_id` for `event_id` (UUIDs).
pub fn issue(key: &TicketKey, registration_id: &str, event_id: &str) -> String {
    let mut body = [0u8; BODY_LEN];
    body[0] = VERSION;
    let r = uuid::Uuid::parse_str(registration_id).unwrap_or_default();
    let e = uuid::Uuid::parse_str(event_id).unwrap_or_default();
    body[1..17].copy_from_slice(r.as_bytes());
    body[17..33].copy_from_slice(e.as_bytes());
    let mut bytes = body.to_vec();
    bytes.extend_from_slice(&key.tag(&body));
    URL_SAFE_NO_PAD.encode(bytes)
}

/// `(registration id, event id)` of a genuine ticket code.
pub fn verify(key: &TicketKey, code: &str) -> Option<(String, String)> {
    let code = code.trim();
    if code.len() > 128 {
        return None;
    }
    let bytes = URL_SAFE_NO_PAD.decode(code).ok()?;
    if bytes.len() != BODY_LEN + TAG_LEN || bytes[0] != VERSION {
        return None;
    }
    let (body, tag) = bytes.split_at(BODY_LEN);
    if !constant_time_eq(&key.tag(body), tag) {
        return None;
    }
    let r = uuid::Uuid::from_slice(&body[1..17]).ok()?;
    let e = uuid::Uuid::from_slice(&body[17..33]).ok()?;
    Some((r.hyphenated().to_string(), e.hyphenated().to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const R: &str = "01934f3a-7b2c-7def-8a12-3456789abcde";
    const E: &str = "01934f3a-7b2c-7def-8a12-3456789abcdf";

    #[test]
    fn round_trip_and_tamper() {
        let k = TicketKey::derive("s");
        let code = issue(&k, R, E);
        assert_eq!(verify(&k, &code), Some((R.to_string(), E.to_string())));
        assert_eq!(verify(&TicketKey::derive("other"), &code), None);
        let mut bytes = URL_SAFE_NO_PAD.decode(&code).unwrap();
        bytes[20] ^= 1;
        assert_eq!(verify(&k, &URL_SAFE_NO_PAD.encode(bytes)), None);
        assert_eq!(verify(&k, "garbage"), None);
    }
}
