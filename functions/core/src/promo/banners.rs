//! Banners for the member apps: admins and business owners manage them;
//! members see the active ones of a placement that their tier may see.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::error::PromoError;
use super::store::{managed_page, merge_patch, Manager, PromoEnv};
use crate::audit::{self, AuditEntry};
use crate::db::{immediate, ts, Row};
use crate::error::InvalidValue;
use crate::pagination::{page_from, Cursor, Page};
use crate::params;
use crate::ports::{Sql, StoreError};
use crate::types::Id;
use crate::wallet::{Category, Tier};

/// A banner as sent (`POST`, and `PATCH` merged over the current one).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawBanner {
    /// `home` or `category:<slug>`.
    pub placement: String,
    /// Headline (1–120 characters).
    pub title: String,
    /// Text (≤ 1000 characters).
    #[serde(default)]
    pub body: Option<String>,
    /// `https://` image.
    #[serde(default)]
    pub image_url: Option<String>,
    /// `https://` link or an app path starting with `/`.
    #[serde(default)]
    pub link_url: Option<String>,
    /// Higher first (−1000..=1000, default 0).
    #[serde(default)]
    pub priority: Option<i64>,
    /// Lowest tier that sees it.
    #[serde(default)]
    pub min_tier: Option<String>,
    /// RFC 3339.
    #[serde(default)]
    pub starts_at: Option<String>,
    /// RFC 3339.
    #[serde(default)]
    pub ends_at: Option<String>,
    /// Default true.
    #[serde(default)]
    pub active: Option<bool>,
}

/// A banner as answered.
#[derive(Debug, Clone, Serialize)]
pub struct Banner {
    /// Id.
    pub id: String,
    /// The definition.
    #[serde(flatten)]
    pub definition: RawBanner,
    /// The owner's business (`None` for admin banners).
    pub owner_business_id: Option<String>,
    /// Created.
    pub created_at: String,
    /// Last changed.
    pub updated_at: String,
}

/// Checks a placement: `home` or `category:<one of the nine>`.
pub fn placement(raw: &str) -> Result<String, InvalidValue> {
    let p = raw.trim();
    if p == "home" {
        return Ok(p.into());
    }
    match p.strip_prefix("category:") {
        Some(slug) => Ok(format!(
            "category:{}",
            Category::parse(slug, "placement")?.as_str()
        )),
        None => Err(InvalidValue::new(
            "INVALID_PLACEMENT",
            "placement",
            "placement is home or category:<slug>",
        )),
    }
}

fn text(v: &Option<String>, field: &str, max: usize) -> Result<Option<String>, InvalidValue> {
    match v.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(s)
            if s.chars().count() > max
                || s.chars()
                    .any(|c| c != '\n' && !crate::types::is_display_safe(c)) =>
        {
            Err(InvalidValue::new(
                "INVALID_FIELD",
                field,
                format!("{field} is at most {max} characters"),
            ))
        }
        Some(s) => Ok(Some(s.to_string())),
    }
}

fn url(v: &Option<String>, field: &str, app_paths: bool) -> Result<Option<String>, InvalidValue> {
    let Some(u) = text(v, field, 2048)? else {
        return Ok(None);
    };
    let ok = (u.starts_with("https://") && u.len() > 8 && !u.contains(char::is_whitespace))
        || (app_paths && u.starts_with('/') && !u.starts_with("//"));
    if !ok {
        return Err(InvalidValue::new(
            "INVALID_URL",
            field,
            "an https:// URL is required",
        ));
    }
    Ok(Some(u))
}

fn instant(v: &Option<String>, field: &str) -> Result<Option<DateTime<Utc>>, InvalidValue> {
    v.as_deref()
        .map(|s| {
            crate::db::parse_instant(s.trim()).ok_or_else(|| {
                InvalidValue::new("INVALID_SCHEDULE", field, "must be an RFC 3339 time")
            })
        })
        .transpose()
}

/// The checked form of a banner request, normalised.
pub fn check(raw: &RawBanner) -> Result<RawBanner, InvalidValue> {
    let title = text(&Some(raw.title.clone()), "title", 120)?
        .ok_or_else(|| InvalidValue::new("INVALID_FIELD", "title", "title is 1-120 characters"))?;
    let starts = instant(&raw.starts_at, "starts_at")?;
    let ends = instant(&raw.ends_at, "ends_at")?;
    if let (Some(s), Some(e)) = (starts, ends) {
        if e <= s {
            return Err(InvalidValue::new(
                "INVALID_SCHEDULE",
                "ends_at",
                "ends_at must be after starts_at",
            ));
        }
    }
    let priority = raw.priority.unwrap_or(0);
    if !(-1000..=1000).contains(&priority) {
        return Err(InvalidValue::new(
            "INVALID_FIELD",
            "priority",
            "priority is from -1000 to 1000",
        ));
    }
    let min_tier = raw
        .min_tier
        .as_deref()
        .map(|t| Tier::parse(t.trim()).map(|t| t.as_str().to_string()))
        .transpose()
        .map_err(|e| e.at("min_tier"))?;
    Ok(RawBanner {
        placement: placement(&raw.placement)?,
        title,
        body: text(&raw.body, "body", 1000)?,
        image_url: url(&raw.image_url, "image_url", false)?,
        link_url: url(&raw.link_url, "link_url", true)?,
        priority: Some(priority),
        min_tier,
        starts_at: starts.map(ts),
        ends_at: ends.map(ts),
        active: Some(raw.active.unwrap_or(true)),
    })
}

const COLUMNS: &str =
    "id, owner_business_id, placement, title, body, image_url, link_url, priority, \
    min_tier, starts_at, ends_at, active, created_at, updated_at";

fn decode(r: Row<'_>) -> Result<Banner, StoreError> {
    Ok(Banner {
        id: r.text("id")?,
        definition: RawBanner {
            placement: r.text("placement")?,
            title: r.text("title")?,
            body: r.opt_text("body")?,
            image_url: r.opt_text("image_url")?,
            link_url: r.opt_text("link_url")?,
            priority: Some(r.i64("priority")?),
            min_tier: r.opt_text("min_tier")?,
            starts_at: r.opt_text("starts_at")?,
            ends_at: r.opt_text("ends_at")?,
            active: Some(r.i64("active")? != 0),
        },
        owner_business_id: r.opt_text("owner_business_id")?,
        created_at: r.text("created_at")?,
        updated_at: r.text("updated_at")?,
    })
}

fn get(sql: &dyn Sql, id: &str) -> Result<Option<Banner>, StoreError> {
    let rows = sql.execute(
        &format!("SELECT {COLUMNS} FROM banners WHERE id = ?"),
        &params![id],
    )?;
    rows.first().map(decode).transpose()
}

fn audit_change(
    env: &PromoEnv<'_>,
    tx: &dyn Sql,
    who: &Manager,
    action: &str,
    id: &str,
) -> Result<(), StoreError> {
    let (actor, role) = who.actor();
    audit::record(
        tx,
        env.clock,
        env.random,
        &AuditEntry {
            actor_id: Some(actor),
            actor_role: role,
            action,
            subject_type: "banner",
            subject_id: id,
            details: json!({}),
            request_id: env.request_id,
        },
    )?;
    Ok(())
}

fn write(tx: &dyn Sql, id: &str, b: &RawBanner, now: &str) -> Result<(), StoreError> {
    tx.execute(
        "UPDATE banners SET placement = ?, title = ?, body = ?, image_url = ?, link_url = ?, priority = ?, \
         min_tier = ?, starts_at = ?, ends_at = ?, active = ?, updated_at = ? WHERE id = ?",
        &params![
            b.placement.as_str(),
            b.title.as_str(),
            b.body.as_deref(),
            b.image_url.as_deref(),
            b.link_url.as_deref(),
            b.priority.unwrap_or(0),
            b.min_tier.as_deref(),
            b.starts_at.as_deref(),
            b.ends_at.as_deref(),
            i64::from(b.active.unwrap_or(true)),
            now,
            id
        ],
    )?;
    Ok(())
}

/// `POST /admin/banners` → 201.
pub fn create(env: &PromoEnv<'_>, who: &Manager, raw: &RawBanner) -> Result<Banner, PromoError> {
    let b = check(raw)?;
    let now = env.clock.now();
    let id = Id::at(now, env.random).to_text();
    let owner = who.own_business();
    let (actor, _) = who.actor();
    immediate(env.sql, |tx| {
        tx.execute(
            "INSERT INTO banners (id, owner_business_id, placement, title, created_by, created_at, updated_at) \
             VALUES (?, ?, ?, ?, ?, ?, ?)",
            &params![id.as_str(), owner, b.placement.as_str(), b.title.as_str(), actor, ts(now), ts(now)],
        )?;
        write(tx, &id, &b, &ts(now))?;
        audit_change(env, tx, who, "banner.created", &id)?;
        get(tx, &id)?.ok_or(PromoError::BannerNotFound)
    })
}

/// `PATCH /admin/banners/{id}`: the body's fields replace the current ones.
pub fn patch(
    env: &PromoEnv<'_>,
    who: &Manager,
    id: &str,
    changes: &serde_json::Map<String, serde_json::Value>,
) -> Result<Banner, PromoError> {
    let now = env.clock.now();
    immediate(env.sql, |tx| {
        let cur = get(tx, id)?
            .filter(|b| who.sees(b.owner_business_id.as_deref()))
            .ok_or(PromoError::BannerNotFound)?;
        let raw: RawBanner = merge_patch(&cur.definition, changes)?;
        let b = check(&raw)?;
        write(tx, id, &b, &ts(now))?;
        audit_change(env, tx, who, "banner.updated", id)?;
        get(tx, id)?.ok_or(PromoError::BannerNotFound)
    })
}

/// `GET /admin/banners/{id}`.
pub fn read(env: &PromoEnv<'_>, who: &Manager, id: &str) -> Result<Banner, PromoError> {
    get(env.sql, id)?
        .filter(|b| who.sees(b.owner_business_id.as_deref()))
        .ok_or(PromoError::BannerNotFound)
}

/// `GET /admin/banners`: newest first; owners see their own.
pub fn list(
    env: &PromoEnv<'_>,
    who: &Manager,
    limit: u32,
    cursor: Option<&Cursor>,
) -> Result<Page<Banner>, PromoError> {
    let (sql, args) = managed_page(COLUMNS, "banners", who, limit, cursor);
    let rows = env.sql.execute(&sql, &args)?;
    let items = rows.iter().map(decode).collect::<Result<Vec<_>, _>>()?;
    Ok(page_from(items, limit, |b| Cursor {
        key: b.created_at.clone(),
        id: b.id.clone(),
    }))
}

/// `GET /banners?placement=`: the active banners of a placement that a
/// member of `tier` may see at `now`, highest priority first (at most 20).
pub fn for_member(
    sql: &dyn Sql,
    raw_placement: &str,
    tier: Tier,
    now: DateTime<Utc>,
) -> Result<Vec<Banner>, PromoError> {
    let p = placement(raw_placement)?;
    let now = ts(now);
    let rows = sql.execute(
        &format!(
            "SELECT {COLUMNS} FROM banners WHERE placement = ? AND active = 1 \
             AND (starts_at IS NULL OR starts_at <= ?) AND (ends_at IS NULL OR ends_at > ?) \
             ORDER BY priority DESC, created_at DESC, id DESC LIMIT 200"
        ),
        &params![p.as_str(), now.as_str(), now.as_str()],
    )?;
    let mut out = Vec::new();
    for r in rows.iter() {
        let b = decode(r)?;
        let ok = match b.definition.min_tier.as_deref() {
            None => true,
            Some(t) => Tier::parse(t).is_ok_and(|min| tier >= min),
        };
        if ok {
            out.push(b);
        }
        if out.len() == 20 {
            break;
        }
    }
    Ok(out)
}
