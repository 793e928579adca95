//! A Saleor shop stand-in for the end-to-end suites: RSA signing keys
//! served as a JWKS by a mock server on 127.0.0.1, and webhook signatures
//! made the way Saleor makes them (RS256 JWS with a detached, unencoded
//! payload: `b64url(header) ".." b64url(signature)` over
//! `b64url(header) "." body`).

use std::sync::{Arc, Mutex, OnceLock};

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine as _};
use rsa::{rand_core::OsRng, traits::PublicKeyParts, Pkcs1v15Sign, RsaPrivateKey};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::MockServer;

fn key(slot: &'static OnceLock<RsaPrivateKey>) -> &'static RsaPrivateKey {
    slot.get_or_init(|| RsaPrivateKey::new(&mut OsRng, 2048).expect("test key"))
}

/// The shop's first signing key (made once per test binary).
pub fn first_key() -> &'static RsaPrivateKey {
    static K: OnceLock<RsaPrivateKey> = OnceLock::new();
    key(&K)
}

/// The key the shop rotates to.
pub fn rotated_key() -> &'static RsaPrivateKey {
    static K: OnceLock<RsaPrivateKey> = OnceLock::new();
    key(&K)
}

/// Base64url without padding.
pub fn b64(bytes: impl AsRef<[u8]>) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// `k`'s public half as a JWKS entry, the shape Saleor publishes.
pub fn jwk(k: &RsaPrivateKey, kid: &str) -> Value {
    json!({ "kty": "RSA", "kid": kid, "use": "sig", "key_ops": ["verify"],
            "n": b64(k.n().to_bytes_be()), "e": b64(k.e().to_bytes_be()) })
}

/// The `Saleor-Signature` of `body` by key `k` named `kid`.
pub fn sign(k: &RsaPrivateKey, kid: &str, body: &[u8]) -> String {
    let header = b64(format!(
        r#"{{"alg":"RS256","b64":false,"crit":["b64"],"kid":"{kid}","typ":"JWT"}}"#
    ));
    let mut input = format!("{header}.").into_bytes();
    input.extend_from_slice(body);
    let sig = k
        .sign(Pkcs1v15Sign::new::<Sha256>(), &Sha256::digest(&input))
        .expect("signs");
    format!("{header}..{}", b64(sig))
}

/// The shop's JWKS endpoint; starts with [`first_key`] as `k1`.
pub struct Jwks {
    /// The mock serving `/.well-known/jwks.json`.
    pub server: MockServer,
    /// The published keys; push to rotate.
    pub keys: Arc<Mutex<Vec<Value>>>,
}

impl Jwks {
    /// Starts the endpoint on 127.0.0.1.
    pub fn start() -> Self {
        let keys = Arc::new(Mutex::new(vec![jwk(first_key(), "k1")]));
        let served = Arc::clone(&keys);
        let server = MockServer::start_with(move |r| {
            if r.path == "/.well-known/jwks.json" {
                (200, json!({ "keys": *served.lock().unwrap() }).to_string())
            } else {
                (404, "{}".into())
            }
        });
        Self { server, keys }
    }

    /// How often the key set was fetched.
    pub fn fetches(&self) -> usize {
        self.server
            .requests()
            .iter()
            .filter(|r| r.path == "/.well-known/jwks.json")
            .count()
    }
}
