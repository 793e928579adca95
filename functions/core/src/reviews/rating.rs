//! Ratings: one aggregate row per target (count, sum, distribution of
//! published reviews) plus one club-wide row per target type, changed in
//! the transaction that publishes or removes a review, and the Bayesian
//! average read from them.

use serde::Serialize;

use super::Target;
use crate::params;
use crate::ports::{Sql, StoreError};

/// Weight of the prior in the Bayesian average, in reviews.
pub const PRIOR_WEIGHT: i64 = 10;

// The club-wide row of a target type.
const CLUB: &str = "*";

/// `GET /ratings`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Rating {
    /// Published reviews.
    pub count: i64,
    /// Mean rating (two decimals); `None` without reviews.
    pub average: Option<f64>,
    /// `(PRIOR_WEIGHT × club mean + Σ ratings) / (PRIOR_WEIGHT + count)`
    /// (two decimals); `None` while the club has no reviews of this kind.
    pub bayesian_average: Option<f64>,
    /// Reviews per star, `"1"` to `"5"`.
    pub distribution: std::collections::BTreeMap<String, i64>,
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// The Bayesian average of `count` ratings summing to `total`, with the
/// club's `prior_total / prior_count` as the prior mean weighted as
/// [`PRIOR_WEIGHT`] reviews; `None` when the prior has no reviews.
pub fn bayesian(total: i64, count: i64, prior_total: i64, prior_count: i64) -> Option<f64> {
    if prior_count <= 0 {
        return None;
    }
    let prior_mean = prior_total as f64 / prior_count as f64;
    Some(round2(
        (PRIOR_WEIGHT as f64 * prior_mean + total as f64) / (PRIOR_WEIGHT + count) as f64,
    ))
}

/// Adds (`delta` = 1) or removes (`delta` = -1) one published `rating` of
/// `target`, in the target's row and the club's. Runs in the caller's
/// transaction.
pub fn shift(tx: &dyn Sql, target: &Target, rating: i64, delta: i64) -> Result<(), StoreError> {
    let star = |n: i64| if n == rating { delta } else { 0 };
    for (business, key) in [(target.business_id.as_str(), target.key()), (CLUB, CLUB)] {
        if delta > 0 {
            tx.execute(
                "INSERT INTO review_ratings (target_type, business_id, target_key, count, total, n1, n2, n3, n4, n5) \
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) \
                 ON CONFLICT (target_type, business_id, target_key) DO UPDATE SET \
                 count = review_ratings.count + excluded.count, total = review_ratings.total + excluded.total, \
                 n1 = review_ratings.n1 + excluded.n1, n2 = review_ratings.n2 + excluded.n2, \
                 n3 = review_ratings.n3 + excluded.n3, n4 = review_ratings.n4 + excluded.n4, \
                 n5 = review_ratings.n5 + excluded.n5",
                &params![
                    target.kind.as_str(),
                    business,
                    key,
                    delta,
                    rating * delta,
                    star(1),
                    star(2),
                    star(3),
                    star(4),
                    star(5)
                ],
            )?;
        } else {
            tx.execute(
                "UPDATE review_ratings SET count = count + ?, total = total + ?, n1 = n1 + ?, n2 = n2 + ?, \
                 n3 = n3 + ?, n4 = n4 + ?, n5 = n5 + ? \
                 WHERE target_type = ? AND business_id = ? AND target_key = ?",
                &params![
                    delta,
                    rating * delta,
                    star(1),
                    star(2),
                    star(3),
                    star(4),
                    star(5),
                    target.kind.as_str(),
                    business,
                    key
                ],
            )?;
            if tx.changes()? != 1 {
                return Err(StoreError::Other(
                    "removing a rating that was never counted".into(),
                ));
            }
        }
    }
    Ok(())
}

/// The rating of `target`: its row and the club's, in one statement.
pub fn read(sql: &dyn Sql, target: &Target) -> Result<Rating, StoreError> {
    let rows = sql.execute(
        "SELECT business_id, count, total, n1, n2, n3, n4, n5 FROM review_ratings \
         WHERE target_type = ? AND ((business_id = ? AND target_key = ?) OR (business_id = ? AND target_key = ?))",
        &params![
            target.kind.as_str(),
            target.business_id.as_str(),
            target.key(),
            CLUB,
            CLUB
        ],
    )?;
    let (mut count, mut total, mut stars) = (0, 0, [0i64; 5]);
    let (mut club_count, mut club_total) = (0, 0);
    for r in rows.iter() {
        if r.text("business_id")? == CLUB {
            club_count = r.i64("count")?;
            club_total = r.i64("total")?;
        } else {
            count = r.i64("count")?;
            total = r.i64("total")?;
            for (i, s) in stars.iter_mut().enumerate() {
                *s = r.i64(&format!("n{}", i + 1))?;
            }
        }
    }
    Ok(Rating {
        count,
        average: (count > 0).then(|| round2(total as f64 / count as f64)),
        bayesian_average: bayesian(total, count, club_total, club_count),
        distribution: (1..=5).map(|i| (i.to_string(), stars[i - 1])).collect(),
    })
}

/// The same figures counted from the published reviews themselves (for
/// tests and consistency checks): `(count, total, [n1..n5])`.
pub fn recount(sql: &dyn Sql, target: &Target) -> Result<(i64, i64, [i64; 5]), StoreError> {
    let rows = sql.execute(
        "SELECT rating, COUNT(*) AS n FROM reviews WHERE business_id = ? AND target_type = ? \
         AND target_key = ? AND status = 'published' GROUP BY rating",
        &params![
            target.business_id.as_str(),
            target.kind.as_str(),
            target.key()
        ],
    )?;
    let (mut count, mut total, mut stars) = (0, 0, [0i64; 5]);
    for r in rows.iter() {
        let rating = r.i64("rating")?;
        let n = r.i64("n")?;
        count += n;
        total += rating * n;
        if let Some(s) = usize::try_from(rating - 1)
            .ok()
            .and_then(|i| stars.get_mut(i))
        {
            *s = n;
        }
    }
    Ok((count, total, stars))
}
