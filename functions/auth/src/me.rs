//! `/me`: the caller's own profile.

use krug_core::auth::{
    members::{self, ProfileChanges, RawProfilePatch},
    Actor, Need, Principal,
};
use krug_spin_adapter::{json_response, no_content, parse_json, require, ApiError, Ctx, Req};
use spin_sdk::http::Response;

use crate::{body, login::env};

fn member(
    ctx: &Ctx,
    req: &Req,
) -> Result<(Principal, String, Vec<krug_core::auth::Role>), ApiError> {
    let p = require(ctx, req, &Need::Member)?;
    match &p {
        Principal::Member {
            member_id, roles, ..
        } => {
            let (id, roles) = (member_id.clone(), roles.clone());
            Ok((p, id, roles))
        }
        Principal::ApiKey { .. } => Err(ApiError::forbidden("FORBIDDEN", "not allowed")),
    }
}

/// `GET /me`.
pub fn get(ctx: &Ctx, req: &Req) -> Result<Response, ApiError> {
    let (_, id, roles) = member(ctx, req)?;
    json_response(200, &members::profile(ctx.sql(), &id, &roles)?)
}

/// `PATCH /me`.
pub fn patch(ctx: &Ctx, req: &Req) -> Result<Response, ApiError> {
    let (p, id, roles) = member(ctx, req)?;
    let b: body::PatchMe = parse_json(req)?;
    let raw = RawProfilePatch {
        first_name: b.first_name,
        last_name: b.last_name,
        email: b.email,
        birth_date: b.birth_date,
        city: b.city,
    };
    let changes = ProfileChanges::parse(&raw, ctx.clock().now())?;
    let profile = members::update_profile(&env(ctx), &Actor::of(&p), &id, &roles, &changes)?;
    json_response(200, &profile)
}

/// `DELETE /me` → 204.
pub fn erase(ctx: &Ctx, req: &Req) -> Result<Response, ApiError> {
    let (p, id, _) = member(ctx, req)?;
    members::erase(&env(ctx), &Actor::of(&p), &id)?;
    Ok(no_content())
}
