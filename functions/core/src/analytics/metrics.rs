//! `GET /metrics`: Prometheus text exposition format 0.0.4, computed from
//! tables with a handful of grouped reads — nothing is written to count a
//! request, so the hot paths pay nothing for metrics.

use std::fmt::Write as _;

use crate::ports::{Sql, StoreError};

/// The content type of the exposition.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Escapes a label value (backslash, quote, line feed).
fn label(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

struct Family<'a> {
    name: &'a str,
    help: &'a str,
    kind: &'a str,
}

fn family(out: &mut String, f: &Family<'_>, samples: &[(Vec<(&str, String)>, i64)]) {
    let _ = writeln!(out, "# HELP {} {}", f.name, f.help);
    let _ = writeln!(out, "# TYPE {} {}", f.name, f.kind);
    for (labels, value) in samples {
        out.push_str(f.name);
        if !labels.is_empty() {
            out.push('{');
            for (i, (k, v)) in labels.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                let _ = write!(out, "{k}=\"{}\"", label(v));
            }
            out.push('}');
        }
        let _ = writeln!(out, " {value}");
    }
}

/// Renders every family. Seven grouped reads: members by tier, purchases and
/// revenue by channel (from the daily rollup), balances, webhook
/// deliveries, the support outbox, referrals by state, sync runs by status.
pub fn render(sql: &dyn Sql) -> Result<String, StoreError> {
    let mut out = String::new();

    let tiers = sql.execute(
        "SELECT tier, COUNT(*) AS n FROM members WHERE erased_at IS NULL GROUP BY tier ORDER BY tier",
        &[],
    )?;
    let samples = tiers
        .iter()
        .map(|r| Ok((vec![("tier", r.text("tier")?)], r.i64("n")?)))
        .collect::<Result<Vec<_>, StoreError>>()?;
    family(
        &mut out,
        &Family {
            name: "krug_members",
            help: "Members (not erased) by tier.",
            kind: "gauge",
        },
        &samples,
    );

    let sources = sql.execute(
        "SELECT source, SUM(purchases) AS n, SUM(revenue) AS revenue FROM analytics_daily \
         GROUP BY source ORDER BY source",
        &[],
    )?;
    let mut purchases = Vec::new();
    let mut revenue = Vec::new();
    for r in sources.iter() {
        let source = r.text("source")?;
        purchases.push((vec![("source", source.clone())], r.i64("n")?));
        revenue.push((vec![("source", source)], r.i64("revenue")?));
    }
    family(
        &mut out,
        &Family {
            name: "krug_purchases_total",
            help: "Purchases recorded, by channel (pos, checkout, webhook, ingest).",
            kind: "counter",
        },
        &purchases,
    );
    family(
        &mut out,
        &Family {
            name: "krug_purchase_revenue_kopecks",
            help: "Net revenue of recorded purchases (refunds subtracted), kopecks, by channel.",
            kind: "gauge",
        },
        &revenue,
    );

    let balances = sql.execute(
        "SELECT COALESCE(SUM(available), 0) AS available, COALESCE(SUM(pending), 0) AS pending, \
         COALESCE(SUM(debt), 0) AS debt FROM member_balances",
        &[],
    )?;
    let b = balances.first();
    let get = |c: &str| b.map_or(Ok(0), |r| r.i64(c));
    family(
        &mut out,
        &Family {
            name: "krug_points_outstanding",
            help: "Points members hold, by state (available, pending).",
            kind: "gauge",
        },
        &[
            (vec![("state", "available".to_string())], get("available")?),
            (vec![("state", "pending".to_string())], get("pending")?),
        ],
    );
    family(
        &mut out,
        &Family {
            name: "krug_points_debt",
            help: "Points owed back by members after refunds of spent points.",
            kind: "gauge",
        },
        &[(vec![], get("debt")?)],
    );

    let hooks = sql.execute(
        "SELECT provider, outcome, count FROM webhook_counters ORDER BY provider, outcome",
        &[],
    )?;
    let samples = hooks
        .iter()
        .map(|r| {
            Ok((
                vec![
                    ("provider", r.text("provider")?),
                    ("outcome", r.text("outcome")?),
                ],
                r.i64("count")?,
            ))
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    family(
        &mut out,
        &Family {
            name: "krug_webhook_deliveries_total",
            help: "Payment webhook deliveries by provider and outcome.",
            kind: "counter",
        },
        &samples,
    );

    let outbox = sql.execute(
        "SELECT COUNT(*) AS n FROM support_outbox WHERE status = 'pending'",
        &[],
    )?;
    family(
        &mut out,
        &Family {
            name: "krug_outbox_pending",
            help: "Messages waiting in an outbox, by channel.",
            kind: "gauge",
        },
        &[(
            vec![("channel", "telegram".to_string())],
            outbox.first().map_or(Ok(0), |r| r.i64("n"))?,
        )],
    );

    let referrals = sql.execute(
        "SELECT state, COUNT(*) AS n FROM referrals GROUP BY state ORDER BY state",
        &[],
    )?;
    let samples = referrals
        .iter()
        .map(|r| Ok((vec![("state", r.text("state")?)], r.i64("n")?)))
        .collect::<Result<Vec<_>, StoreError>>()?;
    family(
        &mut out,
        &Family {
            name: "krug_referrals",
            help: "Referrals by state (tracked, paid, rewarded, rejected).",
            kind: "gauge",
        },
        &samples,
    );

    let runs = sql.execute(
        "SELECT status, COUNT(*) AS n FROM sync_runs GROUP BY status ORDER BY status",
        &[],
    )?;
    let samples = runs
        .iter()
        .map(|r| Ok((vec![("status", r.text("status")?)], r.i64("n")?)))
        .collect::<Result<Vec<_>, StoreError>>()?;
    family(
        &mut out,
        &Family {
            name: "krug_sync_runs_total",
            help: "Partner CRM sync runs by status (running, succeeded, failed).",
            kind: "counter",
        },
        &samples,
    );
    Ok(out)
}
