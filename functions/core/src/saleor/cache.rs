//! The shop's JWKS, cached in key-value and refetched once on an unknown key.

use crate::ports::{Http, KeyValue, OutboundRequest};

use super::jws::{parse_signature, verify_parsed, Jwks};
use super::SaleorError;

/// Largest JWKS response accepted (Saleor's has one key, about 0.5 KiB).
pub const MAX_JWKS_BYTES: usize = 64 * 1024;
/// Longest origin accepted.
const MAX_ORIGIN_LEN: usize = 255;

/// `origin` (`https://host[:port]`, one trailing `/` tolerated) without the
/// trailing slash, or `None` when it has a path, query, user info, spaces or
/// another scheme.
fn normalize_origin(origin: &str) -> Option<&str> {
    let origin = origin.strip_suffix('/').unwrap_or(origin);
    let authority = origin
        .strip_prefix("https://")
        .or_else(|| origin.strip_prefix("http://"))?;
    let ok = !authority.is_empty()
        && origin.len() <= MAX_ORIGIN_LEN
        && authority
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':' | b'[' | b']'));
    ok.then_some(origin)
}

fn bad_origin() -> SaleorError {
    SaleorError::KeysUnavailable("invalid Saleor origin".into())
}

/// The JWKS address of a Saleor `origin` (e.g. `https://shop.example.com`):
/// `https://shop.example.com/.well-known/jwks.json`.
pub fn jwks_url(origin: &str) -> Result<String, SaleorError> {
    let origin = normalize_origin(origin).ok_or_else(bad_origin)?;
    Ok(format!("{origin}/.well-known/jwks.json"))
}

/// The key-value key under which the JWKS of `origin` is cached:
/// `saleor:jwks:v1:<origin without trailing slash>`.
pub fn jwks_cache_key(origin: &str) -> String {
    let origin = normalize_origin(origin).unwrap_or(origin);
    format!("saleor:jwks:v1:{origin}")
}

/// Verifies a webhook against the JWKS of the configured Saleor `origin`,
/// cached in `kv`.
///
/// - The header is parsed first: a malformed header or a foreign `alg` is
///   refused without any I/O.
/// - The key set is read from `kv` ([`jwks_cache_key`]); when it is absent
///   (or unreadable) it is fetched with one `GET {origin}/.well-known/jwks.json`
///   and stored.
/// - When the cached set has no key with the header's `kid` (Saleor rotated
///   its key), the set is fetched again **once**, stored, and the signature
///   checked against it; a `kid` still unknown is [`SaleorError::UnknownKey`].
///   A freshly fetched set is never refetched within the same call.
/// - A failed fetch (transport error, non-200 status, oversized or invalid
///   key set, misconfigured `origin`) is [`SaleorError::KeysUnavailable`]:
///   the route answers 503 so Saleor retries (or 401 if it prefers).
/// - Key-value failures are not errors: a failed read counts as a miss, a
///   failed write only costs a fetch next time.
///
/// `origin` must come from configuration, not from a request header (see the
/// module docs). Each request with a well-formed RS256 header and a `kid`
/// absent from the cached set costs one outbound fetch; the route may want to
/// check `Saleor-Api-Url` against the configured origin before calling this.
pub fn verify_with_cache(
    http: &dyn Http,
    kv: &dyn KeyValue,
    origin: &str,
    signature_header: &str,
    body: &[u8],
) -> Result<(), SaleorError> {
    let sig = parse_signature(signature_header)?;
    let origin = normalize_origin(origin).ok_or_else(bad_origin)?;
    let key = jwks_cache_key(origin);
    let cached = kv
        .get(&key)
        .ok()
        .flatten()
        .and_then(|bytes| Jwks::parse(&bytes).ok());
    if let Some(jwks) = cached {
        match verify_parsed(&sig, body, &jwks) {
            Err(SaleorError::UnknownKey(_)) => {}
            decided => return decided,
        }
    }
    let (jwks, raw) = fetch_jwks(http, origin)?;
    // Caching is an optimisation: a failed write only costs a fetch later.
    let _ = kv.set(&key, &raw);
    verify_parsed(&sig, body, &jwks)
}

/// Fetches and parses the JWKS of `origin`; returns it with the raw bytes
/// to cache.
fn fetch_jwks(http: &dyn Http, origin: &str) -> Result<(Jwks, Vec<u8>), SaleorError> {
    let response = http
        .send(OutboundRequest {
            method: "GET".into(),
            url: jwks_url(origin)?,
            headers: vec![("accept".into(), "application/json".into())],
            body: Vec::new(),
        })
        .map_err(|e| SaleorError::KeysUnavailable(format!("JWKS fetch failed: {e}")))?;
    if response.status != 200 {
        return Err(SaleorError::KeysUnavailable(format!(
            "JWKS fetch answered {}",
            response.status
        )));
    }
    if response.body.len() > MAX_JWKS_BYTES {
        return Err(SaleorError::KeysUnavailable("JWKS too large".into()));
    }
    let jwks = Jwks::parse(&response.body)?;
    Ok((jwks, response.body))
}
