//! `POST /webhooks/saleor`: the Saleor shop's order events.

use krug_core::{
    payments::{
        saleor::{self, Delivery, SaleorShop},
        webhook::{self, WebhookEnv},
    },
    referral::ReferralSettings,
    wallet::WalletSettings,
};
use krug_spin_adapter::{json_response, ApiError, Ctx, Req};
use serde_json::json;
use spin_sdk::http::Response;

fn log(ctx: &Ctx, event: &str, outcome: &str, detail: &str) {
    eprintln!(
        "{}",
        json!({
            "msg": "webhook", "component": "referral", "request_id": ctx.request_id(),
            "provider": saleor::PROVIDER, "event": event, "outcome": outcome, "detail": detail,
        })
    );
}

/// Verifies the delivery's signature with the shop's keys, then processes
/// the order once. 200 `{status}`; 401 for a bad signature (nothing
/// written); 404 when no shop is configured; 503 when the shop's keys
/// cannot be fetched (Saleor retries).
pub fn receive(ctx: &Ctx, req: &Req) -> Result<Response, ApiError> {
    let vars = ctx.variables();
    let origin = vars.get("saleor_api_url").unwrap_or_default();
    let business_id = vars.get("saleor_business_id").unwrap_or_default();
    if business_id.trim().is_empty() {
        return Err(ApiError::not_found(
            "SALEOR_NOT_CONFIGURED",
            "no Saleor shop is configured",
        ));
    }
    let settings = WalletSettings::from_variables(vars).map_err(ApiError::internal)?;
    let referral = ReferralSettings::from_variables(vars).map_err(ApiError::internal)?;
    let env = WebhookEnv {
        sql: ctx.sql(),
        clock: ctx.clock(),
        random: ctx.random(),
        settings: &settings,
        request_id: Some(ctx.request_id()),
        orders: &[],
        referral: &referral,
    };
    let event = req.header("saleor-event").unwrap_or_default().to_string();
    let delivery = Delivery {
        signature: req.header("saleor-signature"),
        event: Some(&event),
        body: req.body(),
    };
    let shop = SaleorShop {
        origin: &origin,
        business_id: business_id.trim(),
    };
    match saleor::receive(&env, ctx.http(), ctx.kv(), &shop, &delivery) {
        Ok(outcome) => {
            log(ctx, &event, outcome.status, "");
            json_response(200, &json!({ "status": outcome.status }))
        }
        Err(e) => {
            let outcome = if e.is_signature_failure() {
                "rejected"
            } else {
                "failed"
            };
            // Monitoring only: a failed counter write must not change the answer.
            let _ = webhook::count(ctx.sql(), saleor::PROVIDER, outcome);
            log(ctx, &event, outcome, &e.to_string());
            Err(e.into())
        }
    }
}
