//! The authorization matrix: `tests/e2e/authorization.md` says, for every
//! documented operation and every kind of caller, whether the caller gets
//! past authorization (`ok`) or is refused, and how (`401`, `403`, `404`).
//! One test walks every cell through the host. The table must name every
//! operation of `static/openapi.json`, and the document every route in the
//! components' route tables, so a new route without its row fails here.
//!
//! Set `KRUG_AUTHZ_RECORD=<file>` to also write the observed table there (to
//! draft the row of a new route; review it before copying it over).

use std::{collections::BTreeMap, collections::HashMap};

use krug_e2e::{openapi, spawn_auth_app_with, Cast, Club, TestResponse};
use serde_json::{json, Value};

/// The callers, in the table's column order.
const ROLES: [&str; 9] = [
    "anonymous",
    "member",
    "other member",
    "manager A",
    "owner A",
    "staff B",
    "key A",
    "key B",
    "admin",
];

/// An id that names nothing.
const NOBODY: &str = "01890a5d-ac96-774b-bcce-b302099a8057";

/// The documented methods, upper-case, in table order.
const METHODS: [&str; 5] = ["GET", "POST", "PUT", "PATCH", "DELETE"];

/// The club the matrix is walked in, with one real resource of each kind
/// that path parameters name (so "yours" and "theirs" differ).
struct World {
    club: Club,
    /// Bearer credential per role (None for anonymous).
    creds: Vec<Option<String>>,
    promo_a: String,
    event_a: String,
    /// A second event of A, for the cancel route (so the first stays open).
    event_to_cancel: String,
    ticket: String,
    dispute: String,
    /// The member's ticket code for event A.
    ticket_code: String,
    card: String,
    other_member: String,
}

fn world() -> World {
    // The webhook and metrics secrets are set, so those routes answer for
    // their credentials rather than as unconfigured.
    let app = spawn_auth_app_with(HashMap::from([
        (
            "payments_webhook_secret".to_string(),
            "matrix-secret".to_string(),
        ),
        ("metrics_token".to_string(), "matrix-metrics".to_string()),
    ]));
    let club = Club::open(
        app,
        &Cast {
            a: ("Matrix Salon", "beauty"),
            b: ("Matrix Bistro", "gastronomy"),
            role: "owner",
            phones: ["+79995560001", "+79995560002", "+79995560003"],
        },
    );
    let app = &club.app;
    let other = app.login("+79995560004");
    let manager_a = app.staff_login(&club.admin, &club.a, "+79995560005", "manager");
    let (_, key_b) = app.issue_api_key(&club.admin, &club.b);

    let created = |resp: TestResponse| -> String {
        assert_eq!(resp.status, 201, "{}", resp.text());
        resp.json()["id"].as_str().expect("id").to_string()
    };
    let promo_a = created(
        app.client
            .post("/api/v1/admin/promos")
            .bearer(&club.staff_a.access)
            .json(&json!({ "code": "MATRIX10", "name": "Matrix", "kind": "percent", "value": 10 }))
            .send(),
    );
    let event_a = created(
        app.client
            .post("/api/v1/admin/events")
            .bearer(&club.staff_a.access)
            .json(&event_body(&club.a))
            .send(),
    );
    let event_to_cancel = created(
        app.client
            .post("/api/v1/admin/events")
            .bearer(&club.staff_a.access)
            .json(&event_body(&club.a))
            .send(),
    );
    let registered = app
        .client
        .post(&format!("/api/v1/events/{event_a}/register"))
        .bearer(&club.member.access)
        .json(&json!({}))
        .send();
    assert_eq!(registered.status, 201, "{}", registered.text());
    let ticket_code = registered.json()["ticket"]["code"]
        .as_str()
        .expect("ticket code")
        .to_string();
    let card = app.card_number(&club.member);
    let bought = app
        .client
        .post("/api/v1/pos/purchases")
        .bearer(&club.key_a)
        .header("idempotency-key", "matrix-purchase")
        .json(&json!({ "member": { "card_number": card }, "amount": 150_000 }))
        .send();
    assert_eq!(bought.status, 201, "{}", bought.text());
    let purchase = bought.json()["purchase_id"]
        .as_str()
        .expect("purchase_id")
        .to_string();
    let dispute = created(
        app.client
            .post("/api/v1/support/disputes")
            .bearer(&club.member.access)
            .json(&json!({ "purchase_id": purchase, "reason": "Недовес", "requested": "compensation", "amount": 10_000 }))
            .send(),
    );
    let ticket = created(
        app.client
            .post("/api/v1/support/tickets")
            .bearer(&club.member.access)
            .json(&json!({ "subject": "Вопрос", "body": "Где мои баллы?", "business_id": club.a }))
            .send(),
    );

    let other_member = other.member_id.clone();
    let creds = vec![
        None,
        Some(club.member.access.clone()),
        Some(other.access),
        Some(manager_a.access),
        Some(club.staff_a.access.clone()),
        Some(club.staff_b.access.clone()),
        Some(club.key_a.clone()),
        Some(key_b),
        Some(club.admin.access.clone()),
    ];
    World {
        club,
        creds,
        promo_a,
        event_a,
        event_to_cancel,
        ticket,
        dispute,
        ticket_code,
        card,
        other_member,
    }
}

/// A valid event of `business`, a week ahead.
fn event_body(business: &str) -> Value {
    json!({
        "title": "Вечер", "description": "Встреча клуба", "type": "tasting",
        "format": "free", "price": 0, "business_id": business, "capacity": 20,
        "starts_at": krug_e2e::rfc3339_in(7 * 86_400),
        "ends_at": krug_e2e::rfc3339_in(7 * 86_400 + 3 * 3600),
        "address": "ул. Примерная, 10"
    })
}

/// A valid body for the writes whose answer depends on whose resource it
/// names (with `{}` every caller would learn only what the body lacks, and
/// ownership would go unasked); `{}` for the rest.
fn body_for(method: &str, template: &str, w: &World) -> Value {
    let a = &w.club.a;
    let key = krug_e2e::random_hex(6);
    match (method, template) {
        ("POST", "/api/v1/admin/promos") => {
            json!({ "name": "Чужая акция", "kind": "percent", "value": 5, "businesses": [a] })
        }
        ("PATCH", "/api/v1/admin/promos/{id}") => json!({ "name": "Переименована" }),
        ("POST", "/api/v1/admin/events") => event_body(a),
        ("PATCH", "/api/v1/admin/events/{id}") => json!({ "title": "Новый вечер" }),
        ("POST", "/api/v1/admin/events/{id}/invitations") => {
            json!({ "member_id": w.other_member })
        }
        ("POST", "/api/v1/events/{id}/check-in") => json!({ "ticket_code": w.ticket_code }),
        ("POST", "/api/v1/admin/preorder-items") => json!({
            "business_id": a, "title": "Набор", "release_at": krug_e2e::rfc3339_in(30 * 86_400),
            "cancellation_deadline": krug_e2e::rfc3339_in(20 * 86_400),
            "refund_policy": { "full_until": krug_e2e::rfc3339_in(10 * 86_400), "partial_percent": 50,
                               "none_after": krug_e2e::rfc3339_in(20 * 86_400) }
        }),
        ("PATCH", "/api/v1/support/tickets/{id}") => json!({ "priority": "high" }),
        ("POST", "/api/v1/support/tickets/{id}/messages") => json!({ "body": "Ещё вопрос" }),
        ("POST", "/api/v1/support/disputes/{id}/decision") => {
            json!({ "decision": "reject", "note": "Проверено" })
        }
        ("POST", "/api/v1/pos/identify") => json!({ "business_id": a, "card_number": w.card }),
        ("POST", "/api/v1/pos/purchases") => {
            json!({ "business_id": a, "member": { "card_number": w.card }, "amount": 10_000, "external_id": key })
        }
        ("POST", "/api/v1/pos/compensations") => json!({
            "business_id": a, "member": { "card_number": w.card }, "points": 100,
            "reason": "Недовес", "order_ref": key
        }),
        _ => json!({}),
    }
}

/// `template` with its parameters filled: business ids with business A,
/// the club's own resources where the world has one, anything else with an
/// id that names nothing (the caller's right is what is asked, not the
/// resource's existence).
fn concrete(template: &str, w: &World) -> String {
    let parts: Vec<&str> = template.split('/').collect();
    let filled: Vec<String> = parts
        .iter()
        .enumerate()
        .map(|(i, seg)| {
            if !(seg.starts_with('{') && seg.ends_with('}')) {
                return seg.to_string();
            }
            let parent = if i > 0 { parts[i - 1] } else { "" };
            match (parent, *seg) {
                ("businesses", _) => w.club.a.clone(),
                ("flags", _) => "reviews".to_string(),
                ("jobs", _) => "expire-points".to_string(),
                ("promos", _) => w.promo_a.clone(),
                ("events", _) if template.ends_with("/cancel") => w.event_to_cancel.clone(),
                ("events", _) if !template.contains("/proposals/") => w.event_a.clone(),
                ("tickets", _) => w.ticket.clone(),
                ("disputes", _) => w.dispute.clone(),
                _ => NOBODY.to_string(),
            }
        })
        .collect();
    let mut path = filled.join("/");
    let op = &openapi::document()["paths"][template];
    let declares_business = op
        .as_object()
        .into_iter()
        .flat_map(|o| o.values())
        .filter_map(|v| v.get("parameters").and_then(Value::as_array))
        .flatten()
        .any(|p| p["in"] == "query" && p["name"] == "business_id");
    if declares_business {
        path.push_str(&format!("?business_id={}", w.club.a));
    }
    path
}

/// What a response says about authorization.
fn class_of(resp: &TestResponse) -> String {
    match resp.status {
        401 | 403 | 404 => resp.status.to_string(),
        s if s >= 500 => format!("5xx ({s})"),
        _ => "ok".to_string(),
    }
}

/// Every documented `(METHOD, template)`, in document order.
fn documented() -> Vec<(String, String)> {
    let mut ops = Vec::new();
    for (template, item) in openapi::document()["paths"].as_object().unwrap() {
        for m in METHODS {
            if item.get(m.to_ascii_lowercase()).is_some() {
                ops.push((m.to_string(), template.clone()));
            }
        }
    }
    ops
}

/// The rows of `tests/e2e/authorization.md`: operation → one class per role.
fn table() -> BTreeMap<String, Vec<String>> {
    let path = krug_e2e::repo_root().join("tests/e2e/authorization.md");
    let text = std::fs::read_to_string(&path).expect("tests/e2e/authorization.md is readable");
    let mut rows = BTreeMap::new();
    for line in text.lines() {
        let cells: Vec<String> = line
            .trim()
            .trim_matches('|')
            .split('|')
            .map(|c| c.trim().trim_matches('`').to_string())
            .collect();
        let Some(first) = cells.first() else { continue };
        if !METHODS.iter().any(|m| first.starts_with(&format!("{m} /"))) {
            continue;
        }
        assert_eq!(
            cells.len(),
            ROLES.len() + 1,
            "row `{first}` needs one cell per role ({})",
            ROLES.join(", ")
        );
        for c in &cells[1..] {
            assert!(
                ["ok", "401", "403", "404"].contains(&c.as_str()),
                "row `{first}`: `{c}` is not one of ok, 401, 403, 404"
            );
        }
        assert!(
            rows.insert(first.clone(), cells[1..].to_vec()).is_none(),
            "row `{first}` is listed twice"
        );
    }
    rows
}

/// Sends `method template` (filled as `path`) as `role`, with the body of
/// [`body_for`] when the operation takes one, and an idempotency key.
fn send(w: &World, role: usize, method: &str, template: &str, path: &str) -> TestResponse {
    let mut req = w.club.app.client.request(method, path).header(
        "idempotency-key",
        &format!("matrix-{}", krug_e2e::random_hex(8)),
    );
    let op = &openapi::document()["paths"][template][method.to_ascii_lowercase()];
    if op["requestBody"]["content"]
        .get("application/json")
        .is_some()
    {
        req = req.json(&body_for(method, template, w));
    }
    if let Some(token) = &w.creds[role] {
        req = req.bearer(token);
    }
    req.send()
}

#[test]
fn every_role_on_every_route_gets_what_the_matrix_says() {
    let expected = table();
    let ops = documented();
    let w = world();
    let mut observed: BTreeMap<String, Vec<String>> = BTreeMap::new();
    // Erasing oneself ends the caller's session, so it goes last.
    let (last, first): (Vec<_>, Vec<_>) = ops
        .iter()
        .partition(|(m, t)| m == "DELETE" && t == "/api/v1/me");
    for (method, template) in first.into_iter().chain(last) {
        let path = concrete(template, &w);
        let row: Vec<String> = (0..ROLES.len())
            .map(|role| class_of(&send(&w, role, method, template, &path)))
            .collect();
        observed.insert(format!("{method} {template}"), row);
    }

    if let Ok(out) = std::env::var("KRUG_AUTHZ_RECORD") {
        let mut text = format!("| operation | {} |\n|---|", ROLES.join(" | "));
        text.push_str(&"---|".repeat(ROLES.len()));
        text.push('\n');
        for (method, template) in &ops {
            let key = format!("{method} {template}");
            text.push_str(&format!("| `{key}` | {} |\n", observed[&key].join(" | ")));
        }
        std::fs::write(out, text).expect("write the recorded table");
    }

    let missing: Vec<String> = ops
        .iter()
        .map(|(m, t)| format!("{m} {t}"))
        .filter(|op| !expected.contains_key(op))
        .collect();
    assert!(
        missing.is_empty(),
        "tests/e2e/authorization.md has no row for:\n{}",
        missing.join("\n")
    );
    let stale: Vec<&String> = expected
        .keys()
        .filter(|op| !ops.iter().any(|(m, t)| &format!("{m} {t}") == *op))
        .collect();
    assert!(
        stale.is_empty(),
        "rows for undocumented operations: {stale:?}"
    );

    let mut failures = Vec::new();
    for (op, row) in &observed {
        for (role, (got, want)) in row.iter().zip(&expected[op]).enumerate() {
            if got != want {
                failures.push(format!("{op} as {}: {got}, table says {want}", ROLES[role]));
            }
        }
    }
    let cells = observed.len() * ROLES.len();
    println!(
        "authorization matrix: {} operations × {} roles = {cells} cells, {} failures",
        observed.len(),
        ROLES.len(),
        failures.len()
    );
    if let Ok(dir) = std::env::var("KRUG_RELIABILITY_OUT") {
        let summary = json!({ "cells": cells, "operations": observed.len(), "roles": ROLES.len(), "failures": failures.len() });
        std::fs::write(
            std::path::Path::new(&dir).join("authz.json"),
            summary.to_string(),
        )
        .expect("write authz.json");
    }
    assert!(
        failures.is_empty(),
        "{} cells differ from tests/e2e/authorization.md:\n{}",
        failures.len(),
        failures.join("\n")
    );
    w.club.app.assert_ledger_sound();
}

/// One arm of a component's route table: method and path segments
/// (`None` for a parameter).
type SourceRoute = (String, Vec<Option<String>>);

/// Every arm of every `routes!` table under `functions/*/src/lib.rs`.
fn source_routes() -> Vec<SourceRoute> {
    let mut out = Vec::new();
    let functions = krug_e2e::repo_root().join("functions");
    for entry in std::fs::read_dir(&functions).expect("functions/") {
        let lib = entry.expect("entry").path().join("src/lib.rs");
        let Ok(text) = std::fs::read_to_string(&lib) else {
            continue;
        };
        let bytes = text.as_bytes();
        let mut at = 0;
        while let Some(open) = text[at..].find('[').map(|i| i + at) {
            at = open + 1;
            let Some(close) = text[open..].find(']').map(|i| i + open) else {
                break;
            };
            let after = text[close + 1..].trim_start();
            if !after.starts_with("=> {") {
                continue;
            }
            let inner = &text[open + 1..close];
            if inner.contains("..") || inner.contains('\n') && !inner.contains('"') {
                continue;
            }
            let segs: Vec<Option<String>> = inner
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(|s| {
                    s.strip_prefix('"')
                        .and_then(|s| s.strip_suffix('"'))
                        .map(str::to_string)
                })
                .collect();
            if segs.is_empty() {
                continue;
            }
            // The arm's body: up to its matching brace.
            let body_start = close + 1 + text[close + 1..].find('{').expect("brace");
            let mut depth = 0;
            let mut end = body_start;
            for (i, b) in bytes.iter().enumerate().skip(body_start) {
                match b {
                    b'{' => depth += 1,
                    b'}' => {
                        depth -= 1;
                        if depth == 0 {
                            end = i;
                            break;
                        }
                    }
                    _ => {}
                }
            }
            let body = &text[body_start..end];
            for m in METHODS {
                if body.contains(&format!("{m} =>")) {
                    out.push((m.to_string(), segs.clone()));
                }
            }
        }
    }
    out
}

#[test]
fn every_route_in_the_components_is_documented() {
    let routes = source_routes();
    assert!(routes.len() >= 100, "read {} routes", routes.len());
    let documented: HashMap<String, Vec<String>> =
        documented()
            .into_iter()
            .fold(HashMap::new(), |mut acc, (m, t)| {
                acc.entry(t).or_default().push(m);
                acc
            });
    let prefixes: [&[&str]; 3] = [&[], &["api", "v1"], &["api", "v1", "analytics"]];
    let mut undocumented = Vec::new();
    for (method, segs) in &routes {
        let found = prefixes.iter().any(|prefix| {
            documented.iter().any(|(template, methods)| {
                let parts: Vec<&str> = template.split('/').filter(|s| !s.is_empty()).collect();
                parts.len() == prefix.len() + segs.len()
                    && parts.iter().zip(prefix.iter()).all(|(p, q)| p == q)
                    && parts[prefix.len()..]
                        .iter()
                        .zip(segs)
                        .all(|(p, s)| match s {
                            Some(lit) => p == lit,
                            None => p.starts_with('{'),
                        })
                    && methods.contains(method)
            })
        });
        if !found {
            let path: Vec<String> = segs
                .iter()
                .map(|s| s.clone().unwrap_or_else(|| "{…}".into()))
                .collect();
            undocumented.push(format!("{method} …/{}", path.join("/")));
        }
    }
    assert!(
        undocumented.is_empty(),
        "routes the OpenAPI document (and so the matrix) lacks:\n{}",
        undocumented.join("\n")
    );
}
