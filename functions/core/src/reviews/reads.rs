//! Reading reviews: the public list of one target (published only, author
//! as first name and last initial), the author's own list, the moderation
//! queue, one review, and the rating of a target.

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;

use super::{rating, ReviewError, Target, TargetKind, ANONYMOUS, EDIT_WINDOW_HOURS};
use crate::db::{parse_ts, ts, Row};
use crate::error::InvalidValue;
use crate::pagination::{page_from, Cursor, NewestFirst, Page};
use crate::params;
use crate::ports::{Sql, SqlValue, StoreError};

/// A target as answered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TargetView {
    /// `business`, `product` or `event`.
    #[serde(rename = "type")]
    pub kind: TargetKind,
    /// The business (`None` for events).
    pub business_id: Option<String>,
    /// The SKU of a product.
    pub sku: Option<String>,
    /// The event.
    pub event_id: Option<String>,
}

/// The author as the public sees them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Author {
    /// First name and the initial of the last name, or "Участница клуба".
    pub name: String,
}

/// The business's public reply.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Reply {
    /// Text.
    pub text: String,
    /// When.
    pub created_at: String,
}

/// A published review as anyone sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PublicReview {
    /// Id.
    pub id: String,
    /// What it reviews.
    pub target: TargetView,
    /// 1–5.
    pub rating: i64,
    /// Text, if any.
    pub text: Option<String>,
    /// Who wrote it.
    pub author: Author,
    /// The business's reply.
    pub reply: Option<Reply>,
    /// When it was (last) published.
    pub published_at: String,
    /// When it was written.
    pub created_at: String,
}

/// A review as its author and moderators see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Review {
    /// Id.
    pub id: String,
    /// What it reviews.
    pub target: TargetView,
    /// The purchase that verifies it.
    pub purchase_id: String,
    /// The author.
    pub member_id: String,
    /// 1–5.
    pub rating: i64,
    /// Text, if any.
    pub text: Option<String>,
    /// `pending`, `published`, `rejected` or `withdrawn`.
    pub status: String,
    /// Auto-moderation flags of the current text.
    pub flags: Vec<String>,
    /// The author as shown publicly.
    pub author: Author,
    /// The business's reply.
    pub reply: Option<Reply>,
    /// The moderator's reason for the last decision.
    pub decision_reason: Option<String>,
    /// Reward points this review holds now (0 when none or clawed back).
    pub reward_points: i64,
    /// When it was written.
    pub created_at: String,
    /// Last change.
    pub updated_at: String,
    /// When it was (last) published.
    pub published_at: Option<String>,
    /// Until when the author may edit it.
    pub editable_until: String,
}

/// Columns every view reads (reviews `r` joined to members `m`).
pub(crate) const COLUMNS: &str = "r.id, r.member_id, r.business_id, r.target_type, r.target_key, \
    r.purchase_id, r.rating, r.body, r.status, r.flags, r.decision_reason, r.reply_body, \
    r.replied_at, r.reward_state, r.reward_points, r.published_at, r.created_at, r.updated_at, \
    m.first_name, m.last_name, m.erased_at";

const FROM: &str = "FROM reviews r LEFT JOIN members m ON m.id = r.member_id";

fn author(r: &Row<'_>) -> Result<Author, StoreError> {
    if r.opt_text("erased_at")?.is_some() {
        return Ok(Author {
            name: ANONYMOUS.into(),
        });
    }
    let first = r.opt_text("first_name")?.filter(|s| !s.trim().is_empty());
    let last = r.opt_text("last_name")?.filter(|s| !s.trim().is_empty());
    let name = match (first, last) {
        (Some(f), Some(l)) => {
            let initial: String = l.trim().chars().take(1).collect();
            format!("{} {}.", f.trim(), initial.to_uppercase())
        }
        (Some(f), None) => f.trim().to_string(),
        (None, _) => ANONYMOUS.into(),
    };
    Ok(Author { name })
}

fn target_view(r: &Row<'_>) -> Result<TargetView, StoreError> {
    let key = r.text("target_key")?;
    let kind = match r.text("target_type")?.as_str() {
        "product" => TargetKind::Product,
        "event" => TargetKind::Event,
        _ => TargetKind::Business,
    };
    Ok(TargetView {
        kind,
        business_id: (kind != TargetKind::Event)
            .then(|| r.text("business_id"))
            .transpose()?,
        sku: (kind == TargetKind::Product).then(|| key.clone()),
        event_id: (kind == TargetKind::Event).then_some(key),
    })
}

fn reply(r: &Row<'_>) -> Result<Option<Reply>, StoreError> {
    Ok(
        match (r.opt_text("reply_body")?, r.opt_text("replied_at")?) {
            (Some(text), Some(created_at)) => Some(Reply { text, created_at }),
            _ => None,
        },
    )
}

pub(crate) fn review_from(r: &Row<'_>) -> Result<Review, StoreError> {
    let created_at = r.text("created_at")?;
    let editable_until = ts(parse_ts(&created_at)? + Duration::hours(EDIT_WINDOW_HOURS));
    Ok(Review {
        id: r.text("id")?,
        target: target_view(r)?,
        purchase_id: r.text("purchase_id")?,
        member_id: r.text("member_id")?,
        rating: r.i64("rating")?,
        text: r.opt_text("body")?,
        status: r.text("status")?,
        flags: serde_json::from_str(&r.text("flags")?).unwrap_or_default(),
        author: author(r)?,
        reply: reply(r)?,
        decision_reason: r.opt_text("decision_reason")?,
        reward_points: if r.text("reward_state")? == "credited" {
            r.i64("reward_points")?
        } else {
            0
        },
        created_at,
        updated_at: r.text("updated_at")?,
        published_at: r.opt_text("published_at")?,
        editable_until,
    })
}

fn public_from(r: &Row<'_>) -> Result<PublicReview, StoreError> {
    Ok(PublicReview {
        id: r.text("id")?,
        target: target_view(r)?,
        rating: r.i64("rating")?,
        text: r.opt_text("body")?,
        author: author(r)?,
        reply: reply(r)?,
        published_at: r.opt_text("published_at")?.unwrap_or_default(),
        created_at: r.text("created_at")?,
    })
}

/// One review by id.
pub fn by_id(sql: &dyn Sql, id: &str) -> Result<Option<Review>, StoreError> {
    let rows = sql.execute(
        &format!("SELECT {COLUMNS} {FROM} WHERE r.id = ?"),
        &params![id],
    )?;
    rows.first().map(|r| review_from(&r)).transpose()
}

/// Order of a public list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sort {
    /// Latest published first.
    Newest,
    /// Highest rating first, then newest.
    RatingDesc,
    /// Lowest rating first, then newest.
    RatingAsc,
}

impl Sort {
    /// Parses `sort` (absent → newest).
    pub fn parse(raw: Option<&str>) -> Result<Self, InvalidValue> {
        match raw {
            None | Some("newest") => Ok(Sort::Newest),
            Some("rating_desc") => Ok(Sort::RatingDesc),
            Some("rating_asc") => Ok(Sort::RatingAsc),
            Some(_) => Err(InvalidValue::new(
                "INVALID_FIELD",
                "sort",
                "sort must be newest, rating_desc or rating_asc",
            )),
        }
    }
}

fn bad_cursor() -> ReviewError {
    InvalidValue::new(
        "INVALID_CURSOR",
        "cursor",
        "cursor is not one this API issued",
    )
    .into()
}

/// `GET /reviews`: published reviews of `target`, in `sort` order.
pub fn public_page(
    sql: &dyn Sql,
    target: &Target,
    sort: Sort,
    limit: u32,
    cursor: Option<&Cursor>,
) -> Result<Page<PublicReview>, ReviewError> {
    known_business(sql, target)?;
    let mut sql_text = format!(
        "SELECT {COLUMNS} {FROM} WHERE r.business_id = ? AND r.target_type = ? AND r.target_key = ? \
         AND r.status = 'published'"
    );
    let mut args: Vec<SqlValue> = params![
        target.business_id.as_str(),
        target.kind.as_str(),
        target.key()
    ];
    let order = match sort {
        Sort::Newest => "r.published_at DESC, r.id DESC",
        Sort::RatingDesc => "r.rating DESC, r.published_at DESC, r.id DESC",
        Sort::RatingAsc => "r.rating ASC, r.published_at DESC, r.id DESC",
    };
    if let Some(c) = cursor {
        match sort {
            Sort::Newest => {
                sql_text.push_str(" AND (r.published_at < ? OR (r.published_at = ? AND r.id < ?))");
                args.extend(params![c.key.as_str(), c.key.as_str(), c.id.as_str()]);
            }
            Sort::RatingDesc | Sort::RatingAsc => {
                let (stars, at) = c.key.split_once('|').ok_or_else(bad_cursor)?;
                let stars: i64 = stars.parse().map_err(|_| bad_cursor())?;
                let cmp = if sort == Sort::RatingDesc { "<" } else { ">" };
                sql_text.push_str(&format!(
                    " AND (r.rating {cmp} ? OR (r.rating = ? AND (r.published_at < ? OR (r.published_at = ? AND r.id < ?))))"
                ));
                args.extend(params![stars, stars, at, at, c.id.as_str()]);
            }
        }
    }
    sql_text.push_str(&format!(" ORDER BY {order} LIMIT ?"));
    args.push(SqlValue::Integer(i64::from(limit) + 1));
    let rows = sql.execute(&sql_text, &args)?;
    let items = rows
        .iter()
        .map(|r| public_from(&r))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(page_from(items, limit, |r| Cursor {
        key: match sort {
            Sort::Newest => r.published_at.clone(),
            _ => format!("{}|{}", r.rating, r.published_at),
        },
        id: r.id.clone(),
    }))
}

fn full_page(
    sql: &dyn Sql,
    q: NewestFirst,
    limit: u32,
    cursor: Option<&Cursor>,
) -> Result<Page<Review>, StoreError> {
    let (text, args) = q.page("r.created_at", "r.id", cursor, limit);
    let rows = sql.execute(&text, &args)?;
    let items = rows
        .iter()
        .map(|r| review_from(&r))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(page_from(items, limit, |r| Cursor {
        key: r.created_at.clone(),
        id: r.id.clone(),
    }))
}

/// `GET /reviews/mine`: every review of `member_id`, newest first.
pub fn mine_page(
    sql: &dyn Sql,
    member_id: &str,
    limit: u32,
    cursor: Option<&Cursor>,
) -> Result<Page<Review>, StoreError> {
    full_page(
        sql,
        NewestFirst::new(format!("SELECT {COLUMNS} {FROM}")).filter("r.member_id = ?", member_id),
        limit,
        cursor,
    )
}

/// `GET /admin/reviews?status=`: the queue (or any status), newest first.
pub fn admin_page(
    sql: &dyn Sql,
    status: &str,
    limit: u32,
    cursor: Option<&Cursor>,
) -> Result<Page<Review>, ReviewError> {
    if !matches!(status, "pending" | "published" | "rejected" | "withdrawn") {
        return Err(InvalidValue::new(
            "INVALID_FIELD",
            "status",
            "status must be pending, published, rejected or withdrawn",
        )
        .into());
    }
    Ok(full_page(
        sql,
        NewestFirst::new(format!("SELECT {COLUMNS} {FROM}")).filter("r.status = ?", status),
        limit,
        cursor,
    )?)
}

/// `GET /ratings`.
pub fn rating_of(sql: &dyn Sql, target: &Target) -> Result<rating::Rating, ReviewError> {
    known_business(sql, target)?;
    Ok(rating::read(sql, target)?)
}

// Reads of an unknown business are 404; event targets wait for events.
fn known_business(sql: &dyn Sql, target: &Target) -> Result<(), ReviewError> {
    if target.kind == TargetKind::Event {
        return Err(ReviewError::EventsNotAvailable);
    }
    let found = sql.execute(
        "SELECT 1 FROM businesses WHERE id = ?",
        &params![target.business_id.as_str()],
    )?;
    if found.is_empty() {
        return Err(ReviewError::BusinessNotFound);
    }
    Ok(())
}

/// True when `at` lies within the edit window of a review written at
/// `created_at`.
pub fn editable(created_at: DateTime<Utc>, at: DateTime<Utc>) -> bool {
    at <= created_at + Duration::hours(EDIT_WINDOW_HOURS)
}
