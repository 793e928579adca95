//! `/auth/...`: request a code, verify it, refresh, log out.

use krug_core::auth::{
    login::{self, Consents, VerifyCode},
    otp::{self, SmsGateway},
    AuthEnv, AuthSettings,
};
use krug_spin_adapter::{json_response, no_content, parse_json, ApiError, Ctx, Req};
use spin_sdk::http::Response;

use crate::body;

/// The auth ports of this request.
pub fn env(ctx: &Ctx) -> AuthEnv<'_> {
    AuthEnv {
        sql: ctx.sql(),
        clock: ctx.clock(),
        random: ctx.random(),
        request_id: Some(ctx.request_id()),
    }
}

fn settings(ctx: &Ctx) -> Result<AuthSettings, ApiError> {
    let secret = ctx.required_variable("jwt_secret")?;
    let admins = ctx.variables().get("admin_phones").unwrap_or_default();
    // Entries that are not phones are skipped; they could never log in.
    Ok(AuthSettings::new(&secret, &admins).0)
}

/// `POST /auth/otp`.
pub fn request_otp(ctx: &Ctx, req: &Req) -> Result<Response, ApiError> {
    let b: body::Otp = parse_json(req)?;
    let secret = ctx.required_variable("jwt_secret")?;
    let vars = ctx.variables();
    let gateway = SmsGateway {
        url: vars.get("sms_gateway_url").unwrap_or_default(),
        path: vars.get("sms_gateway_path").unwrap_or_default(),
        token: vars.get("sms_gateway_token").unwrap_or_default(),
    };
    let ip = req.client_ip().unwrap_or_else(|| "unknown".into());
    let sent = otp::request_code(&env(ctx), ctx.http(), &secret, &gateway, &b.phone, &ip)?;
    json_response(202, &sent)
}

/// `POST /auth/verify`.
pub fn verify(ctx: &Ctx, req: &Req) -> Result<Response, ApiError> {
    let b: body::Verify = parse_json(req)?;
    let cmd = VerifyCode {
        phone: b.phone,
        code: b.code,
        first_name: b.first_name,
        last_name: b.last_name,
        referral_code: b.referral_code,
        consents: b.consents.map(|c| Consents {
            personal_data: c.personal_data,
            marketing: c.marketing,
        }),
        device_id: req.header("x-device-id").map(str::to_string),
    };
    let result = login::verify_code(&env(ctx), &settings(ctx)?, &cmd)?;
    json_response(200, &result)
}

/// `POST /auth/refresh`.
pub fn refresh(ctx: &Ctx, req: &Req) -> Result<Response, ApiError> {
    let b: body::RefreshToken = parse_json(req)?;
    let pair = login::refresh_tokens(&env(ctx), &settings(ctx)?, &b.refresh_token)?;
    json_response(200, &pair)
}

/// `POST /auth/logout` → 204.
pub fn logout(ctx: &Ctx, req: &Req) -> Result<Response, ApiError> {
    let b: body::RefreshToken = parse_json(req)?;
    login::logout(&env(ctx), &b.refresh_token)?;
    Ok(no_content())
}
