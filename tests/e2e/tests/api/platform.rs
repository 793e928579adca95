//! Foundation: health, OpenAPI, routing fallbacks, body limits, internal
//! routes and migrations.

use std::collections::HashMap;

use krug_e2e::{random_hex, repo_root, spawn_app, Client, Host};
use serde_json::json;

#[test]
fn health_reports_the_schema_version() {
    let app = spawn_app();
    let resp = app.client.get("/api/v1/health").send();
    assert_eq!(resp.status, 200, "{}", resp.text());
    let body = resp.json();
    assert_eq!(body["status"], "ok");
    assert!(body["schema_version"].as_i64().unwrap() >= 2, "{body}");
    assert!(resp.header("x-request-id").is_some());
    assert_eq!(resp.header("x-content-type-options"), Some("nosniff"));
    assert!(resp
        .header("content-type")
        .unwrap()
        .starts_with("application/json"));
}

#[test]
fn request_id_is_echoed_when_supplied() {
    let app = spawn_app();
    let resp = app
        .client
        .get("/api/v1/health")
        .header("x-request-id", "trace-123")
        .send();
    assert_eq!(resp.header("x-request-id"), Some("trace-123"));
}

#[test]
fn openapi_document_is_served_and_lists_every_route() {
    let app = spawn_app();
    let resp = app.client.get("/openapi.json").send();
    assert_eq!(resp.status, 200);
    let doc = resp.json();
    assert_eq!(doc["openapi"], "3.1.0");
    let paths = doc["paths"].as_object().unwrap();
    for p in [
        "/api/v1/health",
        "/internal/migrate",
        "/internal/jobs/{name}",
    ] {
        assert!(paths.contains_key(p), "{p} missing from OpenAPI");
    }
    // Every API route the manifest serves is documented.
    let manifest = std::fs::read_to_string(krug_e2e::repo_root().join("spin.toml")).unwrap();
    for line in manifest.lines() {
        let Some(route) = line
            .trim()
            .strip_prefix("route = \"")
            .and_then(|r| r.strip_suffix('"'))
        else {
            continue;
        };
        if !route.starts_with("/api/") {
            continue;
        }
        // A Spin `:name` segment is an OpenAPI `{name}` parameter.
        let prefix: Vec<String> = route
            .trim_end_matches("/...")
            .split('/')
            .map(|seg| match seg.strip_prefix(':') {
                Some(name) => format!("{{{name}}}"),
                None => seg.to_string(),
            })
            .collect();
        let prefix = prefix.join("/");
        assert!(
            paths
                .keys()
                .any(|p| *p == prefix || p.starts_with(&format!("{prefix}/"))),
            "route {route} has no OpenAPI path"
        );
    }
}

#[test]
fn static_pages_are_served() {
    let app = spawn_app();
    let index = app.client.get("/").send();
    assert_eq!(index.status, 200);
    assert!(index
        .header("content-type")
        .unwrap()
        .starts_with("text/html"));
    assert!(index.text().contains("lang=\"ru\""));
    for page in [
        "/",
        "/pos/",
        "/admin/",
        "/shared/api.js",
        "/vendor/jsqr.js",
        "/sw.js",
    ] {
        let resp = app.client.get(page).send();
        assert_eq!(resp.status, 200, "{page}");
        assert_eq!(
            resp.header("x-content-type-options"),
            Some("nosniff"),
            "{page}"
        );
        let csp = resp.header("content-security-policy").unwrap_or_default();
        assert!(csp.contains("script-src 'self'"), "{page}: {csp}");
        assert!(csp.contains("frame-ancestors 'none'"), "{page}: {csp}");
    }
    assert!(app
        .client
        .get("/shared/api.js")
        .send()
        .header("content-type")
        .unwrap()
        .starts_with("text/javascript"));
    assert_eq!(
        app.client
            .get("/manifest.webmanifest")
            .send()
            .header("content-type"),
        Some("application/manifest+json")
    );
}

#[test]
fn app_folders_without_a_slash_redirect_and_nothing_escapes_static() {
    let app = spawn_app();
    for (from, to) in [("/pos", "/pos/"), ("/admin", "/admin/")] {
        let resp = app.client.get(from).send();
        assert_eq!(resp.status, 308, "{from}");
        assert_eq!(resp.header("location"), Some(to), "{from}");
    }
    for path in [
        "/..%2fspin.toml",
        "/%2e%2e/spin.toml",
        "/static/../spin.toml",
        "/shared/..%2f..%2fCargo.toml",
        "/pos/..%2f..%2fREADME.md",
        "/%2e%2e%2f%2e%2e%2fetc%2fpasswd",
        "/.%2e/spin.toml",
        "/%252e%252e%252fspin.toml",
        "/shared/..%5c..%5cCargo.toml",
        "/shared/%2e%2e/%2e%2e/Cargo.toml",
        "/admin/..;/spin.toml",
    ] {
        let resp = app.client.get(path).send();
        assert_eq!(resp.status, 404, "{path}");
        assert_eq!(resp.error_code(), "NOT_FOUND", "{path}");
    }
    assert_eq!(app.client.post("/pos").send().status, 405);
}

#[test]
fn text_files_are_gzipped_for_clients_that_take_gzip() {
    let app = spawn_app();
    let plain = app.client.get("/shared/api.js").send();
    assert_eq!(plain.header("content-encoding"), None);
    assert_eq!(plain.header("vary"), Some("accept-encoding"));
    let zipped = app
        .client
        .get("/shared/api.js")
        .header("accept-encoding", "br, gzip;q=0.8")
        .send();
    assert_eq!(zipped.status, 200);
    assert_eq!(zipped.header("content-encoding"), Some("gzip"));
    let mut unzipped = String::new();
    std::io::Read::read_to_string(
        &mut flate2::read::GzDecoder::new(zipped.body.as_slice()),
        &mut unzipped,
    )
    .expect("valid gzip");
    assert_eq!(unzipped, plain.text());
    let refused = app
        .client
        .get("/shared/api.js")
        .header("accept-encoding", "gzip;q=0")
        .send();
    assert_eq!(refused.header("content-encoding"), None);
    // HTML compresses too; a HEAD names the encoding with no body.
    let page = app
        .client
        .request("HEAD", "/")
        .header("accept-encoding", "gzip")
        .send();
    assert_eq!(page.header("content-encoding"), Some("gzip"));
    assert!(page.body.is_empty());
}

#[test]
fn unknown_routes_are_json_404() {
    let app = spawn_app();
    for path in [
        "/api/v1/nope",
        "/nope.html",
        "/api/v2/health",
        "/webhooks/unknown",
    ] {
        let resp = app.client.get(path).send();
        assert_eq!(resp.status, 404, "{path}");
        assert_eq!(resp.error_code(), "NOT_FOUND", "{path}");
        assert_eq!(resp.header("x-content-type-options"), Some("nosniff"));
    }
}

#[test]
fn a_two_mib_body_is_413() {
    let app = spawn_app();
    let big = vec![b'x'; 2 * 1024 * 1024];
    let resp = app.client.post("/api/v1/health").raw_json(big).send();
    assert_eq!(resp.status, 413, "{}", resp.text());
    assert_eq!(resp.error_code(), "PAYLOAD_TOO_LARGE");
}

#[test]
fn internal_routes_need_the_jobs_token() {
    let app = spawn_app();
    let none = app.client.post("/internal/migrate").send();
    assert_eq!(none.status, 401);
    let wrong = app.client.post("/internal/migrate").bearer("nope").send();
    assert_eq!(wrong.status, 401);
    assert_eq!(wrong.error_code(), "UNAUTHORIZED");
    let jobs = app
        .client
        .get("/internal/jobs")
        .bearer(&app.jobs_token)
        .send();
    assert_eq!(jobs.status, 200);
    assert!(jobs.json()["items"]
        .as_array()
        .unwrap()
        .iter()
        .any(|j| j["name"] == "purge-idempotency-keys"));
    let unknown = app
        .client
        .post("/internal/jobs/no-such-job")
        .bearer(&app.jobs_token)
        .send();
    assert_eq!(unknown.status, 404);
    assert_eq!(unknown.error_code(), "UNKNOWN_JOB");
}

#[test]
fn internal_routes_are_disabled_without_a_jobs_token() {
    krug_e2e::build_components();
    let state = tempfile::tempdir().unwrap();
    let mut cfg = krug_host::HostConfig::new(repo_root().join("spin.toml"));
    cfg.state_dir = state.path().to_path_buf();
    cfg.variables = HashMap::from([
        ("jwt_secret".to_string(), random_hex(32)),
        ("jobs_token".to_string(), String::new()),
    ]);
    let host = Host::start(cfg).unwrap();
    let resp = Client::new(host.addr()).post("/internal/migrate").send();
    assert_eq!(resp.status, 403);
    let resp = Client::new(host.addr())
        .post("/internal/migrate")
        .bearer("anything")
        .send();
    assert_eq!(resp.status, 403);
    assert_eq!(resp.error_code(), "INTERNAL_DISABLED");
}

#[test]
fn jobs_run_on_demand_and_due_jobs_run_once_per_period() {
    let app = spawn_app();
    let report = app.run_job("purge-idempotency-keys");
    assert_eq!(report["job"], "purge-idempotency-keys");
    let first = app
        .client
        .post("/internal/jobs/run-due")
        .bearer(&app.jobs_token)
        .send()
        .json();
    let second = app
        .client
        .post("/internal/jobs/run-due")
        .bearer(&app.jobs_token)
        .send()
        .json();
    let outcome = |v: &serde_json::Value| {
        v["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|o| o["job"] == "purge-idempotency-keys")
            .unwrap()["outcome"]
            .clone()
    };
    assert_eq!(outcome(&first), json!("ok"));
    assert_eq!(outcome(&second), json!("skipped"));
    // The cron trigger runs the same pass.
    app.host.fire_cron("scheduler").expect("cron run succeeds");
}

#[test]
fn two_hosts_migrating_one_database_apply_each_migration_once() {
    krug_e2e::build_components();
    let state = tempfile::tempdir().unwrap();
    let token = random_hex(8);
    let start = || {
        let mut cfg = krug_host::HostConfig::new(repo_root().join("spin.toml"));
        cfg.state_dir = state.path().to_path_buf();
        cfg.variables = HashMap::from([
            ("jwt_secret".to_string(), random_hex(32)),
            ("jobs_token".to_string(), token.clone()),
        ]);
        Host::start(cfg).unwrap()
    };
    let (a, b) = (start(), start());
    let clients = [Client::new(a.addr()), Client::new(b.addr())];
    let handles: Vec<_> = (0..8)
        .map(|i| {
            let client = clients[i % 2];
            let token = token.clone();
            std::thread::spawn(move || client.post("/internal/migrate").bearer(&token).send())
        })
        .collect();
    let mut applied_total = 0;
    for h in handles {
        let resp = h.join().unwrap();
        assert_eq!(resp.status, 200, "{}", resp.text());
        applied_total += resp.json()["applied"].as_array().map_or(0, |a| a.len());
    }
    // The SQLite set: `*.sql` at the top (migrations/postgres/ holds the
    // PostgreSQL twins).
    let migrations = std::fs::read_dir(repo_root().join("migrations"))
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .is_ok_and(|e| e.path().extension().is_some_and(|x| x == "sql"))
        })
        .count();
    assert_eq!(
        applied_total, migrations,
        "each migration applied by exactly one request"
    );
    let health = clients[0].get("/api/v1/health").send().json();
    assert_eq!(
        health["schema_version"].as_u64().unwrap() as usize,
        migrations
    );
}
