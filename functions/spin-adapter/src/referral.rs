//! Settling the buyer's referral after a purchase whose own transaction
//! has committed (the till, a reservation's commit).

use krug_core::referral::{rules, ReferralSettings};
use serde_json::json;

use crate::Ctx;

/// Settles the referral of `purchase_id`'s buyer. The purchase stands
/// whatever happens here: a failure is logged, and the `referral-settle`
/// job still moves a referral captured at registration when its
/// qualifying purchase was not settled by the request.
pub fn settle_referral(ctx: &Ctx, purchase_id: &str) {
    let result = ReferralSettings::from_variables(ctx.variables())
        .map_err(|e| e.to_string())
        .and_then(|settings| {
            let env = rules::ReferralEnv {
                sql: ctx.sql(),
                clock: ctx.clock(),
                random: ctx.random(),
                settings: &settings,
                request_id: Some(ctx.request_id()),
            };
            rules::settle_purchase_now(&env, purchase_id).map_err(|e| e.to_string())
        });
    if let Err(e) = result {
        eprintln!(
            "{}",
            json!({ "msg": "referral not settled", "request_id": ctx.request_id(), "purchase_id": purchase_id, "error": e })
        );
    }
}
