//! Member proposals and their votes: vip and above propose; every member
//! votes once per proposal (one row per member, upserted, so a changed
//! vote replaces the old one and parallel votes of one member stay one
//! vote) with the weight of their tier at voting time; inner-circle
//! members may veto; the closing job decides due proposals with one
//! conditional update each; admins realise approved ones as events.

use chrono::{Duration, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::manage::{create_in, EventInput};
use super::validate::{self, ProgramItem};
use super::{approved, tier_of, vote_weight, Counts, EventEnv, EventError};
use crate::auth::Principal;
use crate::db::{immediate, parse_ts, ts, Row};
use crate::error::InvalidValue;
use crate::pagination::{page_from, Cursor, NewestFirst, Page};
use crate::params;
use crate::ports::{Sql, StoreError};
use crate::types::Id;
use crate::wallet::tiers::Tier;

/// The body of `POST /events/proposals`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProposalInput {
    /// Title, 1–200 characters.
    pub title: String,
    /// Description, 1–2 000 characters.
    pub description: String,
    /// Kind (`wellness`, ...), 1–50 characters.
    #[serde(rename = "type")]
    pub kind: String,
    /// Wished date, `YYYY-MM-DD`, today or later.
    pub preferred_date: String,
    /// A partner business to host it.
    #[serde(default)]
    pub business_id: Option<String>,
    /// Budget per person, kopecks.
    pub budget_per_person: i64,
    /// Seats, 1–100 000.
    pub capacity: i64,
    /// Programme.
    #[serde(default)]
    pub program: Vec<ProgramItem>,
}

/// The answer to a new proposal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Proposed {
    /// Id.
    pub proposal_id: String,
    /// Always `voting`.
    pub status: &'static str,
    /// When voting closes.
    pub voting_ends_at: String,
}

/// The tally of a proposal, and the caller's vote.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Tally {
    /// Members who voted.
    pub total_votes: i64,
    /// Of them yes.
    pub yes_votes: i64,
    /// Of them no.
    pub no_votes: i64,
    /// Weighted yes − weighted no.
    pub weighted_score: i64,
    /// Weighted yes ÷ all weighted votes (0 without votes).
    pub approval_rate: f64,
    /// The caller's vote, `yes` or `no`.
    pub user_vote: Option<String>,
    /// The weight the caller's vote carries (0 when they have not voted).
    pub user_vote_weight: i64,
}

/// A proposal as members see it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ProposalView {
    /// Id.
    pub id: String,
    /// Title.
    pub title: String,
    /// Description.
    pub description: String,
    /// Kind.
    #[serde(rename = "type")]
    pub kind: String,
    /// Wished date.
    pub preferred_date: String,
    /// Hosting business.
    pub business_id: Option<String>,
    /// Budget per person.
    pub budget_per_person: i64,
    /// Seats.
    pub capacity: i64,
    /// Programme.
    pub program: Value,
    /// `voting`, `approved`, `rejected`, `realized`.
    pub status: String,
    /// When voting closes.
    pub voting_ends_at: String,
    /// Whether an inner-circle member vetoed it.
    pub vetoed: bool,
    /// The veto's reason.
    pub veto_reason: Option<String>,
    /// The event that realises it.
    pub event_id: Option<String>,
    /// Votes.
    pub tally: Tally,
    /// Created.
    pub created_at: String,
}

fn counts(sql: &dyn Sql, proposal_id: &str) -> Result<Counts, StoreError> {
    let rows = sql.execute(
        "SELECT vote, COUNT(*) AS n, COALESCE(SUM(weight), 0) AS w FROM proposal_votes \
         WHERE proposal_id = ? GROUP BY vote",
        &params![proposal_id],
    )?;
    let mut c = Counts::default();
    for r in rows.iter() {
        let (n, w) = (r.i64("n")?, r.i64("w")?);
        if r.text("vote")? == "yes" {
            c.yes = n;
            c.weighted_yes = w;
        } else {
            c.no = n;
            c.weighted_no = w;
        }
    }
    Ok(c)
}

fn tally(sql: &dyn Sql, proposal_id: &str, member_id: Option<&str>) -> Result<Tally, StoreError> {
    let c = counts(sql, proposal_id)?;
    let mine = match member_id {
        Some(m) => sql
            .execute(
                "SELECT vote, weight FROM proposal_votes WHERE proposal_id = ? AND member_id = ?",
                &params![proposal_id, m],
            )?
            .first()
            .map(|r| Ok::<_, StoreError>((r.text("vote")?, r.i64("weight")?)))
            .transpose()?,
        None => None,
    };
    Ok(Tally {
        total_votes: c.total(),
        yes_votes: c.yes,
        no_votes: c.no,
        weighted_score: c.weighted_score(),
        approval_rate: c.approval_rate(),
        user_vote_weight: mine.as_ref().map_or(0, |m| m.1),
        user_vote: mine.map(|m| m.0),
    })
}

const COLUMNS: &str =
    "id, title, description, type, preferred_date, business_id, budget_per_person, capacity, \
    program, status, voting_ends_at, vetoed_by, veto_reason, event_id, created_at";

fn view(sql: &dyn Sql, r: &Row<'_>, member_id: Option<&str>) -> Result<ProposalView, StoreError> {
    let id = r.text("id")?;
    Ok(ProposalView {
        tally: tally(sql, &id, member_id)?,
        id,
        title: r.text("title")?,
        description: r.text("description")?,
        kind: r.text("type")?,
        preferred_date: r.text("preferred_date")?,
        business_id: r.opt_text("business_id")?,
        budget_per_person: r.i64("budget_per_person")?,
        capacity: r.i64("capacity")?,
        program: serde_json::from_str(&r.text("program")?)
            .map_err(|e| StoreError::Other(format!("program: {e}")))?,
        status: r.text("status")?,
        voting_ends_at: r.text("voting_ends_at")?,
        vetoed: r.opt_text("vetoed_by")?.is_some(),
        veto_reason: r.opt_text("veto_reason")?,
        event_id: r.opt_text("event_id")?,
        created_at: r.text("created_at")?,
    })
}

/// One proposal as `member_id` sees it.
pub fn get(
    sql: &dyn Sql,
    id: &str,
    member_id: Option<&str>,
) -> Result<Option<ProposalView>, StoreError> {
    let rows = sql.execute(
        &format!("SELECT {COLUMNS} FROM event_proposals WHERE id = ?"),
        &params![id],
    )?;
    rows.first().map(|r| view(sql, &r, member_id)).transpose()
}

/// `POST /events/proposals` by a vip or above.
pub fn propose(
    env: &EventEnv<'_>,
    member_id: &str,
    b: &ProposalInput,
) -> Result<Proposed, EventError> {
    let now = env.clock.now();
    let title = validate::line(&b.title, "title", 200)?;
    let description = validate::text(&b.description, "description", 2_000)?;
    let kind = validate::line(&b.kind, "type", 50)?;
    let date = validate::date(&b.preferred_date, "preferred_date")?;
    if date < now.date_naive() {
        return Err(InvalidValue::new(
            "INVALID_DATE",
            "preferred_date",
            "preferred_date is in the past",
        )
        .into());
    }
    let business_id = b
        .business_id
        .as_deref()
        .map(|id| validate::uuid(id, "business_id"))
        .transpose()?;
    let budget = validate::amount(b.budget_per_person, "budget_per_person")?;
    let capacity = validate::capacity(b.capacity, "capacity")?;
    let program = validate::program(&b.program, "program")?;
    let tier = tier_of(env.sql, member_id)?.ok_or(EventError::TierTooLow("vip"))?;
    if tier < Tier::Vip {
        return Err(EventError::TierTooLow("vip"));
    }
    if let Some(bid) = &business_id {
        if env
            .sql
            .execute(
                "SELECT 1 FROM businesses WHERE id = ?",
                &params![bid.as_str()],
            )?
            .is_empty()
        {
            return Err(EventError::BusinessNotFound);
        }
    }
    let id = Id::at(now, env.random).to_text();
    let ends = ts(now + Duration::days(env.settings.voting_days));
    env.sql.execute(
        "INSERT INTO event_proposals (id, member_id, title, description, type, preferred_date, business_id, \
         budget_per_person, capacity, program, status, voting_ends_at, created_at) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'voting', ?, ?)",
        &params![
            id.as_str(),
            member_id,
            title,
            description,
            kind,
            date.format("%Y-%m-%d").to_string(),
            business_id,
            budget,
            capacity,
            serde_json::to_string(&program).unwrap_or_else(|_| "[]".into()),
            ends.as_str(),
            ts(now)
        ],
    )?;
    Ok(Proposed {
        proposal_id: id,
        status: "voting",
        voting_ends_at: ends,
    })
}

/// `GET /events/proposals?status=`: newest first.
pub fn list(
    sql: &dyn Sql,
    member_id: Option<&str>,
    status: Option<&str>,
    limit: u32,
    cursor: Option<&Cursor>,
) -> Result<Page<ProposalView>, EventError> {
    let mut q = NewestFirst::new(format!("SELECT {COLUMNS} FROM event_proposals"));
    if let Some(s) = status {
        if !matches!(s, "voting" | "approved" | "rejected" | "realized") {
            return Err(InvalidValue::new(
                "INVALID_FIELD",
                "status",
                "status is voting, approved, rejected or realized",
            )
            .into());
        }
        q = q.filter("status = ?", s);
    }
    let (sql_text, args) = q.page("created_at", "id", cursor, limit);
    let rows = sql.execute(&sql_text, &args)?;
    let items = rows
        .iter()
        .map(|r| view(sql, &r, member_id))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(page_from(items, limit, |p| Cursor {
        key: p.created_at.clone(),
        id: p.id.clone(),
    }))
}

/// A vote: `yes` or `no`.
pub fn parse_vote(s: &str) -> Result<&'static str, InvalidValue> {
    match s {
        "yes" => Ok("yes"),
        "no" => Ok("no"),
        _ => Err(InvalidValue::new(
            "INVALID_FIELD",
            "vote",
            "vote is yes or no",
        )),
    }
}

fn open_proposal(
    tx: &dyn Sql,
    id: &str,
    now: chrono::DateTime<Utc>,
) -> Result<Option<String>, EventError> {
    let rows = tx.execute(
        "SELECT status, voting_ends_at, vetoed_by FROM event_proposals WHERE id = ?",
        &params![id],
    )?;
    let r = rows.first().ok_or(EventError::ProposalNotFound)?;
    if r.text("status")? != "voting" || parse_ts(&r.text("voting_ends_at")?)? <= now {
        return Err(EventError::VotingClosed);
    }
    Ok(r.opt_text("vetoed_by")?)
}

/// `POST /events/proposals/{id}/vote`: records or replaces the caller's
/// vote with the weight of their tier now; returns the tally.
pub fn vote(
    env: &EventEnv<'_>,
    member_id: &str,
    proposal_id: &str,
    vote: &str,
) -> Result<Tally, EventError> {
    let vote = parse_vote(vote)?;
    let now = env.clock.now();
    immediate(env.sql, |tx| -> Result<Tally, EventError> {
        open_proposal(tx, proposal_id, now)?;
        let tier = tier_of(tx, member_id)?.unwrap_or(Tier::Insider);
        tx.execute(
            "INSERT INTO proposal_votes (proposal_id, member_id, vote, weight, voted_at) VALUES (?, ?, ?, ?, ?) \
             ON CONFLICT (proposal_id, member_id) DO UPDATE SET vote = excluded.vote, weight = excluded.weight, \
             voted_at = excluded.voted_at",
            &params![proposal_id, member_id, vote, vote_weight(tier), ts(now)],
        )?;
        Ok(tally(tx, proposal_id, Some(member_id))?)
    })
}

/// `POST /events/proposals/{id}/veto {reason}` by an inner-circle member:
/// the proposal will be rejected when voting closes.
pub fn veto(
    env: &EventEnv<'_>,
    member_id: &str,
    proposal_id: &str,
    reason: &str,
) -> Result<ProposalView, EventError> {
    let reason = validate::text(reason, "reason", 1_000)?;
    let now = env.clock.now();
    immediate(env.sql, |tx| -> Result<ProposalView, EventError> {
        let vetoed = open_proposal(tx, proposal_id, now)?;
        let tier = tier_of(tx, member_id)?.unwrap_or(Tier::Insider);
        if tier < Tier::InnerCircle {
            return Err(EventError::TierTooLow("inner_circle"));
        }
        if vetoed.is_some() {
            return Err(EventError::AlreadyVetoed);
        }
        tx.execute(
            "UPDATE event_proposals SET vetoed_by = ?, veto_reason = ?, vetoed_at = ? WHERE id = ? AND vetoed_by IS NULL",
            &params![member_id, reason.as_str(), ts(now), proposal_id],
        )?;
        get(tx, proposal_id, Some(member_id))?.ok_or(EventError::ProposalNotFound)
    })
}

/// The `events-close-proposals` job: every proposal whose voting has ended
/// is approved or rejected by [`approved`]. Each decision is one
/// conditional `UPDATE ... WHERE status = 'voting'`, so a second run (even
/// at the same moment) decides nothing twice. Returns the decisions made.
pub fn close_due(env: &EventEnv<'_>) -> Result<u64, StoreError> {
    let now = ts(env.clock.now());
    let due = env.sql.execute(
        "SELECT id, vetoed_by FROM event_proposals WHERE status = 'voting' AND voting_ends_at <= ? LIMIT 500",
        &params![now.as_str()],
    )?;
    let mut decided = 0;
    for r in due.iter() {
        let id = r.text("id")?;
        let c = counts(env.sql, &id)?;
        let vetoed = r.opt_text("vetoed_by")?.is_some();
        let status = if approved(&c, vetoed, env.settings.min_votes) {
            "approved"
        } else {
            "rejected"
        };
        env.sql.execute(
            "UPDATE event_proposals SET status = ?, decided_at = ? WHERE id = ? AND status = 'voting'",
            &params![status, now.as_str(), id.as_str()],
        )?;
        decided += env.sql.changes()?;
    }
    Ok(decided)
}

/// `POST /admin/events/proposals/{id}/realize`: creates the event (same
/// body as `POST /admin/events`) and marks the approved proposal
/// `realized`, in one transaction; returns the event id.
pub fn realize(
    env: &EventEnv<'_>,
    p: &Principal,
    proposal_id: &str,
    b: &EventInput,
) -> Result<String, EventError> {
    immediate(env.sql, |tx| -> Result<String, EventError> {
        let rows = tx.execute(
            "SELECT status FROM event_proposals WHERE id = ?",
            &params![proposal_id],
        )?;
        let r = rows.first().ok_or(EventError::ProposalNotFound)?;
        if r.text("status")? != "approved" {
            return Err(EventError::ProposalNotApproved);
        }
        let event_id = create_in(env, tx, p, b, proposal_id)?;
        tx.execute(
            "UPDATE event_proposals SET status = 'realized', event_id = ? WHERE id = ? AND status = 'approved'",
            &params![event_id.as_str(), proposal_id],
        )?;
        Ok(event_id)
    })
}
