//! The contract as a whole, driven by the OpenAPI document: every operation
//! that takes a JSON body refuses arrays in place of objects and bytes that
//! are not UTF-8 without writing anything; every documented path answers an
//! undocumented method with 405 and an exact `Allow`; callers are checked
//! before bodies; names that would display as something else are refused.
//! (Every response of every e2e test is also held against the document by
//! the checked client; see `krug_e2e::openapi`.)

use std::collections::HashMap;

use krug_core::payments::signature;
use krug_e2e::{openapi, spawn_auth_app_with, Cast, Club, TestResponse};
use serde_json::{json, Value};

const SECRET: &str = "contract-webhook-secret";

/// The Saleor shop's keys, for the Saleor webhook's signed deliveries.
fn saleor_keys() -> &'static krug_e2e::saleor::Jwks {
    static JWKS: std::sync::OnceLock<krug_e2e::saleor::Jwks> = std::sync::OnceLock::new();
    JWKS.get_or_init(krug_e2e::saleor::Jwks::start)
}

fn club() -> Club {
    let app = spawn_auth_app_with(HashMap::from([
        ("saleor_api_url".to_string(), saleor_keys().server.url()),
        (
            "saleor_business_id".to_string(),
            "01890a5d-ac96-774b-bcce-b302099a8058".to_string(),
        ),
        ("payments_webhook_secret".to_string(), SECRET.to_string()),
        // The test client connects from 127.0.0.1.
        (
            "yookassa_allowed_ips".to_string(),
            "127.0.0.1/32".to_string(),
        ),
    ]));
    Club::open(
        app,
        &Cast {
            a: ("Contract Salon", "beauty"),
            b: ("Contract Bistro", "gastronomy"),
            role: "owner",
            phones: ["+79995550001", "+79995550002", "+79995550003"],
        },
    )
}

/// Row counts that a refused request must leave as they were. Webhook
/// delivery counters are metrics (a refused delivery is counted as such),
/// not state, so they are left out.
fn state(club: &Club) -> std::collections::BTreeMap<String, i64> {
    let mut counts = club.app.table_counts();
    counts.remove("webhook_counters");
    counts
}

/// Every documented `(METHOD, template)` with a JSON request body.
fn json_body_operations() -> Vec<(String, String)> {
    let doc = openapi::document();
    let mut ops = Vec::new();
    for (template, item) in doc["paths"].as_object().unwrap() {
        for method in openapi::METHODS {
            let Some(op) = item.get(method) else { continue };
            // Telegram redelivers every non-2xx forever, so its webhook
            // answers 200 `ignored` to any body once the secret is right.
            if template == "/webhooks/telegram" {
                continue;
            }
            if op["requestBody"]["content"]
                .get("application/json")
                .is_some()
            {
                ops.push((method.to_ascii_uppercase(), template.clone()));
            }
        }
    }
    assert!(
        ops.len() >= 20,
        "the document lists {} JSON bodies",
        ops.len()
    );
    ops
}

/// `template` with its parameters filled: business ids with business A
/// (so the caller's right to it is not what fails), anything else with an
/// id that names nothing.
fn concrete(template: &str, club: &Club) -> String {
    template
        .split('/')
        .map(|seg| {
            if !(seg.starts_with('{') && seg.ends_with('}')) {
                seg.to_string()
            } else if template.starts_with("/api/v1/admin/businesses/{id}") && seg == "{id}" {
                club.a.clone()
            } else if seg == "{name}" && template.contains("/flags/") {
                "reviews".to_string()
            } else if seg == "{name}" {
                "expire-points".to_string()
            } else {
                "01890a5d-ac96-774b-bcce-b302099a8057".to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// Sends `body` as JSON to `method path` as the admin (or, for webhooks, as
/// the provider would: signed / from an allowed address).
fn send_as_admin(club: &Club, method: &str, path: &str, body: Vec<u8>) -> TestResponse {
    // A key, for the routes that require one (it must not be what fails).
    let mut req = club
        .app
        .client
        .request(method, path)
        .header(
            "idempotency-key",
            &format!("contract-{}", krug_e2e::random_hex(8)),
        )
        .raw_json(body.clone());
    if path == "/webhooks/payments/generic" {
        req = req.header(
            "krug-signature",
            &signature::sign(SECRET, krug_e2e::unix_now(), &body),
        );
    } else if path == "/webhooks/saleor" {
        let k = krug_e2e::saleor::first_key();
        req = req
            .header("saleor-event", "order_paid")
            .header("saleor-signature", &krug_e2e::saleor::sign(k, "k1", &body));
    } else if path.ends_with("/reply") {
        // Replies are written by the business's staff, never by admins.
        req = req.bearer(&club.staff_a.access);
    } else if !path.starts_with("/api/v1/auth/") && !path.starts_with("/webhooks/") {
        req = req.bearer(&club.admin.access);
    }
    req.send()
}

#[test]
fn json_arrays_are_never_read_as_objects() {
    let club = club();
    let before = state(&club);
    for (method, template) in json_body_operations() {
        let path = concrete(&template, &club);
        for body in [json!([null, null]), json!(["Array Biz", "beauty", 12345])] {
            let resp = send_as_admin(&club, &method, &path, body.to_string().into_bytes());
            assert_eq!(
                (resp.status, resp.error_code().as_str()),
                (422, "INVALID_FIELD"),
                "{method} {template} with {body}: {}",
                resp.text()
            );
        }
    }
    assert_eq!(state(&club), before, "a refused body wrote rows");
}

#[test]
fn nested_arrays_are_refused_with_their_path() {
    let club = club();
    let app = &club.app;
    let card = app
        .client
        .get("/api/v1/wallet")
        .bearer(&club.member.access)
        .send()
        .json()["card_number"]
        .as_str()
        .unwrap()
        .to_string();
    let before = app.table_counts();
    // The reported cases: positional bodies at the till, in /me and in admin.
    let till = app
        .client
        .post("/api/v1/pos/purchases")
        .bearer(&club.staff_a.access)
        .header("idempotency-key", "contract-array-1")
        .json(&json!([null, {"card_number": card}, 12345]))
        .send();
    assert_eq!(
        (till.status, till.error_code().as_str()),
        (422, "INVALID_FIELD")
    );
    let nested = app
        .client
        .post("/api/v1/pos/purchases")
        .bearer(&club.staff_a.access)
        .header("idempotency-key", "contract-array-2")
        .json(&json!({"member": [card], "amount": 12345}))
        .send();
    assert_eq!(nested.status, 422, "{}", nested.text());
    assert_eq!(nested.json()["error"]["details"]["field"], "member");
    let promo = app
        .client
        .post("/api/v1/admin/promos")
        .bearer(&club.admin.access)
        .json(&json!({
            "name": "Nested", "kind": "percent", "value": 10, "auto": true,
            "conditions": [1000, ["beauty"]]
        }))
        .send();
    assert_eq!(promo.status, 422, "{}", promo.text());
    assert_eq!(promo.json()["error"]["details"]["field"], "conditions");
    let me = app
        .client
        .patch("/api/v1/me")
        .bearer(&club.member.access)
        .json(&json!([
            "Ева",
            "Positional",
            "eve@example.com",
            "1990-01-02",
            "Казань"
        ]))
        .send();
    assert_eq!(me.status, 422, "{}", me.text());
    assert_eq!(app.table_counts(), before);
    let profile = app
        .client
        .get("/api/v1/me")
        .bearer(&club.member.access)
        .send()
        .json();
    assert_ne!(profile["first_name"], "Ева");
}

#[test]
fn bodies_that_are_not_utf8_are_malformed() {
    let club = club();
    let before = state(&club);
    for (method, template) in json_body_operations() {
        let path = concrete(&template, &club);
        for body in [
            b"{\"name\": \"\xff\xfe\"}".to_vec(),
            br#"{"name": "\ud800"}"#.to_vec(),
        ] {
            let resp = send_as_admin(&club, &method, &path, body.clone());
            assert_eq!(
                (resp.status, resp.error_code().as_str()),
                (400, "MALFORMED_JSON"),
                "{method} {template} with {}: {}",
                String::from_utf8_lossy(&body),
                resp.text()
            );
        }
    }
    assert_eq!(state(&club), before);
}

#[test]
fn undocumented_methods_are_405_with_allow() {
    let club = club();
    let doc = openapi::document();
    let mut checked = 0;
    for template in doc["paths"].as_object().unwrap().keys() {
        let path = concrete(template, &club);
        let documented = openapi::methods_of(template);
        for method in ["GET", "POST", "PUT", "PATCH", "DELETE", "TRACE"] {
            if documented.iter().any(|m| m == method) {
                continue;
            }
            let mut req = club.app.client.request(method, &path);
            req = if path.starts_with("/internal/") {
                req.bearer(&club.app.jobs_token)
            } else {
                req.bearer(&club.admin.access)
            };
            // The checked client asserts 405 and the exact Allow header.
            let resp = req.send();
            assert_eq!(resp.status, 405, "{method} {template}: {}", resp.text());
            assert_eq!(resp.error_code(), "METHOD_NOT_ALLOWED");
            checked += 1;
        }
    }
    assert!(checked > 150, "only {checked} method/path pairs tried");
    // The reported case, and a static file.
    let trace = club.app.client.request("TRACE", "/api/v1/me").send();
    assert_eq!(trace.header("allow"), Some("GET, PATCH, DELETE"));
    let page = club.app.client.request("POST", "/pos/").send();
    assert_eq!(
        (page.status, page.header("allow")),
        (405, Some("GET, HEAD"))
    );
}

#[test]
fn callers_are_checked_before_their_bodies() {
    let club = club();
    let doc = openapi::document();
    let before = state(&club);
    let mut tried = 0;
    for (method, template) in json_body_operations() {
        let op = &doc["paths"][template.as_str()][method.to_ascii_lowercase().as_str()];
        let tags: Vec<&str> = op["tags"]
            .as_array()
            .map(|t| t.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        if !(tags.contains(&"admin") || tags.contains(&"pos")) {
            continue;
        }
        let path = concrete(&template, &club);
        for body in [
            b"[]".to_vec(),
            b"{\"no_such_field\": true}".to_vec(),
            b"{".to_vec(),
        ] {
            // A plain member: 403 whatever the body.
            let member = club
                .app
                .client
                .request(&method, &path)
                .bearer(&club.member.access)
                .raw_json(body.clone())
                .send();
            assert_eq!(member.status, 403, "{method} {template}: {}", member.text());
            // Nobody: 401 whatever the body.
            let anonymous = club
                .app
                .client
                .request(&method, &path)
                .raw_json(body.clone())
                .send();
            assert_eq!(
                anonymous.status,
                401,
                "{method} {template}: {}",
                anonymous.text()
            );
            tried += 1;
        }
    }
    assert!(tried >= 30, "only {tried} cases");
    assert_eq!(state(&club), before);
}

#[test]
fn names_refuse_characters_that_display_as_something_else() {
    let club = club();
    let app = &club.app;
    let before = app.table_counts();
    for bad in [
        "Ева\u{202E}авЕ",
        "\u{2066}Admin\u{2069}",
        "Ева\u{200B}",
        "\u{FEFF}Ева",
        "Е\u{200D}ва",
        "Ева\u{061C}",
        "Ева\u{2028}",
    ] {
        for field in ["first_name", "last_name"] {
            let resp = app
                .client
                .patch("/api/v1/me")
                .bearer(&club.member.access)
                .json(&json!({ field: bad }))
                .send();
            assert_eq!(
                (resp.status, resp.error_code().as_str()),
                (422, "INVALID_NAME"),
                "{field} = {bad:?}: {}",
                resp.text()
            );
            assert_eq!(resp.json()["error"]["details"]["field"], field);
        }
        let business = app
            .client
            .post("/api/v1/admin/businesses")
            .bearer(&club.admin.access)
            .json(&json!({"name": format!("Shop {bad}"), "category": "beauty"}))
            .send();
        assert_eq!(business.status, 422, "{bad:?}: {}", business.text());
    }
    assert_eq!(app.table_counts(), before);
    for good in ["Ева-Мария", "Zoë", "O'Brien", "李小龙", "Ёлка Д'Арк"] {
        let resp = app
            .client
            .patch("/api/v1/me")
            .bearer(&club.member.access)
            .json(&json!({"first_name": good, "last_name": good}))
            .send();
        assert_eq!(resp.status, 200, "{good}: {}", resp.text());
        let me = app
            .client
            .get("/api/v1/me")
            .bearer(&club.member.access)
            .send()
            .json();
        assert_eq!(me["first_name"], good);
        assert_eq!(me["last_name"], good);
    }
}
