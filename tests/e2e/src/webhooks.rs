//! Clock and signed generic payment deliveries shared by the suites that
//! pay through the webhook (payments, events, preorders, referral).

use std::time::{SystemTime, UNIX_EPOCH};

use krug_core::payments::signature;

use crate::{Client, TestResponse};

/// Seconds since the Unix epoch, now.
pub fn unix_now() -> i64 {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs();
    i64::try_from(secs).expect("seconds fit")
}

/// RFC 3339 UTC (whole seconds) of `offset_secs` from now.
pub fn rfc3339_in(offset_secs: i64) -> String {
    rfc3339_at(unix_now() + offset_secs)
}

/// RFC 3339 UTC (whole seconds) of Unix time `secs`.
pub fn rfc3339_at(secs: i64) -> String {
    chrono::DateTime::from_timestamp(secs, 0)
        .expect("a representable time")
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

/// POSTs `raw` to the generic payment webhook, signed with `secret` as of
/// `offset` seconds from now (the host's clock may have been moved on).
pub fn deliver_generic(client: &Client, secret: &str, raw: String, offset: i64) -> TestResponse {
    client
        .post("/webhooks/payments/generic")
        .header(
            "krug-signature",
            &signature::sign(secret, unix_now() + offset, raw.as_bytes()),
        )
        .raw_json(raw)
        .send()
}

/// Delivers `raw` `n` times at once (a thread each, freshly signed), the
/// i-th through `clients[i % clients.len()]`; the answers in sending order.
pub fn deliver_generic_burst(
    clients: &[Client],
    secret: &str,
    raw: &str,
    n: usize,
) -> Vec<TestResponse> {
    let handles: Vec<_> = (0..n)
        .map(|i| {
            let client = clients[i % clients.len()];
            let (secret, raw) = (secret.to_string(), raw.to_string());
            std::thread::spawn(move || deliver_generic(&client, &secret, raw, 0))
        })
        .collect();
    handles
        .into_iter()
        .map(|h| h.join().expect("delivery thread"))
        .collect()
}
