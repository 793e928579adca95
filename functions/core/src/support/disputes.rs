//! Disputes on a purchase: the member opens one (which also opens a ticket
//! in the support chat); staff of the business or an admin decide it once.
//! Accepting with points grants them through the wallet's compensation
//! rules (capped per order); accepting a refund request records the agreed
//! amount for the payment provider's refund to follow.

use serde::Serialize;

use super::error::SupportError;
use super::model::{self, Caller, Priority};
use super::outbox::{self, Kind};
use super::sla::SupportSettings;
use super::tickets::{self, own_purchase};
use crate::db::{immediate, ts, Row};
use crate::error::InvalidValue;
use crate::params;
use crate::ports::{Clock, Random, Sql, StoreError};
use crate::types::{Id, Kopecks};
use crate::wallet::{
    ledger::Actor,
    member,
    pos::{grant_compensation, Goodwill},
    WalletSettings,
};

/// The ports and settings dispute use cases need.
pub struct DisputeEnv<'a> {
    /// SQLite.
    pub sql: &'a dyn Sql,
    /// Clock.
    pub clock: &'a dyn Clock,
    /// CSPRNG.
    pub random: &'a dyn Random,
    /// Support settings.
    pub settings: &'a SupportSettings,
    /// Wallet settings (the compensation cap).
    pub wallet: &'a WalletSettings,
    /// Request id, for the audit log.
    pub request_id: Option<&'a str>,
}

/// A dispute as the API shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Dispute {
    /// Dispute id.
    pub id: String,
    /// The member.
    pub member_id: String,
    /// The purchase's business.
    pub business_id: String,
    /// The purchase.
    pub purchase_id: String,
    /// The ticket carrying the conversation.
    pub ticket_id: String,
    /// Why.
    pub reason: String,
    /// `compensation`, `refund` or `redo`.
    pub requested: String,
    /// Amount asked for (kopecks), if any.
    pub amount: Option<i64>,
    /// `open`, `accepted` or `rejected`.
    pub status: String,
    /// The decision's note.
    pub note: Option<String>,
    /// Compensation points granted.
    pub points: Option<i64>,
    /// The wallet compensation row.
    pub compensation_id: Option<String>,
    /// Agreed refund (kopecks).
    pub refund_amount: Option<i64>,
    /// Who decided.
    pub decided_by: Option<String>,
    /// When.
    pub decided_at: Option<String>,
    /// Opened at.
    pub created_at: String,
}

const COLUMNS: &str =
    "id, member_id, business_id, purchase_id, ticket_id, reason, requested, amount, status, \
    note, points, compensation_id, refund_amount, decided_by, decided_at, created_at";

fn from_row(r: Row<'_>) -> Result<Dispute, StoreError> {
    Ok(Dispute {
        id: r.text("id")?,
        member_id: r.text("member_id")?,
        business_id: r.text("business_id")?,
        purchase_id: r.text("purchase_id")?,
        ticket_id: r.text("ticket_id")?,
        reason: r.text("reason")?,
        requested: r.text("requested")?,
        amount: r.opt_i64("amount")?,
        status: r.text("status")?,
        note: r.opt_text("note")?,
        points: r.opt_i64("points")?,
        compensation_id: r.opt_text("compensation_id")?,
        refund_amount: r.opt_i64("refund_amount")?,
        decided_by: r.opt_text("decided_by")?,
        decided_at: r.opt_text("decided_at")?,
        created_at: r.text("created_at")?,
    })
}

fn load(sql: &dyn Sql, id: &str) -> Result<Option<Dispute>, StoreError> {
    let rows = sql.execute(
        &format!("SELECT {COLUMNS} FROM support_disputes WHERE id = ?"),
        &params![id],
    )?;
    rows.first().map(from_row).transpose()
}

/// A dispute as the member sent it.
#[derive(Debug, Clone, Default)]
pub struct NewDispute {
    /// The member's purchase.
    pub purchase_id: String,
    /// Why (1-2000 characters).
    pub reason: String,
    /// `compensation`, `refund` or `redo`.
    pub requested: String,
    /// Amount asked for (kopecks).
    pub amount: Option<i64>,
}

/// `POST /support/disputes` → the dispute (and its ticket).
pub fn open(
    env: &DisputeEnv<'_>,
    caller: &Caller,
    new: &NewDispute,
) -> Result<Dispute, SupportError> {
    let reason = model::text(&new.reason, "reason", "INVALID_REASON", 2000)?;
    let requested = match new.requested.as_str() {
        r @ ("compensation" | "refund" | "redo") => r,
        _ => {
            return Err(InvalidValue::new(
                "INVALID_REQUESTED",
                "requested",
                "requested must be compensation, refund or redo",
            )
            .into())
        }
    };
    let amount = new
        .amount
        .map(|a| Kopecks::positive(a, "amount").map(Kopecks::get))
        .transpose()?;
    immediate(env.sql, |tx| {
        let now = env.clock.now();
        let purchase = own_purchase(tx, &caller.member_id, &new.purchase_id)?;
        if let (Some(a), "refund") = (amount, requested) {
            if a > purchase.amount - purchase.refunded_amount {
                return Err(InvalidValue::new(
                    "INVALID_AMOUNT",
                    "amount",
                    "amount exceeds what is left of the purchase",
                )
                .into());
            }
        }
        let open = tx.execute(
            "SELECT id FROM support_disputes WHERE purchase_id = ? AND status = 'open'",
            &params![purchase.id.as_str()],
        )?;
        if !open.is_empty() {
            return Err(SupportError::DisputeAlreadyOpen);
        }
        let business =
            member::business(tx, &purchase.business_id)?.ok_or(SupportError::BusinessNotFound)?;
        let ticket = tickets::insert(
            tx,
            now,
            env.random,
            env.settings,
            &caller.member_id,
            Some((business.id.as_str(), business.name.as_str())),
            Some(&purchase.id),
            &format!("Dispute: {requested}"),
            &reason,
            Priority::High,
        )?;
        let id = Id::at(now, env.random).to_text();
        tx.execute(
            "INSERT INTO support_disputes (id, member_id, business_id, purchase_id, ticket_id, reason, requested, \
             amount, status, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'open', ?)",
            &params![
                id.as_str(),
                caller.member_id.as_str(),
                business.id.as_str(),
                purchase.id.as_str(),
                ticket.id.as_str(),
                reason.as_str(),
                requested,
                amount,
                ts(now)
            ],
        )?;
        load(tx, &id)?.ok_or(SupportError::DisputeNotFound)
    })
}

/// `GET /support/disputes/{id}`: its member, the business's staff, admins.
pub fn get(sql: &dyn Sql, caller: &Caller, id: &str) -> Result<Dispute, SupportError> {
    let id = Id::parse(id, "id")
        .map_err(|_| SupportError::DisputeNotFound)?
        .to_text();
    let d = load(sql, &id)?.ok_or(SupportError::DisputeNotFound)?;
    if d.member_id == caller.member_id || caller.is_support_for(Some(&d.business_id)) {
        Ok(d)
    } else {
        Err(SupportError::DisputeNotFound)
    }
}

/// A decision as staff sent it.
#[derive(Debug, Clone, Default)]
pub struct Decision {
    /// `accept` or `reject`.
    pub decision: String,
    /// Compensation points to grant on accept.
    pub points: Option<i64>,
    /// Why (1-500 characters).
    pub note: String,
}

/// `POST /support/disputes/{id}/decision`: once; a second decision is 409
/// `DISPUTE_ALREADY_DECIDED`. Accepting a compensation request needs
/// `points` (or the amount asked for); points on any accepted dispute are
/// granted through the wallet's compensation rules for the purchase's order.
pub fn decide(
    env: &DisputeEnv<'_>,
    caller: &Caller,
    id: &str,
    d: &Decision,
) -> Result<Dispute, SupportError> {
    let accept = match d.decision.as_str() {
        "accept" => true,
        "reject" => false,
        _ => {
            return Err(InvalidValue::new(
                "INVALID_DECISION",
                "decision",
                "decision must be accept or reject",
            )
            .into())
        }
    };
    let points = d
        .points
        .map(|p| crate::wallet::pos::points(p, "points"))
        .transpose()?;
    let note = model::text(&d.note, "note", "INVALID_NOTE", 500)?;
    immediate(env.sql, |tx| {
        let now = env.clock.now();
        let dispute = get(tx, caller, id)?;
        if !caller.is_support_for(Some(&dispute.business_id)) {
            return Err(SupportError::Forbidden);
        }
        if dispute.status != "open" {
            return Err(SupportError::DisputeAlreadyDecided);
        }
        let points = match (accept, points, dispute.requested.as_str()) {
            (false, _, _) => None,
            (true, Some(p), _) => Some(p),
            (true, None, "compensation") => Some(dispute.amount.ok_or_else(|| {
                InvalidValue::new(
                    "POINTS_REQUIRED",
                    "points",
                    "accepting a compensation needs points",
                )
            })?),
            (true, None, _) => None,
        };
        let compensation_id = match points {
            Some(p) => {
                let purchase = own_purchase(tx, &dispute.member_id, &dispute.purchase_id)?;
                let business = member::business(tx, &dispute.business_id)?
                    .ok_or(SupportError::BusinessNotFound)?;
                let order_ref = purchase.external_id.unwrap_or(purchase.id);
                let actor = Actor {
                    role: caller.staff_role(),
                    id: Some(caller.member_id.clone()),
                };
                let reason = format!("Dispute {}: {note}", dispute.id);
                let granted = grant_compensation(
                    tx,
                    env.clock,
                    env.random,
                    env.wallet,
                    &Goodwill {
                        actor: &actor,
                        business: &business,
                        member_id: &dispute.member_id,
                        points: p,
                        reason: &reason.chars().take(500).collect::<String>(),
                        order_ref: &order_ref,
                        request_id: env.request_id,
                    },
                )?;
                Some(granted.compensation_id)
            }
            None => None,
        };
        let refund_amount = if accept && dispute.requested == "refund" {
            let purchase = own_purchase(tx, &dispute.member_id, &dispute.purchase_id)?;
            Some(
                dispute
                    .amount
                    .unwrap_or(purchase.amount - purchase.refunded_amount),
            )
        } else {
            None
        };
        tx.execute(
            "UPDATE support_disputes SET status = ?, note = ?, points = ?, compensation_id = ?, refund_amount = ?, \
             decided_by = ?, decided_role = ?, decided_at = ? WHERE id = ? AND status = 'open'",
            &params![
                if accept { "accepted" } else { "rejected" },
                note.as_str(),
                points,
                compensation_id.as_deref(),
                refund_amount,
                caller.member_id.as_str(),
                caller.staff_role(),
                ts(now),
                dispute.id.as_str()
            ],
        )?;
        // The member hears of it on the dispute's ticket, and so does the chat.
        if let Some(ticket) = tickets::load(tx, &dispute.ticket_id)? {
            let mut text = format!(
                "Dispute {}: {note}",
                if accept { "accepted" } else { "rejected" }
            );
            if let Some(p) = points {
                text.push_str(&format!(" ({p} points credited)"));
            }
            if let Some(r) = refund_amount {
                text.push_str(&format!(" (refund of {r} kopecks agreed)"));
            }
            tickets::staff_message(
                tx,
                now,
                env.random,
                &ticket,
                &caller.member_id,
                caller.staff_role(),
                "app",
                &text,
            )?;
            outbox::enqueue(
                tx,
                now,
                env.random,
                &ticket.id,
                Kind::Dispute,
                &outbox::message_text(&ticket.id, caller.staff_role(), &text),
            )?;
        }
        load(tx, &dispute.id)?.ok_or(SupportError::DisputeNotFound)
    })
}
