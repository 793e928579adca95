//! Analytics through the host: purchases at A then B then C by several
//! members → sources, destinations and chains as expected; who may read
//! which report; the CSV export read back with a CSV parser and summed to
//! the overview; `/metrics` read by a strict exposition-format parser; bad
//! periods and ids refused with nothing written.

use std::collections::{BTreeMap, HashMap};

use krug_e2e::{spawn_auth_app_with, Cast, Club, TestResponse, Tokens};
use serde_json::{json, Value};

const METRICS_TOKEN: &str = "metrics-test-token";

struct World {
    club: Club,
    c: String,
    key_b: String,
    key_c: String,
    manager_a: Tokens,
}

fn world() -> World {
    let app = spawn_auth_app_with(HashMap::from([(
        "metrics_token".to_string(),
        METRICS_TOKEN.to_string(),
    )]));
    let club = Club::open(
        app,
        &Cast {
            a: ("Analytics Salon", "beauty"),
            b: ("Analytics Bistro", "gastronomy"),
            role: "owner",
            phones: ["+79994440001", "+79994440002", "+79994440003"],
        },
    );
    let app = &club.app;
    let c = app.create_business(&club.admin, "Analytics Florist", "floristry");
    let (_, key_b) = app.issue_api_key(&club.admin, &club.b);
    let (_, key_c) = app.issue_api_key(&club.admin, &c);
    let manager_a = app.staff_login(&club.admin, &club.a, "+79994440004", "manager");
    World {
        club,
        c,
        key_b,
        key_c,
        manager_a,
    }
}

fn buy(w: &World, key: &str, card: &str, amount: i64) {
    let resp = w
        .club
        .app
        .client
        .post("/api/v1/pos/purchases")
        .bearer(key)
        .header(
            "idempotency-key",
            &format!("an-{}", krug_e2e::random_hex(8)),
        )
        .json(
            &json!({ "member": { "card_number": card }, "amount": amount, "description": "Букет" }),
        )
        .send();
    assert_eq!(resp.status, 201, "{}", resp.text());
}

fn get(w: &World, bearer: Option<&str>, path: &str) -> TestResponse {
    let mut req = w.club.app.client.get(path);
    if let Some(b) = bearer {
        req = req.bearer(b);
    }
    req.send()
}

fn report(w: &World, bearer: &str, business: &str, name: &str) -> Value {
    let resp = get(
        w,
        Some(bearer),
        &format!("/api/v1/analytics/businesses/{business}/{name}"),
    );
    assert_eq!(resp.status, 200, "{name}: {}", resp.text());
    resp.json()
}

/// Three members buy at A, then B, then C; a fourth at B, then A.
fn shop(w: &World) {
    for phone in ["+79994440011", "+79994440012", "+79994440013"] {
        let m = w.club.app.login(phone);
        let card = w.club.app.card_number(&m);
        buy(w, &w.club.key_a, &card, 100_000);
        buy(w, &w.key_b, &card, 30_000);
        buy(w, &w.key_c, &card, 20_000);
    }
    let m = w.club.app.login("+79994440014");
    let card = w.club.app.card_number(&m);
    buy(w, &w.key_b, &card, 30_000);
    buy(w, &w.club.key_a, &card, 50_000);
}

#[test]
fn sources_destinations_and_chains_follow_members_across_partners() {
    let w = world();
    shop(&w);
    let owner_a = &w.club.staff_a.access;
    let owner_b = &w.club.staff_b.access;

    let o = report(&w, owner_a, &w.club.a, "overview");
    assert_eq!(o["total_revenue"], 350_000);
    assert_eq!(o["total_transactions"], 4);
    assert_eq!(
        (
            o["new_customers"].as_i64(),
            o["returning_customers"].as_i64()
        ),
        (Some(4), Some(0))
    );
    assert_eq!(o["avg_check"], 87_500);
    assert_eq!(o["previous_period"]["total_revenue"], 0);

    // B's new customers: three came from A, one came to nobody first.
    let s = report(&w, owner_b, &w.club.b, "customer-sources");
    assert_eq!(s["new_customers"], 4);
    let sources = s["sources"].as_array().unwrap();
    assert_eq!(sources.len(), 1);
    assert_eq!(sources[0]["source_business_id"], w.club.a.as_str());
    assert_eq!(sources[0]["source_business_name"], "Analytics Salon");
    assert_eq!(sources[0]["customers_count"], 3);
    assert_eq!(sources[0]["revenue"], 90_000);
    assert_eq!(sources[0]["conversion_rate"], 0.75, "3 of A's 4 customers");
    assert_eq!(s["direct"]["customers_count"], 1);

    // A's customers went on to B (three of them); the fourth came from B.
    let d = report(&w, owner_a, &w.club.a, "customer-destinations");
    assert_eq!(d["customers"], 4);
    let dest = d["destinations"].as_array().unwrap();
    assert_eq!(dest.len(), 1);
    assert_eq!(dest[0]["destination_business_id"], w.club.b.as_str());
    assert_eq!(dest[0]["customers_count"], 3);
    assert_eq!(d["no_next_purchase"], 1);
    // Nobody's customer is ever named in another business's report.
    assert!(!d.to_string().contains("member_id"));

    // Chains appear once the nightly job has run.
    let before = report(&w, owner_a, &w.club.a, "win-win-chains");
    assert!(before["computed_at"].is_null());
    assert_eq!(before["chains"], json!([]));
    w.club.app.run_job("analytics-nightly");
    let ch = report(&w, owner_a, &w.club.a, "win-win-chains");
    let chains = ch["chains"].as_array().unwrap();
    assert_eq!(chains.len(), 1, "{ch}");
    assert_eq!(
        chains[0]["pattern"],
        "Analytics Salon → Analytics Bistro → Analytics Florist"
    );
    assert_eq!(chains[0]["frequency"], 3);
    assert_eq!(chains[0]["avg_ltv"], 150_000);
    let c_chains = report(&w, &w.club.admin.access, &w.c, "win-win-chains");
    assert_eq!(c_chains["chains"].as_array().unwrap().len(), 1);

    let rfm = report(&w, &w.manager_a.access, &w.club.a, "rfm-segments");
    assert_eq!(rfm["customers"], 4);
    assert_eq!(rfm["segments"].as_array().unwrap().len(), 7);
    let churn = report(&w, &w.manager_a.access, &w.club.a, "churn-risk");
    assert_eq!(churn["total"], 0, "nobody has a usual gap yet");

    let club = get(&w, Some(&w.club.admin.access), "/api/v1/analytics/club");
    assert_eq!(club.status, 200, "{}", club.text());
    let club = club.json();
    assert_eq!(club["total_revenue"], 350_000 + 120_000 + 60_000);
    assert_eq!(club["north_star"]["active_members"], 4);
    assert_eq!(
        club["north_star"]["value"], 1.0,
        "everyone bought in two categories"
    );
    assert!(club["top_links"].as_array().unwrap().len() >= 3);
    assert!(club["members_total"].as_i64().unwrap() >= 4);
}

#[test]
fn each_role_sees_exactly_its_reports() {
    let w = world();
    shop(&w);
    let a = &w.club.a;
    let reports = [
        ("overview", false),
        ("rfm-segments", false),
        ("churn-risk", false),
        ("customer-sources", true),
        ("customer-destinations", true),
        ("win-win-chains", true),
        ("export", true),
    ];
    let before = w.club.app.table_counts();
    for (name, owners_only) in reports {
        let path = format!("/api/v1/analytics/businesses/{a}/{name}");
        let status = |bearer: Option<&str>| get(&w, bearer, &path).status;
        assert_eq!(status(Some(&w.club.staff_a.access)), 200, "owner: {name}");
        assert_eq!(status(Some(&w.club.admin.access)), 200, "admin: {name}");
        let manager = if owners_only { 403 } else { 200 };
        assert_eq!(
            status(Some(&w.manager_a.access)),
            manager,
            "manager: {name}"
        );
        assert_eq!(
            status(Some(&w.club.staff_b.access)),
            403,
            "another business's owner: {name}"
        );
        assert_eq!(status(Some(&w.club.member.access)), 403, "a member: {name}");
        assert_eq!(status(Some(&w.club.key_a)), 403, "an API key: {name}");
        assert_eq!(status(None), 401, "no credentials: {name}");
        assert_eq!(status(Some("not-a-token")), 401, "a bad token: {name}");
    }
    let club = "/api/v1/analytics/club";
    assert_eq!(get(&w, Some(&w.club.staff_a.access), club).status, 403);
    assert_eq!(get(&w, Some(&w.manager_a.access), club).status, 403);
    assert_eq!(get(&w, None, club).status, 401);

    // Bad input: 4xx with a code, nothing written.
    let overview = format!("/api/v1/analytics/businesses/{a}/overview");
    let admin = Some(w.club.admin.access.as_str());
    for (query, code) in [
        ("?from=2026-03-01&to=2026-02-01", "INVALID_PERIOD"),
        ("?from=2020-01-01&to=2026-01-01", "INVALID_PERIOD"),
        ("?from=01.02.2026", "INVALID_FIELD"),
        ("?to=2026-13-01", "INVALID_FIELD"),
        ("?from=", "INVALID_FIELD"),
    ] {
        let resp = get(&w, admin, &format!("{overview}{query}"));
        assert_eq!(
            (resp.status, resp.error_code()),
            (422, code.to_string()),
            "{query}"
        );
    }
    let resp = get(&w, admin, &format!("{club}?from=yesterday"));
    assert_eq!(resp.status, 422);
    for id in ["01890a5d-ac96-774b-bcce-b302099a8057", "not-an-id"] {
        let resp = get(
            &w,
            admin,
            &format!("/api/v1/analytics/businesses/{id}/overview"),
        );
        assert_eq!(
            (resp.status, resp.error_code()),
            (404, "BUSINESS_NOT_FOUND".to_string())
        );
    }
    let resp = get(
        &w,
        admin,
        &format!("/api/v1/analytics/businesses/{a}/churn-risk?limit=0"),
    );
    assert_eq!(resp.status, 422);
    let resp = get(
        &w,
        admin,
        &format!("/api/v1/analytics/businesses/{a}/export?format=xlsx"),
    );
    assert_eq!(resp.status, 422);
    let resp = w
        .club
        .app
        .client
        .post(&overview)
        .bearer(&w.club.admin.access)
        .json(&json!({}))
        .send();
    assert_eq!(resp.status, 405);
    assert_eq!(
        w.club.app.table_counts(),
        before,
        "a report wrote something"
    );
}

#[test]
fn export_reads_back_and_sums_to_the_overview() {
    let w = world();
    shop(&w);
    let owner_a = &w.club.staff_a.access;
    let resp = get(
        &w,
        Some(owner_a),
        &format!(
            "/api/v1/analytics/businesses/{}/export?format=csv",
            w.club.a
        ),
    );
    assert_eq!(resp.status, 200, "{}", resp.text());
    assert!(resp.header("content-type").unwrap().starts_with("text/csv"));
    assert!(resp
        .header("content-disposition")
        .unwrap()
        .contains("attachment"));
    assert_eq!(resp.header("x-content-type-options"), Some("nosniff"));
    let text = resp.text();
    let body = text
        .strip_prefix('\u{feff}')
        .expect("a UTF-8 byte-order mark");
    let mut reader = csv::Reader::from_reader(body.as_bytes());
    let headers = reader.headers().unwrap().clone();
    let net = headers.iter().position(|h| h == "net_amount").unwrap();
    let description = headers.iter().position(|h| h == "description").unwrap();
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 4);
    let sum: i64 = rows.iter().map(|r| r[net].parse::<i64>().unwrap()).sum();
    let overview = report(&w, owner_a, &w.club.a, "overview");
    assert_eq!(sum, overview["total_revenue"].as_i64().unwrap());
    assert!(rows.iter().all(|r| &r[description] == "Букет"));
    assert!(!text.contains("+7999"), "no phones in an export");
}

/// A strict reading of the text exposition format 0.0.4: every sample
/// belongs to a family declared with `# HELP` and `# TYPE` before it, names
/// and labels are well formed, values are numbers.
fn parse_exposition(text: &str) -> BTreeMap<String, (String, Vec<(String, f64)>)> {
    let mut families: BTreeMap<String, (String, Vec<(String, f64)>)> = BTreeMap::new();
    let mut helped = std::collections::BTreeSet::new();
    let name_ok = |n: &str| {
        !n.is_empty()
            && n.chars().enumerate().all(|(i, c)| {
                c.is_ascii_alphabetic() || c == '_' || c == ':' || (i > 0 && c.is_ascii_digit())
            })
    };
    assert!(text.ends_with('\n'), "the exposition ends with a line feed");
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# HELP ") {
            let (name, help) = rest.split_once(' ').expect("HELP has text");
            assert!(name_ok(name) && !help.is_empty(), "{line}");
            assert!(helped.insert(name.to_string()), "HELP twice: {line}");
        } else if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').expect("TYPE has a kind");
            assert!(
                ["counter", "gauge", "histogram", "summary", "untyped"].contains(&kind),
                "{line}"
            );
            assert!(helped.contains(name), "TYPE before HELP: {line}");
            assert!(
                families
                    .insert(name.to_string(), (kind.to_string(), Vec::new()))
                    .is_none(),
                "{line}"
            );
        } else {
            assert!(
                !line.starts_with('#') && !line.is_empty(),
                "stray line {line:?}"
            );
            let (series, value) = line.rsplit_once(' ').expect("a sample has a value");
            let value: f64 = value.parse().unwrap_or_else(|_| panic!("value of {line}"));
            let name = series.split('{').next().unwrap();
            if let Some(labels) = series.strip_prefix(name).filter(|l| !l.is_empty()) {
                let inner = labels
                    .strip_prefix('{')
                    .and_then(|l| l.strip_suffix('}'))
                    .expect(line);
                for pair in inner.split(',') {
                    let (k, v) = pair.split_once('=').expect(line);
                    assert!(
                        name_ok(k) && v.starts_with('"') && v.ends_with('"') && v.len() >= 2,
                        "{line}"
                    );
                }
            }
            let family = families
                .get_mut(name)
                .unwrap_or_else(|| panic!("sample before TYPE: {line}"));
            family.1.push((series.to_string(), value));
        }
    }
    families
}

#[test]
fn metrics_are_valid_exposition_behind_the_token() {
    let w = world();
    shop(&w);
    assert_eq!(get(&w, None, "/metrics").status, 401);
    assert_eq!(get(&w, Some("wrong"), "/metrics").status, 401);
    assert_eq!(
        get(&w, Some(&w.club.admin.access), "/metrics").status,
        401,
        "an admin token is not the metrics token"
    );
    let resp = get(&w, Some(METRICS_TOKEN), "/metrics");
    assert_eq!(resp.status, 200, "{}", resp.text());
    assert!(resp
        .header("content-type")
        .unwrap()
        .starts_with("text/plain; version=0.0.4"));
    let families = parse_exposition(&resp.text());
    for name in [
        "krug_members",
        "krug_purchases_total",
        "krug_points_outstanding",
        "krug_webhook_deliveries_total",
        "krug_outbox_pending",
        "krug_sync_runs_total",
    ] {
        assert!(families.contains_key(name), "{name} missing");
    }
    let purchases = &families["krug_purchases_total"];
    assert_eq!(purchases.0, "counter");
    assert_eq!(
        purchases.1,
        vec![("krug_purchases_total{source=\"pos\"}".to_string(), 11.0)]
    );
    let pending: f64 = families["krug_points_outstanding"]
        .1
        .iter()
        .filter(|(s, _)| s.contains("pending"))
        .map(|(_, v)| v)
        .sum();
    assert!(pending > 0.0, "the purchases' points are pending");
    assert_eq!(
        get(&w, Some(METRICS_TOKEN), "/metrics")
            .text()
            .lines()
            .count(),
        resp.text().lines().count(),
        "reading metrics changes nothing"
    );
}
