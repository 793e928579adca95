//! The two provider endpoints. Every delivery is counted by outcome
//! (processed, duplicate, ignored, rejected, failed) and logged with its
//! event id.

use krug_core::{
    payments::{
        cidr::AllowList,
        providers::{self, GenericEvent, ReadBackError, YooKassaApi},
        signature,
        webhook::{self, Event, WebhookEnv},
    },
    referral::ReferralSettings,
    wallet::WalletSettings,
};
use krug_spin_adapter::{json_response, parse_json_bytes, ApiError, Ctx, Req};
use serde_json::{json, Map, Value};
use spin_sdk::http::Response;

fn count(ctx: &Ctx, provider: &str, outcome: &str) {
    // Monitoring only: a failed counter write must not fail the delivery.
    if let Err(e) = webhook::count(ctx.sql(), provider, outcome) {
        eprintln!(
            "{}",
            json!({ "msg": "webhook counter not written", "error": e.to_string() })
        );
    }
}

fn log(ctx: &Ctx, provider: &str, event_id: &str, outcome: &str, detail: &str) {
    eprintln!(
        "{}",
        json!({
            "msg": "webhook", "component": "payments-webhook", "request_id": ctx.request_id(),
            "provider": provider, "event_id": event_id, "outcome": outcome, "detail": detail,
        })
    );
}

// Runs `f`, counts and logs what became of the delivery.
fn counted(
    ctx: &Ctx,
    provider: &'static str,
    event_id: &str,
    f: impl FnOnce() -> Result<Response, ApiError>,
) -> Result<Response, ApiError> {
    let result = f();
    let outcome = match &result {
        Ok(r) => match r.status() {
            200 => "delivered",
            _ => "failed",
        },
        Err(e) if e.status() >= 500 => "failed",
        Err(_) => "rejected",
    };
    if outcome != "delivered" {
        let detail = result
            .as_ref()
            .err()
            .map(|e| e.code().to_string())
            .unwrap_or_default();
        count(ctx, provider, outcome);
        log(ctx, provider, event_id, outcome, &detail);
    }
    result
}

fn process(ctx: &Ctx, provider: &'static str, event: &Event) -> Result<Response, ApiError> {
    let settings = WalletSettings::from_variables(ctx.variables()).map_err(ApiError::internal)?;
    let referral = ReferralSettings::from_variables(ctx.variables()).map_err(ApiError::internal)?;
    let env = WebhookEnv {
        sql: ctx.sql(),
        clock: ctx.clock(),
        random: ctx.random(),
        settings: &settings,
        request_id: Some(ctx.request_id()),
        orders: crate::ORDERS,
        referral: &referral,
    };
    // Counted by process itself, in its transaction.
    let outcome = webhook::process(&env, event)?;
    log(ctx, provider, &event.event_id, outcome.status, "");
    json_response(200, &json!({ "status": outcome.status }))
}

fn ignored(ctx: &Ctx, provider: &str, event_id: &str) -> Result<Response, ApiError> {
    count(ctx, provider, "ignored");
    log(ctx, provider, event_id, "ignored", "event type not handled");
    json_response(200, &json!({ "status": "ignored" }))
}

/// `POST /webhooks/payments/generic`: the signature is checked on the raw
/// body before anything is parsed.
pub fn generic(ctx: &Ctx, req: &Req) -> Result<Response, ApiError> {
    counted(ctx, "generic", "", || {
        let secret = ctx
            .variables()
            .get("payments_webhook_secret")
            .unwrap_or_default();
        if secret.is_empty() {
            return Err(ApiError::unavailable(
                "WEBHOOK_NOT_CONFIGURED",
                "payment webhooks are not configured",
                "payments_webhook_secret is empty",
            ));
        }
        let header = req.header("krug-signature").unwrap_or_default();
        signature::verify(&secret, header, req.body(), ctx.clock().now().timestamp())
            .map_err(|e| ApiError::unauthorized("INVALID_SIGNATURE", e.to_string()))?;
        let raw: GenericEvent = parse_json_bytes(req.body())?;
        match providers::generic(&raw)? {
            None => ignored(ctx, "generic", &raw.id),
            Some(event) => process(ctx, "generic", &event),
        }
    })
}

/// `POST /webhooks/payments/yookassa`: only from `yookassa_allowed_ips`;
/// the payment or refund is read back from YooKassa and only that is used.
pub fn yookassa(ctx: &Ctx, req: &Req) -> Result<Response, ApiError> {
    counted(ctx, "yookassa", "", || {
        let allowed = ctx
            .variables()
            .get("yookassa_allowed_ips")
            .unwrap_or_default();
        let list = AllowList::parse(&allowed).map_err(|bad| {
            ApiError::internal(format!("yookassa_allowed_ips has invalid entries: {bad:?}"))
        })?;
        let ip = req.client_ip().unwrap_or_default();
        if !list.allows(&ip) {
            return Err(ApiError::forbidden(
                "FORBIDDEN_SOURCE",
                "notifications are accepted from YooKassa only",
            ));
        }
        // A notification is an object; `Map` refuses anything else (422).
        let body = Value::Object(parse_json_bytes::<Map<String, Value>>(req.body())?);
        let Some(n) = providers::yookassa_notification(&body)? else {
            return ignored(ctx, "yookassa", "");
        };
        let vars = ctx.variables();
        let api = YooKassaApi {
            url: vars.get("yookassa_api_url").unwrap_or_default(),
            shop_id: vars.get("yookassa_shop_id").unwrap_or_default(),
            secret_key: vars.get("yookassa_secret_key").unwrap_or_default(),
        };
        let event = providers::yookassa_read_back(ctx.http(), &api, &n).map_err(|e| match e {
            ReadBackError::Unavailable(m) => ApiError::unavailable(
                "PROVIDER_UNAVAILABLE",
                "could not confirm the notification with YooKassa",
                m,
            ),
            ReadBackError::Unconfirmed(m) => ApiError::conflict("NOT_CONFIRMED", m),
            ReadBackError::Invalid(i) => ApiError::from_use_case(&i),
        })?;
        process(ctx, "yookassa", &event)
    })
}
