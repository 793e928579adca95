//! `POST /webhooks/telegram`: the secret header is checked in constant time
//! (401 and nothing written when wrong); every other outcome is 200, since
//! Telegram redelivers anything else forever.

use krug_core::support::webhook::{self, WebhookEnv};
use krug_spin_adapter::{json_response, ApiError, Ctx, Req};
use serde_json::json;
use spin_sdk::http::Response;

use crate::tickets::settings;

/// `POST /webhooks/telegram`.
pub fn telegram(ctx: &Ctx, req: &Req) -> Result<Response, ApiError> {
    let secret = ctx
        .variables()
        .get("telegram_webhook_secret")
        .unwrap_or_default();
    if !webhook::secret_matches(secret.trim(), req.header("x-telegram-bot-api-secret-token")) {
        return Err(ApiError::unauthorized(
            "INVALID_SECRET_TOKEN",
            "X-Telegram-Bot-Api-Secret-Token is missing or wrong",
        ));
    }
    let settings = settings(ctx)?;
    let handled = webhook::handle(
        &WebhookEnv {
            sql: ctx.sql(),
            clock: ctx.clock(),
            random: ctx.random(),
            settings: &settings,
        },
        req.body(),
    )
    .map_err(ApiError::from)?;
    eprintln!(
        "{}",
        json!({
            "msg": "telegram update", "component": "support", "request_id": ctx.request_id(),
            "outcome": handled.status, "ticket_id": handled.ticket_id,
        })
    );
    json_response(200, &handled)
}
