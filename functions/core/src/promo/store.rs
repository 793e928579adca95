//! Promo persistence and the admin/owner use cases: create, read, list,
//! patch. Owners manage their own business's promos; admins manage every
//! promo and are the only ones who create network-wide promos.

use chrono::{DateTime, Utc};
use serde_json::json;

use super::engine::{self, CartLine};
use super::error::PromoError;
use super::input::{self, PromoView, RawPromo, UsageView};
use super::model::{Conditions, Kind, Limits, Promo};
use super::uses;
use crate::audit::{self, AuditEntry};
use crate::db::{self, immediate, ts, Row};
use crate::pagination::{page_from, Cursor, NewestFirst, Page};
use crate::params;
use crate::ports::{Clock, Random, Sql, SqlValue, StoreError};
use crate::types::Id;

/// Who manages promos or banners.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Manager {
    /// A platform admin: every promo, network-wide ones included.
    Admin {
        /// Member id.
        id: String,
    },
    /// The owner of one business: that business's promos only.
    Owner {
        /// Member id.
        id: String,
        /// Their business.
        business_id: String,
    },
}

impl Manager {
    /// Member id and audit role of the manager.
    pub(super) fn actor(&self) -> (&str, &'static str) {
        match self {
            Manager::Admin { id } => (id, "admin"),
            Manager::Owner { id, .. } => (id, "staff"),
        }
    }

    /// The business an owner is confined to; `None` for an admin.
    pub(super) fn own_business(&self) -> Option<&str> {
        match self {
            Manager::Admin { .. } => None,
            Manager::Owner { business_id, .. } => Some(business_id),
        }
    }

    /// Whether something owned by `owner` (`None`: network-wide) is this
    /// manager's to see: an owner sees their own business's, an admin all.
    pub(super) fn sees(&self, owner: Option<&str>) -> bool {
        match self.own_business() {
            None => true,
            Some(own) => owner == Some(own),
        }
    }
}

/// One page of an admin list of `table` (promos or banners), newest first,
/// confined to the owner's business for an owner: the query and its
/// arguments, asking for one row more than `limit` to tell if more follow.
pub(super) fn managed_page(
    columns: &str,
    table: &str,
    who: &Manager,
    limit: u32,
    cursor: Option<&Cursor>,
) -> (String, Vec<SqlValue>) {
    let mut q = NewestFirst::new(format!("SELECT {columns} FROM {table}"));
    if let Some(own) = who.own_business() {
        q = q.filter("owner_business_id = ?", own);
    }
    q.page("created_at", "id", cursor, limit)
}

/// `current` with the top-level fields of a PATCH body put over it, read
/// back as the raw input type so it is validated like a new definition.
pub(super) fn merge_patch<T, R>(
    current: &T,
    changes: &serde_json::Map<String, serde_json::Value>,
) -> Result<R, PromoError>
where
    T: serde::Serialize,
    R: serde::de::DeserializeOwned,
{
    let mut merged = serde_json::to_value(current).map_err(|e| StoreError::Other(e.to_string()))?;
    if let Some(obj) = merged.as_object_mut() {
        for (k, v) in changes {
            obj.insert(k.clone(), v.clone());
        }
    }
    Ok(crate::json::from_value(merged)?)
}

/// The ports a promo use case needs.
#[derive(Clone, Copy)]
pub struct PromoEnv<'a> {
    /// SQLite.
    pub sql: &'a dyn Sql,
    /// Clock.
    pub clock: &'a dyn Clock,
    /// CSPRNG.
    pub random: &'a dyn Random,
    /// Request id, for the audit log.
    pub request_id: Option<&'a str>,
}

const COLUMNS: &str = "id, code, name, kind, value, max_discount, buy_qty, free_qty, \
    owner_business_id, businesses, conditions, limit_total, limit_per_member, \
    limit_per_member_per_day, budget, stackable, priority, auto, active, created_at, updated_at";

/// A stored promo with its bookkeeping.
#[derive(Debug, Clone)]
pub struct Stored {
    /// The promo.
    pub promo: Promo,
    /// Creating business, if an owner made it.
    pub owner_business_id: Option<String>,
    /// Created.
    pub created_at: String,
    /// Last changed.
    pub updated_at: String,
}

fn decode(r: Row<'_>) -> Result<Stored, StoreError> {
    let bad = |what: &str, e: String| StoreError::Other(format!("stored promo {what}: {e}"));
    let kind = r.text("kind")?;
    let promo = Promo {
        id: r.text("id")?,
        code: r.opt_text("code")?,
        name: r.text("name")?,
        kind: Kind::parse(&kind).ok_or_else(|| bad("kind", kind.clone()))?,
        value: r.i64("value")?,
        max_discount: r.opt_i64("max_discount")?,
        buy_qty: r.i64("buy_qty")?,
        free_qty: r.i64("free_qty")?,
        businesses: serde_json::from_str(&r.text("businesses")?)
            .map_err(|e| bad("businesses", e.to_string()))?,
        conditions: serde_json::from_str::<Conditions>(&r.text("conditions")?)
            .map_err(|e| bad("conditions", e.to_string()))?,
        limits: Limits {
            total: r.opt_i64("limit_total")?,
            per_member: r.opt_i64("limit_per_member")?,
            per_member_per_day: r.opt_i64("limit_per_member_per_day")?,
            budget: r.opt_i64("budget")?,
        },
        stackable: r.i64("stackable")? != 0,
        priority: r.i64("priority")?,
        auto: r.i64("auto")? != 0,
        active: r.i64("active")? != 0,
    };
    Ok(Stored {
        promo,
        owner_business_id: r.opt_text("owner_business_id")?,
        created_at: r.text("created_at")?,
        updated_at: r.text("updated_at")?,
    })
}

/// The promo with `id`.
pub fn get(sql: &dyn Sql, id: &str) -> Result<Option<Stored>, StoreError> {
    let rows = sql.execute(
        &format!("SELECT {COLUMNS} FROM promos WHERE id = ?"),
        &params![id],
    )?;
    rows.first().map(decode).transpose()
}

fn code_taken(sql: &dyn Sql, code: &str, except: &str) -> Result<bool, StoreError> {
    Ok(!sql
        .execute(
            "SELECT 1 FROM promos WHERE code = ? AND id <> ?",
            &params![code, except],
        )?
        .is_empty())
}

fn business_exists(sql: &dyn Sql, id: &str) -> Result<bool, StoreError> {
    Ok(!sql
        .execute("SELECT 1 FROM businesses WHERE id = ?", &params![id])?
        .is_empty())
}

// Owners act for their own business only; network-wide is admin-only.
fn check_scope(sql: &dyn Sql, who: &Manager, promo: &mut Promo) -> Result<(), PromoError> {
    if let Some(own) = who.own_business() {
        if promo.businesses.is_empty() {
            promo.businesses.push(own.to_string());
        }
        if promo.businesses.iter().any(|b| b != own) {
            return Err(PromoError::Forbidden(
                "an owner manages promos of their own business only",
            ));
        }
    }
    for (i, b) in promo.businesses.iter().enumerate() {
        if !business_exists(sql, b)? {
            return Err(crate::error::InvalidValue::new(
                "BUSINESS_NOT_FOUND",
                format!("businesses[{i}]"),
                "no such business",
            )
            .into());
        }
    }
    Ok(())
}

fn usage_view(sql: &dyn Sql, id: &str, now: DateTime<Utc>) -> Result<UsageView, StoreError> {
    let u = uses::usage(sql, &[id], None, now)?
        .remove(id)
        .unwrap_or_default();
    Ok(UsageView {
        uses: u.total,
        budget_spent: u.budget_spent,
    })
}

/// The view `GET` answers.
pub fn view(sql: &dyn Sql, s: &Stored, now: DateTime<Utc>) -> Result<PromoView, StoreError> {
    Ok(PromoView {
        id: s.promo.id.clone(),
        definition: input::raw_of(&s.promo),
        owner_business_id: s.owner_business_id.clone(),
        usage: usage_view(sql, &s.promo.id, now)?,
        created_at: s.created_at.clone(),
        updated_at: s.updated_at.clone(),
    })
}

fn write(
    tx: &dyn Sql,
    p: &Promo,
    owner: Option<&str>,
    created_by: &str,
    now: &str,
    insert: bool,
) -> Result<(), StoreError> {
    let businesses =
        serde_json::to_string(&p.businesses).map_err(|e| StoreError::Other(e.to_string()))?;
    let conditions =
        serde_json::to_string(&p.conditions).map_err(|e| StoreError::Other(e.to_string()))?;
    let values = params![
        p.code.as_deref(),
        p.name.as_str(),
        p.kind.as_str(),
        p.value,
        p.max_discount,
        p.buy_qty,
        p.free_qty,
        businesses.as_str(),
        conditions.as_str(),
        p.limits.total,
        p.limits.per_member,
        p.limits.per_member_per_day,
        p.limits.budget,
        i64::from(p.stackable),
        p.priority,
        i64::from(p.auto),
        i64::from(p.active),
        now
    ];
    if insert {
        let mut all = values;
        all.extend(params![p.id.as_str(), owner, created_by, now]);
        tx.execute(
            "INSERT INTO promos (code, name, kind, value, max_discount, buy_qty, free_qty, businesses, \
             conditions, limit_total, limit_per_member, limit_per_member_per_day, budget, stackable, \
             priority, auto, active, updated_at, id, owner_business_id, created_by, created_at) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            &all,
        )?;
    } else {
        let mut all = values;
        all.push(SqlValue::Text(p.id.clone()));
        tx.execute(
            "UPDATE promos SET code = ?, name = ?, kind = ?, value = ?, max_discount = ?, buy_qty = ?, \
             free_qty = ?, businesses = ?, conditions = ?, limit_total = ?, limit_per_member = ?, \
             limit_per_member_per_day = ?, budget = ?, stackable = ?, priority = ?, auto = ?, active = ?, \
             updated_at = ? WHERE id = ?",
            &all,
        )?;
        // A scan of this narrow table: promo writes are rare, and an index
        // by promo would be one more object every request's schema parse
        // pays for.
        tx.execute(
            "DELETE FROM promo_triggers WHERE promo_id = ?",
            &params![p.id.as_str()],
        )?;
    }
    write_triggers(tx, p)
}

/// Most trigger rows one promo writes (scopes × keys); a promo that would
/// need more is stored under [`engine::ANY_LINE`] alone, which is always
/// correct (it is then a candidate of every cart in its scopes).
const MAX_TRIGGER_ROWS: usize = 2_000;

/// Trigger rows per `INSERT` (three parameters each).
const TRIGGER_ROWS_PER_INSERT: usize = 250;

/// The trigger scope of a network-wide promo (one with no business list).
const NETWORK: &str = "*";

// Writes the rows under which `candidates` finds `p`: one per business it
// is for (or `*`, network-wide) and trigger key.
fn write_triggers(tx: &dyn Sql, p: &Promo) -> Result<(), StoreError> {
    let scopes: Vec<&str> = if p.businesses.is_empty() {
        vec![NETWORK]
    } else {
        p.businesses.iter().map(String::as_str).collect()
    };
    let mut keys = engine::promo_triggers(&p.conditions);
    if scopes.len() * keys.len() > MAX_TRIGGER_ROWS {
        keys = vec![engine::ANY_LINE.to_string()];
    }
    let rows: Vec<(&str, &str)> = scopes
        .iter()
        .flat_map(|scope| keys.iter().map(move |k| (*scope, k.as_str())))
        .collect();
    for chunk in rows.chunks(TRIGGER_ROWS_PER_INSERT) {
        let marks = db::marks(chunk.len(), 3);
        let mut args = Vec::with_capacity(chunk.len() * 3);
        for (scope, key) in chunk {
            args.extend(params![*scope, *key, p.id.as_str()]);
        }
        tx.execute(
            &format!("INSERT INTO promo_triggers (scope, trigger_key, promo_id) VALUES {marks}"),
            &args,
        )?;
    }
    Ok(())
}

fn audit_change(
    env: &PromoEnv<'_>,
    tx: &dyn Sql,
    who: &Manager,
    action: &str,
    p: &Promo,
) -> Result<(), StoreError> {
    let (id, role) = who.actor();
    audit::record(
        tx,
        env.clock,
        env.random,
        &AuditEntry {
            actor_id: Some(id),
            actor_role: role,
            action,
            subject_type: "promo",
            subject_id: &p.id,
            details: json!({ "code": p.code, "kind": p.kind.as_str(), "active": p.active }),
            request_id: env.request_id,
        },
    )?;
    Ok(())
}

// Shared tail of create and patch, inside their transaction: scope and
// code checks, the write (`insert` for a new promo), the audit entry, and
// the stored promo read back as the caller sees it.
fn save(
    env: &PromoEnv<'_>,
    tx: &dyn Sql,
    who: &Manager,
    promo: &mut Promo,
    owner: Option<&str>,
    now: DateTime<Utc>,
    insert: bool,
) -> Result<PromoView, PromoError> {
    check_scope(tx, who, promo)?;
    if let Some(code) = &promo.code {
        if code_taken(tx, code, &promo.id)? {
            return Err(PromoError::CodeTaken);
        }
    }
    write(tx, promo, owner, who.actor().0, &ts(now), insert)?;
    let action = if insert {
        "promo.created"
    } else {
        "promo.updated"
    };
    audit_change(env, tx, who, action, promo)?;
    let stored = get(tx, &promo.id)?.ok_or(PromoError::PromoNotFound)?;
    Ok(view(tx, &stored, now)?)
}

/// `POST /admin/promos` → the new promo.
pub fn create(env: &PromoEnv<'_>, who: &Manager, raw: &RawPromo) -> Result<PromoView, PromoError> {
    let now = env.clock.now();
    let id = Id::at(now, env.random).to_text();
    let mut promo = input::parse(raw, &id)?;
    immediate(env.sql, |tx| {
        save(env, tx, who, &mut promo, who.own_business(), now, true)
    })
}

/// [`create`] inside the caller's transaction, for capabilities that issue
/// promos of their own (the referral program's single-use vouchers).
pub fn create_in(
    env: &PromoEnv<'_>,
    tx: &dyn Sql,
    who: &Manager,
    raw: &RawPromo,
) -> Result<PromoView, PromoError> {
    let now = env.clock.now();
    let id = Id::at(now, env.random).to_text();
    let mut promo = input::parse(raw, &id)?;
    save(env, tx, who, &mut promo, who.own_business(), now, true)
}

/// `GET /admin/promos/{id}`.
pub fn read(env: &PromoEnv<'_>, who: &Manager, id: &str) -> Result<PromoView, PromoError> {
    let s = get(env.sql, id)?
        .filter(|s| who.sees(s.owner_business_id.as_deref()))
        .ok_or(PromoError::PromoNotFound)?;
    Ok(view(env.sql, &s, env.clock.now())?)
}

/// `PATCH /admin/promos/{id}`: the body's fields replace the current ones
/// (objects such as `conditions` and `limits` are replaced whole), then the
/// result is checked as a new promo would be.
pub fn patch(
    env: &PromoEnv<'_>,
    who: &Manager,
    id: &str,
    changes: &serde_json::Map<String, serde_json::Value>,
) -> Result<PromoView, PromoError> {
    let now = env.clock.now();
    immediate(env.sql, |tx| {
        let s = get(tx, id)?
            .filter(|s| who.sees(s.owner_business_id.as_deref()))
            .ok_or(PromoError::PromoNotFound)?;
        let raw: RawPromo = merge_patch(&input::raw_of(&s.promo), changes)?;
        let mut promo = input::parse(&raw, &s.promo.id)?;
        save(
            env,
            tx,
            who,
            &mut promo,
            s.owner_business_id.as_deref(),
            now,
            false,
        )
    })
}

/// `GET /admin/promos`: newest first.
pub fn list(
    env: &PromoEnv<'_>,
    who: &Manager,
    limit: u32,
    cursor: Option<&Cursor>,
) -> Result<Page<PromoView>, PromoError> {
    let (sql, args) = managed_page(COLUMNS, "promos", who, limit, cursor);
    let rows = env.sql.execute(&sql, &args)?;
    let now = env.clock.now();
    let mut items = Vec::with_capacity(rows.len());
    for r in rows.iter() {
        items.push(view(env.sql, &decode(r)?, now)?);
    }
    Ok(page_from(items, limit, |v| Cursor {
        key: v.created_at.clone(),
        id: v.id.clone(),
    }))
}

/// The promos a checkout at `business_id` of `lines` considers: those whose
/// code was typed (any state: the engine reports why one does not apply)
/// and the active auto campaigns of this business or of the whole network
/// that have a trigger in the cart ([`engine::cart_triggers`]). Campaigns
/// limited to SKUs or categories the cart lacks are never read, so the cost
/// follows the campaigns that can apply, not all of them.
pub fn candidates(
    sql: &dyn Sql,
    business_id: &str,
    codes: &[String],
    lines: &[CartLine],
) -> Result<Vec<Promo>, StoreError> {
    let mut out: Vec<Promo> = Vec::new();
    if !codes.is_empty() {
        let marks = db::marks(codes.len(), 1);
        let args: Vec<SqlValue> = codes.iter().map(|c| SqlValue::Text(c.clone())).collect();
        let rows = sql.execute(
            &format!("SELECT {COLUMNS} FROM promos WHERE code IN ({marks})"),
            &args,
        )?;
        for r in rows.iter() {
            out.push(decode(r)?.promo);
        }
    }
    let keys = engine::cart_triggers(lines);
    let marks = db::marks(keys.len(), 1);
    let mut args = params![business_id, NETWORK];
    args.extend(keys.into_iter().map(SqlValue::Text));
    let rows = sql.execute(
        &format!(
            "SELECT {COLUMNS} FROM promos WHERE auto = 1 AND active = 1 AND id IN \
             (SELECT promo_id FROM promo_triggers WHERE scope IN (?, ?) AND trigger_key IN ({marks}))"
        ),
        &args,
    )?;
    for r in rows.iter() {
        let p = decode(r)?.promo;
        if !out.iter().any(|o| o.id == p.id) {
            out.push(p);
        }
    }
    Ok(out)
}

/// True when any promo was created or changed at or after `since`: a copy
/// of the candidates loaded before then may be stale.
pub fn changed_since(sql: &dyn Sql, since: DateTime<Utc>) -> Result<bool, StoreError> {
    Ok(!sql
        .execute(
            "SELECT 1 FROM promos WHERE updated_at >= ? LIMIT 1",
            &params![ts(since)],
        )?
        .is_empty())
}
