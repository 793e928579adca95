//! Feature flags through the host: evaluation per caller, admin changes
//! seen by the next request, allow-lists, and bad input.

use krug_e2e::{spawn_auth_app, AuthApp, Tokens};
use serde_json::{json, Value};

const MEMBERS: [&str; 4] = [
    "+79996660001",
    "+79996660002",
    "+79996660003",
    "+79996660004",
];

fn flags_of(app: &AuthApp, who: Option<&Tokens>) -> Value {
    let mut req = app.client.get("/api/v1/flags");
    if let Some(t) = who {
        req = req.bearer(&t.access);
    }
    let resp = req.send();
    assert_eq!(resp.status, 200, "{}", resp.text());
    resp.json()["flags"].clone()
}

fn put(app: &AuthApp, admin: &Tokens, name: &str, body: &Value) -> krug_e2e::TestResponse {
    app.client
        .request("PUT", &format!("/api/v1/admin/flags/{name}"))
        .bearer(&admin.access)
        .json(body)
        .send()
}

#[test]
fn every_flag_is_on_by_default_for_everyone() {
    let app = spawn_auth_app();
    let member = app.login(MEMBERS[0]);
    for flags in [flags_of(&app, None), flags_of(&app, Some(&member))] {
        for name in ["reviews", "events", "referral", "preorders", "support"] {
            assert_eq!(flags[name], true, "{name}: {flags}");
        }
    }
    let admin = app.admin();
    let rules = app
        .client
        .get("/api/v1/admin/flags")
        .bearer(&admin.access)
        .send();
    assert_eq!(rules.status, 200, "{}", rules.text());
    let items = rules.json()["items"].as_array().unwrap().clone();
    assert_eq!(items.len(), 5);
    assert!(items
        .iter()
        .all(|f| f["enabled"] == true && f["updated_at"].is_null()));
    let bad = app.client.get("/api/v1/flags").bearer("garbage").send();
    assert_eq!(bad.status, 401);
}

#[test]
fn a_change_is_seen_by_the_next_request_and_lists_grant_at_zero() {
    let app = spawn_auth_app();
    let admin = app.admin();
    let members: Vec<Tokens> = MEMBERS.iter().map(|p| app.login(p)).collect();
    // 0 %, with one member allow-listed.
    let resp = put(
        &app,
        &admin,
        "referral",
        &json!({"enabled": true, "percent": 0, "members": [members[0].member_id]}),
    );
    assert_eq!(resp.status, 200, "{}", resp.text());
    let rule = resp.json();
    assert_eq!(rule["percent"], 0);
    assert!(rule["updated_at"].is_string());
    assert_eq!(flags_of(&app, Some(&members[0]))["referral"], true);
    for m in &members[1..] {
        assert_eq!(flags_of(&app, Some(m))["referral"], false);
    }
    assert_eq!(flags_of(&app, None)["referral"], false);
    // Other flags are untouched.
    assert_eq!(flags_of(&app, Some(&members[1]))["reviews"], true);
    // 100 %: everyone, at once.
    assert_eq!(
        put(
            &app,
            &admin,
            "referral",
            &json!({"enabled": true, "percent": 100})
        )
        .status,
        200
    );
    for m in &members {
        assert_eq!(flags_of(&app, Some(m))["referral"], true);
    }
    // Off: nobody, not even the allow-list.
    assert_eq!(
        put(
            &app,
            &admin,
            "referral",
            &json!({"enabled": false, "members": [members[0].member_id]}),
        )
        .status,
        200
    );
    assert_eq!(flags_of(&app, Some(&members[0]))["referral"], false);
    // A tier allow-list: new members are insiders.
    assert_eq!(
        put(
            &app,
            &admin,
            "events",
            &json!({"enabled": true, "percent": 0, "tiers": ["insider"]}),
        )
        .status,
        200
    );
    assert_eq!(flags_of(&app, Some(&members[2]))["events"], true);
    // Every change is in the audit log.
    assert_eq!(
        app.count("SELECT COUNT(*) FROM audit_log WHERE action = 'flag.updated'"),
        4
    );
}

#[test]
fn a_partial_rollout_matches_the_published_hash() {
    let app = spawn_auth_app();
    let admin = app.admin();
    let members: Vec<Tokens> = MEMBERS.iter().map(|p| app.login(p)).collect();
    assert_eq!(
        put(
            &app,
            &admin,
            "support",
            &json!({"enabled": true, "percent": 50})
        )
        .status,
        200
    );
    for m in &members {
        let expected = krug_core::flags::bucket("support", &m.member_id) < 5_000;
        assert_eq!(
            flags_of(&app, Some(m))["support"],
            expected,
            "{}",
            m.member_id
        );
    }
}

#[test]
fn bad_flag_changes_write_nothing() {
    let app = spawn_auth_app();
    let admin = app.admin();
    let member = app.login(MEMBERS[0]);
    let before = app.table_counts();
    for (body, code) in [
        (json!({"enabled": true, "percent": 101}), "INVALID_PERCENT"),
        (json!({"enabled": true, "percent": -1}), "INVALID_PERCENT"),
        (json!({"enabled": true, "percent": 12.5}), "INVALID_FIELD"),
        (json!({"enabled": "yes"}), "INVALID_FIELD"),
        (json!({"percent": 10}), "INVALID_FIELD"),
        (json!({"enabled": true, "tiers": ["gold"]}), "INVALID_TIER"),
        (
            json!({"enabled": true, "members": ["not-an-id"]}),
            "INVALID_ID",
        ),
        (json!({"enabled": true, "colour": "red"}), "INVALID_FIELD"),
    ] {
        let resp = put(&app, &admin, "reviews", &body);
        assert_eq!(resp.status, 422, "{body}: {}", resp.text());
        assert_eq!(resp.error_code(), code, "{body}");
    }
    let unknown = put(&app, &admin, "dark-mode", &json!({"enabled": true}));
    assert_eq!(
        (unknown.status, unknown.error_code().as_str()),
        (404, "FLAG_NOT_FOUND")
    );
    let as_member = put(&app, &member, "reviews", &json!({"enabled": false}));
    assert_eq!(as_member.status, 403);
    let anonymous = app
        .client
        .request("PUT", "/api/v1/admin/flags/reviews")
        .json(&json!({"enabled": false}))
        .send();
    assert_eq!(anonymous.status, 401);
    let list = app
        .client
        .get("/api/v1/admin/flags")
        .bearer(&member.access)
        .send();
    assert_eq!(list.status, 403);
    let malformed = app
        .client
        .request("PUT", "/api/v1/admin/flags/reviews")
        .bearer(&admin.access)
        .raw_json("{\"enabled\": tru")
        .send();
    assert_eq!(malformed.status, 400);
    assert_eq!(app.table_counts(), before);
    assert_eq!(flags_of(&app, Some(&member))["reviews"], true);
}

#[test]
fn gated_routes_answer_feature_disabled_and_money_paths_never_do() {
    let secret = "flags-telegram-secret";
    let app = krug_e2e::spawn_auth_app_with(std::collections::HashMap::from([(
        "telegram_webhook_secret".to_string(),
        secret.to_string(),
    )]));
    let admin = app.admin();
    let members: Vec<Tokens> = MEMBERS[..2].iter().map(|p| app.login(p)).collect();
    let get = |path: &str, who: &Tokens| app.client.get(path).bearer(&who.access).send();
    // On by default, in both components.
    assert_eq!(get("/api/v1/reviews/mine", &members[0]).status, 200);
    assert_eq!(get("/api/v1/support/tickets", &members[0]).status, 200);
    // Reviews at 0 % with one member allow-listed: the next request of the
    // review component sees it; support is untouched.
    let resp = put(
        &app,
        &admin,
        "reviews",
        &json!({"enabled": true, "percent": 0, "members": [members[1].member_id]}),
    );
    assert_eq!(resp.status, 200, "{}", resp.text());
    let off = get("/api/v1/reviews/mine", &members[0]);
    assert_eq!(
        (off.status, off.error_code().as_str()),
        (404, "FEATURE_DISABLED")
    );
    assert_eq!(get("/api/v1/reviews/mine", &members[1]).status, 200);
    let public = app
        .client
        .get("/api/v1/ratings?business_id=01890a5d-ac96-774b-bcce-b302099a8057")
        .send();
    assert_eq!(public.error_code(), "FEATURE_DISABLED");
    assert_eq!(get("/api/v1/support/tickets", &members[0]).status, 200);
    // Support off: the support component sees it at once.
    assert_eq!(
        put(&app, &admin, "support", &json!({"enabled": false})).status,
        200
    );
    let tickets = get("/api/v1/support/tickets", &members[0]);
    assert_eq!(
        (tickets.status, tickets.error_code().as_str()),
        (404, "FEATURE_DISABLED")
    );
    // The capability's webhook still takes updates, and money is not gated.
    let hook = app
        .client
        .post("/webhooks/telegram")
        .header("x-telegram-bot-api-secret-token", secret)
        .json(&json!({"update_id": 424242}))
        .send();
    assert_eq!(hook.status, 200, "{}", hook.text());
    assert_eq!(get("/api/v1/wallet", &members[0]).status, 200);
    // Back to 100 %: everyone again.
    assert_eq!(
        put(
            &app,
            &admin,
            "reviews",
            &json!({"enabled": true, "percent": 100})
        )
        .status,
        200
    );
    assert_eq!(get("/api/v1/reviews/mine", &members[0]).status, 200);
}
