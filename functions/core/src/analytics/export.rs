//! `GET .../export?format=csv`: a business's purchases of a period as RFC
//! 4180 CSV, UTF-8 with a byte-order mark, read and written in pages so a
//! year of purchases never sits in memory at once.
//!
//! No phones or names: members appear by id. Medical partners' rows never
//! carry a description (none is stored for them, and none is written).

use crate::csv::{push_row, BOM};
use crate::pagination::Cursor;
use crate::params;
use crate::ports::{Sql, StoreError};

use super::Period;

/// Rows per page.
pub const PAGE_ROWS: u32 = 1000;

/// The columns, in order. Amounts are kopecks.
pub const COLUMNS: [&str; 11] = [
    "purchase_id",
    "paid_at",
    "member_id",
    "source",
    "category",
    "amount",
    "refunded_amount",
    "net_amount",
    "points_earned",
    "ecosystem_engaged",
    "description",
];

/// The byte-order mark and the header line.
pub fn header() -> String {
    let mut out = String::from(BOM);
    push_row(&mut out, &COLUMNS);
    out
}

/// One page of rows after `after` (in `paid_at`, `id` order) and the
/// cursor of the next page, `None` after the last.
pub fn page(
    sql: &dyn Sql,
    business_id: &str,
    medical: bool,
    period: Period,
    after: Option<&Cursor>,
    limit: u32,
) -> Result<(String, Option<Cursor>), StoreError> {
    let (key, id) = after.map_or((String::new(), String::new()), |c| {
        (c.key.clone(), c.id.clone())
    });
    let rows = sql.execute(
        "SELECT id, paid_at, member_id, source, category, amount, refunded_amount, points_earned, \
         ecosystem_engaged, description FROM purchases \
         WHERE business_id = ? AND paid_at >= ? AND paid_at < ? AND (paid_at > ? OR (paid_at = ? AND id > ?)) \
         ORDER BY paid_at, id LIMIT ?",
        &params![
            business_id,
            period.start_ts(),
            period.end_ts(),
            key.as_str(),
            key.as_str(),
            id.as_str(),
            i64::from(limit)
        ],
    )?;
    let mut out = String::new();
    let mut last = None;
    for r in rows.iter() {
        let (amount, refunded) = (r.i64("amount")?, r.i64("refunded_amount")?);
        let description = if medical {
            String::new()
        } else {
            r.opt_text("description")?.unwrap_or_default()
        };
        let (pid, paid_at) = (r.text("id")?, r.text("paid_at")?);
        push_row(
            &mut out,
            &[
                pid.clone(),
                paid_at.clone(),
                r.text("member_id")?,
                r.text("source")?,
                r.text("category")?,
                amount.to_string(),
                refunded.to_string(),
                (amount - refunded).to_string(),
                r.i64("points_earned")?.to_string(),
                r.i64("ecosystem_engaged")?.to_string(),
                description,
            ],
        );
        last = Some(Cursor {
            key: paid_at,
            id: pid,
        });
    }
    let next = if rows.len() == limit as usize {
        last
    } else {
        None
    };
    Ok((out, next))
}
