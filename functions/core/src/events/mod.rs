//! Community events: events with a capacity and a FIFO waitlist
//! ([`registration`]), signed tickets checked in once by the business's
//! staff ([`ticket`]), paid seats held for [`HOLD_MINUTES`] and confirmed
//! by the payment webhook ([`registration::EventOrders`]), member proposals
//! with tier-weighted votes and an inner-circle veto ([`proposals`]), and
//! the transparent events budget ([`budget`]).
//!
//! Seats are exact under races: every write that takes or frees a seat
//! (registration, cancellation, promotion, hold expiry, payment, capacity
//! change, event cancellation) runs in one `BEGIN IMMEDIATE` transaction
//! that reads the event's `seats_taken`, decides, and writes it back, so
//! confirmed, attended and held seats never exceed the capacity.
//!
//! The waitlist is strict FIFO: when seats free up, the first waitlisted
//! registrations are promoted in queue order while they fit; when the first
//! one needs two seats and only one is free, it keeps its place and nobody
//! behind it (nor a newcomer) takes the free seat. A registration arriving
//! while anyone waits joins the waitlist even if a seat is free. This keeps
//! the promise that the queue is first come, first served; the cost is a
//! seat left empty until a second one frees up.

// `params!` builds a Vec that is then borrowed as the statement's slice.
#![allow(clippy::useless_vec)]

pub mod budget;
pub mod jobs;
pub mod manage;
pub mod proposals;
pub mod reads;
pub mod registration;
pub mod ticket;
mod validate;

use crate::error::{ErrorClass, InvalidValue, UseCaseError};
use crate::ports::{Clock, Random, Sql, StoreError, Variables};
use crate::wallet::settings::int_setting;
use crate::wallet::tiers::Tier;

/// How long a paid event's seat is held for payment.
pub const HOLD_MINUTES: i64 = 30;
/// Largest capacity of one event or proposal.
pub const MAX_CAPACITY: i64 = 100_000;
/// Largest price of a seat or budget per person, kopecks.
pub const MAX_PRICE: i64 = 100_000_000;

/// The weight of a vote cast at `tier`: insider 1, vip 2, elite 3,
/// inner_circle 5.
pub fn vote_weight(tier: Tier) -> i64 {
    match tier {
        Tier::Insider => 1,
        Tier::Vip => 2,
        Tier::Elite => 3,
        Tier::InnerCircle => 5,
    }
}

/// The vote counts of a proposal.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Members who voted yes.
    pub yes: i64,
    /// Members who voted no.
    pub no: i64,
    /// Σ weights of yes votes.
    pub weighted_yes: i64,
    /// Σ weights of no votes.
    pub weighted_no: i64,
}

impl Counts {
    /// Members who voted.
    pub fn total(&self) -> i64 {
        self.yes + self.no
    }

    /// Weighted yes − weighted no.
    pub fn weighted_score(&self) -> i64 {
        self.weighted_yes - self.weighted_no
    }

    /// Weighted yes ÷ all weighted votes (0 without votes).
    pub fn approval_rate(&self) -> f64 {
        let all = self.weighted_yes + self.weighted_no;
        if all == 0 {
            0.0
        } else {
            // Four decimals are plenty for display; the decision uses
            // integers (see `approved`).
            let r = self.weighted_yes as f64 / all as f64;
            (r * 10_000.0).round() / 10_000.0
        }
    }
}

/// The closing rule: approved when not vetoed, at least `min_votes` members
/// voted, and weighted yes is at least half of all weighted votes (exactly
/// 0.5 approves). Decided in integers, so no rounding can flip it.
pub fn approved(c: &Counts, vetoed: bool, min_votes: i64) -> bool {
    let all = c.weighted_yes + c.weighted_no;
    !vetoed && c.total() >= min_votes && all > 0 && c.weighted_yes * 2 >= all
}

/// Seats a registration takes: one, two with a plus-one.
pub fn seats_for(plus_one: bool) -> i64 {
    if plus_one {
        2
    } else {
        1
    }
}

/// What a new registration becomes, given the event's free seats and
/// whether anyone is waiting (strict FIFO: a newcomer never overtakes the
/// waitlist, even when seats are free).
pub fn placement(capacity: i64, taken: i64, seats: i64, anyone_waiting: bool) -> Placement {
    if !anyone_waiting && capacity - taken >= seats {
        Placement::Seat
    } else {
        Placement::Waitlist
    }
}

/// Where a registration goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placement {
    /// A seat now (confirmed, or held for payment).
    Seat,
    /// The end of the waitlist.
    Waitlist,
}

/// Which waitlisted registrations (given in queue order as their seats)
/// are promoted when `free` seats are available: the leading ones while
/// they fit; the first that does not fit stops the promotion.
pub fn promotions(free: i64, queue: &[i64]) -> usize {
    let mut left = free;
    let mut n = 0;
    for &seats in queue {
        if seats > left {
            break;
        }
        left -= seats;
        n += 1;
    }
    n
}

/// Settings of the events capability.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventSettings {
    /// Days a proposal is open for votes (`proposal_voting_days`, default 7).
    pub voting_days: i64,
    /// Votes a proposal needs to pass (`proposal_min_votes`, default 10).
    pub min_votes: i64,
}

impl Default for EventSettings {
    fn default() -> Self {
        Self {
            voting_days: 7,
            min_votes: 10,
        }
    }
}

impl EventSettings {
    /// Reads the settings, defaults for unset ones.
    pub fn from_variables(vars: &dyn Variables) -> Result<Self, String> {
        let d = Self::default();
        Ok(Self {
            voting_days: int_setting(vars, "proposal_voting_days", d.voting_days, 1, 90)?,
            min_votes: int_setting(vars, "proposal_min_votes", d.min_votes, 1, 1_000_000)?,
        })
    }
}

/// The ports the events use cases need.
#[derive(Clone, Copy)]
pub struct EventEnv<'a> {
    /// SQLite.
    pub sql: &'a dyn Sql,
    /// Clock.
    pub clock: &'a dyn Clock,
    /// CSPRNG.
    pub random: &'a dyn Random,
    /// Settings.
    pub settings: &'a EventSettings,
    /// The request, for the audit log.
    pub request_id: Option<&'a str>,
}

/// An events use case failed.
#[derive(Debug, thiserror::Error)]
pub enum EventError {
    /// A field is invalid.
    #[error(transparent)]
    Invalid(#[from] InvalidValue),
    /// No such event.
    #[error("no such event")]
    NotFound,
    /// No such proposal.
    #[error("no such proposal")]
    ProposalNotFound,
    /// The caller may not manage this event (another business's).
    #[error("only an admin or the owner of the event's business may do this")]
    NotOrganiser,
    /// The caller is not staff of the event's business.
    #[error("only staff of the event's business check tickets in")]
    NotEventStaff,
    /// The caller's tier is below what this needs.
    #[error("this needs the {0} tier or above")]
    TierTooLow(&'static str),
    /// A closed event without an invitation.
    #[error("this event is by invitation only")]
    InvitationRequired,
    /// The caller already holds a registration.
    #[error("you are already registered for this event")]
    AlreadyRegistered,
    /// The caller holds no registration to cancel.
    #[error("you are not registered for this event")]
    NotRegistered,
    /// The event was cancelled.
    #[error("the event was cancelled")]
    EventCancelled,
    /// The event has started or is over.
    #[error("the event has started or is over")]
    RegistrationClosed,
    /// Cancelled or past events are not edited.
    #[error("a cancelled or past event cannot be changed")]
    NotEditable,
    /// A capacity below the seats already taken.
    #[error("{taken} seats are taken; the capacity cannot go below that")]
    CapacityBelowTaken {
        /// Seats taken now.
        taken: i64,
    },
    /// Format or price changed while people are registered.
    #[error("format and price cannot change once people have registered")]
    HasRegistrations,
    /// Not a ticket this service issued.
    #[error("the ticket code is not valid")]
    TicketInvalid,
    /// A ticket of another event.
    #[error("the ticket is for another event")]
    TicketOtherEvent,
    /// The ticket's registration holds no confirmed seat.
    #[error("the ticket's registration is not confirmed (waitlisted, unpaid or cancelled)")]
    TicketNotConfirmed,
    /// Checked in before.
    #[error("the ticket was already checked in")]
    AlreadyCheckedIn,
    /// Voting is over (or the proposal is decided).
    #[error("voting on this proposal is closed")]
    VotingClosed,
    /// Vetoed before.
    #[error("the proposal was already vetoed")]
    AlreadyVetoed,
    /// Only approved proposals become events.
    #[error("only an approved proposal can be realised")]
    ProposalNotApproved,
    /// More than the events budget has.
    #[error("the events budget has {available} kopecks available")]
    BudgetExceeded {
        /// Available now.
        available: i64,
    },
    /// The invited member does not exist.
    #[error("no such member")]
    MemberNotFound,
    /// The business does not exist.
    #[error("no such business")]
    BusinessNotFound,
    /// Storage failed.
    #[error(transparent)]
    Unknown(#[from] StoreError),
}

impl UseCaseError for EventError {
    fn code(&self) -> &'static str {
        match self {
            EventError::Invalid(e) => e.code,
            EventError::NotFound => "EVENT_NOT_FOUND",
            EventError::ProposalNotFound => "PROPOSAL_NOT_FOUND",
            EventError::NotOrganiser => "FORBIDDEN",
            EventError::NotEventStaff => "NOT_EVENT_STAFF",
            EventError::TierTooLow(_) => "TIER_TOO_LOW",
            EventError::InvitationRequired => "INVITATION_REQUIRED",
            EventError::AlreadyRegistered => "ALREADY_REGISTERED",
            EventError::NotRegistered => "NOT_REGISTERED",
            EventError::EventCancelled => "EVENT_CANCELLED",
            EventError::RegistrationClosed => "REGISTRATION_CLOSED",
            EventError::NotEditable => "EVENT_NOT_EDITABLE",
            EventError::CapacityBelowTaken { .. } => "CAPACITY_BELOW_TAKEN",
            EventError::HasRegistrations => "EVENT_HAS_REGISTRATIONS",
            EventError::TicketInvalid => "INVALID_TICKET",
            EventError::TicketOtherEvent => "TICKET_FOR_ANOTHER_EVENT",
            EventError::TicketNotConfirmed => "TICKET_NOT_CONFIRMED",
            EventError::AlreadyCheckedIn => "ALREADY_CHECKED_IN",
            EventError::VotingClosed => "VOTING_CLOSED",
            EventError::AlreadyVetoed => "ALREADY_VETOED",
            EventError::ProposalNotApproved => "PROPOSAL_NOT_APPROVED",
            EventError::BudgetExceeded { .. } => "BUDGET_EXCEEDED",
            EventError::MemberNotFound => "MEMBER_NOT_FOUND",
            EventError::BusinessNotFound => "BUSINESS_NOT_FOUND",
            EventError::Unknown(e) => e.code(),
        }
    }

    fn class(&self) -> ErrorClass {
        let field = |f: &str| ErrorClass::Invalid {
            field: Some(f.to_string()),
        };
        match self {
            EventError::Invalid(e) => e.class(),
            EventError::NotFound | EventError::ProposalNotFound | EventError::NotRegistered => {
                ErrorClass::NotFound
            }
            EventError::NotOrganiser
            | EventError::NotEventStaff
            | EventError::TierTooLow(_)
            | EventError::InvitationRequired => ErrorClass::Forbidden,
            EventError::AlreadyRegistered
            | EventError::EventCancelled
            | EventError::RegistrationClosed
            | EventError::NotEditable
            | EventError::CapacityBelowTaken { .. }
            | EventError::HasRegistrations
            | EventError::TicketNotConfirmed
            | EventError::AlreadyCheckedIn
            | EventError::VotingClosed
            | EventError::AlreadyVetoed
            | EventError::ProposalNotApproved
            | EventError::BudgetExceeded { .. } => ErrorClass::Conflict,
            EventError::TicketInvalid | EventError::TicketOtherEvent => field("ticket_code"),
            EventError::MemberNotFound => field("member_id"),
            EventError::BusinessNotFound => field("business_id"),
            EventError::Unknown(e) => e.class(),
        }
    }
}

/// The stored tier of `member_id` (insider for an unknown one).
pub(crate) fn tier_of(sql: &dyn Sql, member_id: &str) -> Result<Option<Tier>, StoreError> {
    let rows = sql.execute(
        "SELECT tier FROM members WHERE id = ? AND erased_at IS NULL",
        &crate::params![member_id],
    )?;
    Ok(match rows.first() {
        Some(r) => Some(Tier::parse(&r.text("tier")?).unwrap_or(Tier::Insider)),
        None => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fifo_promotion_stops_at_the_first_that_does_not_fit() {
        assert_eq!(promotions(1, &[2, 1, 1]), 0);
        assert_eq!(promotions(3, &[2, 1, 1]), 2);
        assert_eq!(promotions(0, &[1]), 0);
        assert_eq!(promotions(5, &[]), 0);
    }

    #[test]
    fn rule_at_exactly_half_and_min_votes() {
        let c = Counts {
            yes: 5,
            no: 5,
            weighted_yes: 5,
            weighted_no: 5,
        };
        assert!(approved(&c, false, 10));
        assert!(!approved(&c, false, 11));
        assert!(!approved(&c, true, 10));
        assert_eq!(c.approval_rate(), 0.5);
    }
}
