//! Analytics against real SQLite: every report on a hand-computed club of
//! four businesses and twelve members, rollups equal to a full rebuild
//! after random purchases, refunds and commissions (property test), RFM
//! quartile edges, the churn formula, periods, and a medical partner's
//! details never appearing.

// `params!` builds a Vec that is then borrowed as the statement's slice.
#![allow(clippy::useless_vec)]

#[path = "wallet/support.rs"]
#[allow(dead_code)]
mod support;

use chrono::{Duration, NaiveDate};
use krug_core::{
    analytics::{
        club, export, metrics,
        nightly::{self, quartile_scores, Segment},
        reports, rollup, Period,
    },
    db::immediate,
    error::UseCaseError,
    payments::commission,
    ports::{Sql as _, SqlValue},
    wallet::member::{Business, Member},
};
use proptest::prelude::*;
use support::{pos_sale, t0, World};

fn buy_as(w: &World, m: &Member, b: &Business, amount: i64, description: Option<&str>) -> String {
    let mut sale = pos_sale(m, b, amount);
    sale.description = description.map(str::to_string);
    w.record(&sale).purchase_id
}

fn refund(w: &World, purchase_id: &str, amount: i64) {
    w.refund(purchase_id, amount, support::staff());
}

/// Every row of both rollups, in a stable order.
fn rollups(w: &World) -> Vec<Vec<SqlValue>> {
    let mut out = w
        .sql
        .execute(
            "SELECT * FROM analytics_daily ORDER BY business_id, day, source",
            &[],
        )
        .unwrap()
        .rows;
    out.extend(
        w.sql
            .execute(
                "SELECT * FROM analytics_customers ORDER BY business_id, member_id",
                &[],
            )
            .unwrap()
            .rows,
    );
    out
}

fn assert_rebuild_matches(w: &World) {
    let kept = rollups(w);
    immediate(&w.sql, rollup::rebuild).unwrap();
    assert_eq!(
        rollups(w),
        kept,
        "rebuild differs from the incremental rollups"
    );
}

/// The club of the hand-computed fixture. Days are offsets from t0
/// (2026-01-10 12:00 UTC); the report period is t0's day and the 29 after.
struct Club {
    w: World,
    a: Business,
    b: Business,
    c: Business,
    d: Business,
    m: Vec<Member>,
    m5_at_a: String,
}

fn club() -> Club {
    let w = World::new();
    let a = w.business("beauty", 1.0, false);
    let b = w.business("gastronomy", 1.0, false);
    let c = w.business("floristry", 1.0, false);
    let d = w.business("medicine", 1.0, true);
    let m: Vec<Member> = (0..12).map(|_| w.member()).collect();
    // (day, member, business, amount)
    let mut plan: Vec<(i64, usize, &Business, i64)> = vec![(-40, 7, &a, 100_000)];
    for i in 0..4 {
        plan.push((1, i, &a, 100_000));
        plan.push((3, i, &b, 30_000));
        plan.push((5, i, &c, 20_000));
    }
    for i in [4, 5] {
        plan.push((2, i, &b, 30_000));
        plan.push((4, i, &a, 100_000));
    }
    plan.push((1, 6, &a, 100_000));
    plan.push((10, 6, &a, 50_000));
    plan.push((6, 7, &a, 100_000));
    plan.push((2, 8, &d, 400_000));
    plan.push((7, 8, &a, 100_000));
    for i in 9..12 {
        plan.push((3, i, &c, 20_000));
    }
    plan.sort_by_key(|p| (p.0, p.1));
    let start = t0();
    let mut m5_at_a = String::new();
    for (day, i, biz, amount) in plan {
        w.clock
            .set(start + Duration::days(day) + Duration::minutes(i64::try_from(i).unwrap()));
        let id = buy_as(&w, &m[i], biz, amount, Some("Стрижка и укладка"));
        if i == 5 && biz.id == a.id {
            m5_at_a = id;
        }
    }
    w.clock.set(start + Duration::days(30) + Duration::hours(1));
    Club {
        w,
        a,
        b,
        c,
        d,
        m,
        m5_at_a,
    }
}

fn period() -> Period {
    let from = t0().date_naive();
    Period {
        from,
        to: from + Duration::days(29),
    }
}

#[test]
fn overview_counts_revenue_new_and_returning_customers() {
    let k = club();
    let o = reports::overview(&k.w.sql, &k.a.id, period()).unwrap();
    assert_eq!(o.current.total_revenue, 950_000);
    assert_eq!(o.current.total_transactions, 10);
    assert_eq!(o.current.avg_check, 95_000);
    assert_eq!(
        o.current.new_customers, 8,
        "m0-m6 and m8; m7 bought before the period"
    );
    assert_eq!(o.current.returning_customers, 1, "m7");
    assert_eq!(o.current.revenue_from_ecosystem, 0);
    assert_eq!(
        o.previous_period.total_revenue, 0,
        "m7's day -40 is before the previous 30 days"
    );
    assert_eq!(o.previous_period.period.days(), 30);

    // A full refund takes the purchase out of every figure, and m5 stops
    // being a customer at all.
    refund(&k.w, &k.m5_at_a, 100_000);
    let o = reports::overview(&k.w.sql, &k.a.id, period()).unwrap();
    assert_eq!(
        (o.current.total_revenue, o.current.total_transactions),
        (850_000, 9)
    );
    assert_eq!(
        (o.current.new_customers, o.current.returning_customers),
        (7, 1)
    );
    assert_rebuild_matches(&k.w);
}

#[test]
fn sources_and_destinations_follow_members_between_businesses() {
    let k = club();
    let s = reports::sources(&k.w.sql, &k.a.id, period()).unwrap();
    assert_eq!(s.new_customers, 8);
    let got: Vec<(&str, i64, i64, f64)> = s
        .sources
        .iter()
        .map(|x| {
            (
                x.source_business_id.as_str(),
                x.customers_count,
                x.revenue,
                x.conversion_rate,
            )
        })
        .collect();
    // m4 and m5 came from B (6 customers there in the period); m8 from the
    // clinic D (its only customer), named and counted, nothing more.
    assert_eq!(
        got,
        vec![
            (k.b.id.as_str(), 2, 200_000, 0.3333),
            (k.d.id.as_str(), 1, 100_000, 1.0)
        ]
    );
    assert_eq!((s.direct.customers_count, s.direct.revenue), (5, 550_000));

    let d = reports::destinations(&k.w.sql, &k.a.id, period()).unwrap();
    assert_eq!(d.customers, 9);
    assert_eq!(d.destinations.len(), 1);
    let first = &d.destinations[0];
    assert_eq!(
        (
            first.destination_business_id.as_str(),
            first.customers_count,
            first.revenue,
            first.conversion_rate
        ),
        (k.b.id.as_str(), 4, 120_000, 0.4444)
    );
    assert_eq!(d.no_next_purchase, 5);
    let c = reports::destinations(&k.w.sql, &k.c.id, period()).unwrap();
    assert!(c.destinations.is_empty(), "nobody bought anywhere after C");
}

#[test]
fn nightly_finds_chains_links_north_star_rfm_and_churn() {
    let k = club();
    let r = nightly::run(&k.w.sql, k.w.now()).unwrap();
    assert_eq!(r.chains, 1, "only A → B → C, by m0-m3");
    let ch = reports::chains(&k.w.sql, &k.a.id).unwrap();
    assert_eq!(ch.chains.len(), 1);
    let chain = &ch.chains[0];
    let ids: Vec<&str> = chain.businesses.iter().map(|b| b.id.as_str()).collect();
    assert_eq!(ids, vec![k.a.id.as_str(), k.b.id.as_str(), k.c.id.as_str()]);
    assert_eq!((chain.frequency, chain.avg_ltv), (4, 150_000));
    assert!(reports::chains(&k.w.sql, &k.d.id)
        .unwrap()
        .chains
        .is_empty());

    let dash = club::dashboard(&k.w.sql, period(), k.w.now()).unwrap();
    let links: Vec<(&str, &str, i64)> = dash
        .top_links
        .iter()
        .map(|l| (l.from.id.as_str(), l.to.id.as_str(), l.customers))
        .collect();
    assert_eq!(links.len(), 4);
    assert!(links.contains(&(k.a.id.as_str(), k.b.id.as_str(), 4)));
    assert!(links.contains(&(k.b.id.as_str(), k.c.id.as_str(), 4)));
    assert!(links.contains(&(k.b.id.as_str(), k.a.id.as_str(), 2)));
    assert!(links.contains(&(k.d.id.as_str(), k.a.id.as_str(), 1)));
    let ns = dash.north_star.expect("computed by the nightly run");
    // Twelve active members; m0-m5 and m8 bought in two categories or more.
    assert_eq!((ns.active_members, ns.value), (12, 0.5833));
    assert_eq!(ns.previous_value, 0.0, "only m7 bought, in one category");
    assert_eq!(dash.members_total, 12);
    assert_eq!(
        dash.total_revenue,
        950_000 + 6 * 30_000 + 7 * 20_000 + 400_000
    );

    let rfm = reports::rfm(&k.w.sql, &k.a.id).unwrap();
    assert_eq!(rfm.customers, 9);
    assert_eq!(rfm.segments.len(), 7);
    let count = |name: &str| {
        rfm.segments
            .iter()
            .find(|s| s.segment == name)
            .unwrap()
            .count
    };
    assert_eq!(rfm.segments.iter().map(|s| s.count).sum::<i64>(), 9);
    // m6 and m7 bought twice (F 4 by mid-rank: 7 of 9 below them);
    // m6's last visit is the most recent (R 4) → Champions.
    assert_eq!(count("Champions"), 1);
    // m7: R 3, F 4 → Loyal; m4, m5 (R 3) and m8 (R 4) bought once (F 2)
    // → Potential; m0-m3 are the least recent (R 1, F 2) → Lost.
    assert_eq!(
        (count("Loyal"), count("Potential"), count("Lost")),
        (1, 3, 4)
    );

    let churn = reports::churn_risk(&k.w.sql, &k.a.id, k.w.now(), 50).unwrap();
    // m6: visits on days 1 and 10 (gap 9), away 20 days → ratio 2.2.
    assert_eq!(churn.total, 1);
    let at_risk = &churn.items[0];
    assert_eq!(at_risk.member_id, k.m[6].id);
    assert_eq!(at_risk.first_name.as_deref(), Some("Anna"));
    assert_eq!(
        (at_risk.days_since_last_visit, at_risk.usual_gap_days),
        (20, 9.0)
    );
    assert_eq!(at_risk.churn_probability, 0.61);
}

#[test]
fn quartile_edges_and_segments() {
    assert!(quartile_scores(&[]).is_empty());
    assert_eq!(
        quartile_scores(&[5]),
        vec![3],
        "one value sits in the middle"
    );
    assert_eq!(quartile_scores(&[1, 2, 3, 4]), vec![1, 2, 3, 4]);
    assert_eq!(quartile_scores(&[4, 3, 2, 1]), vec![4, 3, 2, 1]);
    assert_eq!(
        quartile_scores(&[7, 7, 7, 7]),
        vec![3, 3, 3, 3],
        "ties share a score"
    );
    assert_eq!(
        quartile_scores(&[1, 2, 3, 4, 5, 6, 7, 8]),
        vec![1, 1, 2, 2, 3, 3, 4, 4]
    );
    assert_eq!(quartile_scores(&[1, 1, 1, 9]), vec![2, 2, 2, 4]);
    assert_eq!(Segment::of(4, 4), Segment::Champions);
    assert_eq!(Segment::of(3, 4), Segment::Loyal);
    assert_eq!(Segment::of(4, 2), Segment::Potential);
    assert_eq!(Segment::of(3, 1), Segment::New);
    assert_eq!(Segment::of(2, 3), Segment::AtRisk);
    assert_eq!(Segment::of(1, 4), Segment::AtRisk);
    assert_eq!(Segment::of(2, 1), Segment::Hibernating);
    assert_eq!(Segment::of(1, 2), Segment::Lost);
    let day = |d: u32| NaiveDate::from_ymd_opt(2026, 1, d).unwrap();
    assert_eq!(nightly::median_gap(&[day(1)]), None);
    assert_eq!(nightly::median_gap(&[day(1), day(4), day(6)]), Some(2.5));
    assert_eq!(
        nightly::median_gap(&[day(1), day(2), day(10), day(11)]),
        Some(1.0)
    );
}

#[test]
fn churn_probability_is_a_logistic_curve_of_the_gap_ratio() {
    assert_eq!(reports::churn_probability(10.0, 10.0), 0.12);
    assert_eq!(reports::churn_probability(20.0, 10.0), 0.5);
    assert_eq!(reports::churn_probability(30.0, 10.0), 0.88);
    assert_eq!(reports::churn_probability(40.0, 10.0), 0.98);
    assert_eq!(reports::churn_probability(0.0, 10.0), 0.02);
}

#[test]
fn periods_are_checked() {
    let now = t0();
    let p = Period::parse(None, None, now).unwrap();
    assert_eq!((p.days(), p.to), (30, now.date_naive()));
    assert_eq!(p.previous().days(), 30);
    assert_eq!(p.previous().to, p.from - Duration::days(1));
    let code =
        |from: Option<&str>, to: Option<&str>| Period::parse(from, to, now).unwrap_err().code;
    assert_eq!(
        code(Some("2026-02-01"), Some("2026-01-01")),
        "INVALID_PERIOD"
    );
    assert_eq!(
        code(Some("2023-01-01"), Some("2026-01-10")),
        "INVALID_PERIOD"
    );
    assert_eq!(code(Some("01.02.2026"), None), "INVALID_FIELD");
    assert_eq!(code(None, Some("2026-02-30")), "INVALID_FIELD");
    assert!(
        Period::parse(Some("2023-01-11"), Some("2026-01-10"), now).is_ok(),
        "1096 days is the limit"
    );
}

#[test]
fn unknown_business_is_not_found() {
    let k = club();
    let e =
        reports::overview(&k.w.sql, "01890a5d-ac96-774b-bcce-b302099a8057", period()).unwrap_err();
    assert_eq!(e.code(), "BUSINESS_NOT_FOUND");
}

#[test]
fn export_pages_sum_to_the_overview_and_hide_medical_details() {
    let k = club();
    let header = export::header();
    assert!(header.starts_with('\u{feff}'));
    assert!(header.ends_with("\r\n"));
    let mut csv = String::new();
    let mut cursor = None;
    let mut pages = 0;
    loop {
        let (chunk, next) =
            export::page(&k.w.sql, &k.a.id, false, period(), cursor.as_ref(), 3).unwrap();
        csv.push_str(&chunk);
        pages += 1;
        match next {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    assert_eq!(pages, 4, "10 rows in pages of 3");
    let lines: Vec<&str> = csv.split("\r\n").filter(|l| !l.is_empty()).collect();
    assert_eq!(lines.len(), 10);
    let net: i64 = lines
        .iter()
        .map(|l| l.split(',').nth(7).unwrap().parse::<i64>().unwrap())
        .sum();
    assert_eq!(net, 950_000);
    assert!(csv.contains("Стрижка и укладка"));

    // The clinic: the description was never stored, and is never written.
    let (medical_csv, _) = export::page(&k.w.sql, &k.d.id, true, period(), None, 100).unwrap();
    assert_eq!(
        medical_csv.split("\r\n").filter(|l| !l.is_empty()).count(),
        1
    );
    assert!(!medical_csv.contains("Стрижка"));
    assert_eq!(
        k.w.count(&format!(
            "SELECT COUNT(*) FROM purchases WHERE business_id = '{}' AND description IS NOT NULL",
            k.d.id
        )),
        0
    );
}

#[test]
fn metrics_render_every_family_with_help_and_type() {
    let k = club();
    let text = metrics::render(&k.w.sql).unwrap();
    for family in [
        "krug_members",
        "krug_purchases_total",
        "krug_purchase_revenue_kopecks",
        "krug_points_outstanding",
        "krug_points_debt",
        "krug_webhook_deliveries_total",
        "krug_outbox_pending",
        "krug_referrals",
        "krug_sync_runs_total",
    ] {
        assert!(
            text.contains(&format!("# HELP {family} ")),
            "{family} has no HELP"
        );
        assert!(
            text.contains(&format!("# TYPE {family} ")),
            "{family} has no TYPE"
        );
    }
    assert!(
        text.contains("krug_purchases_total{source=\"pos\"} 25\n"),
        "{text}"
    );
    assert!(text.contains("krug_members{tier=\"insider\"}"));
}

#[derive(Debug, Clone)]
enum Op {
    Buy {
        member: usize,
        business: usize,
        amount: i64,
    },
    Refund {
        pick: usize,
        share: u8,
    },
    Commission {
        pick: usize,
    },
    Wait {
        hours: i64,
    },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0..5usize, 0..3usize, 100..500_000i64).prop_map(|(member, business, amount)| Op::Buy { member, business, amount }),
        2 => (0..1000usize, 1..=100u8).prop_map(|(pick, share)| Op::Refund { pick, share }),
        1 => (0..1000usize).prop_map(|pick| Op::Commission { pick }),
        2 => (1..72i64).prop_map(|hours| Op::Wait { hours }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn rollups_equal_a_full_rebuild(ops in proptest::collection::vec(op(), 1..40)) {
        let w = World::new();
        let businesses: Vec<Business> = ["beauty", "gastronomy", "optics"]
            .iter()
            .map(|c| w.business(c, 1.0, false))
            .collect();
        let members: Vec<Member> = (0..5).map(|_| w.member()).collect();
        let mut bought: Vec<String> = Vec::new();
        for op in ops {
            match op {
                Op::Buy { member, business, amount } => {
                    bought.push(buy_as(&w, &members[member], &businesses[business], amount, None));
                }
                Op::Refund { pick, share } if !bought.is_empty() => {
                    let id = &bought[pick % bought.len()];
                    let left = w.count(&format!("SELECT amount - refunded_amount FROM purchases WHERE id = '{id}'"));
                    let amount = (left * i64::from(share) / 100).max(1).min(left);
                    if left > 0 {
                        refund(&w, id, amount);
                    }
                }
                Op::Commission { pick } if !bought.is_empty() => {
                    let id = bought[pick % bought.len()].clone();
                    let business = w.sql
                        .execute("SELECT business_id, amount FROM purchases WHERE id = ?", &krug_core::params![id.as_str()])
                        .unwrap();
                    let row = business.first().unwrap();
                    let (biz, amount) = (row.text("business_id").unwrap(), row.i64("amount").unwrap());
                    immediate(&w.sql, |tx| commission::record(tx, w.now() + Duration::days(400), &w.random, &biz, &id, None, amount)).unwrap();
                }
                Op::Wait { hours } => w.advance(Duration::hours(hours)),
                _ => {}
            }
        }
        let kept = rollups(&w);
        immediate(&w.sql, rollup::rebuild).unwrap();
        prop_assert_eq!(rollups(&w), kept);
    }
}
