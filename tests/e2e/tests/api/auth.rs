//! Auth end to end through the host: login with a mock SMS gateway, rate
//! limits under racing requests, code tries, refresh rotation and reuse,
//! logout, erasure, roles, API keys, the audit log, and bad input on every
//! route.

use std::{collections::HashMap, time::Duration};

use krug_e2e::{code_in, spawn_auth_app, spawn_auth_app_with, AuthApp, MockServer, SMS_TOKEN};
use serde_json::{json, Value};

const PHONE: &str = "+79161234567";

fn count(app: &AuthApp, table: &str) -> i64 {
    app.count(&format!("SELECT COUNT(*) FROM {table}"))
}

const TABLES: [&str; 9] = [
    "members",
    "consents",
    "businesses",
    "staff",
    "api_keys",
    "login_families",
    "refresh_tokens",
    "otp_sends",
    "audit_log",
];

fn snapshot(app: &AuthApp) -> Vec<i64> {
    TABLES.iter().map(|t| count(app, t)).collect()
}

fn me(app: &AuthApp, access: &str) -> krug_e2e::TestResponse {
    app.client.get("/api/v1/me").bearer(access).send()
}

#[test]
fn full_login() {
    let app = spawn_auth_app();
    let resp = app
        .client
        .post("/api/v1/auth/otp")
        .json(&json!({ "phone": "8 (916) 123-45-67" }))
        .send();
    assert_eq!(resp.status, 202, "{}", resp.text());
    assert_eq!(resp.json(), json!({ "expires_in": 300 }));

    let sms = app.sms.wait_for(1, Duration::from_secs(5));
    assert_eq!(sms.len(), 1);
    assert_eq!(sms[0].method, "POST");
    assert_eq!(sms[0].path, "/");
    assert_eq!(
        sms[0].header("authorization"),
        Some(format!("Bearer {SMS_TOKEN}").as_str())
    );
    let body = sms[0].json();
    assert_eq!(body["to"], PHONE);
    let code = code_in(body["text"].as_str().unwrap()).expect("a code in the SMS");

    let resp = app
        .client
        .post("/api/v1/auth/verify")
        .json(&json!({
            "phone": "+7 916 123-45-67",
            "code": code,
            "first_name": "  Анна ",
            "consents": { "personal_data": true, "marketing": true }
        }))
        .send();
    assert_eq!(resp.status, 200, "{}", resp.text());
    let login = resp.json();
    assert_eq!(login["token_type"], "Bearer");
    assert_eq!(login["expires_in"], 900);
    assert_eq!(login["member"]["phone"], PHONE);
    assert_eq!(login["member"]["tier"], "insider");
    assert_eq!(login["member"]["is_new"], true);
    let access = login["access_token"].as_str().unwrap();
    assert_eq!(access.split('.').count(), 3);

    let profile = me(&app, access);
    assert_eq!(profile.status, 200, "{}", profile.text());
    let p = profile.json();
    assert_eq!(p["id"], login["member"]["id"]);
    assert_eq!(p["phone"], PHONE);
    assert_eq!(p["first_name"], "Анна");
    assert_eq!(p["roles"], json!(["member"]));
    assert_eq!(p["tier"], "insider");
    assert_eq!(p["marketing_consent"], true);
    assert_eq!(p["referral_code"].as_str().unwrap().len(), 8);
    assert_eq!(p["card_number"].as_str().unwrap().len(), 13);
    for field in ["email", "birth_date", "city", "last_name", "created_at"] {
        assert!(p.get(field).is_some(), "{field} missing");
    }

    // The same phone later: the same member.
    app.host.advance_clock(Duration::from_secs(61));
    let again = app.login(PHONE);
    assert!(!again.is_new);
    assert_eq!(again.member_id, login["member"]["id"].as_str().unwrap());
    assert_eq!(count(&app, "members"), 1);
}

#[test]
fn resend_inside_60_seconds_is_429_with_retry_after() {
    let app = spawn_auth_app();
    app.request_code(PHONE);
    let resp = app
        .client
        .post("/api/v1/auth/otp")
        .json(&json!({ "phone": PHONE }))
        .send();
    assert_eq!(resp.status, 429, "{}", resp.text());
    assert_eq!(resp.error_code(), "OTP_TOO_SOON");
    let retry: u64 = resp.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry), "{retry}");
    assert_eq!(app.sms.requests().len(), 1);
    app.host.advance_clock(Duration::from_secs(61));
    app.request_code(PHONE);
    assert_eq!(app.sms.requests().len(), 2);
}

#[test]
fn fifty_parallel_code_requests_send_one_sms() {
    let app = spawn_auth_app();
    let handles: Vec<_> = (0..50)
        .map(|_| {
            let client = app.client;
            std::thread::spawn(move || {
                client
                    .post("/api/v1/auth/otp")
                    .json(&json!({ "phone": PHONE }))
                    .send()
            })
        })
        .collect();
    let responses: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    let statuses: Vec<u16> = responses.iter().map(|r| r.status).collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 202).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 429).count(),
        49,
        "{statuses:?}"
    );
    assert!(responses
        .iter()
        .filter(|r| r.status == 429)
        .all(|r| r.header("retry-after").is_some() && r.error_code() == "OTP_TOO_SOON"));
    // Give any stray send time to arrive before counting.
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(app.sms.requests().len(), 1);
    assert_eq!(count(&app, "otp_sends"), 1);
}

#[test]
fn twenty_codes_per_client_ip_per_hour() {
    let app = spawn_auth_app();
    for i in 0..20 {
        let resp = app
            .client
            .post("/api/v1/auth/otp")
            .source_ip("127.0.0.7")
            .json(&json!({ "phone": format!("+7999300{i:04}") }))
            .send();
        assert_eq!(resp.status, 202, "{i}: {}", resp.text());
    }
    let limited = app
        .client
        .post("/api/v1/auth/otp")
        .source_ip("127.0.0.7")
        .json(&json!({ "phone": "+79993009999" }))
        .send();
    assert_eq!(limited.status, 429);
    assert_eq!(limited.error_code(), "OTP_RATE_LIMITED");
    assert!(
        limited
            .header("retry-after")
            .unwrap()
            .parse::<u64>()
            .unwrap()
            > 3000
    );
    let other_ip = app
        .client
        .post("/api/v1/auth/otp")
        .source_ip("127.0.0.8")
        .json(&json!({ "phone": "+79993009999" }))
        .send();
    assert_eq!(other_ip.status, 202, "{}", other_ip.text());
}

#[test]
fn five_wrong_codes_then_the_right_one_is_rejected() {
    let app = spawn_auth_app();
    let code = app.request_code(PHONE);
    let wrong = format!("{}{}", (code.as_bytes()[0] - b'0' + 1) % 10, &code[1..]);
    for _ in 0..5 {
        let resp = app.verify(PHONE, &wrong);
        assert_eq!(resp.status, 401, "{}", resp.text());
        assert_eq!(resp.error_code(), "INVALID_CODE");
    }
    let resp = app.verify(PHONE, &code);
    assert_eq!(resp.status, 401);
    assert_eq!(resp.error_code(), "INVALID_CODE");
    assert_eq!(count(&app, "members"), 0);
    assert_eq!(count(&app, "refresh_tokens"), 0);
}

#[test]
fn a_new_member_must_consent() {
    let app = spawn_auth_app();
    let code = app.request_code(PHONE);
    let resp = app
        .client
        .post("/api/v1/auth/verify")
        .json(&json!({ "phone": PHONE, "code": code }))
        .send();
    assert_eq!(resp.status, 422, "{}", resp.text());
    assert_eq!(resp.error_code(), "CONSENT_REQUIRED");
    assert_eq!(
        resp.json()["error"]["details"]["field"],
        "consents.personal_data"
    );
    assert_eq!(count(&app, "members"), 0);
    // The code survives, so the form can be sent again with consent.
    assert_eq!(app.verify(PHONE, &code).status, 200);
}

#[test]
fn a_failing_sms_gateway_is_503_and_does_not_use_up_the_slot() {
    let sms = MockServer::start(500, r#"{"error":"down"}"#);
    let app = spawn_auth_app_with(HashMap::from([("sms_gateway_url".into(), sms.url())]));
    for _ in 0..2 {
        let resp = app
            .client
            .post("/api/v1/auth/otp")
            .json(&json!({ "phone": PHONE }))
            .send();
        assert_eq!(resp.status, 503, "{}", resp.text());
        assert_eq!(resp.error_code(), "SMS_FAILED");
    }
    assert_eq!(sms.requests().len(), 2);
    assert_eq!(count(&app, "otp_sends"), 0);
}

fn refresh(app: &AuthApp, token: &str) -> krug_e2e::TestResponse {
    app.client
        .post("/api/v1/auth/refresh")
        .json(&json!({ "refresh_token": token }))
        .send()
}

#[test]
fn refresh_rotation_and_reuse_detection() {
    let app = spawn_auth_app();
    let login = app.login(PHONE);
    let first = refresh(&app, &login.refresh);
    assert_eq!(first.status, 200, "{}", first.text());
    let pair = first.json();
    let (access2, refresh2) = (
        pair["access_token"].as_str().unwrap().to_string(),
        pair["refresh_token"].as_str().unwrap().to_string(),
    );
    assert_ne!(refresh2, login.refresh);
    assert_eq!(me(&app, &access2).status, 200);

    let reused = refresh(&app, &login.refresh);
    assert_eq!(reused.status, 401);
    assert_eq!(reused.error_code(), "TOKEN_REUSED");
    // The whole login is gone: the newest refresh token and every access token.
    let after = refresh(&app, &refresh2);
    assert_eq!(after.status, 401);
    assert_eq!(after.error_code(), "INVALID_TOKEN");
    for access in [&login.access, &access2] {
        assert_eq!(me(&app, access).status, 401);
    }
}

#[test]
fn expired_access_tokens_are_refreshed() {
    let app = spawn_auth_app();
    let login = app.login(PHONE);
    app.host.advance_clock(Duration::from_secs(901));
    let resp = me(&app, &login.access);
    assert_eq!(resp.status, 401);
    assert_eq!(resp.error_code(), "TOKEN_EXPIRED");
    let pair = refresh(&app, &login.refresh);
    assert_eq!(pair.status, 200, "{}", pair.text());
    assert_eq!(
        me(&app, pair.json()["access_token"].as_str().unwrap()).status,
        200
    );
}

#[test]
fn logout_revokes_the_login() {
    let app = spawn_auth_app();
    let login = app.login(PHONE);
    let resp = app
        .client
        .post("/api/v1/auth/logout")
        .json(&json!({ "refresh_token": login.refresh }))
        .send();
    assert_eq!(resp.status, 204, "{}", resp.text());
    assert_eq!(me(&app, &login.access).status, 401);
    assert_eq!(refresh(&app, &login.refresh).status, 401);
    let unknown = app
        .client
        .post("/api/v1/auth/logout")
        .json(&json!({ "refresh_token": "A".repeat(43) }))
        .send();
    assert_eq!(unknown.status, 401);
}

#[test]
fn profile_updates_are_validated() {
    let app = spawn_auth_app();
    let login = app.login(PHONE);
    let patch = |body: Value| {
        app.client
            .patch("/api/v1/me")
            .bearer(&login.access)
            .json(&body)
            .send()
    };
    let ok = patch(json!({
        "first_name": " Мария ", "last_name": "Петрова", "email": "Maria@Example.RU",
        "birth_date": "1991-03-08", "city": "Казань"
    }));
    assert_eq!(ok.status, 200, "{}", ok.text());
    let p = ok.json();
    assert_eq!(p["first_name"], "Мария");
    assert_eq!(p["email"], "Maria@example.ru");
    assert_eq!(p["birth_date"], "1991-03-08");
    for (body, field) in [
        (json!({ "email": "nope" }), "email"),
        (json!({ "birth_date": "2999-01-01" }), "birth_date"),
        (json!({ "birth_date": "1991-02-30" }), "birth_date"),
        (json!({ "first_name": "" }), "first_name"),
        (json!({ "city": "x".repeat(101) }), "city"),
        (json!({ "nickname": "x" }), ""),
        (json!({ "email": 5 }), "email"),
    ] {
        let resp = patch(body.clone());
        assert_eq!(resp.status, 422, "{body}: {}", resp.text());
        let f = resp.json()["error"]["details"]["field"]
            .as_str()
            .unwrap_or("")
            .to_string();
        assert!(f.contains(field), "{body}: {f}");
    }
    let cleared = patch(json!({ "city": null }));
    assert_eq!(cleared.json()["city"], Value::Null);
    assert_eq!(cleared.json()["email"], "Maria@example.ru");
}

#[test]
fn erasure_then_reregistration() {
    let app = spawn_auth_app();
    let login = app.login(PHONE);
    let resp = app.client.delete("/api/v1/me").bearer(&login.access).send();
    assert_eq!(resp.status, 204, "{}", resp.text());
    assert_eq!(me(&app, &login.access).status, 401);
    assert_eq!(refresh(&app, &login.refresh).status, 401);

    let conn = rusqlite::Connection::open(app.db_path()).unwrap();
    let (phone, name, erased): (Option<String>, Option<String>, Option<String>) = conn
        .query_row(
            "SELECT phone, first_name, erased_at FROM members WHERE id = ?",
            [&login.member_id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap();
    assert_eq!((phone, name), (None, None));
    assert!(erased.is_some());

    app.host.advance_clock(Duration::from_secs(61));
    let again = app.login(PHONE);
    assert!(again.is_new);
    assert_ne!(again.member_id, login.member_id);
    assert_eq!(me(&app, &again.access).json()["phone"], PHONE);
    assert_eq!(me(&app, &login.access).status, 401);

    let admin = app.admin();
    let log = app
        .client
        .get(&format!(
            "/api/v1/admin/audit?subject_type=member&subject_id={}",
            login.member_id
        ))
        .bearer(&admin.access)
        .send();
    assert_eq!(log.status, 200, "{}", log.text());
    let actions: Vec<String> = log.json()["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap().to_string())
        .collect();
    assert!(
        actions.contains(&"member.erased".to_string()),
        "{actions:?}"
    );
    assert!(
        actions.contains(&"member.registered".to_string()),
        "{actions:?}"
    );
    assert!(!log.text().contains(PHONE));
}

#[test]
fn staff_of_one_business_cannot_manage_another() {
    let app = spawn_auth_app();
    let admin = app.admin();
    let a = app.create_business(&admin, "Salon A", "beauty");
    let b = app.create_business(&admin, "Salon B", "beauty");
    let owner_a = app.staff_login(&admin, &a, "+79160000010", "owner");

    // Own business: allowed.
    let get_a = app
        .client
        .get(&format!("/api/v1/admin/businesses/{a}"))
        .bearer(&owner_a.access)
        .send();
    assert_eq!(get_a.status, 200, "{}", get_a.text());
    app.login("+79160000011");
    app.add_staff(&owner_a, &a, "+79160000011", "manager");

    // The other business: every route refuses.
    let before = snapshot(&app);
    for (method, path, body) in [
        ("GET", format!("/api/v1/admin/businesses/{b}"), None),
        ("GET", format!("/api/v1/admin/businesses/{b}/staff"), None),
        (
            "POST",
            format!("/api/v1/admin/businesses/{b}/staff"),
            Some(json!({ "phone": "+79160000011", "role": "manager" })),
        ),
        (
            "GET",
            format!("/api/v1/admin/businesses/{b}/api-keys"),
            None,
        ),
        (
            "POST",
            format!("/api/v1/admin/businesses/{b}/api-keys"),
            Some(json!({})),
        ),
        (
            "POST",
            "/api/v1/admin/businesses".into(),
            Some(json!({ "name": "X", "category": "home" })),
        ),
        ("GET", "/api/v1/admin/audit".into(), None),
    ] {
        let mut req = app.client.request(method, &path).bearer(&owner_a.access);
        if let Some(body) = body {
            req = req.json(&body);
        }
        let resp = req.send();
        assert_eq!(resp.status, 403, "{method} {path}: {}", resp.text());
        assert_eq!(resp.error_code(), "FORBIDDEN");
    }
    assert_eq!(snapshot(&app), before);

    // Staff see only their own business in the list.
    let list = app
        .client
        .get("/api/v1/admin/businesses")
        .bearer(&owner_a.access)
        .send()
        .json();
    let ids: Vec<&str> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, vec![a.as_str()]);

    // A manager may not add staff (owners and admins only).
    let manager = app.login_after_gap("+79160000011");
    let resp = app
        .client
        .post(&format!("/api/v1/admin/businesses/{a}/staff"))
        .bearer(&manager.access)
        .json(&json!({ "phone": "+79160000010", "role": "owner" }))
        .send();
    assert_eq!(resp.status, 403);
    // Someone working for A cannot be added to B.
    let resp = app
        .client
        .post(&format!("/api/v1/admin/businesses/{b}/staff"))
        .bearer(&admin.access)
        .json(&json!({ "phone": "+79160000010", "role": "owner" }))
        .send();
    assert_eq!(resp.status, 409);
    assert_eq!(resp.error_code(), "STAFF_OF_OTHER_BUSINESS");
    // Adding someone who never logged in.
    let resp = app
        .client
        .post(&format!("/api/v1/admin/businesses/{a}/staff"))
        .bearer(&admin.access)
        .json(&json!({ "phone": "+79169999999", "role": "manager" }))
        .send();
    assert_eq!(resp.status, 404);
    assert_eq!(resp.error_code(), "MEMBER_NOT_FOUND");
}

trait LoginAfterGap {
    fn login_after_gap(&self, phone: &str) -> krug_e2e::Tokens;
}

impl LoginAfterGap for AuthApp {
    fn login_after_gap(&self, phone: &str) -> krug_e2e::Tokens {
        self.host.advance_clock(Duration::from_secs(61));
        self.login(phone)
    }
}

#[test]
fn a_member_token_cannot_reach_admin_routes() {
    let app = spawn_auth_app();
    let admin = app.admin();
    let biz = app.create_business(&admin, "Shop", "home");
    let member = app.login(PHONE);
    let before = snapshot(&app);
    for (method, path) in [
        ("POST", "/api/v1/admin/businesses".to_string()),
        ("GET", "/api/v1/admin/businesses".to_string()),
        ("GET", format!("/api/v1/admin/businesses/{biz}")),
        ("GET", format!("/api/v1/admin/businesses/{biz}/staff")),
        ("POST", format!("/api/v1/admin/businesses/{biz}/staff")),
        ("POST", format!("/api/v1/admin/businesses/{biz}/api-keys")),
        ("GET", format!("/api/v1/admin/businesses/{biz}/api-keys")),
        ("GET", "/api/v1/admin/audit".to_string()),
    ] {
        let resp = app
            .client
            .request(method, &path)
            .bearer(&member.access)
            .json(&json!({ "name": "X", "category": "home", "phone": PHONE, "role": "owner" }))
            .send();
        assert_eq!(resp.status, 403, "{method} {path}: {}", resp.text());
    }
    assert_eq!(snapshot(&app), before);
    assert_eq!(
        me(&app, &admin.access).json()["roles"],
        json!(["member", "admin"])
    );
}

#[test]
fn an_api_key_works_for_its_business_only() {
    let app = spawn_auth_app();
    let admin = app.admin();
    let a = app.create_business(&admin, "A", "optics");
    let b = app.create_business(&admin, "B", "optics");
    let (key_id, key) = app.issue_api_key(&admin, &a);
    assert!(key.starts_with("krug_pk_"));

    let own = app
        .client
        .get(&format!("/api/v1/admin/businesses/{a}"))
        .bearer(&key)
        .send();
    assert_eq!(own.status, 200, "{}", own.text());
    assert_eq!(own.json()["category"], "optics");
    let other = app
        .client
        .get(&format!("/api/v1/admin/businesses/{b}"))
        .bearer(&key)
        .send();
    assert_eq!(other.status, 403);
    for (method, path) in [
        ("GET", "/api/v1/me".to_string()),
        ("GET", format!("/api/v1/admin/businesses/{a}/api-keys")),
        ("POST", format!("/api/v1/admin/businesses/{a}/api-keys")),
        ("GET", "/api/v1/admin/audit".to_string()),
    ] {
        let resp = app.client.request(method, &path).bearer(&key).send();
        assert_eq!(resp.status, 403, "{method} {path}: {}", resp.text());
    }
    let listed = app
        .client
        .get(&format!("/api/v1/admin/businesses/{a}/api-keys"))
        .bearer(&admin.access)
        .send();
    assert_eq!(listed.status, 200);
    assert!(!listed.text().contains(&key));
    assert_eq!(listed.json()["items"][0]["prefix"], &key[..12]);

    let revoke = app
        .client
        .delete(&format!("/api/v1/admin/businesses/{a}/api-keys/{key_id}"))
        .bearer(&admin.access)
        .send();
    assert_eq!(revoke.status, 204, "{}", revoke.text());
    let after = app
        .client
        .get(&format!("/api/v1/admin/businesses/{a}"))
        .bearer(&key)
        .send();
    assert_eq!(after.status, 401);
}

#[test]
fn admins_create_businesses_and_read_the_audit_log() {
    let app = spawn_auth_app();
    let admin = app.admin();
    let resp = app
        .client
        .post("/api/v1/admin/businesses")
        .bearer(&admin.access)
        .header("x-request-id", "req-create-biz")
        .json(&json!({
            "name": "Клиника", "category": "dentistry", "timezone": "Asia/Novosibirsk",
            "points_multiplier": 1.25, "medical": true
        }))
        .send();
    assert_eq!(resp.status, 201, "{}", resp.text());
    let b = resp.json();
    assert_eq!(b["timezone"], "Asia/Novosibirsk");
    assert_eq!(b["points_multiplier"], 1.25);
    assert_eq!(b["medical"], true);
    for (body, field) in [
        (json!({ "name": "X", "category": "shoes" }), "category"),
        (
            json!({ "name": "X", "category": "home", "timezone": "Mars/Base" }),
            "timezone",
        ),
        (
            json!({ "name": "X", "category": "home", "points_multiplier": 11 }),
            "points_multiplier",
        ),
        (
            json!({ "name": "X", "category": "home", "points_multiplier": 1.234 }),
            "points_multiplier",
        ),
        (json!({ "name": " ", "category": "home" }), "name"),
        (json!({ "category": "home" }), ""),
    ] {
        let resp = app
            .client
            .post("/api/v1/admin/businesses")
            .bearer(&admin.access)
            .json(&body)
            .send();
        assert_eq!(resp.status, 422, "{body}: {}", resp.text());
        let f = resp.json()["error"]["details"]["field"]
            .as_str()
            .unwrap_or("")
            .to_string();
        assert!(f.contains(field), "{body}: {f}");
    }
    assert_eq!(count(&app, "businesses"), 1);

    let log = app
        .client
        .get("/api/v1/admin/audit?subject_type=business&limit=1")
        .bearer(&admin.access)
        .send();
    assert_eq!(log.status, 200, "{}", log.text());
    let entry = &log.json()["items"][0];
    assert_eq!(entry["action"], "business.created");
    assert_eq!(entry["actor_role"], "admin");
    assert_eq!(entry["actor_id"], admin.member_id.as_str());
    assert_eq!(entry["request_id"], "req-create-biz");
    // Pagination over the whole log.
    let first = app
        .client
        .get("/api/v1/admin/audit?limit=2")
        .bearer(&admin.access)
        .send()
        .json();
    let cursor = first["next_cursor"].as_str().expect("more entries");
    let second = app
        .client
        .get(&format!("/api/v1/admin/audit?limit=2&cursor={cursor}"))
        .bearer(&admin.access)
        .send();
    assert_eq!(second.status, 200);
    assert_ne!(second.json()["items"][0]["id"], first["items"][0]["id"]);
    let bad = app
        .client
        .get("/api/v1/admin/audit?limit=500")
        .bearer(&admin.access)
        .send();
    assert_eq!(bad.status, 422);
}

/// Every route, fed bad input, answers a 4xx JSON error and writes nothing.
#[test]
fn bad_input_on_every_route() {
    let app = spawn_auth_app();
    let admin = app.admin();
    let biz = app.create_business(&admin, "Biz", "legal");
    let member = app.login(PHONE);
    let (key_id, _) = app.issue_api_key(&admin, &biz);
    let before = snapshot(&app);

    struct Route {
        method: &'static str,
        path: String,
        token: Option<String>,
        wrong_types: Value,
    }
    let routes = vec![
        Route {
            method: "POST",
            path: "/api/v1/auth/otp".into(),
            token: None,
            wrong_types: json!({ "phone": 79161234567_i64 }),
        },
        Route {
            method: "POST",
            path: "/api/v1/auth/verify".into(),
            token: None,
            wrong_types: json!({ "phone": PHONE, "code": 123456 }),
        },
        Route {
            method: "POST",
            path: "/api/v1/auth/refresh".into(),
            token: None,
            wrong_types: json!({ "refresh_token": ["x"] }),
        },
        Route {
            method: "POST",
            path: "/api/v1/auth/logout".into(),
            token: None,
            wrong_types: json!({ "refresh_token": null }),
        },
        Route {
            method: "PATCH",
            path: "/api/v1/me".into(),
            token: Some(member.access.clone()),
            wrong_types: json!({ "first_name": 7 }),
        },
        Route {
            method: "POST",
            path: "/api/v1/admin/businesses".into(),
            token: Some(admin.access.clone()),
            wrong_types: json!({ "name": "X", "category": "home", "medical": "yes" }),
        },
        Route {
            method: "POST",
            path: format!("/api/v1/admin/businesses/{biz}/staff"),
            token: Some(admin.access.clone()),
            wrong_types: json!({ "phone": PHONE, "role": 1 }),
        },
        Route {
            method: "POST",
            path: format!("/api/v1/admin/businesses/{biz}/api-keys"),
            token: Some(admin.access.clone()),
            wrong_types: json!({ "name": false }),
        },
    ];
    let check = |resp: &krug_e2e::TestResponse, want: u16, what: &str| {
        assert_eq!(resp.status, want, "{what}: {}", resp.text());
        assert!(
            resp.header("content-type")
                .unwrap_or("")
                .starts_with("application/json"),
            "{what}"
        );
        assert!(!resp.error_code().is_empty(), "{what}");
    };
    let big = format!("{{\"phone\": \"{}\"}}", "9".repeat(1024 * 1024 + 10));
    for r in &routes {
        let what = format!("{} {}", r.method, r.path);
        let req = |token: Option<&str>| {
            let b = app.client.request(r.method, &r.path);
            match token {
                Some(t) => b.bearer(t),
                None => b,
            }
        };
        let t = r.token.as_deref();
        check(
            &req(t).raw_json("{\"phone\": ").send(),
            400,
            &format!("{what} malformed"),
        );
        check(
            &req(t).raw_json("[1, 2").send(),
            400,
            &format!("{what} truncated"),
        );
        check(
            &req(t).json(&r.wrong_types).send(),
            422,
            &format!("{what} wrong types"),
        );
        check(
            &req(t).json(&json!({ "unexpected": 1 })).send(),
            422,
            &format!("{what} unknown field"),
        );
        check(
            &req(t).json(&json!("a string")).send(),
            422,
            &format!("{what} not an object"),
        );
        check(
            &req(t)
                .body("phone=1")
                .header("content-type", "text/plain")
                .send(),
            415,
            &format!("{what} content type"),
        );
        check(
            &req(t).raw_json(big.clone()).send(),
            413,
            &format!("{what} oversized"),
        );
        if t.is_some() {
            check(
                &req(None).json(&json!({})).send(),
                401,
                &format!("{what} no bearer"),
            );
            check(
                &req(Some("garbage")).json(&json!({})).send(),
                401,
                &format!("{what} garbage bearer"),
            );
            check(
                &req(Some("a.b.c")).json(&json!({})).send(),
                401,
                &format!("{what} fake jwt"),
            );
            check(
                &req(Some("krug_pk_nope")).json(&json!({})).send(),
                401,
                &format!("{what} fake key"),
            );
            let basic = app
                .client
                .request(r.method, &r.path)
                .header("authorization", "Basic dXNlcjpwYXNz")
                .json(&json!({}));
            check(&basic.send(), 401, &format!("{what} basic auth"));
        }
    }
    // Routes without a body: credentials are still checked first.
    for (method, path) in [
        ("GET", "/api/v1/me".to_string()),
        ("DELETE", "/api/v1/me".to_string()),
        ("GET", "/api/v1/admin/businesses".to_string()),
        ("GET", format!("/api/v1/admin/businesses/{biz}")),
        ("GET", format!("/api/v1/admin/businesses/{biz}/staff")),
        (
            "DELETE",
            format!("/api/v1/admin/businesses/{biz}/staff/{}", member.member_id),
        ),
        ("GET", format!("/api/v1/admin/businesses/{biz}/api-keys")),
        (
            "DELETE",
            format!("/api/v1/admin/businesses/{biz}/api-keys/{key_id}"),
        ),
        ("GET", "/api/v1/admin/audit".to_string()),
    ] {
        let what = format!("{method} {path}");
        check(
            &app.client.request(method, &path).send(),
            401,
            &format!("{what} no bearer"),
        );
        check(
            &app.client.request(method, &path).bearer("garbage").send(),
            401,
            &format!("{what} garbage bearer"),
        );
    }
    // Unknown ids and methods.
    for (method, path, want) in [
        (
            "GET",
            "/api/v1/admin/businesses/not-a-uuid".to_string(),
            404,
        ),
        (
            "GET",
            "/api/v1/admin/businesses/01900000-0000-7000-8000-000000000000".to_string(),
            404,
        ),
        (
            "DELETE",
            format!("/api/v1/admin/businesses/{biz}/api-keys/01900000-0000-7000-8000-000000000000"),
            404,
        ),
        (
            "DELETE",
            format!("/api/v1/admin/businesses/{biz}/staff/nope"),
            404,
        ),
        ("PUT", "/api/v1/me".to_string(), 405),
        ("GET", "/api/v1/auth/otp".to_string(), 405),
        ("GET", "/api/v1/auth/nope".to_string(), 404),
    ] {
        check(
            &app.client
                .request(method, &path)
                .bearer(&admin.access)
                .send(),
            want,
            &format!("{method} {path}"),
        );
    }
    // Invalid values in well-formed bodies.
    for (path, body, code) in [
        (
            "/api/v1/auth/otp",
            json!({ "phone": "+1 202 555 0100" }),
            "INVALID_PHONE",
        ),
        (
            "/api/v1/auth/verify",
            json!({ "phone": PHONE, "code": "12ab56" }),
            "INVALID_CODE_FORMAT",
        ),
        (
            "/api/v1/auth/verify",
            json!({ "phone": "nope", "code": "123456" }),
            "INVALID_PHONE",
        ),
        (
            "/api/v1/auth/verify",
            json!({ "phone": PHONE, "code": "123456", "referral_code": "??" }),
            "INVALID_REFERRAL_CODE",
        ),
    ] {
        let resp = app.client.post(path).json(&body).send();
        assert_eq!(resp.status, 422, "{path} {body}: {}", resp.text());
        assert_eq!(resp.error_code(), code);
    }
    assert_eq!(snapshot(&app), before, "bad input wrote something");
}
