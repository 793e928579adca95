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
    probe_configured(vars, |_, _| {})
}

/// The probe with `vars` (beside `secret_token`) and `edit` applied to its
/// configuration, given the state directory, before the host starts.
fn probe_configured(
    vars: &[(&str, &str)],
    edit: impl FnOnce(&mut HostConfig, &std::path::Path),
) -> Probe {
    build_fixtures();
    let state = tempfile::tempdir().unwrap();
    let mut all = vec![("secret_token", "s3cret")];
    all.extend_from_slice(vars);
    let mut cfg = config(state.path(), &all);
    edit(&mut cfg, state.path());
    let host = Host::start(cfg).expect("host starts");
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
    let p = probe_configured(&[], |cfg, dir| {
        cfg.stats_file = Some(dir.join("stats.jsonl"))
    });
    let (client, stats) = (p.client, p._state.path().join("stats.jsonl"));
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
fn the_memory_file_shows_idle_slots_reused_by_the_component_that_left_them() {
    let p = probe_configured(&[], |cfg, dir| {
        cfg.memory_file = Some(dir.join("memory.json"))
    });
    let (client, file) = (p.client, p._state.path().join("memory.json"));
    // One after another: each request finds the slot the previous one left.
    for _ in 0..20 {
        assert_eq!(client.get("/exact").send().status, 200);
    }
    // The file is rewritten every second; wait for a version that has seen
    // all twenty finish.
    let mut figures = Value::Null;
    for _ in 0..60 {
        figures = std::fs::read_to_string(&file)
            .ok()
            .and_then(|t| serde_json::from_str(&t).ok())
            .unwrap_or(Value::Null);
        let pool = &figures["pool"];
        if pool["memories"] == 0 && pool["unused_warm_memories"].as_u64() > Some(0) {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let pool = &figures["pool"];
    assert_eq!(pool["memories"], 0, "{figures}");
    assert_eq!(pool["component_instances"], 0, "{figures}");
    let warm = pool["unused_warm_memories"].as_u64().unwrap();
    assert!(
        (1..=2).contains(&warm),
        "sequential requests used {warm} slots: {figures}"
    );
    assert!(
        pool["unused_memory_bytes_resident"].as_u64().unwrap() > 0,
        "{figures}"
    );
    if cfg!(all(target_os = "linux", target_env = "gnu")) {
        let heap = &figures["heap"];
        let (arena, in_use) = (heap["arena"].as_u64(), heap["in_use"].as_u64());
        assert!(in_use > Some(0) && arena >= in_use, "{figures}");
    }
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

// ---------------------------------------------------------------- postgres
//
// The `pg` component (route `/pg/...`) may reach `postgres://{{ pg_host }}`;
// it runs the JSON script it is posted (see the probe's `pg.rs`) and answers
// each step's result. These run against the test process's PostgreSQL.

use krug_core::native::TestServer;
use serde_json::json;

struct PgProbe {
    probe: Probe,
    /// A fresh database's URL, which the `pg` component may open.
    url: String,
}

fn pg_probe() -> PgProbe {
    let url = TestServer::shared().fresh_database();
    let host_port = url
        .split('@')
        .nth(1)
        .and_then(|rest| rest.split('/').next())
        .expect("URL has user@host:port/db")
        .to_string();
    let probe = probe_with(&[("pg_host", &host_port)]);
    PgProbe { probe, url }
}

fn pg_script(p: &Probe, path: &str, script: Value) -> Value {
    let resp = p.client.post(path).json(&script).send();
    assert_eq!(resp.status, 200, "{path}: {}", resp.text());
    resp.json()
}

// Opens `url` once and runs `steps` on it; each step's result.
fn pg_steps(p: &PgProbe, steps: Value) -> Vec<Value> {
    let answer = pg_script(
        &p.probe,
        "/pg/run",
        json!({ "open": [p.url], "steps": steps }),
    );
    answer["results"]
        .as_array()
        .unwrap_or_else(|| panic!("no results: {answer}"))
        .clone()
}

fn q(sql: &str, params: Value) -> Value {
    json!({ "query": sql, "params": params })
}

fn ex(sql: &str, params: Value) -> Value {
    json!({ "execute": sql, "params": params })
}

// The one value of a one-row, one-column result, with its column's type.
fn single(result: &Value) -> (String, Value) {
    assert!(result.get("error").is_none(), "{result}");
    assert_eq!(result["rows"].as_array().map(Vec::len), Some(1), "{result}");
    (
        result["columns"][0]["type"].as_str().unwrap().to_string(),
        result["rows"][0][0].clone(),
    )
}

fn count(result: &Value) -> i64 {
    single(result).1["int64"]
        .as_i64()
        .unwrap_or_else(|| panic!("{result}"))
}

#[test]
fn pg_values_of_every_supported_class_round_trip() {
    let p = pg_probe();
    // (parameter, cast, column type, value read back)
    let cases = [
        (
            json!({"bool": true}),
            "bool",
            "boolean",
            json!({"bool": true}),
        ),
        (json!({"int16": -7}), "int2", "int16", json!({"int16": -7})),
        (
            json!({"int32": 70000}),
            "int4",
            "int32",
            json!({"int32": 70000}),
        ),
        (
            json!({"int64": 1_i64 << 40}),
            "int8",
            "int64",
            json!({"int64": 1_i64 << 40}),
        ),
        (
            json!({"float32": 1.5}),
            "float4",
            "floating32",
            json!({"float32": 1.5}),
        ),
        (
            json!({"float64": 2.25}),
            "float8",
            "floating64",
            json!({"float64": 2.25}),
        ),
        (
            json!({"str": "héllo"}),
            "text",
            "str",
            json!({"str": "héllo"}),
        ),
        (
            json!({"str": "v"}),
            "varchar(5)",
            "str",
            json!({"str": "v"}),
        ),
        (
            json!({"str": "ab"}),
            "char(3)",
            "str",
            json!({"str": "ab "}),
        ),
        (
            json!({"binary": [0, 1, 255]}),
            "bytea",
            "binary",
            json!({"binary": [0, 1, 255]}),
        ),
        (
            json!({"decimal": "12.340"}),
            "numeric",
            "decimal",
            json!({"decimal": "12.340"}),
        ),
        (
            json!({"decimal": "-0.5"}),
            "numeric(6,3)",
            "decimal",
            json!({"decimal": "-0.500"}),
        ),
        (
            json!({"date": [2024, 2, 29]}),
            "date",
            "date",
            json!({"date": [2024, 2, 29]}),
        ),
        (
            json!({"time": [13, 45, 30, 123_456_000]}),
            "time",
            "time",
            json!({"time": [13, 45, 30, 123_456_000]}),
        ),
        (
            json!({"datetime": [2024, 2, 29, 13, 45, 30, 0]}),
            "timestamp",
            "datetime",
            json!({"datetime": [2024, 2, 29, 13, 45, 30, 0]}),
        ),
        (
            json!({"uuid": "0190b4a4-7c1e-7cc2-9f0a-2d0b6a3f4e11"}),
            "uuid",
            "uuid",
            json!({"uuid": "0190b4a4-7c1e-7cc2-9f0a-2d0b6a3f4e11"}),
        ),
        (
            json!({"jsonb": {"a": [1, 2]}}),
            "jsonb",
            "jsonb",
            json!({"jsonb": {"a": [1, 2]}}),
        ),
        (
            json!({"array-int32": [1, null, 3]}),
            "int4[]",
            "array-int32",
            json!({"array-int32": [1, null, 3]}),
        ),
        (
            json!({"array-int64": [5_000_000_000_i64]}),
            "int8[]",
            "array-int64",
            json!({"array-int64": [5_000_000_000_i64]}),
        ),
        (
            json!({"array-str": ["a", null]}),
            "text[]",
            "array-str",
            json!({"array-str": ["a", null]}),
        ),
        (
            json!({"array-decimal": ["1.5", null]}),
            "numeric[]",
            "array-decimal",
            json!({"array-decimal": ["1.5", null]}),
        ),
        (
            json!({"range-int32": [[1, "inclusive"], [5, "exclusive"]]}),
            "int4range",
            "range-int32",
            json!({"range-int32": [[1, "inclusive"], [5, "exclusive"]]}),
        ),
        (
            json!({"range-int64": [null, [9, "exclusive"]]}),
            "int8range",
            "range-int64",
            json!({"range-int64": [null, [9, "exclusive"]]}),
        ),
        (
            json!({"range-decimal": [["1.5", "inclusive"], ["2.5", "inclusive"]]}),
            "numrange",
            "range-decimal",
            json!({"range-decimal": [["1.5", "inclusive"], ["2.5", "inclusive"]]}),
        ),
        (
            json!({"interval": [1_500_000, 2, 3]}),
            "interval",
            "interval",
            json!({"interval": [1_500_000, 2, 3]}),
        ),
        // A Rust `i8` is PostgreSQL's one-byte "char", which Spin does not
        // map: it comes back as raw bytes.
        (
            json!({"int8": 65}),
            "\"char\"",
            "other:char",
            json!({"unsupported": [65]}),
        ),
    ];
    let steps: Vec<Value> = cases
        .iter()
        .map(|(param, cast, _, _)| q(&format!("SELECT $1::{cast} AS v"), json!([param])))
        .collect();
    let results = pg_steps(&p, Value::Array(steps));
    for ((param, cast, ty, want), got) in cases.iter().zip(&results) {
        let (got_ty, got_value) = single(got);
        assert_eq!(got["columns"][0]["name"], "v", "{cast}: {got}");
        assert_eq!(&got_ty, ty, "{cast} from {param}: {got}");
        assert_eq!(&got_value, want, "{cast} from {param}: {got}");
    }

    let results = pg_steps(
        &p,
        json!([
            // NULL of a known type: the column keeps its type.
            q("SELECT NULL::int4 AS n", json!([])),
            // `timestamp(s64)` binds seconds since the epoch as timestamptz.
            q(
                "SELECT $1::timestamptz = to_timestamp(86400) AS same",
                json!([{"timestamp": 86400}])
            ),
            // As in Spin, `name` and `void` are not mapped: raw bytes.
            q("SELECT 'abc'::name AS n", json!([])),
            q("SELECT pg_advisory_xact_lock(1) AS locked", json!([])),
            // Spin reads timestamptz as a naive date-time, which the driver
            // refuses: the query fails.
            q("SELECT now() AS t", json!([])),
            // No rows: the statement's columns all the same.
            q(
                "SELECT 1::int4 AS one, 'x'::text AS two WHERE false",
                json!([])
            ),
            // A table's columns, several rows.
            ex(
                "CREATE TABLE vals (id int8 PRIMARY KEY, label text, amount numeric(10,2))",
                json!([])
            ),
            ex(
                "INSERT INTO vals VALUES ($1, $2, $3), ($4, $5, $6)",
                json!([{"int64": 1}, {"str": "one"}, {"decimal": "1.5"},
                       {"int64": 2}, {"str": "two"}, {"decimal": "20"}])
            ),
            q("SELECT id, label, amount FROM vals ORDER BY id", json!([])),
        ]),
    );
    assert_eq!(single(&results[0]), ("int32".into(), json!({"null": null})));
    assert_eq!(
        single(&results[1]),
        ("boolean".into(), json!({"bool": true}))
    );
    assert_eq!(
        single(&results[2]),
        ("other:name".into(), json!({"unsupported": [97, 98, 99]}))
    );
    assert_eq!(
        single(&results[3]),
        ("other:void".into(), json!({"unsupported": []}))
    );
    let tz = &results[4]["error"];
    assert_eq!(tz["kind"], "query-failed", "{tz}");
    assert!(tz.get("db").is_none(), "{tz}");
    assert_eq!(
        results[5],
        json!({"columns": [{"name": "one", "type": "int32"}, {"name": "two", "type": "str"}], "rows": []})
    );
    assert_eq!(results[7], json!({"affected": 2}));
    assert_eq!(
        results[8]["columns"],
        json!([{"name": "id", "type": "int64"}, {"name": "label", "type": "str"},
               {"name": "amount", "type": "decimal"}])
    );
    assert_eq!(
        results[8]["rows"],
        json!([[{"int64": 1}, {"str": "one"}, {"decimal": "1.50"}],
               [{"int64": 2}, {"str": "two"}, {"decimal": "20.00"}]])
    );
}

#[test]
fn pg_null_binds_to_a_parameter_of_any_type() {
    let p = pg_probe();
    let results = pg_steps(
        &p,
        json!([
            ex(
                "CREATE TABLE n (i int4, t text, b bytea, d numeric)",
                json!([])
            ),
            ex(
                "INSERT INTO n VALUES ($1, $2, $3, $4)",
                json!([{"null": null}, {"null": null}, {"null": null}, {"null": null}])
            ),
            q("SELECT i, t, b, d FROM n", json!([])),
            q(
                "SELECT $1::int4 IS NULL AND $2::text IS NULL AS both_null",
                json!([{"null": null}, {"null": null}])
            ),
        ]),
    );
    assert_eq!(results[1], json!({"affected": 1}));
    assert_eq!(
        results[2]["rows"],
        json!([[{"null": null}, {"null": null}, {"null": null}, {"null": null}]])
    );
    assert_eq!(single(&results[3]).1, json!({"bool": true}));
}

#[test]
fn pg_parameters_bind_strictly() {
    let p = pg_probe();
    let results = pg_steps(
        &p,
        json!([
            ex("CREATE TABLE s (i int4, big int8)", json!([])),
            // An int64 for an int4 parameter, an int32 for an int8 one and a
            // string for an integer: refused by the driver, not cast.
            q("SELECT $1::int4 AS v", json!([{"int64": 1}])),
            ex("INSERT INTO s (big) VALUES ($1)", json!([{"int32": 1}])),
            ex("INSERT INTO s (i) VALUES ($1)", json!([{"str": "1"}])),
            // A value the host cannot convert at all is a bad parameter
            // (`execute` calls it a failed value conversion, as Spin does).
            q("SELECT $1::numeric AS v", json!([{"decimal": "twelve"}])),
            ex(
                "INSERT INTO s (i) VALUES ($1)",
                json!([{"uuid": "not-a-uuid"}])
            ),
            q("SELECT count(*) AS n FROM s", json!([])),
        ]),
    );
    for (i, r) in results[1..4].iter().enumerate() {
        let e = &r["error"];
        assert_eq!(e["kind"], "query-failed", "step {}: {r}", i + 1);
        let text = e["text"].as_str().unwrap_or_else(|| panic!("{e}"));
        assert!(text.contains("WrongType"), "{text}");
    }
    assert_eq!(
        results[4]["error"]["kind"], "bad-parameter",
        "{}",
        results[4]
    );
    assert!(results[4]["error"]["text"]
        .as_str()
        .unwrap()
        .contains("invalid decimal twelve"));
    assert_eq!(
        results[5]["error"]["kind"], "value-conversion-failed",
        "{}",
        results[5]
    );
    assert_eq!(count(&results[6]), 0);
}

#[test]
fn pg_server_errors_carry_their_sqlstate() {
    let p = pg_probe();
    let results = pg_steps(
        &p,
        json!([
            ex("CREATE TABLE u (id int4 PRIMARY KEY)", json!([])),
            ex("INSERT INTO u VALUES (1)", json!([])),
            ex("INSERT INTO u VALUES (1)", json!([])),
            q("SELEC 1", json!([])),
            ex("SELEC 1", json!([])),
            q("SELECT nope FROM u", json!([])),
            // Raised while the rows are read: Spin reports it as text.
            q("INSERT INTO u VALUES (1) RETURNING id", json!([])),
        ]),
    );
    let unique = &results[2]["error"]["db"];
    assert_eq!(unique["code"], "23505", "{}", results[2]);
    assert_eq!(unique["severity"], "ERROR");
    assert!(unique["message"]
        .as_str()
        .unwrap()
        .contains("duplicate key value violates unique constraint"));
    assert_eq!(unique["detail"], "Key (id)=(1) already exists.");
    assert!(
        unique["extras"]
            .as_array()
            .unwrap()
            .contains(&json!(["constraint", "u_pkey"])),
        "{unique}"
    );
    assert!(unique["as_text"].as_str().unwrap().contains("23505"));
    assert_eq!(results[3]["error"]["db"]["code"], "42601", "{}", results[3]);
    assert_eq!(results[4]["error"]["db"]["code"], "42601", "{}", results[4]);
    assert_eq!(results[5]["error"]["db"]["code"], "42703", "{}", results[5]);
    let late = &results[6]["error"];
    assert_eq!(late["kind"], "query-failed", "{late}");
    assert!(late.get("db").is_none(), "{late}");
    assert!(late["text"].as_str().unwrap().contains("23505"), "{late}");
}

#[test]
fn pg_open_refuses_addresses_outside_allowed_outbound_hosts() {
    let p = pg_probe();
    let open = |path: &str, address: &str| {
        pg_script(
            &p.probe,
            path,
            json!({ "open": [address], "steps": [q("SELECT 1::int4 AS one", json!([]))] }),
        )
    };
    let port: u16 = p
        .url
        .rsplit(':')
        .next()
        .and_then(|s| s.split('/').next())
        .and_then(|s| s.parse().ok())
        .unwrap();
    let db = p.url.rsplit('/').next().unwrap().to_string();
    // The allowed host:port, as a URL and as key-value pairs.
    assert_eq!(
        open("/pg/a", &p.url)["results"][0]["rows"],
        json!([[{"int32": 1}]])
    );
    let pairs = format!("host=127.0.0.1 port={port} user=krug dbname={db}");
    assert_eq!(
        open("/pg/a", &pairs)["results"][0]["rows"],
        json!([[{"int32": 1}]])
    );
    // Another port, another name for the same host, a Unix socket, and a
    // component without grants: refused before any connection.
    let refused = [
        (
            "/pg/a",
            p.url
                .replace(&format!(":{port}/"), &format!(":{}/", port + 1)),
        ),
        ("/pg/a", p.url.replace("127.0.0.1", "localhost")),
        ("/pg/a", format!("postgres://krug@127.0.0.1/{db}")),
        (
            "/pg/a",
            format!("host=/tmp port={port} user=krug dbname={db}"),
        ),
        ("/locked?op=pg", p.url.clone()),
    ];
    for (path, address) in &refused {
        let answer = open(path, address);
        let e = &answer["open_error"];
        assert_eq!(e["kind"], "connection-failed", "{address}: {answer}");
        let text = e["text"].as_str().unwrap();
        assert!(
            text.contains("is not permitted") || text.contains("Unix sockets"),
            "{address}: {text}"
        );
    }
    // Allowed but failing to connect: a database that does not exist.
    let missing = open("/pg/a", &p.url.replace(&db, "no_such_db"));
    assert_eq!(
        missing["open_error"]["kind"], "connection-failed",
        "{missing}"
    );
    assert!(missing["open_error"]["text"]
        .as_str()
        .unwrap()
        .contains("no_such_db"));
}

#[test]
fn pg_transactions_span_statements_on_one_connection() {
    let p = pg_probe();
    let results = pg_steps(
        &p,
        json!([
            ex("CREATE TABLE t (x int4)", json!([])),
            ex("BEGIN", json!([])),
            ex("INSERT INTO t VALUES (1)", json!([])),
            ex("COMMIT", json!([])),
            ex("BEGIN", json!([])),
            ex("INSERT INTO t VALUES (2)", json!([])),
            q("SELECT count(*) AS n FROM t", json!([])),
            ex("ROLLBACK", json!([])),
            q("SELECT x FROM t", json!([])),
        ]),
    );
    assert_eq!(count(&results[6]), 2, "inside the transaction");
    assert_eq!(results[8]["rows"], json!([[{"int32": 1}]]));
    // Another request sees only what was committed.
    let later = pg_steps(&p, json!([q("SELECT x FROM t", json!([]))]));
    assert_eq!(later[0]["rows"], json!([[{"int32": 1}]]));
}

#[test]
fn pg_two_handles_have_two_connections() {
    let p = pg_probe();
    let answer = pg_script(
        &p.probe,
        "/pg/two",
        json!({
            "open": [p.url, p.url],
            "steps": [
                {"conn": 0, "execute": "CREATE TABLE t (x int4)", "params": []},
                {"conn": 0, "query": "SELECT pg_backend_pid() AS pid", "params": []},
                {"conn": 1, "query": "SELECT pg_backend_pid() AS pid", "params": []},
                {"conn": 0, "execute": "BEGIN", "params": []},
                {"conn": 0, "execute": "INSERT INTO t VALUES (1)", "params": []},
                {"conn": 1, "query": "SELECT count(*) AS n FROM t", "params": []},
                {"conn": 0, "query": "SELECT count(*) AS n FROM t", "params": []},
                {"conn": 0, "execute": "COMMIT", "params": []},
                {"conn": 1, "query": "SELECT count(*) AS n FROM t", "params": []},
            ],
        }),
    );
    let r = answer["results"].as_array().unwrap();
    assert_ne!(single(&r[1]).1, single(&r[2]).1, "two backends");
    assert_eq!(
        count(&r[5]),
        0,
        "uncommitted: invisible to the other handle"
    );
    assert_eq!(count(&r[6]), 1);
    assert_eq!(count(&r[8]), 1, "committed: visible");
}

#[test]
fn pg_pooled_connections_keep_what_the_last_user_left_open() {
    let p = pg_probe();
    let pid = |r: &Value| single(r).1["int32"].as_i64().unwrap();
    let first = pg_steps(
        &p,
        json!([
            ex("CREATE TABLE t (x int4)", json!([])),
            q("SELECT pg_backend_pid() AS pid", json!([])),
            ex("BEGIN", json!([])),
            ex("INSERT INTO t VALUES (1)", json!([])),
        ]),
    );
    // The next request gets the same connection back from the pool, still
    // inside the transaction: like Spin, the pool does not roll back.
    let second = pg_steps(
        &p,
        json!([
            q("SELECT pg_backend_pid() AS pid", json!([])),
            q("SELECT count(*) AS n FROM t", json!([])),
            ex("ROLLBACK", json!([])),
            q("SELECT count(*) AS n FROM t", json!([])),
            // A transaction left failed cannot be recycled: the pool drops
            // that connection and the next request gets a new one.
            ex("BEGIN", json!([])),
            q("SELECT 1 / 0 AS boom", json!([])),
        ]),
    );
    assert_eq!(pid(&first[1]), pid(&second[0]), "{first:?} {second:?}");
    assert_eq!(
        count(&second[1]),
        1,
        "still in the first request's transaction"
    );
    assert_eq!(count(&second[3]), 0);
    assert_eq!(second[5]["error"]["kind"], "query-failed", "{}", second[5]);
    let third = pg_steps(
        &p,
        json!([
            q("SELECT pg_backend_pid() AS pid", json!([])),
            q("SELECT count(*) AS n FROM t", json!([])),
        ]),
    );
    assert_ne!(pid(&third[0]), pid(&second[0]));
    assert_eq!(count(&third[1]), 0);
}
