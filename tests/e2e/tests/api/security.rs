//! Attacks, sent as real HTTP through the host: forged and stale access
//! tokens, a stolen refresh token replayed from another client, one-time
//! codes guessed from many addresses, SQL-like and oversized strings in
//! every text field of every JSON body. (Webhook signatures, stale and
//! future timestamps included, are tried in `payments`; path traversal on
//! static routes in `platform`; every response of every suite is checked
//! for `nosniff` and for leaked internals by the checked client.)

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use hmac::{Hmac, Mac};
use krug_core::auth::jwt::{self, Claims};
use krug_e2e::{openapi, spawn_auth_app, unix_now, Cast, Club, TestResponse};
use serde_json::{json, Value};

const MEMBER: &str = "+79995570001";

fn wallet(club: &Club, token: &str) -> TestResponse {
    club.app.client.get("/api/v1/wallet").bearer(token).send()
}

fn club() -> Club {
    Club::open(
        spawn_auth_app(),
        &Cast {
            a: ("Security Salon", "beauty"),
            b: ("Security Bistro", "gastronomy"),
            role: "owner",
            phones: ["+79995570002", "+79995570003", MEMBER],
        },
    )
}

/// HMAC digests a forger might sign with.
enum Digest {
    Sha256,
    Sha384,
}

/// `header.payload` signed with HMAC over `secret`.
fn hmac_token(digest: Digest, header: &Value, claims: &Value, secret: &str) -> String {
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let sig = match digest {
        Digest::Sha256 => {
            let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).expect("key");
            mac.update(input.as_bytes());
            mac.finalize().into_bytes().to_vec()
        }
        Digest::Sha384 => {
            let mut mac = Hmac::<sha2::Sha384>::new_from_slice(secret.as_bytes()).expect("key");
            mac.update(input.as_bytes());
            mac.finalize().into_bytes().to_vec()
        }
    };
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig))
}

#[test]
fn forged_and_stale_access_tokens_are_refused() {
    let c = club();
    let secret = c.app.variables["jwt_secret"].clone();
    let now = unix_now();
    let real = jwt::verify(&secret, &c.member.access, now).expect("the app's token verifies");
    let claims = serde_json::to_value(&real).expect("claims");
    let as_admin = {
        let mut v = claims.clone();
        v["roles"] = json!(["member", "admin"]);
        v
    };
    let hs256 = json!({ "alg": "HS256", "typ": "JWT" });

    // Control: the test's own signing is what the app accepts.
    let resigned = hmac_token(Digest::Sha256, &hs256, &claims, &secret);
    assert_eq!(wallet(&c, &resigned).status, 200);

    let (h, p, _) = {
        let mut it = c.member.access.split('.');
        (
            it.next().unwrap().to_string(),
            it.next().unwrap().to_string(),
            it.next().unwrap().to_string(),
        )
    };
    let with_claims = |v: &Value| {
        let mut claims: Claims = serde_json::from_value(v.clone()).expect("claims");
        claims.jti = krug_e2e::random_hex(8);
        jwt::sign(&secret, &claims)
    };
    let mut expired = claims.clone();
    expired["exp"] = json!(now - 1);
    let mut future = claims.clone();
    future["iat"] = json!(now + 3_600);
    future["exp"] = json!(now + 7_200);

    let forged: Vec<(&str, String)> = vec![
        (
            "alg none",
            format!(
                "{}.{p}.",
                URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT"}"#)
            ),
        ),
        (
            "alg none, admin",
            format!(
                "{}.{}.",
                URL_SAFE_NO_PAD.encode(r#"{"alg":"none"}"#),
                URL_SAFE_NO_PAD.encode(as_admin.to_string())
            ),
        ),
        (
            "HS384 with the real secret",
            hmac_token(
                Digest::Sha384,
                &json!({ "alg": "HS384", "typ": "JWT" }),
                &claims,
                &secret,
            ),
        ),
        (
            // The RS256 → HS256 confusion: an RS256 header over an HMAC
            // signature must not be verified as HMAC.
            "RS256 header, HMAC signature",
            hmac_token(
                Digest::Sha256,
                &json!({ "alg": "RS256", "typ": "JWT" }),
                &claims,
                &secret,
            ),
        ),
        (
            "lower-case hs256",
            hmac_token(
                Digest::Sha256,
                &json!({ "alg": "hs256", "typ": "JWT" }),
                &claims,
                &secret,
            ),
        ),
        (
            "tampered payload, old signature",
            format!(
                "{h}.{}.{}",
                URL_SAFE_NO_PAD.encode(as_admin.to_string()),
                c.member.access.rsplit('.').next().unwrap()
            ),
        ),
        (
            "another secret",
            hmac_token(Digest::Sha256, &hs256, &as_admin, "not-the-secret"),
        ),
        ("expired", with_claims(&expired)),
        ("issued an hour ahead", with_claims(&future)),
        ("signature stripped", format!("{h}.{p}.")),
        ("four parts", format!("{}.x", c.member.access)),
        (
            "oversized",
            format!("{}{}", c.member.access, "A".repeat(8_192)),
        ),
    ];
    for (what, token) in &forged {
        for path in ["/api/v1/wallet", "/api/v1/admin/audit"] {
            let resp = c.app.client.get(path).bearer(token).send();
            assert_eq!(resp.status, 401, "{what} on {path}: {}", resp.text());
        }
    }
    // A signed token with claims the app never issued (roles it does not
    // know) is still the app's own signature: it authorises nothing more.
    let mut unknown_role = claims.clone();
    unknown_role["roles"] = json!(["superuser"]);
    let resp = c
        .app
        .client
        .get("/api/v1/admin/audit")
        .bearer(&with_claims(&unknown_role))
        .send();
    assert!(resp.status == 401 || resp.status == 403, "{}", resp.text());
}

#[test]
fn a_refresh_token_replayed_from_another_client_ends_the_login() {
    let c = club();
    let refresh = |token: &str, ip: &str| {
        c.app
            .client
            .post("/api/v1/auth/refresh")
            .source_ip(ip)
            .json(&json!({ "refresh_token": token }))
            .send()
    };
    // The member refreshes from their phone...
    let rotated = refresh(&c.member.refresh, "127.9.0.1");
    assert_eq!(rotated.status, 200, "{}", rotated.text());
    let fresh = rotated.json()["refresh_token"]
        .as_str()
        .unwrap()
        .to_string();
    let fresh_access = rotated.json()["access_token"].as_str().unwrap().to_string();
    // ...then a thief replays the stolen old token from elsewhere.
    let stolen = refresh(&c.member.refresh, "127.9.0.2");
    assert_eq!(stolen.status, 401, "{}", stolen.text());
    assert_eq!(stolen.error_code(), "TOKEN_REUSED");
    // The login is over for both: neither the member's new tokens nor a
    // second replay get anything.
    assert_eq!(refresh(&fresh, "127.9.0.1").status, 401);
    assert_eq!(refresh(&c.member.refresh, "127.9.0.3").status, 401);
    assert_eq!(wallet(&c, &fresh_access).status, 401);
    // Other people's logins are untouched.
    assert_eq!(
        c.app
            .client
            .get("/api/v1/admin/audit")
            .bearer(&c.admin.access)
            .send()
            .status,
        200
    );
}

#[test]
fn codes_guessed_from_many_addresses_lock_the_code() {
    let app = spawn_auth_app();
    let phone = "+79995570011";
    let code = app.request_code(phone);
    let wrong = format!("{}{}", (code.as_bytes()[0] - b'0' + 1) % 10, &code[1..]);
    // Five guesses, each from its own address: the limit is the code's.
    for i in 0..5 {
        let resp = app
            .client
            .post("/api/v1/auth/verify")
            .source_ip(&format!("127.9.1.{}", i + 1))
            .json(&json!({ "phone": phone, "code": wrong, "first_name": "X",
                           "consents": { "personal_data": true } }))
            .send();
        assert_eq!(resp.status, 401, "{}", resp.text());
    }
    let right = app
        .client
        .post("/api/v1/auth/verify")
        .source_ip("127.9.1.9")
        .json(&json!({ "phone": phone, "code": code, "first_name": "X",
                       "consents": { "personal_data": true } }))
        .send();
    assert_eq!(right.status, 401, "{}", right.text());
    assert_eq!(
        app.count("SELECT COUNT(*) FROM members"),
        0,
        "nobody got in"
    );

    // One address spraying codes at many phones is stopped at 20 an hour.
    let mut statuses = Vec::new();
    for i in 0..24 {
        let resp = app
            .client
            .post("/api/v1/auth/otp")
            .source_ip("127.9.2.1")
            .json(&json!({ "phone": format!("+7999558{i:04}") }))
            .send();
        statuses.push(resp.status);
    }
    assert!(statuses[..20].iter().all(|s| *s == 202), "{statuses:?}");
    assert!(statuses[20..].iter().all(|s| *s == 429), "{statuses:?}");
}

/// Top-level string properties of the JSON body of `op`.
fn string_fields(op: &Value) -> Vec<String> {
    let doc = openapi::document();
    let mut schema = &op["requestBody"]["content"]["application/json"]["schema"];
    while let Some(r) = schema.get("$ref").and_then(Value::as_str) {
        schema = &doc["components"]["schemas"][r.rsplit('/').next().unwrap()];
    }
    let Some(props) = schema["properties"].as_object() else {
        return Vec::new();
    };
    props
        .iter()
        .filter(|(_, p)| {
            let mut p = *p;
            while let Some(r) = p.get("$ref").and_then(Value::as_str) {
                p = &doc["components"]["schemas"][r.rsplit('/').next().unwrap()];
            }
            p["type"] == "string"
                || p["type"]
                    .as_array()
                    .is_some_and(|t| t.contains(&json!("string")))
        })
        .map(|(name, _)| name.clone())
        .collect()
}

#[test]
fn sql_like_and_oversized_strings_in_every_text_field_are_inert() {
    let c = club();
    let tables_before: Vec<String> = c.app.table_counts().into_keys().collect();
    let sql_like = [
        "'; DROP TABLE members; --",
        "%' AND 1=0 UNION SELECT version() --",
    ];
    // (The checked client holds every error body to its no-internals rule,
    // so the payloads avoid the words it looks for.)
    let huge = "я".repeat(70_000);
    let mut tried = 0;
    for (template, item) in openapi::document()["paths"].as_object().unwrap() {
        if template.starts_with("/webhooks/") || template.starts_with("/internal/") {
            continue;
        }
        for method in ["post", "put", "patch"] {
            let Some(op) = item.get(method) else { continue };
            for field in string_fields(op) {
                let path = template.replace("{id}", &c.a).replace("{name}", "reviews");
                let payloads = sql_like.iter().map(|s| s.to_string()).chain([huge.clone()]);
                for (i, value) in payloads.enumerate() {
                    let token = if path.ends_with("/reply") {
                        &c.staff_a.access
                    } else {
                        &c.admin.access
                    };
                    let resp = c
                        .app
                        .client
                        .request(&method.to_ascii_uppercase(), &path)
                        .bearer(token)
                        .header(
                            "idempotency-key",
                            &format!("sec-{}", krug_e2e::random_hex(8)),
                        )
                        .json(&json!({ field.clone(): value }))
                        .send();
                    tried += 1;
                    assert!(
                        resp.status < 500,
                        "{method} {path} {field}: {} {}",
                        resp.status,
                        resp.text()
                    );
                    if i == sql_like.len() {
                        assert!(
                            (400..500).contains(&resp.status),
                            "{method} {path} took a 70 000-character {field}: {}",
                            resp.status
                        );
                    }
                }
            }
        }
    }
    assert!(tried >= 200, "only {tried} strings were tried");
    let tables_after: Vec<String> = c.app.table_counts().into_keys().collect();
    assert_eq!(tables_before, tables_after, "every table is still there");
    let conn = rusqlite::Connection::open(c.app.db_path()).expect("open db");
    let check: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .expect("integrity check");
    assert_eq!(check, "ok");
    // A text stored as given is read back as given.
    let name = sql_like[0];
    let patched = c
        .app
        .client
        .patch("/api/v1/me")
        .bearer(&c.member.access)
        .json(&json!({ "last_name": name }))
        .send();
    if patched.status == 200 {
        let me = c
            .app
            .client
            .get("/api/v1/me")
            .bearer(&c.member.access)
            .send();
        assert_eq!(me.json()["last_name"], name);
    } else {
        assert_eq!(patched.status, 422, "{}", patched.text());
    }
    c.app.assert_ledger_sound();
}
