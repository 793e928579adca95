//! Feature flags: each capability that can be rolled out step by step
//! (reviews, events, referral, preorders, support) has a flag that is on or
//! off per caller.
//!
//! - Evaluation ([`evaluate`]) is a pure function of the flag and the caller:
//!   off when `enabled` is false; otherwise on for members, tiers and
//!   businesses on the flag's allow-lists, and for a deterministic `percent`
//!   of everyone else — the member's [`bucket`], a stable hash of the flag
//!   name and member id, so every component and every request gives the
//!   same answer and raising 10 % to 20 % keeps the first 10 % in. A caller
//!   without a member id (anonymous, an API key) is in only at 100 %.
//! - Flags live in SQLite (`feature_flags`; admin changes audit-logged).
//!   Requests read one cached [`Snapshot`] of all of them from key-value
//!   (Spin keeps one open key-value connection, so the read does not pay a
//!   fresh SQLite connection's schema parse); a change rewrites the snapshot
//!   before it is acknowledged, and a job rewrites it every minute in case
//!   a write to key-value ever failed.
//! - A flag never gates money: POS, webhooks, the ledger and jobs are not
//!   behind flags, so points stay spendable and payments are processed
//!   whatever the flags say.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::audit::{self, AuditEntry};
use crate::db::{immediate, ts};
use crate::error::{ErrorClass, InvalidValue, UseCaseError};
use crate::ports::{Clock, KeyValue, Random, Sql, StoreError};
use crate::types::Id;
use crate::wallet::Tier;

/// Every flag, with what it switches. All default to on.
pub const FLAGS: [(&str, &str); 5] = [
    (
        "reviews",
        "Verified-purchase reviews and ratings (/reviews, /ratings)",
    ),
    (
        "events",
        "Community events, proposals, votes and the events budget (/events)",
    ),
    ("referral", "The referral program (/referrals)"),
    ("preorders", "Partner product preorders (/preorders)"),
    (
        "support",
        "Support tickets, disputes and the FAQ (/support, /faq)",
    ),
];

/// The key-value key of the snapshot.
pub const SNAPSHOT_KEY: &str = "feature-flags:v1";

/// Most entries in one allow-list.
pub const MAX_LIST: usize = 1_000;

/// One flag's rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Flag {
    /// The flag's name (one of [`FLAGS`]).
    pub name: String,
    /// Off for everyone when false.
    pub enabled: bool,
    /// Share of members (0–100) that have it; `None` = 100.
    pub percent: Option<u8>,
    /// Tiers that have it whatever the percent.
    pub tiers: Vec<String>,
    /// Businesses whose staff and API keys have it whatever the percent.
    pub businesses: Vec<String>,
    /// Members that have it whatever the percent.
    pub members: Vec<String>,
    /// Last change (`None` for a flag never changed: the default).
    pub updated_at: Option<String>,
}

impl Flag {
    /// The default rule: on for everyone.
    pub fn default_for(name: &str) -> Self {
        Self {
            name: name.to_string(),
            enabled: true,
            percent: None,
            tiers: Vec::new(),
            businesses: Vec::new(),
            members: Vec::new(),
            updated_at: None,
        }
    }
}

/// Who is asking.
#[derive(Debug, Clone, Copy, Default)]
pub struct Subject<'a> {
    /// The member, if the caller is a person.
    pub member_id: Option<&'a str>,
    /// Their tier.
    pub tier: Option<&'a str>,
    /// The business they are staff of, or the API key's business.
    pub business_id: Option<&'a str>,
}

/// The member's bucket for `flag`, in 0..10 000: the first 8 bytes of
/// SHA-256(`flag` ":" `member_id`), big-endian, modulo 10 000. Stable across
/// versions (tests pin values), uniform, and independent between flags.
pub fn bucket(flag: &str, member_id: &str) -> u32 {
    let digest = Sha256::new()
        .chain_update(flag.as_bytes())
        .chain_update(b":")
        .chain_update(member_id.as_bytes())
        .finalize();
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    (u64::from_be_bytes(first) % 10_000) as u32
}

/// Whether `flag` is on for `subject` (see the module docs for the rule).
pub fn evaluate(flag: &Flag, subject: &Subject<'_>) -> bool {
    if !flag.enabled {
        return false;
    }
    let listed = |list: &[String], v: Option<&str>| v.is_some_and(|v| list.iter().any(|x| x == v));
    if listed(&flag.members, subject.member_id)
        || listed(&flag.tiers, subject.tier)
        || listed(&flag.businesses, subject.business_id)
    {
        return true;
    }
    let percent = u32::from(flag.percent.unwrap_or(100));
    match subject.member_id {
        _ if percent >= 100 => true,
        Some(member) => bucket(&flag.name, member) < percent * 100,
        None => false,
    }
}

/// Every flag's rule at one moment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Snapshot {
    /// One entry per name in [`FLAGS`], in that order.
    pub flags: Vec<Flag>,
}

impl Snapshot {
    /// The rule of `name` (the default for a name it does not hold).
    pub fn flag(&self, name: &str) -> Flag {
        self.flags
            .iter()
            .find(|f| f.name == name)
            .cloned()
            .unwrap_or_else(|| Flag::default_for(name))
    }

    /// Whether `name` is on for `subject`.
    pub fn is_on(&self, name: &str, subject: &Subject<'_>) -> bool {
        match self.flags.iter().find(|f| f.name == name) {
            Some(f) => evaluate(f, subject),
            None => true,
        }
    }
}

/// The flags as stored in SQLite, defaults filled in.
pub fn load(sql: &dyn Sql) -> Result<Snapshot, StoreError> {
    let rows = sql.execute(
        "SELECT name, enabled, percent, tiers, businesses, members, updated_at FROM feature_flags",
        &[],
    )?;
    let mut flags: Vec<Flag> = FLAGS.iter().map(|(n, _)| Flag::default_for(n)).collect();
    for r in rows.iter() {
        let name = r.text("name")?;
        let Some(slot) = flags.iter_mut().find(|f| f.name == name) else {
            continue;
        };
        let list = |col: &str| -> Result<Vec<String>, StoreError> {
            serde_json::from_str(&r.text(col)?).map_err(|e| StoreError::Other(e.to_string()))
        };
        *slot = Flag {
            name,
            enabled: r.i64("enabled")? != 0,
            percent: r
                .opt_i64("percent")?
                .map(|p| u8::try_from(p.clamp(0, 100)).unwrap_or(100)),
            tiers: list("tiers")?,
            businesses: list("businesses")?,
            members: list("members")?,
            updated_at: Some(r.text("updated_at")?),
        };
    }
    Ok(Snapshot { flags })
}

/// Rewrites the key-value snapshot from SQLite and returns it.
pub fn refresh(kv: &dyn KeyValue, sql: &dyn Sql) -> Result<Snapshot, StoreError> {
    let snapshot = load(sql)?;
    let bytes = serde_json::to_vec(&snapshot).map_err(|e| StoreError::Other(e.to_string()))?;
    kv.set(SNAPSHOT_KEY, &bytes)?;
    Ok(snapshot)
}

/// The current snapshot: one key-value read; on a miss (a new store) or an
/// unreadable value, rebuilt from SQLite and stored.
pub fn snapshot(kv: &dyn KeyValue, sql: &dyn Sql) -> Result<Snapshot, StoreError> {
    if let Some(bytes) = kv.get(SNAPSHOT_KEY)? {
        if let Ok(s) = serde_json::from_slice::<Snapshot>(&bytes) {
            return Ok(s);
        }
    }
    refresh(kv, sql)
}

/// `PUT /admin/flags/{name}`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawFlag {
    /// On or off for everyone.
    pub enabled: bool,
    /// 0–100; absent or null = 100.
    pub percent: Option<i64>,
    /// Tier names.
    pub tiers: Option<Vec<String>>,
    /// Business ids.
    pub businesses: Option<Vec<String>>,
    /// Member ids.
    pub members: Option<Vec<String>>,
}

/// Changing a flag failed.
#[derive(Debug, thiserror::Error)]
pub enum FlagError {
    /// No flag has that name.
    #[error("no flag named {0:?}; flags are reviews, events, referral, preorders, support")]
    UnknownFlag(String),
    /// A field is invalid.
    #[error(transparent)]
    Invalid(#[from] InvalidValue),
    /// Storage failed.
    #[error(transparent)]
    Unknown(#[from] StoreError),
}

impl UseCaseError for FlagError {
    fn code(&self) -> &'static str {
        match self {
            FlagError::UnknownFlag(_) => "FLAG_NOT_FOUND",
            FlagError::Invalid(e) => e.code(),
            FlagError::Unknown(e) => e.code(),
        }
    }

    fn class(&self) -> ErrorClass {
        match self {
            FlagError::UnknownFlag(_) => ErrorClass::NotFound,
            FlagError::Invalid(e) => e.class(),
            FlagError::Unknown(e) => e.class(),
        }
    }
}

/// The known name `raw`, or [`FlagError::UnknownFlag`].
pub fn known(raw: &str) -> Result<&'static str, FlagError> {
    FLAGS
        .iter()
        .map(|(n, _)| *n)
        .find(|n| *n == raw)
        .ok_or_else(|| FlagError::UnknownFlag(raw.chars().take(64).collect()))
}

// Checks one allow-list: at most MAX_LIST entries, each valid, no repeats
// (repeats are dropped; order is kept).
fn list(
    raw: &Option<Vec<String>>,
    field: &str,
    check: impl Fn(&str, &str) -> Result<String, InvalidValue>,
) -> Result<Vec<String>, InvalidValue> {
    let Some(items) = raw else {
        return Ok(Vec::new());
    };
    if items.len() > MAX_LIST {
        return Err(InvalidValue::new(
            "INVALID_FIELD",
            field,
            format!("at most {MAX_LIST} entries"),
        ));
    }
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let v = check(item, &format!("{field}[{i}]"))?;
        if seen.insert(v.clone()) {
            out.push(v);
        }
    }
    Ok(out)
}

/// Validates a change of `name` into the rule to store.
pub fn parse(name: &str, raw: &RawFlag) -> Result<Flag, FlagError> {
    let name = known(name)?;
    let percent = match raw.percent {
        None => None,
        Some(p) if (0..=100).contains(&p) => Some(p as u8),
        Some(_) => {
            return Err(InvalidValue::new("INVALID_PERCENT", "percent", "percent is 0-100").into())
        }
    };
    let id = |v: &str, field: &str| Id::parse(v, field).map(|i| i.to_text());
    Ok(Flag {
        name: name.to_string(),
        enabled: raw.enabled,
        percent,
        tiers: list(&raw.tiers, "tiers", |v, field| {
            Tier::parse(v)
                .map(|t| t.as_str().to_string())
                .map_err(|e| e.at(field))
        })?,
        businesses: list(&raw.businesses, "businesses", id)?,
        members: list(&raw.members, "members", id)?,
        updated_at: None,
    })
}

/// Who changes a flag, for the audit log.
#[derive(Debug, Clone, Copy)]
pub struct Changer<'a> {
    /// The admin's member id.
    pub admin_id: &'a str,
    /// The request, for the audit log.
    pub request_id: Option<&'a str>,
}

/// Stores `name`'s new rule (one upsert and its audit entry in one
/// transaction), then rewrites the key-value snapshot so the next request
/// of every component sees it. Returns the stored rule.
pub fn put(
    sql: &dyn Sql,
    kv: &dyn KeyValue,
    clock: &dyn Clock,
    random: &dyn Random,
    by: Changer<'_>,
    name: &str,
    raw: &RawFlag,
) -> Result<Flag, FlagError> {
    let mut flag = parse(name, raw)?;
    let now = ts(clock.now());
    let json = |v: &Vec<String>| serde_json::to_string(v).unwrap_or_else(|_| "[]".into());
    immediate(sql, |tx| -> Result<(), FlagError> {
        tx.execute(
            "INSERT INTO feature_flags (name, enabled, percent, tiers, businesses, members, updated_at, updated_by) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?) \
             ON CONFLICT (name) DO UPDATE SET enabled = excluded.enabled, percent = excluded.percent, \
             tiers = excluded.tiers, businesses = excluded.businesses, members = excluded.members, \
             updated_at = excluded.updated_at, updated_by = excluded.updated_by",
            &[
                flag.name.as_str().into(),
                i64::from(flag.enabled).into(),
                flag.percent.map(i64::from).into(),
                json(&flag.tiers).into(),
                json(&flag.businesses).into(),
                json(&flag.members).into(),
                now.as_str().into(),
                by.admin_id.into(),
            ],
        )?;
        audit::record(
            tx,
            clock,
            random,
            &AuditEntry {
                actor_id: Some(by.admin_id),
                actor_role: "admin",
                action: "flag.updated",
                subject_type: "feature_flag",
                subject_id: &flag.name,
                details: serde_json::json!({
                    "enabled": flag.enabled,
                    "percent": flag.percent,
                    "tiers": flag.tiers,
                    "businesses": flag.businesses.len(),
                    "members": flag.members.len(),
                }),
                request_id: by.request_id,
            },
        )?;
        Ok(())
    })?;
    refresh(kv, sql)?;
    flag.updated_at = Some(now);
    Ok(flag)
}

/// The caller's evaluated flags: `{name: on}` for every flag.
pub fn evaluated(
    snapshot: &Snapshot,
    subject: &Subject<'_>,
) -> serde_json::Map<String, serde_json::Value> {
    FLAGS
        .iter()
        .map(|(name, _)| ((*name).to_string(), snapshot.is_on(name, subject).into()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flag(percent: Option<u8>) -> Flag {
        Flag {
            percent,
            ..Flag::default_for("reviews")
        }
    }

    fn member(id: &str) -> Subject<'_> {
        Subject {
            member_id: Some(id),
            ..Subject::default()
        }
    }

    fn ids(n: usize) -> Vec<String> {
        (0..n)
            .map(|i| format!("01890a5d-ac96-774b-bcce-{i:012x}"))
            .collect()
    }

    #[test]
    fn buckets_are_stable_across_versions() {
        // Pinned: a change here moves members between rollout groups.
        assert_eq!(
            bucket("reviews", "01890a5d-ac96-774b-bcce-b302099a8057"),
            8_865
        );
        assert_eq!(
            bucket("events", "01890a5d-ac96-774b-bcce-b302099a8057"),
            509
        );
        assert_eq!(bucket("reviews", ""), 8_869);
    }

    #[test]
    fn off_is_off_for_everyone_even_the_lists() {
        let f = Flag {
            enabled: false,
            members: vec!["m".into()],
            tiers: vec!["vip".into()],
            ..flag(Some(100))
        };
        let s = Subject {
            member_id: Some("m"),
            tier: Some("vip"),
            business_id: None,
        };
        assert!(!evaluate(&f, &s));
    }

    #[test]
    fn allow_lists_grant_at_zero_percent() {
        let f = Flag {
            members: vec!["m1".into()],
            tiers: vec!["elite".into()],
            businesses: vec!["b1".into()],
            ..flag(Some(0))
        };
        assert!(evaluate(&f, &member("m1")));
        assert!(!evaluate(&f, &member("m2")));
        let elite = Subject {
            member_id: Some("m3"),
            tier: Some("elite"),
            business_id: None,
        };
        assert!(evaluate(&f, &elite));
        let staff = Subject {
            member_id: Some("m4"),
            tier: Some("insider"),
            business_id: Some("b1"),
        };
        assert!(evaluate(&f, &staff));
    }

    #[test]
    fn anonymous_callers_are_in_only_at_full_rollout() {
        let anon = Subject::default();
        assert!(evaluate(&flag(None), &anon));
        assert!(evaluate(&flag(Some(100)), &anon));
        assert!(!evaluate(&flag(Some(99)), &anon));
    }

    #[test]
    fn rollout_is_monotonic() {
        let members = ids(5_000);
        let mut previous: BTreeSet<&String> = BTreeSet::new();
        for p in 0..=100u8 {
            let on: BTreeSet<&String> = members
                .iter()
                .filter(|m| evaluate(&flag(Some(p)), &member(m)))
                .collect();
            assert!(previous.is_subset(&on), "raising to {p} % dropped someone");
            previous = on;
        }
        assert_eq!(previous.len(), members.len());
    }

    #[test]
    fn split_is_uniform_within_two_percent() {
        let members = ids(100_000);
        for p in [1u8, 10, 25, 50, 90] {
            let on = members
                .iter()
                .filter(|m| evaluate(&flag(Some(p)), &member(m)))
                .count();
            let share = on as f64 / members.len() as f64 * 100.0;
            assert!(
                (share - f64::from(p)).abs() <= 2.0,
                "{p} %: {share:.2} % of members"
            );
        }
    }

    #[test]
    fn the_same_member_gets_the_same_answer() {
        let f = flag(Some(37));
        for m in ids(200) {
            assert_eq!(evaluate(&f, &member(&m)), evaluate(&f, &member(&m)));
        }
    }

    #[test]
    fn changes_are_validated() {
        let raw = |percent: Option<i64>| RawFlag {
            enabled: true,
            percent,
            tiers: None,
            businesses: None,
            members: None,
        };
        assert!(matches!(
            parse("nope", &raw(None)),
            Err(FlagError::UnknownFlag(_))
        ));
        for bad in [-1, 101, 1_000] {
            let e = parse("reviews", &raw(Some(bad))).unwrap_err();
            assert_eq!(e.code(), "INVALID_PERCENT");
        }
        assert_eq!(parse("reviews", &raw(Some(0))).unwrap().percent, Some(0));
        let tiers = RawFlag {
            tiers: Some(vec!["vip".into(), "gold".into()]),
            ..raw(None)
        };
        match parse("events", &tiers) {
            Err(FlagError::Invalid(e)) => assert_eq!(e.field, "tiers[1]"),
            other => panic!("{other:?}"),
        }
        let members = RawFlag {
            members: Some(vec!["01890a5d-ac96-774b-bcce-b302099a8057".into(); 3]),
            ..raw(None)
        };
        assert_eq!(parse("support", &members).unwrap().members.len(), 1);
        let too_many = RawFlag {
            members: Some(ids(MAX_LIST + 1)),
            ..raw(None)
        };
        assert!(parse("support", &too_many).is_err());
    }
}
