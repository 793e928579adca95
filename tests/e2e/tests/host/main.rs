//! The local host's own tests, against the probe fixture
//! (`tests/fixtures/probe`, manifest `tests/fixtures/spin.toml`): routing
//! and precedence, `spin-*` headers, key-value, SQLite, variables, the
//! outbound allow-list, cron, traps, start-up errors and the test clock.

use std::{collections::HashMap, time::Duration};

use krug_e2e::{build_fixtures, random_hex, repo_root, Client, Host, MockServer};
use krug_host::HostConfig;
use serde_json::Value;

struct Probe {
    host: Host,
    client: Client,
    _state: tempfile::TempDir,
}

fn config(state: &std::path::Path, vars: &[(&str, &str)]) -> HostConfig {
    let mut cfg = HostConfig::new(repo_root().join("tests/fixtures/spin.toml"));
    cfg.state_dir = state.to_path_buf();
    cfg.variables = vars
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    cfg
}

fn probe_with(vars: &[(&str, &str)]) -> Probe {
    build_fixtures();
    let state = tempfile::tempdir().unwrap();
    let mut all = vec![("secret_token", "s3cret")];
    all.extend_from_slice(vars);
    let host = Host::start(config(state.path(), &all)).expect("host starts");
    let client = Client::new(host.addr());
    Probe {
        host,
        client,
        _state: state,
    }
}

fn probe() -> Probe {
    probe_with(&[])
}

fn get(p: &Probe, path: &str) -> Value {
    let resp = p.client.get(path).send();
    assert_eq!(resp.status, 200, "{path}: {}", resp.text());
    resp.json()
}

fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

#[test]
fn routes_pick_the_most_specific_match() {
    let p = probe();
    let route = |path: &str| {
        get(&p, path)["headers"]["spin-matched-route"]
            .as_str()
            .unwrap()
            .to_string()
    };
    assert_eq!(route("/exact"), "/exact");
    assert_eq!(route("/exact/more"), "/...");
    assert_eq!(route("/api"), "/api/...");
    assert_eq!(route("/api/x/y"), "/api/...");
    assert_eq!(route("/api/special/z"), "/api/special/...");
    assert_eq!(route("/items/42"), "/items/:id");
    assert_eq!(route("/items/42/more"), "/...");
    assert_eq!(route("/"), "/...");
}

#[test]
fn unmatched_path_is_a_json_404_without_a_fallback() {
    build_fixtures();
    let dir = tempfile::tempdir().unwrap();
    // The app manifest has a `/...` fallback; this one is written without it.
    let manifest = std::fs::read_to_string(repo_root().join("tests/fixtures/spin.toml")).unwrap();
    let without = manifest.replace(
        "route = \"/...\"\ncomponent = \"fallback\"",
        "route = \"/only\"\ncomponent = \"fallback\"",
    );
    let path = repo_root()
        .join("tests/fixtures")
        .join(format!("spin-{}.toml", random_hex(4)));
    std::fs::write(&path, without).unwrap();
    let mut cfg = HostConfig::new(&path);
    cfg.state_dir = dir.path().to_path_buf();
    cfg.variables = HashMap::from([("secret_token".to_string(), "x".to_string())]);
    let host = Host::start(cfg);
    std::fs::remove_file(&path).unwrap();
    let host = host.unwrap();
    let resp = Client::new(host.addr()).get("/nowhere").send();
    assert_eq!(resp.status, 404);
    assert_eq!(resp.error_code(), "NOT_FOUND");
}

#[test]
fn spin_headers_describe_the_match() {
    let p = probe();
    let echo = get(&p, "/api/special/a/b?op=echo&x=1");
    let h = &echo["headers"];
    assert_eq!(h["spin-matched-route"], "/api/special/...");
    assert_eq!(h["spin-raw-component-route"], "/api/special/...");
    assert_eq!(h["spin-component-route"], "/api/special");
    assert_eq!(h["spin-path-info"], "/a/b");
    assert_eq!(h["spin-base-path"], "/");
    assert!(h["spin-full-url"]
        .as_str()
        .unwrap()
        .ends_with("/api/special/a/b?op=echo&x=1"));
    assert!(h["spin-client-addr"]
        .as_str()
        .unwrap()
        .starts_with("127.0.0.1:"));
    let items = get(&p, "/items/7");
    assert_eq!(items["headers"]["spin-path-match-id"], "7");
    assert_eq!(items["headers"]["spin-path-info"], "");
}

#[test]
fn key_value_persists_across_requests_and_respects_grants() {
    let p = probe();
    get(&p, "/api/kv?op=kv-set&key=greeting&value=privet");
    assert_eq!(get(&p, "/api/kv?op=kv-get&key=greeting")["value"], "privet");
    // Another component with the same grant sees the same store.
    assert_eq!(get(&p, "/x?op=kv-get&key=greeting")["value"], "privet");
    assert_eq!(
        get(&p, "/api/kv?op=kv-get&key=missing")["value"],
        Value::Null
    );
    assert!(get(&p, "/locked?op=kv-open&label=default")["error"]
        .as_str()
        .unwrap()
        .contains("AccessDenied"));
    assert!(get(&p, "/api/kv?op=kv-open&label=other")["error"]
        .as_str()
        .unwrap()
        .contains("AccessDenied"));
}

#[test]
fn sqlite_is_shared_and_each_request_opens_its_own_connection() {
    let p = probe();
    let sql = |stmt: &str| get(&p, &format!("/api/db?op=sql&stmt={}", enc(stmt)));
    assert!(sql("CREATE TABLE t (x INTEGER)").get("error").is_none());
    assert_eq!(sql("INSERT INTO t VALUES (1), (2), (3)")["changes"], 3);
    let rows = sql("SELECT x FROM t ORDER BY x");
    assert_eq!(rows["columns"], serde_json::json!(["x"]));
    assert_eq!(rows["rows"], serde_json::json!([[1], [2], [3]]));
    // A transaction left open by one request dies with its connection.
    sql("BEGIN IMMEDIATE");
    assert_eq!(sql("INSERT INTO t VALUES (4)")["changes"], 1);
    assert_eq!(
        sql("SELECT COUNT(*) AS n FROM t")["rows"],
        serde_json::json!([[4]])
    );
    let err = sql("SELECT nope FROM t");
    assert!(
        err["error"].as_str().unwrap().contains("no such column"),
        "{err}"
    );
    assert!(get(&p, "/locked?op=sql&stmt=SELECT%201")["error"]
        .as_str()
        .unwrap()
        .contains("AccessDenied"));
    // The file is where Spin keeps it.
    assert!(p._state.path().join("sqlite_db.db").exists());
    assert!(p._state.path().join("sqlite_key_value.db").exists());
}

#[test]
fn the_stats_file_counts_each_requests_statements_and_the_first_ones_cost() {
    build_fixtures();
    let state = tempfile::tempdir().unwrap();
    let stats = state.path().join("stats.jsonl");
    let mut cfg = config(state.path(), &[("secret_token", "s3cret")]);
    cfg.stats_file = Some(stats.clone());
    let host = Host::start(cfg).expect("host starts");
    let client = Client::new(host.addr());
    let sql = format!("/api/db?op=sql&stmt={}", enc("SELECT 1"));
    assert_eq!(client.get(&sql).send().status, 200);
    assert_eq!(client.get("/exact").send().status, 200);
    // A line is written once its guest has finished: wait for both.
    let mut lines: Vec<Value> = Vec::new();
    for _ in 0..100 {
        lines = std::fs::read_to_string(&stats)
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        if lines.len() >= 2 {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let by_route = |route: &str| {
        lines
            .iter()
            .find(|l| l["route"] == route)
            .unwrap_or_else(|| panic!("no line for {route}: {lines:?}"))
            .clone()
    };
    let db = by_route("/api/...");
    assert_eq!(db["sql_statements"], 1, "{db}");
    assert_eq!(db["sql_busy"], 0, "{db}");
    let first = db["first_statement_us"].as_u64().unwrap();
    assert!(first > 0, "{db}");
    assert!(db["sql_us"].as_u64().unwrap() >= first, "{db}");
    assert!(db["total_us"].as_u64().unwrap() >= db["sql_us"].as_u64().unwrap());
    let plain = by_route("/exact");
    assert_eq!(plain["sql_statements"], 0, "{plain}");
    assert_eq!(plain["first_statement_us"], 0, "{plain}");
}

#[test]
fn variables_resolve_from_templates_and_are_per_component() {
    let p = probe();
    assert_eq!(get(&p, "/x?op=var&name=greeting")["value"], "hello, world");
    assert_eq!(get(&p, "/x?op=var&name=token")["value"], "s3cret");
    assert!(get(&p, "/x?op=var&name=nope")["error"]
        .as_str()
        .unwrap()
        .contains("Undefined"));
    assert!(get(&p, "/x?op=var&name=Bad-Name")["error"]
        .as_str()
        .unwrap()
        .contains("InvalidName"));
    // `exact` declares no variables.
    assert!(get(&p, "/exact?op=var&name=greeting")["error"]
        .as_str()
        .unwrap()
        .contains("Undefined"));
    let overridden = probe_with(&[("greeting", "salut")]);
    assert_eq!(
        get(&overridden, "/x?op=var&name=greeting")["value"],
        "salut, world"
    );
}

#[test]
fn a_missing_required_variable_stops_start_up_with_its_name() {
    build_fixtures();
    let state = tempfile::tempdir().unwrap();
    let err = Host::start(config(state.path(), &[]))
        .err()
        .expect("start fails")
        .to_string();
    assert!(err.contains("secret_token"), "{err}");
}

#[test]
fn outbound_requests_follow_the_allow_list() {
    let mock = MockServer::start(200, "{\"ok\":true}");
    let p = probe_with(&[("mock_origin", &mock.url())]);
    let allowed = get(
        &p,
        &format!("/x?op=fetch&url={}", enc(&format!("{}/hello", mock.url()))),
    );
    assert_eq!(allowed["status"], 200, "{allowed}");
    assert_eq!(mock.requests().len(), 1);
    assert_eq!(mock.requests()[0].path, "/hello");
    // Another port on the same host, and a component with no grants: denied,
    // and no connection reaches the mock.
    let other = MockServer::start(200, "{}");
    let denied = get(
        &p,
        &format!("/x?op=fetch&url={}", enc(&format!("{}/x", other.url()))),
    );
    assert!(
        denied["error"].as_str().unwrap().contains("Denied")
            || denied["error"].as_str().unwrap().contains("denied"),
        "{denied}"
    );
    let locked = get(
        &p,
        &format!(
            "/locked?op=fetch&url={}",
            enc(&format!("{}/hello", mock.url()))
        ),
    );
    assert!(locked.get("error").is_some(), "{locked}");
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(other.requests().len(), 0);
    assert_eq!(mock.requests().len(), 1);
}

#[test]
fn an_allowed_host_with_a_path_is_refused_at_start_like_spin() {
    build_fixtures();
    let state = tempfile::tempdir().unwrap();
    let err = format!(
        "{:#}",
        Host::start(config(
            state.path(),
            &[
                ("secret_token", "x"),
                ("mock_origin", "http://127.0.0.1:5000/send")
            ]
        ))
        .err()
        .expect("start fails")
    );
    assert!(err.contains("path"), "{err}");
}

#[test]
fn cron_fires_on_demand() {
    let p = probe();
    p.host.fire_cron("cron").expect("cron handler succeeds");
    p.host.fire_cron("cron").expect("cron handler succeeds");
    let rows = get(
        &p,
        &format!(
            "/api/db?op=sql&stmt={}",
            enc("SELECT COUNT(*) FROM cron_runs")
        ),
    );
    assert_eq!(rows["rows"], serde_json::json!([[2]]));
    assert!(p.host.fire_cron("exact").is_err(), "not a cron component");
}

#[test]
fn a_trap_is_a_500_and_the_host_keeps_serving() {
    let p = probe();
    let resp = p.client.get("/x?op=trap").send();
    assert_eq!(resp.status, 500);
    assert_eq!(resp.error_code(), "INTERNAL");
    assert_eq!(get(&p, "/x?op=echo")["method"], "GET");
}

#[test]
fn the_test_clock_shifts_the_guests_wall_clock() {
    let p = probe();
    let before = get(&p, "/x?op=now")["now"].as_i64().unwrap();
    p.host.advance_clock(Duration::from_secs(86_400 * 30));
    let after = get(&p, "/x?op=now")["now"].as_i64().unwrap();
    assert!((after - before - 86_400 * 30).abs() < 5, "{before} {after}");
    p.host.set_clock_offset(0);
    let reset = get(&p, "/x?op=now")["now"].as_i64().unwrap();
    assert!((reset - before).abs() < 5);
}

#[test]
fn many_concurrent_requests_are_served() {
    let p = probe();
    let handles: Vec<_> = (0..64)
        .map(|i| {
            let client = p.client;
            std::thread::spawn(move || client.get(&format!("/items/{i}")).send())
        })
        .collect();
    for (i, h) in handles.into_iter().enumerate() {
        let resp = h.join().unwrap();
        assert_eq!(resp.status, 200);
        assert_eq!(resp.json()["headers"]["spin-path-match-id"], i.to_string());
    }
}

fn start_single(source: &str) -> String {
    build_fixtures();
    let state = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let manifest = dir.path().join("spin.toml");
    std::fs::write(
        &manifest,
        format!(
            "spin_manifest_version = 2\n[application]\nname = \"x\"\n[[trigger.http]]\nroute = \"/...\"\ncomponent = \"c\"\n[component.c]\nsource = {source:?}\n"
        ),
    )
    .unwrap();
    let mut cfg = HostConfig::new(&manifest);
    cfg.state_dir = state.path().to_path_buf();
    format!("{:#}", Host::start(cfg).err().expect("start fails"))
}

#[test]
fn a_component_importing_what_the_host_lacks_is_refused_at_start() {
    let wasm = repo_root().join("target/wasm32-wasip2/release/fixture_unsupported.wasm");
    let err = start_single(wasm.to_str().unwrap());
    assert!(
        err.contains("cannot run on this host") && err.contains("mqtt"),
        "{err}"
    );
}

#[test]
fn a_missing_component_file_is_named_at_start() {
    let err = start_single("missing.wasm");
    assert!(err.contains("missing.wasm"), "{err}");
}
