//! The nightly analytics run (job `analytics-nightly`): RFM scores and each
//! customer's usual gap per business, win-win chains, the club's
//! cross-business links and its north-star metric.
//!
//! It reads purchases of the last [`WINDOW_DAYS`] in bounded pages (one
//! business, or a few hundred members, at a time) and replaces its own
//! tables' rows; running it twice at the same instant gives the same rows.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::db::{immediate, parse_ts, ts};
use crate::params;
use crate::ports::{Sql, SqlValue, StoreError};

/// Days of purchases the nightly run looks at.
pub const WINDOW_DAYS: i64 = 365;
/// Days within which the three purchases of a chain must fall.
pub const CHAIN_DAYS: i64 = 90;
/// Days of the north-star window.
pub const NORTH_STAR_DAYS: i64 = 60;
/// Chains kept per business, and links kept for the club.
pub const TOP: usize = 20;
/// Members read per page when following members across businesses.
const MEMBERS_PER_PAGE: usize = 500;
/// Rows per multi-row INSERT.
const INSERT_BATCH: usize = 100;

/// An RFM segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Segment {
    /// R 4, F 4: bought lately and most often.
    Champions,
    /// R ≥ 3, F ≥ 3, not champions.
    Loyal,
    /// R ≥ 3, F 2.
    Potential,
    /// R ≥ 3, F 1: recent first purchases.
    New,
    /// R ≤ 2, F ≥ 3: good customers going quiet.
    AtRisk,
    /// R 2, F ≤ 2.
    Hibernating,
    /// R 1, F ≤ 2.
    Lost,
}

impl Segment {
    /// Every segment, best first.
    pub const ALL: [Segment; 7] = [
        Segment::Champions,
        Segment::Loyal,
        Segment::Potential,
        Segment::New,
        Segment::AtRisk,
        Segment::Hibernating,
        Segment::Lost,
    ];

    /// The segment of recency and frequency scores (1–4, 4 best); the
    /// monetary score is reported beside them but does not move a member
    /// between segments.
    pub fn of(r: u8, f: u8) -> Segment {
        match (r, f) {
            (4, 4) => Segment::Champions,
            (3..=4, 3..=4) => Segment::Loyal,
            (3..=4, 2) => Segment::Potential,
            (3..=4, _) => Segment::New,
            (_, 3..=4) => Segment::AtRisk,
            (2, _) => Segment::Hibernating,
            _ => Segment::Lost,
        }
    }

    /// Its name in reports.
    pub fn name(self) -> &'static str {
        match self {
            Segment::Champions => "Champions",
            Segment::Loyal => "Loyal",
            Segment::Potential => "Potential",
            Segment::New => "New",
            Segment::AtRisk => "At Risk",
            Segment::Hibernating => "Hibernating",
            Segment::Lost => "Lost",
        }
    }

    /// The suggested action (Russian, for partner staff).
    pub fn action(self) -> &'static str {
        match self {
            Segment::Champions => "Пригласить на закрытое событие клуба и попросить отзыв",
            Segment::Loyal => "Предложить повышенный кешбэк на новую категорию",
            Segment::Potential => "Напомнить о бонусах за следующий визит",
            Segment::New => "Рассказать о партнёрах клуба и дать купон на второй визит",
            Segment::AtRisk => "Отправить персональное предложение, пока клиент не ушёл",
            Segment::Hibernating => "Пригласить на событие клуба",
            Segment::Lost => "Разовая акция на возвращение или не тратить бюджет",
        }
    }
}

/// Mid-rank quartile scores of `values` (higher is better): with `below`
/// values under it and `equal` values equal to it (itself included), a
/// value sits at the percentile `p = (below + equal / 2) / n` and scores
/// `1 + ⌊4p⌋`, capped at 4. Ties share a score; a single value scores 3
/// (the middle); four distinct values score 1, 2, 3, 4.
pub fn quartile_scores(values: &[i64]) -> Vec<u8> {
    let n = values.len();
    if n == 0 {
        return Vec::new();
    }
    let mut sorted = values.to_vec();
    sorted.sort_unstable();
    values
        .iter()
        .map(|v| {
            let below = sorted.partition_point(|x| x < v);
            let upto = sorted.partition_point(|x| x <= v);
            let equal = upto - below;
            // Mid-rank percentile in (0, 1), doubled to stay in integers:
            // (2·below + equal) / (2n).
            let score = 1 + (4 * (2 * below + equal)) / (2 * n);
            u8::try_from(score.min(4)).unwrap_or(4)
        })
        .collect()
}

/// The median of the gaps in days between consecutive distinct `days`
/// (sorted ascending), or `None` with fewer than two days.
pub fn median_gap(days: &[NaiveDate]) -> Option<f64> {
    if days.len() < 2 {
        return None;
    }
    let mut gaps: Vec<i64> = days.windows(2).map(|w| (w[1] - w[0]).num_days()).collect();
    gaps.sort_unstable();
    let mid = gaps.len() / 2;
    #[allow(clippy::cast_precision_loss)]
    Some(if gaps.len() % 2 == 1 {
        gaps[mid] as f64
    } else {
        (gaps[mid - 1] + gaps[mid]) as f64 / 2.0
    })
}

/// A member's facts at one business inside the window.
struct Facts {
    last: DateTime<Utc>,
    count: i64,
    sum: i64,
    days: BTreeSet<NaiveDate>,
}

/// One scored customer.
struct Scored {
    member_id: String,
    recency_days: i64,
    frequency: i64,
    monetary: i64,
    r: u8,
    f: u8,
    m: u8,
    segment: Segment,
    median_gap: Option<f64>,
}

fn score_business(
    sql: &dyn Sql,
    business_id: &str,
    start: &str,
    now: DateTime<Utc>,
) -> Result<Vec<Scored>, StoreError> {
    let rows = sql.execute(
        "SELECT member_id, paid_at, amount - refunded_amount AS net FROM purchases \
         WHERE business_id = ? AND paid_at >= ? AND paid_at < ? AND amount > refunded_amount",
        &params![business_id, start, ts(now)],
    )?;
    let mut facts: BTreeMap<String, Facts> = BTreeMap::new();
    for r in rows.iter() {
        let at = parse_ts(&r.text("paid_at")?)?;
        let f = facts.entry(r.text("member_id")?).or_insert(Facts {
            last: at,
            count: 0,
            sum: 0,
            days: BTreeSet::new(),
        });
        f.last = f.last.max(at);
        f.count += 1;
        f.sum += r.i64("net")?;
        f.days.insert(at.date_naive());
    }
    let recency: Vec<i64> = facts
        .values()
        .map(|f| (now - f.last).num_days().max(0))
        .collect();
    // Fewer days away is better: score the negated recency.
    let r = quartile_scores(&recency.iter().map(|d| -d).collect::<Vec<_>>());
    let f = quartile_scores(&facts.values().map(|f| f.count).collect::<Vec<_>>());
    let m = quartile_scores(&facts.values().map(|f| f.sum).collect::<Vec<_>>());
    Ok(facts
        .into_iter()
        .enumerate()
        .map(|(i, (member_id, fa))| {
            let days: Vec<NaiveDate> = fa.days.into_iter().collect();
            Scored {
                member_id,
                recency_days: recency[i],
                frequency: fa.count,
                monetary: fa.sum,
                r: r[i],
                f: f[i],
                m: m[i],
                segment: Segment::of(r[i], f[i]),
                median_gap: median_gap(&days),
            }
        })
        .collect())
}

fn write_scores(
    tx: &dyn Sql,
    business_id: &str,
    scored: &[Scored],
    at: &str,
) -> Result<(), StoreError> {
    tx.execute(
        "DELETE FROM analytics_scores WHERE business_id = ?",
        &params![business_id],
    )?;
    for chunk in scored.chunks(INSERT_BATCH) {
        let mut sql = String::from(
            "INSERT INTO analytics_scores (business_id, member_id, recency_days, frequency, monetary, \
             r, f, m, segment, median_gap_days, computed_at) VALUES ",
        );
        let mut args: Vec<SqlValue> = Vec::with_capacity(chunk.len() * 11);
        for (i, s) in chunk.iter().enumerate() {
            if i > 0 {
                sql.push_str(", ");
            }
            sql.push_str("(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
            args.extend(params![
                business_id,
                s.member_id.as_str(),
                s.recency_days,
                s.frequency,
                s.monetary,
                i64::from(s.r),
                i64::from(s.f),
                i64::from(s.m),
                s.segment.name(),
                s.median_gap.map_or(SqlValue::Null, SqlValue::Real),
                at
            ]);
        }
        tx.execute(&sql, &args)?;
    }
    Ok(())
}

/// A business in a chain or link.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Named {
    /// Id.
    pub id: String,
    /// Name.
    pub name: String,
}

/// A win-win chain.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Chain {
    /// `"A → B → C"` by names.
    pub pattern: String,
    /// The three businesses in order.
    pub businesses: Vec<Named>,
    /// Members who followed it.
    pub frequency: i64,
    /// Their average net spend across the club in the window (kopecks).
    pub avg_ltv: i64,
}

/// A cross-business link: members whose next purchase after `from` was at `to`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Link {
    /// Where they bought.
    pub from: Named,
    /// Where they bought next.
    pub to: Named,
    /// Members who made that move at least once in the window.
    pub customers: i64,
}

/// The north-star metric: of the members with a purchase in the window,
/// the share with purchases in at least two categories in it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NorthStar {
    /// The last [`NORTH_STAR_DAYS`] before the run.
    pub value: f64,
    /// The [`NORTH_STAR_DAYS`] before those.
    pub previous_value: f64,
    /// Active members in the current window.
    pub active_members: i64,
    /// Of those, with two categories or more.
    pub multi_category_members: i64,
}

/// The `club` snapshot.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClubSnapshot {
    /// Top links, most customers first.
    pub top_links: Vec<Link>,
    /// The north-star metric.
    pub north_star: NorthStar,
}

#[derive(Default)]
struct Paths {
    chains: HashMap<[String; 3], (i64, i64)>,
    links: HashMap<[String; 2], i64>,
    current: (i64, i64),
    previous: (i64, i64),
}

/// One member's purchases in the window, in time order.
fn follow_member(
    paths: &mut Paths,
    visits: &[(String, DateTime<Utc>, i64, String)],
    now: DateTime<Utc>,
) {
    let ltv: i64 = visits.iter().map(|v| v.2).sum();
    // Consecutive purchases at one business are one visit run, timed by
    // its first purchase.
    let mut runs: Vec<(&str, DateTime<Utc>)> = Vec::new();
    for (b, at, _, _) in visits {
        if runs.last().is_none_or(|(last, _)| *last != b.as_str()) {
            runs.push((b.as_str(), *at));
        }
    }
    let mut seen_links: HashSet<[&str; 2]> = HashSet::new();
    for w in runs.windows(2) {
        if seen_links.insert([w[0].0, w[1].0]) {
            *paths
                .links
                .entry([w[0].0.to_string(), w[1].0.to_string()])
                .or_default() += 1;
        }
    }
    let mut seen_chains: HashSet<[&str; 3]> = HashSet::new();
    for w in runs.windows(3) {
        let (a, b, c) = (w[0].0, w[1].0, w[2].0);
        if a == c || w[2].1 - w[0].1 > Duration::days(CHAIN_DAYS) {
            continue;
        }
        if seen_chains.insert([a, b, c]) {
            let e = paths
                .chains
                .entry([a.to_string(), b.to_string(), c.to_string()])
                .or_default();
            e.0 += 1;
            e.1 += ltv;
        }
    }
    let split = now - Duration::days(NORTH_STAR_DAYS);
    let early = split - Duration::days(NORTH_STAR_DAYS);
    let cats = |from: DateTime<Utc>, to: DateTime<Utc>| {
        visits
            .iter()
            .filter(|v| v.1 >= from && v.1 < to)
            .map(|v| v.3.as_str())
            .collect::<HashSet<_>>()
            .len()
    };
    for (window, (from, to)) in [
        (&mut paths.current, (split, now)),
        (&mut paths.previous, (early, split)),
    ] {
        let n = cats(from, to);
        if n > 0 {
            window.0 += 1;
            if n >= 2 {
                window.1 += 1;
            }
        }
    }
}

fn named(names: &HashMap<String, String>, id: &str) -> Named {
    Named {
        id: id.to_string(),
        name: names.get(id).cloned().unwrap_or_default(),
    }
}

fn follow_members(sql: &dyn Sql, start: &str, now: DateTime<Utc>) -> Result<Paths, StoreError> {
    let mut paths = Paths::default();
    let mut after = String::new();
    loop {
        let members = sql.execute(
            "SELECT DISTINCT member_id FROM purchases WHERE member_id > ? ORDER BY member_id LIMIT ?",
            &params![after.as_str(), i64::try_from(MEMBERS_PER_PAGE).unwrap_or(500)],
        )?;
        let ids: Vec<String> = members
            .iter()
            .map(|r| r.text("member_id"))
            .collect::<Result<_, _>>()?;
        let (Some(first), Some(last)) = (ids.first(), ids.last()) else {
            break;
        };
        let rows = sql.execute(
            "SELECT member_id, business_id, paid_at, amount - refunded_amount AS net, category FROM purchases \
             WHERE member_id >= ? AND member_id <= ? AND paid_at >= ? AND paid_at < ? AND amount > refunded_amount \
             ORDER BY member_id, paid_at, id",
            &params![first.as_str(), last.as_str(), start, ts(now)],
        )?;
        let mut current: Option<String> = None;
        let mut visits = Vec::new();
        for r in rows.iter() {
            let member = r.text("member_id")?;
            if current.as_ref() != Some(&member) {
                if current.is_some() {
                    follow_member(&mut paths, &visits, now);
                }
                visits.clear();
                current = Some(member);
            }
            visits.push((
                r.text("business_id")?,
                parse_ts(&r.text("paid_at")?)?,
                r.i64("net")?,
                r.text("category")?,
            ));
        }
        if current.is_some() {
            follow_member(&mut paths, &visits, now);
        }
        if ids.len() < MEMBERS_PER_PAGE {
            break;
        }
        after.clone_from(last);
    }
    Ok(paths)
}

fn put_snapshot(tx: &dyn Sql, key: &str, body: &str, at: &str) -> Result<(), StoreError> {
    tx.execute(
        "INSERT INTO analytics_snapshots (key, body, computed_at) VALUES (?, ?, ?) \
         ON CONFLICT (key) DO UPDATE SET body = excluded.body, computed_at = excluded.computed_at",
        &params![key, body, at],
    )?;
    Ok(())
}

/// What a nightly run wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct NightlyReport {
    /// Customers scored, over all businesses.
    pub scored: u64,
    /// Distinct chains found.
    pub chains: u64,
    /// Distinct links found.
    pub links: u64,
}

/// Runs the nightly computation as of `now`.
pub fn run(sql: &dyn Sql, now: DateTime<Utc>) -> Result<NightlyReport, StoreError> {
    let start = ts(now - Duration::days(WINDOW_DAYS));
    let at = ts(now);
    let names = super::business_names(sql)?;
    let mut ids: Vec<&String> = names.keys().collect();
    ids.sort();
    let mut report = NightlyReport::default();
    for id in &ids {
        let scored = score_business(sql, id, &start, now)?;
        report.scored += scored.len() as u64;
        immediate(sql, |tx| write_scores(tx, id, &scored, &at))?;
    }

    let paths = follow_members(sql, &start, now)?;
    report.chains = paths.chains.len() as u64;
    report.links = paths.links.len() as u64;
    let mut chains: Vec<(&[String; 3], i64, i64)> = paths
        .chains
        .iter()
        .map(|(k, (n, ltv))| (k, *n, (2 * ltv + n) / (2 * n)))
        .collect();
    chains.sort_by(|a, b| b.1.cmp(&a.1).then(b.2.cmp(&a.2)).then(a.0.cmp(b.0)));
    let mut per_business: HashMap<&str, Vec<Chain>> = HashMap::new();
    for (k, n, avg) in &chains {
        for id in k.iter() {
            let list = per_business.entry(id.as_str()).or_default();
            if list.len() < TOP
                && !list
                    .iter()
                    .any(|c| c.businesses.iter().map(|b| &b.id).eq(k.iter()))
            {
                let businesses: Vec<Named> = k.iter().map(|b| named(&names, b)).collect();
                list.push(Chain {
                    pattern: businesses
                        .iter()
                        .map(|b| b.name.as_str())
                        .collect::<Vec<_>>()
                        .join(" → "),
                    businesses,
                    frequency: *n,
                    avg_ltv: *avg,
                });
            }
        }
    }
    let mut links: Vec<(&[String; 2], i64)> = paths.links.iter().map(|(k, n)| (k, *n)).collect();
    links.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    let ratio = |(active, multi): (i64, i64)| super::ratio(multi, active);
    let club = ClubSnapshot {
        top_links: links
            .iter()
            .take(TOP)
            .map(|(k, n)| Link {
                from: named(&names, &k[0]),
                to: named(&names, &k[1]),
                customers: *n,
            })
            .collect(),
        north_star: NorthStar {
            value: ratio(paths.current),
            previous_value: ratio(paths.previous),
            active_members: paths.current.0,
            multi_category_members: paths.current.1,
        },
    };
    immediate(sql, |tx| -> Result<(), StoreError> {
        for id in &ids {
            let list = per_business.get(id.as_str()).map_or(&[][..], Vec::as_slice);
            put_snapshot(tx, &format!("chains:{id}"), &to_json(list)?, &at)?;
        }
        put_snapshot(tx, "club", &to_json(&club)?, &at)
    })?;
    Ok(report)
}

fn to_json<T: Serialize + ?Sized>(value: &T) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|e| StoreError::Other(e.to_string()))
}

/// A snapshot's body and time, if the nightly job has written it.
pub fn snapshot<T: for<'de> Deserialize<'de>>(
    sql: &dyn Sql,
    key: &str,
) -> Result<Option<(String, T)>, StoreError> {
    let rows = sql.execute(
        "SELECT body, computed_at FROM analytics_snapshots WHERE key = ?",
        &params![key],
    )?;
    let Some(r) = rows.first() else {
        return Ok(None);
    };
    let body: T = serde_json::from_str(&r.text("body")?)
        .map_err(|e| StoreError::Other(format!("snapshot {key}: {e}")))?;
    Ok(Some((r.text("computed_at")?, body)))
}

/// The chains containing `business_id` as of the last run.
pub fn chains_of(
    sql: &dyn Sql,
    business_id: &str,
) -> Result<(Option<String>, Vec<Chain>), StoreError> {
    Ok(
        match snapshot::<Vec<Chain>>(sql, &format!("chains:{business_id}"))? {
            Some((at, chains)) => (Some(at), chains),
            None => (None, Vec::new()),
        },
    )
}
