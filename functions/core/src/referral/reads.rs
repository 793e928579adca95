//! What members and admins read: the member's own program
//! (`GET /referrals/me`), the admins' list with totals per state and its
//! CSV export.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::{ReferralError, ReferralSettings};
use crate::db::ts;
use crate::error::InvalidValue;
use crate::pagination::{page_from, Cursor, NewestFirst, Page};
use crate::params;
use crate::ports::{Sql, SqlValue, StoreError};

/// Most rows in one CSV export (newest first); the filters narrow it.
pub const MAX_EXPORT_ROWS: u32 = 50_000;

/// `GET /referrals/me`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Me {
    /// The member's referral code.
    pub code: String,
    /// The link to share: `referral_link_base` + code.
    pub link: String,
    /// Friends captured with this code (not rejected).
    pub invited: i64,
    /// Of them, those whose qualifying purchase was paid (`paid` or `rewarded`).
    pub converted: i64,
    /// Of them, those rewarded.
    pub rewarded: i64,
    /// Referrals whose reward is still to be paid (on hold, or waiting for
    /// an admin in manual mode).
    pub pending_rewards: i64,
}

/// The caller's own program. 404 `REFERRAL_CODE_UNAVAILABLE` for an erased
/// member (they have no code).
pub fn me(
    sql: &dyn Sql,
    settings: &ReferralSettings,
    member_id: &str,
) -> Result<Me, ReferralError> {
    let rows = sql.execute(
        "SELECT m.referral_code, \
           (SELECT COUNT(*) FROM referrals r WHERE r.referrer_id = m.id AND r.state <> 'rejected') AS invited, \
           (SELECT COUNT(*) FROM referrals r WHERE r.referrer_id = m.id AND r.state IN ('paid', 'rewarded')) AS converted, \
           (SELECT COUNT(*) FROM referrals r WHERE r.referrer_id = m.id AND r.state = 'rewarded') AS rewarded \
         FROM members m WHERE m.id = ? AND m.erased_at IS NULL",
        &params![member_id],
    )?;
    let r = rows.first().ok_or(ReferralError::NoCode)?;
    let code = r.opt_text("referral_code")?.ok_or(ReferralError::NoCode)?;
    let converted = r.i64("converted")?;
    let rewarded = r.i64("rewarded")?;
    Ok(Me {
        link: format!("{}{code}", settings.link_base),
        code,
        invited: r.i64("invited")?,
        converted,
        rewarded,
        pending_rewards: converted - rewarded,
    })
}

/// One referral as admins see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct View {
    /// Id.
    pub id: String,
    /// The code's owner.
    pub referrer_id: String,
    /// The friend.
    pub referred_id: String,
    /// The code used.
    pub code: String,
    /// `registration` or `purchase`.
    pub source: String,
    /// `tracked`, `paid`, `rewarded` or `rejected`.
    pub state: String,
    /// Why it was rejected.
    pub reason: Option<String>,
    /// The qualifying purchase.
    pub purchase_id: Option<String>,
    /// Its amount, kopecks.
    pub purchase_amount: Option<i64>,
    /// When it qualified.
    pub paid_at: Option<String>,
    /// When the refund hold ends.
    pub hold_until: Option<String>,
    /// `auto` or `manual` once decided.
    pub payout: Option<String>,
    /// `points` or `voucher`, once rewarded.
    pub reward_type: Option<String>,
    /// Points paid to the referrer.
    pub referrer_points: i64,
    /// Points paid to the friend.
    pub referred_points: i64,
    /// The referrer's single-use promo code (voucher rewards).
    pub voucher_code: Option<String>,
    /// The admin who paid it (manual mode).
    pub paid_out_by: Option<String>,
    /// When it was rewarded.
    pub rewarded_at: Option<String>,
    /// When it was captured.
    pub created_at: String,
}

const COLUMNS: &str = "id, referrer_id, referred_id, code, source, state, reason, purchase_id, purchase_amount, \
    paid_at, hold_until, payout, reward_type, referrer_points, referred_points, voucher_code, paid_out_by, \
    rewarded_at, created_at";

fn view(r: crate::db::Row<'_>) -> Result<View, StoreError> {
    Ok(View {
        id: r.text("id")?,
        referrer_id: r.text("referrer_id")?,
        referred_id: r.text("referred_id")?,
        code: r.text("code")?,
        source: r.text("source")?,
        state: r.text("state")?,
        reason: r.opt_text("reason")?,
        purchase_id: r.opt_text("purchase_id")?,
        purchase_amount: r.opt_i64("purchase_amount")?,
        paid_at: r.opt_text("paid_at")?,
        hold_until: r.opt_text("hold_until")?,
        payout: r.opt_text("payout")?,
        reward_type: r.opt_text("reward_type")?,
        referrer_points: r.i64("referrer_points")?,
        referred_points: r.i64("referred_points")?,
        voucher_code: r.opt_text("voucher_code")?,
        paid_out_by: r.opt_text("paid_out_by")?,
        rewarded_at: r.opt_text("rewarded_at")?,
        created_at: r.text("created_at")?,
    })
}

/// One referral.
pub fn one(sql: &dyn Sql, id: &str) -> Result<Option<View>, StoreError> {
    sql.execute(
        &format!("SELECT {COLUMNS} FROM referrals WHERE id = ?"),
        &params![id],
    )?
    .first()
    .map(view)
    .transpose()
}

/// The admins' filters (all optional, combined with AND).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    /// One state.
    pub state: Option<String>,
    /// Captured at or after.
    pub from: Option<DateTime<Utc>>,
    /// Captured before.
    pub to: Option<DateTime<Utc>>,
    /// The referrer's member id.
    pub referrer: Option<String>,
}

/// The states, in their order.
pub const STATES: [&str; 4] = ["tracked", "paid", "rewarded", "rejected"];

impl Filter {
    /// Checks the query's values: a known state, `from` before `to`.
    pub fn parse(
        state: Option<&str>,
        from: Option<&str>,
        to: Option<&str>,
        referrer: Option<&str>,
    ) -> Result<Self, InvalidValue> {
        let time = |v: Option<&str>, field: &str| -> Result<Option<DateTime<Utc>>, InvalidValue> {
            v.map(|t| {
                DateTime::parse_from_rfc3339(t)
                    .map(|d| d.with_timezone(&Utc))
                    .map_err(|_| InvalidValue::new("INVALID_FIELD", field, "an RFC 3339 time"))
            })
            .transpose()
        };
        if let Some(s) = state {
            if !STATES.contains(&s) {
                return Err(InvalidValue::new(
                    "INVALID_FIELD",
                    "state",
                    "one of tracked, paid, rewarded, rejected",
                ));
            }
        }
        let (from, to) = (time(from, "from")?, time(to, "to")?);
        if let (Some(f), Some(t)) = (from, to) {
            if f >= t {
                return Err(InvalidValue::new(
                    "INVALID_FIELD",
                    "from",
                    "from must be before to",
                ));
            }
        }
        if let Some(r) = referrer {
            crate::types::Id::parse(r, "referrer")?;
        }
        Ok(Self {
            state: state.map(str::to_string),
            from,
            to,
            referrer: referrer.map(str::to_string),
        })
    }

    // The filter's conditions, each with one `?` and its value.
    fn conditions(&self, with_state: bool) -> Vec<(&'static str, SqlValue)> {
        let mut c: Vec<(&'static str, SqlValue)> = Vec::new();
        if let Some(s) = self.state.as_deref().filter(|_| with_state) {
            c.push(("state = ?", s.into()));
        }
        if let Some(f) = self.from {
            c.push(("created_at >= ?", ts(f).into()));
        }
        if let Some(t) = self.to {
            c.push(("created_at < ?", ts(t).into()));
        }
        if let Some(r) = &self.referrer {
            c.push(("referrer_id = ?", r.as_str().into()));
        }
        c
    }
}

/// Referrals per state under the filter's other conditions.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Totals {
    /// Captured, no qualifying purchase yet.
    pub tracked: i64,
    /// Qualifying purchase paid, reward not yet paid.
    pub paid: i64,
    /// Rewarded.
    pub rewarded: i64,
    /// Rejected (any reason).
    pub rejected: i64,
}

/// A page of the admins' list (newest first) and the totals per state.
#[derive(Debug, Clone, Serialize)]
pub struct Listed {
    /// The page.
    #[serde(flatten)]
    pub page: Page<View>,
    /// Per state, under the same filters (the state filter aside).
    pub totals: Totals,
}

/// `GET /admin/referrals`.
pub fn list(
    sql: &dyn Sql,
    filter: &Filter,
    cursor: Option<&Cursor>,
    limit: u32,
) -> Result<Listed, StoreError> {
    let (text, args) = filter
        .conditions(true)
        .into_iter()
        .fold(
            NewestFirst::new(format!("SELECT {COLUMNS} FROM referrals")),
            |q, (c, v)| q.filter(c, v),
        )
        .page("created_at", "id", cursor, limit);
    let items = sql
        .execute(&text, &args)?
        .iter()
        .map(view)
        .collect::<Result<Vec<_>, _>>()?;
    let page = page_from(items, limit, |v| Cursor {
        key: v.created_at.clone(),
        id: v.id.clone(),
    });
    let (conds, args): (Vec<&str>, Vec<SqlValue>) = filter.conditions(false).into_iter().unzip();
    let mut text = String::from("SELECT state, COUNT(*) AS n FROM referrals");
    if !conds.is_empty() {
        text.push_str(" WHERE ");
        text.push_str(&conds.join(" AND "));
    }
    text.push_str(" GROUP BY state");
    let mut totals = Totals::default();
    for r in sql.execute(&text, &args)?.iter() {
        let n = r.i64("n")?;
        match r.text("state")?.as_str() {
            "tracked" => totals.tracked = n,
            "paid" => totals.paid = n,
            "rewarded" => totals.rewarded = n,
            _ => totals.rejected = n,
        }
    }
    Ok(Listed { page, totals })
}

/// The CSV export's columns, in order.
pub const CSV_COLUMNS: [&str; 14] = [
    "id",
    "created_at",
    "state",
    "reason",
    "referrer_id",
    "referred_id",
    "code",
    "source",
    "purchase_amount",
    "paid_at",
    "payout",
    "referrer_points",
    "referred_points",
    "rewarded_at",
];

/// `GET /admin/referrals/export.csv`: RFC 4180 (CRLF line ends, quoted
/// where needed), UTF-8 with a byte-order mark so spreadsheet software
/// opens it as UTF-8; newest first, at most [`MAX_EXPORT_ROWS`] rows, read
/// in pages of 500.
pub fn export_csv(sql: &dyn Sql, filter: &Filter) -> Result<String, StoreError> {
    let mut out = String::from(crate::csv::BOM);
    crate::csv::push_row(&mut out, &CSV_COLUMNS);
    let mut cursor: Option<Cursor> = None;
    let mut written = 0u32;
    loop {
        let listed = list(
            sql,
            filter,
            cursor.as_ref(),
            500.min(MAX_EXPORT_ROWS - written),
        )?;
        for v in &listed.page.items {
            let fields = [
                v.id.clone(),
                v.created_at.clone(),
                v.state.clone(),
                v.reason.clone().unwrap_or_default(),
                v.referrer_id.clone(),
                v.referred_id.clone(),
                v.code.clone(),
                v.source.clone(),
                v.purchase_amount.map(|a| a.to_string()).unwrap_or_default(),
                v.paid_at.clone().unwrap_or_default(),
                v.payout.clone().unwrap_or_default(),
                v.referrer_points.to_string(),
                v.referred_points.to_string(),
                v.rewarded_at.clone().unwrap_or_default(),
            ];
            crate::csv::push_row(&mut out, &fields);
        }
        written += u32::try_from(listed.page.items.len()).unwrap_or(u32::MAX);
        match listed.page.next_cursor {
            Some(c) if written < MAX_EXPORT_ROWS => {
                cursor = Some(Cursor::decode(&c).map_err(|e| StoreError::Other(e.to_string()))?)
            }
            _ => break,
        }
    }
    Ok(out)
}
