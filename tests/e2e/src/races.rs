//! Parallel POS writes shared by the race tests (one host or several).

use std::{sync::Arc, thread};

use serde_json::json;

use crate::{Client, TestResponse};

/// Sends `n` redemptions of `points` against one member's QR token at once
/// (a thread each, idempotency key `race-i`, order `R-i`), the i-th through
/// `clients[i % clients.len()]` with the API key `key`; the answers in
/// sending order.
pub fn redeem_burst(
    clients: &[Client],
    key: &str,
    qr_token: &str,
    n: usize,
    points: i64,
) -> Vec<TestResponse> {
    let (key, token) = (Arc::new(key.to_string()), Arc::new(qr_token.to_string()));
    let handles: Vec<_> = (0..n)
        .map(|i| {
            let client = clients[i % clients.len()];
            let (key, token) = (Arc::clone(&key), Arc::clone(&token));
            thread::spawn(move || {
                client
                    .post("/api/v1/pos/redemptions")
                    .bearer(&key)
                    .header("idempotency-key", &format!("race-{i}"))
                    .json(&json!({ "member": { "qr_token": *token }, "points": points, "order_ref": format!("R-{i}") }))
                    .send()
            })
        })
        .collect();
    handles
        .into_iter()
        .map(|h| h.join().expect("redemption thread"))
        .collect()
}

/// How a redemption burst came out: `(201 Created, 409 INSUFFICIENT_POINTS)`
/// counts; anything else is neither.
pub fn redemption_tally(results: &[TestResponse]) -> (usize, usize) {
    let ok = results.iter().filter(|r| r.status == 201).count();
    let short = results
        .iter()
        .filter(|r| r.status == 409 && r.error_code() == "INSUFFICIENT_POINTS")
        .count();
    (ok, short)
}
