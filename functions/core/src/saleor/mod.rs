//! Saleor webhooks: signature verification (JWS over the raw body, keys from
//! the shop's JWKS) and the mapping of order events to a neutral struct.
//!
//! Nothing here knows about routes or referral rules; the component wires it:
//!
//! ```text
//! POST /webhooks/saleor
//!   1. read headers Saleor-Signature, Saleor-Event (and Saleor-Api-Url for logs)
//!   2. saleor::verify_with_cache(http, kv, CONFIGURED_ORIGIN, signature, body)
//!   3. saleor::parse_order_event(event, body)  -> Some(order) | None (ignored event)
//!   4. settle `order.idempotency_key` exactly once, apply the referral rules
//! ```
//!
//! # What Saleor sends
//!
//! Saleor delivers app webhooks as `POST` with a JSON body and these headers:
//!
//! | header            | example                                    | use                        |
//! |-------------------|--------------------------------------------|----------------------------|
//! | `Saleor-Signature`| `eyJhbGciOi...` `..` `kC3s...`             | [`verify`]                 |
//! | `Saleor-Event`    | `order_paid`, `order_fully_refunded`       | [`parse_order_event`]      |
//! | `Saleor-Domain`   | `shop.example.com`                         | informational              |
//! | `Saleor-Api-Url`  | `https://shop.example.com/graphql/`        | informational (see below)  |
//!
//! ## The signature header
//!
//! `Saleor-Signature` is a JWS in compact serialization with a **detached,
//! unencoded payload** (RFC 7515 appendix F + RFC 7797):
//!
//! ```text
//! Saleor-Signature: <b64url(protected header)> "." "" "." <b64url(signature)>
//! protected header: {"alg":"RS256","b64":false,"crit":["b64"],"kid":"1","typ":"JWT"}
//! signing input:    <b64url(protected header)> "." <raw request body bytes>
//! signature:        RSASSA-PKCS1-v1_5 with SHA-256 over the signing input
//! ```
//!
//! `b64url` is base64url **without padding**. Saleor signs with PyJWT's
//! `encode(body, key, "RS256", headers={"kid": ...}, is_payload_detached=True)`,
//! which always writes `"b64": false`; recent PyJWT versions also add
//! `"crit": ["b64"]`, older ones do not, so `crit` is optional here but, when
//! present, may list nothing but `b64`. The middle segment must be empty. The
//! body is signed byte for byte as sent: verify the raw bytes, never a
//! re-serialised JSON value. Any other `alg` (`none`, `HS256`, `RS512`, ...)
//! is refused before a key is looked up. (A webhook registered with a
//! `secretKey` gets Saleor's deprecated HMAC-SHA256 signature instead; it is
//! refused as [`SaleorError::Malformed`]: register Krug's webhooks without
//! a secret key.)
//!
//! To produce a valid header in end-to-end tests (with the `rsa` crate):
//!
//! 1. `header = b64url_nopad(r#"{"alg":"RS256","b64":false,"crit":["b64"],"kid":"<kid>"}"#)`
//! 2. `input = header + "." + body` (bytes; the body exactly as it will be sent)
//! 3. `sig = private_key.sign(Pkcs1v15Sign::new::<Sha256>(), &Sha256::digest(&input))`
//! 4. `Saleor-Signature: header + ".." + b64url_nopad(sig)`
//! 5. serve `{"keys":[{"kty":"RSA","kid":"<kid>","use":"sig","alg":"RS256",
//!    "n":b64url_nopad(n big-endian),"e":b64url_nopad(e big-endian)}]}` at
//!    `<origin>/.well-known/jwks.json` (keys of 2048 to 4096 bits).
//!
//! ## Where the keys come from
//!
//! `{origin}/.well-known/jwks.json`, a JWKS of RSA keys (`kty`, `kid`, `n`,
//! `e`, `use`, `alg`). The origin **must come from configuration** (the one
//! Saleor instance Krug is installed in), never from the `Saleor-Api-Url`
//! or `Saleor-Domain` header: those are unsigned, and a forged request could
//! point at an attacker's key set. A route may compare `Saleor-Api-Url`'s
//! origin with the configured one to refuse strays early.
//!
//! ## The payload: the subscription query Krug expects
//!
//! App webhooks carry whatever the app's subscription query selects. Register
//! the `ORDER_PAID` and `ORDER_FULLY_REFUNDED` async events with this query
//! (one webhook per event, or one webhook for both: the fragment is shared):
//!
//! ```graphql
//! subscription {
//!   event {
//!     ... on OrderPaid { order { ...KrugOrder } }
//!     ... on OrderFullyRefunded { order { ...KrugOrder } }
//!   }
//! }
//! fragment KrugOrder on Order {
//!   id
//!   number
//!   created
//!   chargeStatus
//!   userEmail
//!   user { email }
//!   billingAddress { phone }
//!   total { gross { amount currency } }
//!   metadata { key value }
//!   lines { productSku productName quantity unitPrice { gross { amount } } }
//! }
//! ```
//!
//! Saleor executes the query and sends the value of its `event` field as the
//! body, so the body is an object with an `order` member:
//!
//! ```json
//! {"order": {"id": "T3JkZXI6MQ==", "number": "1042", "created": "2026-01-05T10:00:00.123456+00:00",
//!   "chargeStatus": "FULL", "userEmail": "Anna@Example.com", "user": {"email": "anna@example.com"},
//!   "billingAddress": {"phone": "+79161234567"},
//!   "total": {"gross": {"amount": 1500.5, "currency": "RUB"}},
//!   "metadata": [{"key": "ref_code", "value": "abcd2345"}],
//!   "lines": [{"productSku": "SKU-1", "productName": "Tea", "quantity": 2,
//!              "unitPrice": {"gross": {"amount": 750.25}}}]}}
//! ```
//!
//! Other members of the `Event` interface (`issuedAt`, `version`,
//! `recipient`, `issuingPrincipal`) may be present when a query selects them
//! and are ignored, as is an `errors` array Saleor adds when part of the query
//! failed (a missing `order` is then reported). Only `order.id` and
//! `order.total.gross` (`amount`, `currency` = `RUB`) are required; every
//! other member may be absent or null. Money amounts are GraphQL
//! `Float`s: JSON numbers, converted to kopecks exactly from their decimal
//! text (see [`amount`]).

pub mod amount;
mod cache;
mod jws;
mod order;

pub use cache::{jwks_cache_key, jwks_url, verify_with_cache, MAX_JWKS_BYTES};
pub use jws::{parse_signature, verify, Jwks, SignatureHeader, MAX_JWKS_KEYS, MAX_SIGNATURE_LEN};
pub use order::{parse_order_event, OrderEvent, SaleorLine, SaleorOrder, MAX_LINES};

use crate::error::{ErrorClass, UseCaseError};

/// Why a Saleor webhook was refused.
///
/// The first four are about the signature and mean "not from Saleor": answer
/// 401. [`SaleorError::KeysUnavailable`] means the key set could not be had
/// (network, bad response, misconfigured origin): the request may well be
/// genuine, so answer 503 and let Saleor retry (or 401 if the route prefers
/// to never reveal a dependency failure). The payload errors come only after
/// a good signature: the route decides whether to answer 422 (Saleor retries
/// and eventually gives up) or to acknowledge with 200 and log.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SaleorError {
    /// The signature header is not a detached, unencoded-payload compact JWS
    /// with a `kid` (also: header too long, bad base64url, bad JSON, an
    /// unknown `crit` extension, `b64` not `false`).
    #[error("malformed signature: {0}")]
    Malformed(&'static str),
    /// The JWS `alg` is not `RS256` (`none`, `HS256`, anything else).
    #[error("unsupported signature algorithm: {0}")]
    UnsupportedAlg(String),
    /// No key with this `kid` in the key set (after one refetch, with the cache).
    #[error("unknown signing key: {0}")]
    UnknownKey(String),
    /// The key was found and the signature does not verify.
    #[error("bad signature")]
    BadSignature,
    /// The JWKS could not be fetched or is not a usable key set.
    #[error("signing keys unavailable: {0}")]
    KeysUnavailable(String),
    /// The (verified) body does not have the expected shape.
    #[error("invalid payload at {field}: {reason}")]
    InvalidPayload {
        /// JSON path of the offending member, e.g. `order.total.gross.amount`.
        field: String,
        /// Human-readable reason.
        reason: &'static str,
    },
    /// The order is not in roubles; the payload carries its currency code.
    #[error("unsupported currency: {0}")]
    UnsupportedCurrency(String),
}

impl SaleorError {
    pub(crate) fn payload(field: impl Into<String>, reason: &'static str) -> Self {
        Self::InvalidPayload {
            field: field.into(),
            reason,
        }
    }

    /// True for the signature variants (the request is not proven to come
    /// from Saleor).
    pub fn is_signature_failure(&self) -> bool {
        matches!(
            self,
            Self::Malformed(_) | Self::UnsupportedAlg(_) | Self::UnknownKey(_) | Self::BadSignature
        )
    }
}

impl UseCaseError for SaleorError {
    fn code(&self) -> &'static str {
        match self {
            Self::Malformed(_) => "SALEOR_SIGNATURE_MALFORMED",
            Self::UnsupportedAlg(_) => "SALEOR_SIGNATURE_ALG",
            Self::UnknownKey(_) => "SALEOR_UNKNOWN_KEY",
            Self::BadSignature => "SALEOR_BAD_SIGNATURE",
            Self::KeysUnavailable(_) => "SALEOR_KEYS_UNAVAILABLE",
            // The project's code for a field that is wrong, `details.field`
            // naming it.
            Self::InvalidPayload { .. } => "INVALID_FIELD",
            Self::UnsupportedCurrency(_) => "SALEOR_UNSUPPORTED_CURRENCY",
        }
    }

    fn class(&self) -> ErrorClass {
        match self {
            Self::Malformed(_)
            | Self::UnsupportedAlg(_)
            | Self::UnknownKey(_)
            | Self::BadSignature => ErrorClass::Unauthorized,
            Self::KeysUnavailable(_) => ErrorClass::Unavailable,
            Self::InvalidPayload { field, .. } => ErrorClass::Invalid {
                field: Some(field.clone()),
            },
            Self::UnsupportedCurrency(_) => ErrorClass::Invalid {
                field: Some("order.total.gross.currency".into()),
            },
        }
    }
}
