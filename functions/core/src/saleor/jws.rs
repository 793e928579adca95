//! The `Saleor-Signature` JWS (RS256, detached unencoded payload) and the
//! JWKS it is checked against.

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine as _};
use rsa::{traits::PublicKeyParts as _, BigUint, Pkcs1v15Sign, RsaPublicKey};
use serde_json::{Map, Value};
use sha2::{Digest as _, Sha256};

use super::SaleorError;

/// Longest `Saleor-Signature` value looked at (a 4096-bit RS256 JWS is
/// well under 1 KiB).
pub const MAX_SIGNATURE_LEN: usize = 4096;
/// Most keys a JWKS may list; a longer set is refused whole.
pub const MAX_JWKS_KEYS: usize = 16;
/// Longest `kid` accepted, in the header and in the key set.
const MAX_KID_LEN: usize = 128;
/// RSA modulus sizes accepted, in bits.
const MIN_KEY_BITS: usize = 2048;
const MAX_KEY_BITS: usize = 4096;
/// Longest signature accepted: one 4096-bit block.
const MAX_SIGNATURE_BYTES: usize = MAX_KEY_BITS / 8;
/// Longest `alg` echoed back in [`SaleorError::UnsupportedAlg`].
const MAX_ALG_ECHO: usize = 32;

/// A parsed `Saleor-Signature`: the protected header as sent (its base64url
/// text is part of the signing input), the key id and the signature bytes.
/// Parsing checks everything that needs no key: shape, `alg`, `b64`, `crit`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignatureHeader {
    protected: String,
    kid: String,
    signature: Vec<u8>,
}

impl SignatureHeader {
    /// The `kid` of the key Saleor signed with.
    pub fn kid(&self) -> &str {
        &self.kid
    }
}

/// Parses a `Saleor-Signature` value without any key: refuses a value that
/// is not `<b64url(header)>..<b64url(signature)>` with an RS256 header that
/// has `"b64": false`, a `kid`, and no `crit` extension but `b64`.
pub fn parse_signature(value: &str) -> Result<SignatureHeader, SaleorError> {
    let value = value.trim_matches(|c: char| c == ' ' || c == '\t');
    if value.len() > MAX_SIGNATURE_LEN {
        return Err(SaleorError::Malformed("signature header too long"));
    }
    let mut parts = value.split('.');
    let (Some(protected), Some(payload), Some(signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(SaleorError::Malformed(
            "not a compact JWS of three segments",
        ));
    };
    if protected.is_empty() {
        return Err(SaleorError::Malformed("empty protected header"));
    }
    if !payload.is_empty() {
        return Err(SaleorError::Malformed("payload is not detached"));
    }
    let header_bytes = URL_SAFE_NO_PAD
        .decode(protected)
        .map_err(|_| SaleorError::Malformed("protected header is not base64url"))?;
    let header: Map<String, Value> = match serde_json::from_slice(&header_bytes) {
        Ok(Value::Object(map)) => map,
        _ => {
            return Err(SaleorError::Malformed(
                "protected header is not a JSON object",
            ))
        }
    };
    // The algorithm first: `none` or `HS256` is refused as such, whatever
    // else the header lacks.
    let alg = match header.get("alg") {
        Some(Value::String(alg)) => alg,
        _ => return Err(SaleorError::Malformed("missing alg")),
    };
    if alg != "RS256" {
        return Err(SaleorError::UnsupportedAlg(
            alg.chars().take(MAX_ALG_ECHO).collect(),
        ));
    }
    // RFC 7515 4.1.11: a `crit` we do not understand must be refused; the
    // only extension understood is RFC 7797's `b64`.
    if let Some(crit) = header.get("crit") {
        let ok = matches!(crit, Value::Array(names)
            if !names.is_empty() && names.iter().all(|n| n.as_str() == Some("b64")));
        if !ok {
            return Err(SaleorError::Malformed("unsupported crit"));
        }
    }
    // Saleor signs the raw body (`b64: false`). A header without it would
    // mean a base64url-encoded payload, which Saleor never sends.
    if header.get("b64") != Some(&Value::Bool(false)) {
        return Err(SaleorError::Malformed(
            "payload must be unencoded (b64 false)",
        ));
    }
    let kid = match header.get("kid") {
        Some(Value::String(kid)) if !kid.is_empty() && kid.len() <= MAX_KID_LEN => kid.clone(),
        _ => return Err(SaleorError::Malformed("missing kid")),
    };
    let signature = URL_SAFE_NO_PAD
        .decode(signature)
        .map_err(|_| SaleorError::Malformed("signature is not base64url"))?;
    if signature.is_empty() || signature.len() > MAX_SIGNATURE_BYTES {
        return Err(SaleorError::Malformed("bad signature length"));
    }
    Ok(SignatureHeader {
        protected: protected.to_owned(),
        kid,
        signature,
    })
}

/// Verifies `signature_header` (the `Saleor-Signature` value) over the raw
/// request `body` with the keys in `jwks`.
///
/// Errors: [`SaleorError::Malformed`], [`SaleorError::UnsupportedAlg`] (see
/// [`parse_signature`]), [`SaleorError::UnknownKey`] when `jwks` has no key
/// with the header's `kid`, [`SaleorError::BadSignature`] otherwise.
pub fn verify(signature_header: &str, body: &[u8], jwks: &Jwks) -> Result<(), SaleorError> {
    let parsed = parse_signature(signature_header)?;
    verify_parsed(&parsed, body, jwks)
}

/// Verifies an already parsed signature.
pub(crate) fn verify_parsed(
    sig: &SignatureHeader,
    body: &[u8],
    jwks: &Jwks,
) -> Result<(), SaleorError> {
    let key = jwks
        .find(&sig.kid)
        .ok_or_else(|| SaleorError::UnknownKey(sig.kid.clone()))?;
    if sig.signature.len() != key.size() {
        return Err(SaleorError::BadSignature);
    }
    let digest = Sha256::new()
        .chain_update(sig.protected.as_bytes())
        .chain_update(b".")
        .chain_update(body)
        .finalize();
    key.verify(Pkcs1v15Sign::new::<Sha256>(), &digest, &sig.signature)
        .map_err(|_| SaleorError::BadSignature)
}

/// A parsed key set: the usable RSA signing keys of a JWKS, by `kid`.
#[derive(Clone, PartialEq, Eq)]
pub struct Jwks {
    keys: Vec<(String, RsaPublicKey)>,
}

impl std::fmt::Debug for Jwks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Jwks").field("kids", &self.kids()).finish()
    }
}

impl Jwks {
    /// Parses a JWKS document (`{"keys": [...]}`) strictly.
    ///
    /// Keys whose `kty` is not `RSA`, whose `use` (when present) is not
    /// `sig`, whose `alg` (when present) is not `RS256`, whose `key_ops`
    /// (when present) lack `verify`, that have no `kid`,
    /// or whose modulus is outside 2048..=4096 bits are skipped. The whole set
    /// is refused ([`SaleorError::KeysUnavailable`]) when it is not such an
    /// object, lists more than [`MAX_JWKS_KEYS`] entries, has an entry that
    /// is not an object or an RSA key with a missing or undecodable `n`/`e`,
    /// repeats a usable `kid`, or ends up with no usable key.
    pub fn parse(bytes: &[u8]) -> Result<Self, SaleorError> {
        let bad = |why: &str| SaleorError::KeysUnavailable(format!("invalid JWKS: {why}"));
        if bytes.len() > super::MAX_JWKS_BYTES {
            return Err(bad("too large"));
        }
        let entries = match serde_json::from_slice::<Value>(bytes) {
            Ok(Value::Object(mut doc)) => match doc.remove("keys") {
                Some(Value::Array(keys)) => keys,
                _ => return Err(bad("no keys array")),
            },
            _ => return Err(bad("not a JSON object")),
        };
        if entries.len() > MAX_JWKS_KEYS {
            return Err(bad("too many keys"));
        }
        let mut keys: Vec<(String, RsaPublicKey)> = Vec::new();
        for entry in &entries {
            let Value::Object(jwk) = entry else {
                return Err(bad("key is not an object"));
            };
            let text = |name: &str| jwk.get(name).and_then(Value::as_str);
            if text("kty") != Some("RSA") {
                continue;
            }
            if jwk.get("use").is_some() && text("use") != Some("sig") {
                continue;
            }
            if jwk.get("alg").is_some() && text("alg") != Some("RS256") {
                continue;
            }
            // PyJWT (and so Saleor) writes `key_ops: ["verify"]`.
            if let Some(ops) = jwk.get("key_ops") {
                let verifies = matches!(ops, Value::Array(ops)
                    if ops.iter().any(|op| op.as_str() == Some("verify")));
                if !verifies {
                    continue;
                }
            }
            let kid = match text("kid") {
                Some(kid) if !kid.is_empty() && kid.len() <= MAX_KID_LEN => kid,
                _ => continue,
            };
            let n = decode_uint(text("n"), MAX_KEY_BITS / 8 + 1).ok_or_else(|| bad("bad n"))?;
            let e = decode_uint(text("e"), 8).ok_or_else(|| bad("bad e"))?;
            let bits = n.bits();
            if !(MIN_KEY_BITS..=MAX_KEY_BITS).contains(&bits) {
                continue;
            }
            let key = RsaPublicKey::new(n, e).map_err(|_| bad("invalid RSA key"))?;
            if keys.iter().any(|(k, _)| k == kid) {
                return Err(bad("repeated kid"));
            }
            keys.push((kid.to_owned(), key));
        }
        if keys.is_empty() {
            return Err(bad("no usable RSA signing key"));
        }
        Ok(Self { keys })
    }

    /// The key ids of the usable keys, in document order.
    pub fn kids(&self) -> Vec<&str> {
        self.keys.iter().map(|(kid, _)| kid.as_str()).collect()
    }

    /// Whether a usable key has this `kid`.
    pub fn contains(&self, kid: &str) -> bool {
        self.find(kid).is_some()
    }

    fn find(&self, kid: &str) -> Option<&RsaPublicKey> {
        self.keys.iter().find(|(k, _)| k == kid).map(|(_, key)| key)
    }
}

/// A big-endian unsigned integer in unpadded base64url, at most `max_bytes`
/// long and not zero.
fn decode_uint(text: Option<&str>, max_bytes: usize) -> Option<BigUint> {
    let text = text?;
    if text.is_empty() || text.len() > max_bytes.div_ceil(3) * 4 {
        return None;
    }
    let bytes = URL_SAFE_NO_PAD.decode(text).ok()?;
    if bytes.len() > max_bytes || bytes.iter().all(|&b| b == 0) {
        return None;
    }
    Some(BigUint::from_bytes_be(&bytes))
}
