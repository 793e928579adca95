//! `/admin/...`: businesses, staff, API keys (admins and the business's own
//! owners/managers, as each route says) and the audit log (admins).

use krug_core::{
    audit::{self, AuditFilter},
    auth::{api_keys, businesses, staff, Actor, Need, Principal, StaffRole},
    types::Id,
};
use krug_spin_adapter::{json_response, no_content, parse_json, require, ApiError, Ctx, Req};
use serde_json::json;
use spin_sdk::http::Response;

use crate::{body, login::env};

// Ids in paths are UUIDs; anything else cannot name a resource.
fn path_id(raw: &str, what: &str) -> Result<String, ApiError> {
    Id::parse(raw, "id").map(|id| id.to_text()).map_err(|_| {
        ApiError::not_found(
            &format!("{what}_NOT_FOUND"),
            format!("no such {}", what.to_lowercase().replace('_', " ")),
        )
    })
}

fn business_not_found() -> ApiError {
    ApiError::not_found("BUSINESS_NOT_FOUND", "no such business")
}

fn staff_need(business_id: &str, min_role: StaffRole) -> Need {
    Need::Staff {
        business_id: business_id.to_string(),
        min_role,
    }
}

/// `POST /admin/businesses` (admin) → 201.
pub fn create_business(ctx: &Ctx, req: &Req) -> Result<Response, ApiError> {
    let p = require(ctx, req, &Need::Admin)?;
    let b: body::NewBusiness = parse_json(req)?;
    let raw = businesses::RawNewBusiness {
        name: b.name,
        category: b.category,
        timezone: b.timezone,
        points_multiplier: b.points_multiplier,
        medical: b.medical,
    };
    let created = businesses::create(&env(ctx), &Actor::of(&p), &raw)?;
    json_response(201, &created)
}

/// `GET /admin/businesses`: admins see all, staff their own.
pub fn list_businesses(ctx: &Ctx, req: &Req) -> Result<Response, ApiError> {
    let p = krug_spin_adapter::principal(ctx, req)?;
    let only = if p.is_admin() {
        None
    } else {
        match &p {
            Principal::Member {
                business: Some((b, _)),
                ..
            } => Some(b.clone()),
            _ => return Err(ApiError::forbidden("FORBIDDEN", "not allowed")),
        }
    };
    let (limit, cursor) = req.page()?;
    let page = businesses::list(ctx.sql(), only.as_deref(), limit, cursor.as_ref())
        .map_err(ApiError::from)?;
    json_response(200, &page)
}

/// `GET /admin/businesses/{id}`: admin, its staff or its API key.
pub fn get_business(ctx: &Ctx, req: &Req, raw_id: &str) -> Result<Response, ApiError> {
    let id = path_id(raw_id, "BUSINESS")?;
    // A business's own API key may read its profile too.
    require(
        ctx,
        req,
        &Need::StaffOrApiKey {
            business_id: id.clone(),
        },
    )?;
    let b = businesses::get(ctx.sql(), &id)?.ok_or_else(business_not_found)?;
    json_response(200, &b)
}

/// `GET /admin/businesses/{id}/staff` (manager+).
pub fn list_staff(ctx: &Ctx, req: &Req, raw_id: &str) -> Result<Response, ApiError> {
    let id = path_id(raw_id, "BUSINESS")?;
    require(ctx, req, &staff_need(&id, StaffRole::Manager))?;
    businesses::get(ctx.sql(), &id)?.ok_or_else(business_not_found)?;
    let items = staff::list(ctx.sql(), &id)?;
    json_response(200, &json!({ "items": items, "next_cursor": null }))
}

/// `POST /admin/businesses/{id}/staff` (owner or admin).
pub fn add_staff(ctx: &Ctx, req: &Req, raw_id: &str) -> Result<Response, ApiError> {
    let id = path_id(raw_id, "BUSINESS")?;
    let p = require(ctx, req, &staff_need(&id, StaffRole::Owner))?;
    let b: body::AddStaff = parse_json(req)?;
    let (row, created) = staff::add(&env(ctx), &Actor::of(&p), &id, &b.phone, &b.role)?;
    json_response(if created { 201 } else { 200 }, &row)
}

/// `DELETE /admin/businesses/{id}/staff/{member_id}` (owner or admin).
pub fn remove_staff(
    ctx: &Ctx,
    req: &Req,
    raw_id: &str,
    raw_member: &str,
) -> Result<Response, ApiError> {
    let id = path_id(raw_id, "BUSINESS")?;
    let p = require(ctx, req, &staff_need(&id, StaffRole::Owner))?;
    let member = path_id(raw_member, "STAFF")?;
    staff::remove(&env(ctx), &Actor::of(&p), &id, &member)?;
    Ok(no_content())
}

/// `GET /admin/businesses/{id}/api-keys` (owner or admin).
pub fn list_keys(ctx: &Ctx, req: &Req, raw_id: &str) -> Result<Response, ApiError> {
    let id = path_id(raw_id, "BUSINESS")?;
    require(ctx, req, &staff_need(&id, StaffRole::Owner))?;
    businesses::get(ctx.sql(), &id)?.ok_or_else(business_not_found)?;
    let items = api_keys::list(ctx.sql(), &id)?;
    json_response(200, &json!({ "items": items, "next_cursor": null }))
}

/// `POST /admin/businesses/{id}/api-keys` (owner or admin) → 201.
pub fn issue_key(ctx: &Ctx, req: &Req, raw_id: &str) -> Result<Response, ApiError> {
    let id = path_id(raw_id, "BUSINESS")?;
    let p = require(ctx, req, &staff_need(&id, StaffRole::Owner))?;
    let b: body::NewKey = if req.body().is_empty() {
        body::NewKey::default()
    } else {
        parse_json(req)?
    };
    let key = api_keys::issue(&env(ctx), &Actor::of(&p), &id, b.name.as_deref())?;
    json_response(201, &key)
}

/// `DELETE /admin/businesses/{id}/api-keys/{key_id}` (owner or admin).
pub fn revoke_key(ctx: &Ctx, req: &Req, raw_id: &str, raw_key: &str) -> Result<Response, ApiError> {
    let id = path_id(raw_id, "BUSINESS")?;
    let p = require(ctx, req, &staff_need(&id, StaffRole::Owner))?;
    let key = path_id(raw_key, "API_KEY")?;
    api_keys::revoke(&env(ctx), &Actor::of(&p), &id, &key)?;
    Ok(no_content())
}

fn filter_param(req: &Req, name: &str) -> Result<Option<String>, ApiError> {
    match req.query_param(name) {
        None => Ok(None),
        Some(v) if !v.is_empty() && v.len() <= 100 && v.chars().all(|c| !c.is_control()) => {
            Ok(Some(v))
        }
        Some(_) => Err(ApiError::invalid_field(
            "INVALID_FIELD",
            name,
            format!("{name} must be 1-100 characters"),
        )),
    }
}

/// `GET /admin/audit` (admin).
pub fn audit(ctx: &Ctx, req: &Req) -> Result<Response, ApiError> {
    require(ctx, req, &Need::Admin)?;
    let filter = AuditFilter {
        subject_type: filter_param(req, "subject_type")?,
        subject_id: filter_param(req, "subject_id")?,
    };
    let (limit, cursor) = req.page()?;
    let page = audit::list(ctx.sql(), &filter, limit, cursor.as_ref())?;
    json_response(200, &page)
}
