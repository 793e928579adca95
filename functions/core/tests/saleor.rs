//! Saleor webhooks: the RS256 detached JWS as Saleor produces it, the JWKS
//! cache with one refetch on key rotation, and the order payload mapping.

use std::cell::RefCell;
use std::sync::OnceLock;

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine as _};
use hmac::{Hmac, Mac};
use krug_core::{
    error::{ErrorClass, UseCaseError},
    native::MemoryKv,
    ports::{Http, HttpError, KeyValue, OutboundRequest, OutboundResponse},
    saleor::{
        self, amount::decimal_to_kopecks, jwks_cache_key, parse_order_event, parse_signature,
        verify, verify_with_cache, Jwks, OrderEvent, SaleorError, SaleorLine,
    },
    types::Kopecks,
};
use proptest::prelude::*;
use rsa::{rand_core::OsRng, traits::PublicKeyParts as _, Pkcs1v15Sign, RsaPrivateKey};
use serde_json::{json, Value};
use sha2::{Digest as _, Sha256};

const ORIGIN: &str = "https://shop.example.com";
const JWKS_URL: &str = "https://shop.example.com/.well-known/jwks.json";

// ---- keys and signing, the way Saleor signs ------------------------------

fn key(slot: &'static OnceLock<RsaPrivateKey>, bits: usize) -> &'static RsaPrivateKey {
    slot.get_or_init(|| RsaPrivateKey::new(&mut OsRng, bits).expect("test key"))
}

fn key_a() -> &'static RsaPrivateKey {
    static K: OnceLock<RsaPrivateKey> = OnceLock::new();
    key(&K, 2048)
}

fn key_b() -> &'static RsaPrivateKey {
    static K: OnceLock<RsaPrivateKey> = OnceLock::new();
    key(&K, 2048)
}

fn b64(bytes: impl AsRef<[u8]>) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

fn jwk(key: &RsaPrivateKey, kid: &str) -> Value {
    json!({
        "kty": "RSA",
        "kid": kid,
        "use": "sig",
        "alg": "RS256",
        "n": b64(key.n().to_bytes_be()),
        "e": b64(key.e().to_bytes_be()),
    })
}

fn jwks_doc(keys: &[(&RsaPrivateKey, &str)]) -> Vec<u8> {
    let keys: Vec<Value> = keys.iter().map(|(k, kid)| jwk(k, kid)).collect();
    serde_json::to_vec(&json!({ "keys": keys })).unwrap()
}

fn jwks(keys: &[(&RsaPrivateKey, &str)]) -> Jwks {
    Jwks::parse(&jwks_doc(keys)).expect("valid JWKS")
}

/// `<b64url(header)>..<b64url(RS256(b64url(header) "." body))>`.
fn sign_with_header(key: &RsaPrivateKey, header: &str, body: &[u8]) -> String {
    let protected = b64(header);
    let mut input = format!("{protected}.").into_bytes();
    input.extend_from_slice(body);
    let sig = key
        .sign(Pkcs1v15Sign::new::<Sha256>(), &Sha256::digest(&input))
        .unwrap();
    format!("{protected}..{}", b64(sig))
}

/// The header recent PyJWT writes for Saleor (sorted keys, `crit` added).
fn sign(key: &RsaPrivateKey, kid: &str, body: &[u8]) -> String {
    let header =
        format!(r#"{{"alg":"RS256","b64":false,"crit":["b64"],"kid":"{kid}","typ":"JWT"}}"#);
    sign_with_header(key, &header, body)
}

/// A header with an arbitrary protected part and signature bytes.
fn forged(header: &str, sig: &[u8]) -> String {
    format!("{}..{}", b64(header), b64(sig))
}

const BODY: &[u8] = br#"{"order":{"id":"T3JkZXI6MQ=="}}"#;

// ---- verify ---------------------------------------------------------------

#[test]
fn good_signature_verifies() {
    let set = jwks(&[(key_a(), "1")]);
    assert_eq!(verify(&sign(key_a(), "1", BODY), BODY, &set), Ok(()));
    // Older PyJWT: no `crit`, same signing input.
    let old = sign_with_header(
        key_a(),
        r#"{"alg":"RS256","b64":false,"kid":"1","typ":"JWT"}"#,
        BODY,
    );
    assert_eq!(verify(&old, BODY, &set), Ok(()));
    // Any key of the set; an empty body is signed like any other.
    let two = jwks(&[(key_b(), "2"), (key_a(), "1")]);
    assert_eq!(verify(&sign(key_b(), "2", b""), b"", &two), Ok(()));
    assert_eq!(
        parse_signature(&sign(key_a(), "1", BODY)).unwrap().kid(),
        "1"
    );
}

#[test]
fn tampered_body_or_signature_is_bad_signature() {
    let set = jwks(&[(key_a(), "1")]);
    let header = sign(key_a(), "1", BODY);
    let tampered = br#"{"order":{"id":"T3JkZXI6Mg=="}}"#;
    assert_eq!(
        verify(&header, tampered, &set),
        Err(SaleorError::BadSignature)
    );
    // A re-serialised body (extra space) is not what was signed.
    assert_eq!(
        verify(&header, br#"{"order": {"id":"T3JkZXI6MQ=="}}"#, &set),
        Err(SaleorError::BadSignature)
    );
    // Signed by another key under the same kid.
    assert_eq!(
        verify(&sign(key_b(), "1", BODY), BODY, &set),
        Err(SaleorError::BadSignature)
    );
    // One flipped signature bit; a truncated signature.
    let (protected, sig) = header.split_once("..").unwrap();
    let mut bytes = URL_SAFE_NO_PAD.decode(sig).unwrap();
    bytes[17] ^= 1;
    let flipped = format!("{protected}..{}", b64(&bytes));
    assert_eq!(verify(&flipped, BODY, &set), Err(SaleorError::BadSignature));
    let short = format!("{protected}..{}", b64(&bytes[..255]));
    assert_eq!(verify(&short, BODY, &set), Err(SaleorError::BadSignature));
    // The signing input includes the protected header exactly as sent.
    let other_header = sign_with_header(key_a(), r#"{"alg":"RS256","b64":false,"kid":"1"}"#, BODY);
    let (_, other_sig) = other_header.split_once("..").unwrap();
    let spliced = format!("{protected}..{other_sig}");
    assert_eq!(verify(&spliced, BODY, &set), Err(SaleorError::BadSignature));
}

#[test]
fn unknown_kid_is_unknown_key() {
    let set = jwks(&[(key_a(), "1")]);
    assert_eq!(
        verify(&sign(key_a(), "2", BODY), BODY, &set),
        Err(SaleorError::UnknownKey("2".into()))
    );
}

#[test]
fn alg_none_is_refused() {
    let set = jwks(&[(key_a(), "1")]);
    for header in [
        r#"{"alg":"none","b64":false,"crit":["b64"],"kid":"1"}"#,
        r#"{"alg":"none"}"#,
    ] {
        let empty_sig = format!("{}..", b64(header));
        assert_eq!(
            verify(&empty_sig, BODY, &set),
            Err(SaleorError::UnsupportedAlg("none".into())),
            "{header}"
        );
        assert_eq!(
            verify(&forged(header, b"x"), BODY, &set),
            Err(SaleorError::UnsupportedAlg("none".into()))
        );
    }
}

#[test]
fn hs256_with_the_public_key_as_secret_is_refused() {
    // The classic confusion: HMAC keyed with public material a verifier has.
    let doc = jwks_doc(&[(key_a(), "1")]);
    let set = Jwks::parse(&doc).unwrap();
    let n = key_a().n().to_bytes_be();
    for secret in [doc.as_slice(), n.as_slice()] {
        let header = r#"{"alg":"HS256","b64":false,"crit":["b64"],"kid":"1"}"#;
        let protected = b64(header);
        let mut mac = Hmac::<Sha256>::new_from_slice(secret).unwrap();
        mac.update(format!("{protected}.").as_bytes());
        mac.update(BODY);
        let value = format!("{protected}..{}", b64(mac.finalize().into_bytes()));
        assert_eq!(
            verify(&value, BODY, &set),
            Err(SaleorError::UnsupportedAlg("HS256".into()))
        );
    }
}

#[test]
fn other_algorithms_are_refused() {
    let set = jwks(&[(key_a(), "1")]);
    for alg in ["RS512", "PS256", "ES256", "rs256", "RS256 ", "EdDSA"] {
        let header = format!(r#"{{"alg":"{alg}","b64":false,"crit":["b64"],"kid":"1"}}"#);
        assert_eq!(
            verify(&sign_with_header(key_a(), &header, BODY), BODY, &set),
            Err(SaleorError::UnsupportedAlg(alg.into())),
            "{alg}"
        );
    }
    let long = "X".repeat(1000);
    let header = format!(r#"{{"alg":"{long}","kid":"1"}}"#);
    match verify(&forged(&header, b"x"), BODY, &set) {
        Err(SaleorError::UnsupportedAlg(echo)) => assert!(echo.len() <= 32),
        other => panic!("{other:?}"),
    }
    for header in [
        r#"{"kid":"1","b64":false}"#,
        r#"{"alg":256,"kid":"1"}"#,
        r#"{"alg":null}"#,
    ] {
        assert_eq!(
            verify(&forged(header, b"x"), BODY, &set),
            Err(SaleorError::Malformed("missing alg")),
            "{header}"
        );
    }
}

#[test]
fn missing_kid_is_malformed() {
    let set = jwks(&[(key_a(), "1")]);
    let long_kid = format!(
        r#"{{"alg":"RS256","b64":false,"kid":"{}"}}"#,
        "k".repeat(129)
    );
    for header in [
        r#"{"alg":"RS256","b64":false,"crit":["b64"]}"#,
        r#"{"alg":"RS256","b64":false,"kid":""}"#,
        r#"{"alg":"RS256","b64":false,"kid":1}"#,
        r#"{"alg":"RS256","b64":false,"kid":null}"#,
        long_kid.as_str(),
    ] {
        assert_eq!(
            verify(&sign_with_header(key_a(), header, BODY), BODY, &set),
            Err(SaleorError::Malformed("missing kid")),
            "{header}"
        );
    }
}

#[test]
fn encoded_payload_or_unknown_crit_is_malformed() {
    let set = jwks(&[(key_a(), "1")]);
    // A standard (b64) JWS header, detached, signed over b64url(body).
    let header = r#"{"alg":"RS256","kid":"1"}"#;
    let value = sign_with_header(key_a(), header, b64(BODY).as_bytes());
    assert_eq!(
        verify(&value, BODY, &set),
        Err(SaleorError::Malformed(
            "payload must be unencoded (b64 false)"
        ))
    );
    for header in [
        r#"{"alg":"RS256","b64":true,"kid":"1"}"#,
        r#"{"alg":"RS256","b64":"false","kid":"1"}"#,
    ] {
        assert_eq!(
            verify(&sign_with_header(key_a(), header, BODY), BODY, &set),
            Err(SaleorError::Malformed(
                "payload must be unencoded (b64 false)"
            )),
            "{header}"
        );
    }
    for header in [
        r#"{"alg":"RS256","b64":false,"crit":["b64","exp"],"kid":"1"}"#,
        r#"{"alg":"RS256","b64":false,"crit":[],"kid":"1"}"#,
        r#"{"alg":"RS256","b64":false,"crit":"b64","kid":"1"}"#,
    ] {
        assert_eq!(
            verify(&sign_with_header(key_a(), header, BODY), BODY, &set),
            Err(SaleorError::Malformed("unsupported crit")),
            "{header}"
        );
    }
}

#[test]
fn non_detached_jws_is_malformed() {
    let set = jwks(&[(key_a(), "1")]);
    let detached = sign(key_a(), "1", BODY);
    let (protected, sig) = detached.split_once("..").unwrap();
    for payload in [
        b64(BODY),
        "e30".into(),
        String::from_utf8(BODY.to_vec()).unwrap(),
    ] {
        let attached = format!("{protected}.{payload}.{sig}");
        assert_eq!(
            verify(&attached, BODY, &set),
            Err(SaleorError::Malformed("payload is not detached"))
        );
    }
}

#[test]
fn garbage_is_malformed() {
    let set = jwks(&[(key_a(), "1")]);
    let good = sign(key_a(), "1", BODY);
    let (protected, sig) = good.split_once("..").unwrap();
    let huge = "a".repeat(5000);
    let cases: Vec<String> = vec![
        String::new(),
        ".".into(),
        "..".into(),
        "abc".into(),
        "a.b".into(),
        format!("{protected}..{sig}.x"),
        format!("..{sig}"),
        format!("{protected}.."),
        format!("{protected}..!!!"),
        format!("{protected}..{sig}="),
        format!("{protected}=..{sig}"),
        format!("{}..{sig}", b64("[1,2]")),
        format!("{}..{sig}", b64("not json")),
        format!("{}..{sig}", b64(r#"{"alg":"RS256""#)),
        format!(
            "{}..{}",
            b64(r#"{"alg":"RS256","b64":false,"kid":"1"}"#),
            b64([7u8; 600])
        ),
        "Bearer xyz".into(),
        "sha256=deadbeef".into(),
        huge,
        "\u{0}\u{1}..\u{2}".into(),
    ];
    for value in &cases {
        match verify(value, BODY, &set) {
            Err(SaleorError::Malformed(_)) => {}
            other => panic!("{value:?}: {other:?}"),
        }
    }
    // Surrounding spaces (some proxies keep them) are tolerated.
    assert_eq!(verify(&format!(" {good} "), BODY, &set), Ok(()));
}

#[test]
fn error_classes_for_the_route() {
    for e in [
        SaleorError::Malformed("x"),
        SaleorError::UnsupportedAlg("none".into()),
        SaleorError::UnknownKey("2".into()),
        SaleorError::BadSignature,
    ] {
        assert_eq!(e.class(), ErrorClass::Unauthorized, "{e}");
        assert!(e.is_signature_failure());
    }
    let e = SaleorError::KeysUnavailable("down".into());
    assert_eq!(e.class(), ErrorClass::Unavailable);
    assert_eq!(e.code(), "SALEOR_KEYS_UNAVAILABLE");
    assert!(!e.is_signature_failure());
}

// ---- JWKS parsing ----------------------------------------------------------

#[test]
fn jwks_keeps_only_rsa_signing_keys() {
    static SMALL: OnceLock<RsaPrivateKey> = OnceLock::new();
    let small = key(&SMALL, 1024);
    let mut encryption = jwk(key_a(), "enc");
    encryption["use"] = json!("enc");
    let mut pss = jwk(key_a(), "ps");
    pss["alg"] = json!("PS256");
    let mut encrypt_only = jwk(key_a(), "ops");
    encrypt_only["key_ops"] = json!(["encrypt"]);
    let mut verify_op = jwk(key_b(), "bare");
    verify_op["key_ops"] = json!(["verify"]);
    verify_op.as_object_mut().unwrap().remove("use");
    verify_op.as_object_mut().unwrap().remove("alg");
    let doc = json!({"keys": [
        {"kty": "EC", "kid": "ec", "crv": "P-256", "x": "AA", "y": "AA"},
        {"kty": "oct", "kid": "hmac", "k": "c2VjcmV0"},
        encryption,
        pss,
        {"kty": "RSA", "n": b64(key_a().n().to_bytes_be()), "e": "AQAB"},
        jwk(small, "small"),
        encrypt_only,
        verify_op,
        jwk(key_a(), "1"),
    ]});
    let set = Jwks::parse(&serde_json::to_vec(&doc).unwrap()).unwrap();
    assert_eq!(set.kids(), vec!["bare", "1"]);
    assert!(set.contains("1") && !set.contains("small") && !set.contains("ec"));
    // A key without `use`/`alg` (but with PyJWT's `key_ops`) verifies RS256.
    assert_eq!(verify(&sign(key_b(), "bare", BODY), BODY, &set), Ok(()));
    // The refused small key's kid is simply unknown.
    assert_eq!(
        verify(&sign(small, "small", BODY), BODY, &set),
        Err(SaleorError::UnknownKey("small".into()))
    );
}

#[test]
fn bad_key_sets_are_refused_whole() {
    let n = b64(key_a().n().to_bytes_be());
    let too_many: Vec<Value> = (0..17).map(|i| jwk(key_a(), &format!("k{i}"))).collect();
    let cases: Vec<Vec<u8>> = vec![
        b"".to_vec(),
        b"not json".to_vec(),
        b"[]".to_vec(),
        br#"{"keys":{}}"#.to_vec(),
        br#"{"keys":[]}"#.to_vec(),
        br#"{"keys":[1]}"#.to_vec(),
        br#"{"keys":[{"kty":"EC","kid":"1"}]}"#.to_vec(),
        serde_json::to_vec(&json!({"keys": too_many})).unwrap(),
        serde_json::to_vec(&json!({"keys": [jwk(key_a(), "1"), jwk(key_b(), "1")]})).unwrap(),
        serde_json::to_vec(&json!({"keys": [{"kty":"RSA","kid":"1","n": n,"e":"AQ=="}]})).unwrap(),
        serde_json::to_vec(&json!({"keys": [{"kty":"RSA","kid":"1","n": n}]})).unwrap(),
        serde_json::to_vec(&json!({"keys": [{"kty":"RSA","kid":"1","n": "!!","e":"AQAB"}]}))
            .unwrap(),
        serde_json::to_vec(&json!({"keys": [{"kty":"RSA","kid":"1","n": n,"e":"AA"}]})).unwrap(),
        serde_json::to_vec(&json!({"keys": [{"kty":"RSA","kid":"1","n": n,"e":b64([1u8;9])}]}))
            .unwrap(),
        [
            b"{\"keys\":[], \"pad\":\"".as_slice(),
            &[b'a'; 70_000],
            b"\"}",
        ]
        .concat(),
    ];
    for doc in &cases {
        match Jwks::parse(doc) {
            Err(SaleorError::KeysUnavailable(_)) => {}
            other => panic!(
                "{}: {other:?}",
                String::from_utf8_lossy(&doc[..doc.len().min(80)])
            ),
        }
    }
    // Exactly the cap is fine.
    let sixteen: Vec<Value> = (0..16).map(|i| jwk(key_a(), &format!("k{i}"))).collect();
    assert_eq!(
        Jwks::parse(&serde_json::to_vec(&json!({"keys": sixteen})).unwrap())
            .unwrap()
            .kids()
            .len(),
        16
    );
}

// ---- the JWKS cache ----------------------------------------------------------

/// Serves whatever key set is current and records every request.
struct FakeSaleor {
    jwks: RefCell<Vec<u8>>,
    status: RefCell<u16>,
    down: RefCell<bool>,
    requests: RefCell<Vec<OutboundRequest>>,
}

impl FakeSaleor {
    fn serving(doc: Vec<u8>) -> Self {
        Self {
            jwks: RefCell::new(doc),
            status: RefCell::new(200),
            down: RefCell::new(false),
            requests: RefCell::new(Vec::new()),
        }
    }

    fn fetches(&self) -> usize {
        self.requests.borrow().len()
    }
}

impl Http for FakeSaleor {
    fn send(&self, req: OutboundRequest) -> Result<OutboundResponse, HttpError> {
        self.requests.borrow_mut().push(req);
        if *self.down.borrow() {
            return Err(HttpError::Failed("connection refused".into()));
        }
        Ok(OutboundResponse {
            status: *self.status.borrow(),
            headers: vec![("content-type".into(), "application/json".into())],
            body: self.jwks.borrow().clone(),
        })
    }
}

#[test]
fn first_call_fetches_then_the_cache_answers() {
    let saleor = FakeSaleor::serving(jwks_doc(&[(key_a(), "1")]));
    let kv = MemoryKv::default();
    let header = sign(key_a(), "1", BODY);
    assert_eq!(
        verify_with_cache(&saleor, &kv, ORIGIN, &header, BODY),
        Ok(())
    );
    assert_eq!(saleor.fetches(), 1);
    {
        let req = &saleor.requests.borrow()[0];
        assert_eq!(req.method, "GET");
        assert_eq!(req.url, JWKS_URL);
        assert!(req.body.is_empty());
    }
    assert_eq!(
        jwks_cache_key(ORIGIN),
        "saleor:jwks:v1:https://shop.example.com"
    );
    assert!(kv.get(&jwks_cache_key(ORIGIN)).unwrap().is_some());

    // Later calls, good or bad, use the cache; a trailing slash is the same origin.
    assert_eq!(
        verify_with_cache(&saleor, &kv, "https://shop.example.com/", &header, BODY),
        Ok(())
    );
    assert_eq!(
        verify_with_cache(&saleor, &kv, ORIGIN, &header, b"{}"),
        Err(SaleorError::BadSignature)
    );
    assert_eq!(saleor.fetches(), 1);
}

#[test]
fn key_rotation_refetches_once_and_is_accepted() {
    let saleor = FakeSaleor::serving(jwks_doc(&[(key_a(), "1")]));
    let kv = MemoryKv::default();
    verify_with_cache(&saleor, &kv, ORIGIN, &sign(key_a(), "1", BODY), BODY).unwrap();
    assert_eq!(saleor.fetches(), 1);

    // Saleor rotates to a new key.
    *saleor.jwks.borrow_mut() = jwks_doc(&[(key_b(), "2")]);
    let rotated = sign(key_b(), "2", BODY);
    assert_eq!(
        verify_with_cache(&saleor, &kv, ORIGIN, &rotated, BODY),
        Ok(())
    );
    assert_eq!(saleor.fetches(), 2);
    // The new set was stored: no more fetches for the new kid.
    assert_eq!(
        verify_with_cache(&saleor, &kv, ORIGIN, &rotated, BODY),
        Ok(())
    );
    assert_eq!(saleor.fetches(), 2);
    // The old key is gone from the stored set: unknown after one refetch.
    assert_eq!(
        verify_with_cache(&saleor, &kv, ORIGIN, &sign(key_a(), "1", BODY), BODY),
        Err(SaleorError::UnknownKey("1".into()))
    );
    assert_eq!(saleor.fetches(), 3);
}

#[test]
fn unknown_kid_after_refetch_is_unknown_key_with_exactly_one_refetch() {
    let saleor = FakeSaleor::serving(jwks_doc(&[(key_a(), "1")]));
    let kv = MemoryKv::default();
    verify_with_cache(&saleor, &kv, ORIGIN, &sign(key_a(), "1", BODY), BODY).unwrap();
    let before = saleor.fetches();
    assert_eq!(
        verify_with_cache(&saleor, &kv, ORIGIN, &sign(key_b(), "nope", BODY), BODY),
        Err(SaleorError::UnknownKey("nope".into()))
    );
    assert_eq!(saleor.fetches(), before + 1);

    // On a cold cache the first fetch is the only one.
    let cold = FakeSaleor::serving(jwks_doc(&[(key_a(), "1")]));
    let kv = MemoryKv::default();
    assert_eq!(
        verify_with_cache(&cold, &kv, ORIGIN, &sign(key_b(), "nope", BODY), BODY),
        Err(SaleorError::UnknownKey("nope".into()))
    );
    assert_eq!(cold.fetches(), 1);
}

#[test]
fn refused_headers_cost_no_fetch() {
    let saleor = FakeSaleor::serving(jwks_doc(&[(key_a(), "1")]));
    let kv = MemoryKv::default();
    for value in [
        String::from("garbage"),
        forged(r#"{"alg":"none"}"#, b""),
        forged(r#"{"alg":"HS256","b64":false,"kid":"1"}"#, b"x"),
        forged(r#"{"alg":"RS256","b64":false}"#, b"x"),
    ] {
        assert!(verify_with_cache(&saleor, &kv, ORIGIN, &value, BODY).is_err());
    }
    assert_eq!(saleor.fetches(), 0);
}

#[test]
fn fetch_failures_are_keys_unavailable_and_not_cached() {
    let header = sign(key_a(), "1", BODY);
    let kv = MemoryKv::default();

    let down = FakeSaleor::serving(jwks_doc(&[(key_a(), "1")]));
    *down.down.borrow_mut() = true;
    let err = verify_with_cache(&down, &kv, ORIGIN, &header, BODY).unwrap_err();
    assert!(matches!(err, SaleorError::KeysUnavailable(_)), "{err:?}");
    assert_eq!(err.class(), ErrorClass::Unavailable);

    let failing = FakeSaleor::serving(jwks_doc(&[(key_a(), "1")]));
    *failing.status.borrow_mut() = 502;
    assert!(matches!(
        verify_with_cache(&failing, &kv, ORIGIN, &header, BODY),
        Err(SaleorError::KeysUnavailable(_))
    ));

    let junk = FakeSaleor::serving(b"<html>maintenance</html>".to_vec());
    assert!(matches!(
        verify_with_cache(&junk, &kv, ORIGIN, &header, BODY),
        Err(SaleorError::KeysUnavailable(_))
    ));

    let huge = FakeSaleor::serving(vec![b' '; saleor::MAX_JWKS_BYTES + 1]);
    assert!(matches!(
        verify_with_cache(&huge, &kv, ORIGIN, &header, BODY),
        Err(SaleorError::KeysUnavailable(_))
    ));
    assert_eq!(kv.get(&jwks_cache_key(ORIGIN)).unwrap(), None);

    // Saleor is back: the next call fetches and succeeds.
    let back = FakeSaleor::serving(jwks_doc(&[(key_a(), "1")]));
    assert_eq!(verify_with_cache(&back, &kv, ORIGIN, &header, BODY), Ok(()));
}

#[test]
fn a_corrupt_cache_entry_is_refetched() {
    let saleor = FakeSaleor::serving(jwks_doc(&[(key_a(), "1")]));
    let kv = MemoryKv::default();
    kv.set(&jwks_cache_key(ORIGIN), b"{broken").unwrap();
    assert_eq!(
        verify_with_cache(&saleor, &kv, ORIGIN, &sign(key_a(), "1", BODY), BODY),
        Ok(())
    );
    assert_eq!(saleor.fetches(), 1);
    assert_eq!(
        kv.get(&jwks_cache_key(ORIGIN)).unwrap(),
        Some(jwks_doc(&[(key_a(), "1")]))
    );
}

#[test]
fn a_misconfigured_origin_is_keys_unavailable_without_a_request() {
    let saleor = FakeSaleor::serving(jwks_doc(&[(key_a(), "1")]));
    let kv = MemoryKv::default();
    let header = sign(key_a(), "1", BODY);
    for origin in [
        "",
        "shop.example.com",
        "ftp://shop.example.com",
        "https://",
        "https://shop.example.com/graphql/",
        "https://user@shop.example.com",
        "https://shop.example.com?x=1",
        "https://shop example.com",
    ] {
        assert!(
            matches!(
                verify_with_cache(&saleor, &kv, origin, &header, BODY),
                Err(SaleorError::KeysUnavailable(_))
            ),
            "{origin:?}"
        );
    }
    assert_eq!(saleor.fetches(), 0);
    assert_eq!(
        saleor::jwks_url("http://127.0.0.1:8080").unwrap(),
        "http://127.0.0.1:8080/.well-known/jwks.json"
    );
}

// ---- payload mapping ----------------------------------------------------------

fn order_body(order: Value) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "issuedAt": "2026-01-05T10:00:01.000000+00:00",
        "version": "3.20.0",
        "recipient": {"id": "QXBwOjE=", "name": "Krug"},
        "order": order,
    }))
    .unwrap()
}

fn full_order() -> Value {
    json!({
        "id": "T3JkZXI6MWQ0ZjI=",
        "number": "1042",
        "created": "2026-01-05T10:00:00.123456+00:00",
        "chargeStatus": "FULL",
        "userEmail": "  Anna.Petrova@Example.COM ",
        "user": {"email": "other@example.com"},
        "billingAddress": {"phone": "+79161234567"},
        "total": {"gross": {"amount": 1500.5, "currency": "RUB"}},
        "metadata": [{"key": "utm", "value": "x"}, {"key": "ref_code", "value": "abcd2345"}],
        "lines": [
            {"productSku": "TEA-1", "productName": "Green tea", "quantity": 2,
             "unitPrice": {"gross": {"amount": 750.25}}},
            {"productSku": null, "productName": "Gift wrap", "quantity": 1,
             "unitPrice": {"gross": {"amount": 0}}}
        ]
    })
}

/// `order` with the member at JSON pointer `path` (e.g. `/lines/0/quantity`) set.
fn with(mut order: Value, path: &str, value: Value) -> Value {
    let (parent, last) = path.rsplit_once('/').unwrap();
    let parent = order.pointer_mut(parent).unwrap();
    match parent {
        Value::Array(items) => items[last.parse::<usize>().unwrap()] = value,
        other => other[last] = value,
    }
    order
}

/// `order` without the member at JSON pointer `path`.
fn without(mut order: Value, path: &str) -> Value {
    let (parent, last) = path.rsplit_once('/').unwrap();
    order
        .pointer_mut(parent)
        .unwrap()
        .as_object_mut()
        .unwrap()
        .remove(last);
    order
}

fn invalid_at(result: Result<Option<saleor::SaleorOrder>, SaleorError>) -> String {
    match result {
        Err(SaleorError::InvalidPayload { field, .. }) => field,
        other => panic!("expected InvalidPayload, got {other:?}"),
    }
}

#[test]
fn order_paid_maps_every_field() {
    let order = parse_order_event("order_paid", &order_body(full_order()))
        .unwrap()
        .unwrap();
    assert_eq!(order.event, OrderEvent::Paid);
    assert_eq!(order.order_id, "T3JkZXI6MWQ0ZjI=");
    assert_eq!(order.number.as_deref(), Some("1042"));
    assert_eq!(
        order.created.unwrap().to_rfc3339(),
        "2026-01-05T10:00:00.123456+00:00"
    );
    assert_eq!(order.email.as_deref(), Some("anna.petrova@example.com"));
    assert_eq!(order.phone.as_deref(), Some("+79161234567"));
    assert_eq!(order.total, Kopecks::new(150_050));
    assert_eq!(order.ref_code.as_deref(), Some("ABCD2345"));
    assert_eq!(
        order.lines,
        vec![
            SaleorLine {
                sku: Some("TEA-1".into()),
                name: "Green tea".into(),
                quantity: 2,
                unit_price: Kopecks::new(75_025),
            },
            SaleorLine {
                sku: None,
                name: "Gift wrap".into(),
                quantity: 1,
                unit_price: Kopecks::ZERO,
            },
        ]
    );
    assert_eq!(order.charge_status.as_deref(), Some("FULL"));
    assert_eq!(order.idempotency_key, "saleor:order_paid:T3JkZXI6MWQ0ZjI=");
}

#[test]
fn order_fully_refunded_maps_with_its_own_key() {
    let body = serde_json::to_vec(&json!({"order": full_order()})).unwrap();
    let refunded = parse_order_event("order_fully_refunded", &body)
        .unwrap()
        .unwrap();
    let paid = parse_order_event("ORDER_PAID", &body).unwrap().unwrap();
    assert_eq!(refunded.event, OrderEvent::FullyRefunded);
    assert_eq!(refunded.total, paid.total);
    assert_eq!(
        refunded.idempotency_key,
        "saleor:order_fully_refunded:T3JkZXI6MWQ0ZjI="
    );
    assert_ne!(refunded.idempotency_key, paid.idempotency_key);
    // Redeliveries map to the same key.
    assert_eq!(
        parse_order_event("order_paid", &body)
            .unwrap()
            .unwrap()
            .idempotency_key,
        paid.idempotency_key
    );
}

#[test]
fn other_events_are_ignored() {
    for event in [
        "order_created",
        "order_fully_paid",
        "checkout_created",
        "",
        "order_paid_x",
    ] {
        assert_eq!(
            parse_order_event(event, b"not even json"),
            Ok(None),
            "{event}"
        );
    }
    assert_eq!(
        OrderEvent::from_header(" order_paid "),
        Some(OrderEvent::Paid)
    );
}

#[test]
fn decimal_amounts_are_exact_kopecks() {
    for (amount, kopecks) in [
        ("1500.5", 150_050),
        ("0.3", 30),
        ("0.1", 10),
        ("0.2", 20),
        ("19.99", 1_999),
        ("1000.0", 100_000),
        ("1000", 100_000),
        ("1.5e3", 150_000),
        ("0.01", 1),
        ("10000000", 1_000_000_000),
    ] {
        let body = format!(
            r#"{{"order":{{"id":"T3JkZXI6MQ==","total":{{"gross":{{"amount":{amount},"currency":"RUB"}}}}}}}}"#
        );
        let order = parse_order_event("order_paid", body.as_bytes())
            .unwrap()
            .unwrap();
        assert_eq!(order.total, Kopecks::new(kopecks), "{amount}");
    }
    // 0.1 + 0.2 computed in floating point is not an amount in kopecks.
    let float_sum = 0.1_f64 + 0.2_f64;
    for amount in [
        float_sum.to_string(),
        "1500.505".into(),
        "-1".into(),
        "10000000.01".into(),
        "\"1500.50\"".into(),
        "null".into(),
    ] {
        let body = format!(
            r#"{{"order":{{"id":"T3JkZXI6MQ==","total":{{"gross":{{"amount":{amount},"currency":"RUB"}}}}}}}}"#
        );
        assert_eq!(
            invalid_at(parse_order_event("order_paid", body.as_bytes())),
            "order.total.gross.amount",
            "{amount}"
        );
    }
    assert_eq!(decimal_to_kopecks("0.30000000000000004"), None);
    let line = with(
        full_order(),
        "/lines",
        json!([{"productName": "x", "quantity": 1,
        "unitPrice": {"gross": {"amount": 0.001}}}]),
    );
    assert_eq!(
        invalid_at(parse_order_event("order_paid", &order_body(line))),
        "order.lines[0].unitPrice.gross.amount"
    );
}

#[test]
fn wrong_currency_is_refused() {
    let usd = with(full_order(), "/total/gross/currency", json!("USD"));
    assert_eq!(
        parse_order_event("order_paid", &order_body(usd)),
        Err(SaleorError::UnsupportedCurrency("USD".into()))
    );
    let missing = without(full_order(), "/total/gross/currency");
    assert_eq!(
        invalid_at(parse_order_event("order_paid", &order_body(missing))),
        "order.total.gross.currency"
    );
}

#[test]
fn optional_fields_may_be_missing() {
    let minimal =
        json!({"id": "T3JkZXI6Mg==", "total": {"gross": {"amount": 10, "currency": "RUB"}}});
    let order = parse_order_event("order_paid", &order_body(minimal))
        .unwrap()
        .unwrap();
    assert_eq!(order.number, None);
    assert_eq!(order.created, None);
    assert_eq!(order.email, None);
    assert_eq!(order.phone, None);
    assert_eq!(order.ref_code, None);
    assert_eq!(order.charge_status, None);
    assert!(order.lines.is_empty());

    // No userEmail: the user's e-mail, lower-cased.
    let o = without(full_order(), "/userEmail");
    let o = with(o, "/user/email", json!("Boris@Example.com"));
    let order = parse_order_event("order_paid", &order_body(o))
        .unwrap()
        .unwrap();
    assert_eq!(order.email.as_deref(), Some("boris@example.com"));

    // Nulls are absent values.
    let o = with(full_order(), "/userEmail", Value::Null);
    let o = with(o, "/user", Value::Null);
    let o = with(o, "/billingAddress", json!({"phone": null}));
    let o = with(o, "/metadata", json!([]));
    let o = with(o, "/number", json!(1042));
    let order = parse_order_event("order_paid", &order_body(o))
        .unwrap()
        .unwrap();
    assert_eq!(order.email, None);
    assert_eq!(order.phone, None);
    assert_eq!(order.ref_code, None);
    assert_eq!(order.number.as_deref(), Some("1042"));
}

#[test]
fn missing_or_mistyped_fields_are_named() {
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (b"not json".to_vec(), "$"),
        (b"[]".to_vec(), "$"),
        (br#"[{"order":{}}]"#.to_vec(), "$"),
        (br#"{}"#.to_vec(), "order"),
        (
            br#"{"order":null,"errors":[{"message":"denied"}]}"#.to_vec(),
            "order",
        ),
        (br#"{"order":"T3JkZXI6MQ=="}"#.to_vec(), "order"),
        (order_body(without(full_order(), "/id")), "order.id"),
        (order_body(with(full_order(), "/id", json!(""))), "order.id"),
        (order_body(with(full_order(), "/id", json!(7))), "order.id"),
        (
            order_body(with(full_order(), "/id", json!("x".repeat(129)))),
            "order.id",
        ),
        (
            order_body(without(full_order(), "/total")),
            "order.total.gross",
        ),
        (
            order_body(with(full_order(), "/total/gross", json!(null))),
            "order.total.gross",
        ),
        (
            order_body(with(full_order(), "/created", json!("yesterday"))),
            "order.created",
        ),
        (
            order_body(with(full_order(), "/chargeStatus", json!("full"))),
            "order.chargeStatus",
        ),
        (
            order_body(with(full_order(), "/userEmail", json!("not-an-email"))),
            "order.userEmail",
        ),
        (
            order_body(with(full_order(), "/userEmail", json!(5))),
            "order.userEmail",
        ),
        (
            order_body(with(full_order(), "/billingAddress", json!("x"))),
            "order.billingAddress",
        ),
        (
            order_body(with(
                full_order(),
                "/metadata",
                json!({"ref_code": "ABCD2345"}),
            )),
            "order.metadata",
        ),
        (
            order_body(with(full_order(), "/metadata", json!(["ref_code"]))),
            "order.metadata[0]",
        ),
        (
            order_body(with(full_order(), "/lines", json!({}))),
            "order.lines",
        ),
        (
            order_body(with(full_order(), "/lines/0/quantity", json!(0))),
            "order.lines[0].quantity",
        ),
        (
            order_body(with(full_order(), "/lines/1/quantity", json!(1.5))),
            "order.lines[1].quantity",
        ),
        (
            order_body(without(full_order(), "/lines/0/productName")),
            "order.lines[0].productName",
        ),
        (
            order_body(without(full_order(), "/lines/1/unitPrice")),
            "order.lines[1].unitPrice.gross",
        ),
        (
            order_body(with(
                full_order(),
                "/lines",
                Value::Array(vec![json!({}); 501]),
            )),
            "order.lines",
        ),
    ];
    for (body, field) in cases {
        assert_eq!(
            invalid_at(parse_order_event("order_paid", &body)),
            field,
            "{}",
            String::from_utf8_lossy(&body[..body.len().min(120)])
        );
    }
}

#[test]
fn ref_code_comes_from_metadata_when_valid() {
    let code = |value: Value| {
        let o = with(
            full_order(),
            "/metadata",
            json!([{"key": "ref_code", "value": value}]),
        );
        parse_order_event("order_paid", &order_body(o))
            .unwrap()
            .unwrap()
            .ref_code
    };
    assert_eq!(code(json!("ABCD2345")), Some("ABCD2345".into()));
    assert_eq!(code(json!(" wxyz6789 ")), Some("WXYZ6789".into()));
    for bad in [
        json!("ABCD234"),
        json!("ABCDO345"),
        json!("ABCD-345"),
        json!(""),
        json!(12345678),
        Value::Null,
    ] {
        assert_eq!(code(bad.clone()), None, "{bad}");
    }
    // Another key, or a differently cased key, is not a referral code.
    let o = with(
        full_order(),
        "/metadata",
        json!([{"key": "REF_CODE", "value": "ABCD2345"}]),
    );
    assert_eq!(
        parse_order_event("order_paid", &order_body(o))
            .unwrap()
            .unwrap()
            .ref_code,
        None
    );
}

// ---- a vector made by PyJWT, the library Saleor signs with ----------------------

/// Produced once with PyJWT 2.15 exactly as Saleor's `jws_encode` calls it
/// (`api_jws.encode(body, key, "RS256", headers={"kid": "1"},
/// is_payload_detached=True)`), with the JWKS built as Saleor builds it
/// (`RSAAlgorithm.to_jwk` plus `use` and `kid`). Its protected header is
/// `{"alg":"RS256","b64":false,"crit":["b64"],"kid":"1","typ":"JWT"}`.
const PYJWT_JWKS: &str = r#"{"keys":[{"kty":"RSA","key_ops":["verify"],"n":"qB4jZpW7grsL2Vs-75lVXr0BwKUFNReaY1WfFoMFV9-oY5hxl6os6dR-SB54xPbzQBgByVCq-waC7Xb2NNN5WEEg0oBJ5bp4VW_wNtHd0KXT_LQPkcu88OLVZrXI-4LhCmhwfD4h9RTcVBdbfklcPfIKac8-HYtOK61HjYMz881Cop23xg6amTllcqwFMUBwGbsinUTnI_Q0oM5IDyEYbZwZjLbDK5cwtY7qDTCmkmp9x_N5yuwYsdXBxjjOrNBoklSnIgz78rSbZgA7FvSAbV7gjNrMRcl6iUd-919ebwfw2T00WTfj_U_-sC4kTrcaSTYkoWGuF6wtaCQusuj0sQ","e":"AQAB","use":"sig","kid":"1"}]}"#;
const PYJWT_SIGNATURE: &str = "eyJhbGciOiJSUzI1NiIsImI2NCI6ZmFsc2UsImNyaXQiOlsiYjY0Il0sImtpZCI6IjEiLCJ0eXAiOiJKV1QifQ..Hbr6YWz3P4yPhELJ8WcM-iQiyrW5iwTDnKE9KjsJxcQd02E24WI1FMAWg4QSapihn7B4ISBeB3p_Xr8hjTok-B_X1S052gRRFFCIzjKDtSc8w4_muFpV0PzkOgnyhg4f-q1vTQngq-gpccn87Omp6B4BxSAw778NIRt6T4RmjLOEmwz4_u0JzoT74Thi-OJ0pWHkpU8pdTztrH0EKRxfz2KizAV8_b5sWKXtifo8uEVUOUy09t74g_AW49KN3c62PxH9pU5rDR7eb66fEVnLYCGuf7J20BpgZAmhRKsVviGuDhDYuUNzbSvKQL7ZRnM5nKBT7-MXYfEDE_aIq_B_AQ";
const PYJWT_BODY: &str = r#"{"issuedAt": "2026-01-05T10:00:01.000000+00:00", "version": "3.20.0", "order": {"id": "T3JkZXI6MQ==", "number": "7", "userEmail": "Anna@Example.com", "total": {"gross": {"amount": 1500.5, "currency": "RUB"}}, "metadata": [{"key": "ref_code", "value": "abcd2345"}], "lines": []}}"#;

#[test]
fn a_signature_made_by_pyjwt_like_saleor_verifies() {
    let set = Jwks::parse(PYJWT_JWKS.as_bytes()).unwrap();
    assert_eq!(set.kids(), vec!["1"]);
    assert_eq!(verify(PYJWT_SIGNATURE, PYJWT_BODY.as_bytes(), &set), Ok(()));
    let mut tampered = PYJWT_BODY.as_bytes().to_vec();
    let last = tampered.len() - 2;
    tampered[last] = b' ';
    assert_eq!(
        verify(PYJWT_SIGNATURE, &tampered, &set),
        Err(SaleorError::BadSignature)
    );
    let order = parse_order_event("order_paid", PYJWT_BODY.as_bytes())
        .unwrap()
        .unwrap();
    assert_eq!(order.total, Kopecks::new(150_050));
    assert_eq!(order.email.as_deref(), Some("anna@example.com"));
    assert_eq!(order.ref_code.as_deref(), Some("ABCD2345"));
}

// ---- never panic -------------------------------------------------------------

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn verify_never_panics_on_any_header(header in proptest::collection::vec(any::<u8>(), 0..600),
                                         body in proptest::collection::vec(any::<u8>(), 0..64)) {
        let set = jwks(&[(key_a(), "1")]);
        let header = String::from_utf8_lossy(&header);
        prop_assert!(verify(&header, &body, &set).is_err());
    }

    #[test]
    fn mutated_signatures_never_verify(at in 0usize..400, byte in any::<u8>()) {
        let set = jwks(&[(key_a(), "1")]);
        let mut value = sign(key_a(), "1", BODY).into_bytes();
        let at = at % value.len();
        prop_assume!(value[at] != byte);
        value[at] = byte;
        let value = String::from_utf8_lossy(&value);
        // Base64 has slack bits only at the end; those are refused as non-canonical.
        prop_assert!(verify(&value, BODY, &set).is_err());
    }

    #[test]
    fn header_json_of_any_shape_never_panics(header in proptest::collection::vec(any::<u8>(), 0..200),
                                             sig in proptest::collection::vec(any::<u8>(), 0..300)) {
        let set = jwks(&[(key_a(), "1")]);
        let value = format!("{}..{}", b64(&header), b64(&sig));
        prop_assert!(verify(&value, BODY, &set).is_err());
    }

    #[test]
    fn parsers_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        let _ = parse_order_event("order_paid", &bytes);
        let _ = parse_order_event("order_fully_refunded", &bytes);
        let _ = Jwks::parse(&bytes);
        let _ = decimal_to_kopecks(&String::from_utf8_lossy(&bytes));
    }

    #[test]
    fn mutated_payloads_never_panic(at in 0usize..2000, byte in any::<u8>()) {
        let mut body = order_body(full_order());
        let at = at % body.len();
        body[at] = byte;
        let _ = parse_order_event("order_paid", &body);
    }
}
