//! The end-to-end harness: [`spawn_app`] builds the WASM components once,
//! starts the local host on a free 127.0.0.1 port with a fresh state directory
//! and the given settings, applies migrations, and hands tests a plain HTTP
//! client. [`MockServer`] stands in for external services (SMS gateway,
//! payment provider, Telegram, partner CRMs).
//!
//! With `KRUG_TEST_BACKEND=postgres` every app runs on PostgreSQL instead of
//! SQLite: a fresh database on the throwaway test server, reached through
//! Spin's PostgreSQL interface (`database = postgres`), and the white-box
//! helpers ([`TestApp::count`], [`TestApp::table_counts`],
//! [`TestApp::assert_ledger_sound`]) read that database.
#![warn(missing_docs)]

mod auth_helpers;
mod client;
pub mod crm;
mod mock;
pub mod openapi;
pub mod process;
mod races;
pub mod saleor;
mod webhooks;

use std::{collections::HashMap, path::PathBuf, process::Command, sync::OnceLock};

use krug_core::ports::Sql;

pub use auth_helpers::{
    code_in, code_sent_to, ip_for, spawn_auth_app, spawn_auth_app_with, tokens_from, AuthApp, Cast,
    Club, Tokens, ADMIN_PHONE, SMS_TOKEN,
};
pub use client::{Client, TestResponse};
pub use krug_host::Host;
pub use mock::{MockServer, Recorded};
pub use races::{redeem_burst, redemption_tally};
pub use webhooks::{deliver_generic, deliver_generic_burst, rfc3339_at, rfc3339_in, unix_now};

/// The repository root.
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Builds every component to `target/wasm32-wasip2/release/` once per test
/// binary (cargo itself skips what is fresh). Panics with cargo's output on
/// failure.
pub fn build_components() {
    static BUILT: OnceLock<()> = OnceLock::new();
    BUILT.get_or_init(|| {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let mut cmd = Command::new(cargo);
        cmd.current_dir(repo_root())
            .args(["build", "--release", "--target", "wasm32-wasip2"]);
        for krate in component_crates() {
            cmd.args(["-p", &krate]);
        }
        let out = cmd.output().expect("cargo runs");
        assert!(
            out.status.success(),
            "building components failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    });
}

/// Builds the host's fixture components (`tests/fixtures/*`) once per test
/// binary.
pub fn build_fixtures() {
    static BUILT: OnceLock<()> = OnceLock::new();
    BUILT.get_or_init(|| {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let out = Command::new(cargo)
            .current_dir(repo_root())
            .args([
                "build",
                "--release",
                "--target",
                "wasm32-wasip2",
                "-p",
                "fixture-probe",
                "-p",
                "fixture-unsupported",
            ])
            .output()
            .expect("cargo runs");
        assert!(
            out.status.success(),
            "building fixtures failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    });
}

/// Package names of the app's components (every crate under `functions/`
/// except core and the adapter).
pub fn component_crates() -> Vec<String> {
    let mut crates: Vec<String> = std::fs::read_dir(repo_root().join("functions"))
        .expect("functions/ exists")
        .filter_map(|e| e.ok())
        .filter(|e| e.path().join("Cargo.toml").exists())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|name| name != "core" && name != "spin-adapter")
        .map(|name| format!("krug-{name}"))
        .collect();
    crates.sort();
    crates
}

/// A running app for one test.
pub struct TestApp {
    /// The host serving the app.
    pub host: Host,
    /// Client bound to the host's address.
    pub client: Client,
    /// The `jobs_token` this app was started with.
    pub jobs_token: String,
    /// The settings it was started with.
    pub variables: HashMap<String, String>,
    /// The PostgreSQL database it runs on, when it does (see the crate docs).
    pub postgres_url: Option<String>,
    _state: tempfile::TempDir,
}

/// The settings that put an app on PostgreSQL database `url` of the test
/// server.
pub fn postgres_variables(url: &str) -> HashMap<String, String> {
    HashMap::from([
        ("database".to_string(), "postgres".to_string()),
        ("postgres_url".to_string(), url.to_string()),
        (
            "postgres_host".to_string(),
            krug_core::native::TestServer::shared().origin(),
        ),
    ])
}

impl TestApp {
    /// Runs job `name` now through the internal route; panics unless 200.
    pub fn run_job(&self, name: &str) -> serde_json::Value {
        let resp = self
            .client
            .post(&format!("/internal/jobs/{name}"))
            .bearer(&self.jobs_token)
            .send();
        assert_eq!(resp.status, 200, "job {name}: {}", resp.text());
        resp.json()
    }

    /// The SQLite database file the app uses (for white-box assertions).
    pub fn db_path(&self) -> PathBuf {
        self._state.path().join("sqlite_db.db")
    }

    /// The single integer `query` returns, read straight from the app's
    /// database (white-box checks such as "nothing was written").
    pub fn count(&self, query: &str) -> i64 {
        if let Some(url) = &self.postgres_url {
            let sql = krug_core::native::postgres_sql(url).expect("connect to the test database");
            let rows = sql.execute(query, &[]).expect(query);
            return match rows.rows.first().and_then(|r| r.first()) {
                Some(krug_core::ports::SqlValue::Integer(n)) => *n,
                Some(krug_core::ports::SqlValue::Null) | None => 0,
                other => panic!("{query}: {other:?} is not an integer"),
            };
        }
        let conn = rusqlite::Connection::open(self.db_path()).expect("open db");
        conn.query_row(query, [], |r| r.get(0)).expect(query)
    }

    /// Rows in every table of the app's database, by table name: compare
    /// two snapshots to show that a refused request wrote nothing.
    pub fn table_counts(&self) -> std::collections::BTreeMap<String, i64> {
        let names: Vec<String> = if let Some(url) = &self.postgres_url {
            let sql = krug_core::native::postgres_sql(url).expect("connect to the test database");
            sql.execute(
                "SELECT table_name FROM information_schema.tables \
                 WHERE table_schema = 'public' AND table_type = 'BASE TABLE'",
                &[],
            )
            .expect("list tables")
            .rows
            .into_iter()
            .filter_map(|r| match r.into_iter().next() {
                Some(krug_core::ports::SqlValue::Text(t)) => Some(t),
                _ => None,
            })
            .collect()
        } else {
            let conn = rusqlite::Connection::open(self.db_path()).expect("open db");
            let mut stmt = conn
                .prepare(
                    "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'",
                )
                .expect("list tables");
            stmt.query_map([], |r| r.get(0))
                .expect("list tables")
                .collect::<Result<_, _>>()
                .expect("table names")
        };
        names
            .into_iter()
            .map(|t| {
                let n = self.count(&format!("SELECT COUNT(*) FROM \"{t}\""));
                (t, n)
            })
            .collect()
    }

    /// Panics unless the app's ledger passes core's invariant check
    /// (balances, lots, entries and their causes agree).
    pub fn assert_ledger_sound(&self) {
        let bad = if let Some(url) = &self.postgres_url {
            let sql = krug_core::native::postgres_sql(url).expect("connect to the test database");
            krug_core::wallet::invariants::check(&sql)
        } else {
            let sql = krug_core::native::NativeSql::open(&self.db_path()).expect("open db");
            krug_core::wallet::invariants::check(&sql)
        }
        .expect("invariant queries");
        assert!(
            bad.is_empty(),
            "ledger invariants violated:\n{}",
            bad.join("\n")
        );
    }
}

/// Starts the app with default test settings.
pub fn spawn_app() -> TestApp {
    spawn_app_with(HashMap::new())
}

/// Starts the app with test settings overridden by `overrides`
/// (variable name → value).
pub fn spawn_app_with(overrides: HashMap<String, String>) -> TestApp {
    build_components();
    let state = tempfile::tempdir().expect("temp dir");
    let jobs_token = format!("jobs-{}", random_hex(16));
    let mut variables: HashMap<String, String> = HashMap::from([
        ("jwt_secret".into(), random_hex(32)),
        ("jobs_token".into(), jobs_token.clone()),
    ]);
    if krug_core::native::test_backend() == krug_core::ports::Dialect::Postgres {
        let url = krug_core::native::TestServer::shared().fresh_database();
        variables.extend(postgres_variables(&url));
    }
    variables.extend(overrides);
    // Settings may choose PostgreSQL themselves (postgres_variables).
    let postgres_url = match variables.get("database").map(String::as_str) {
        Some("postgres") => variables.get("postgres_url").cloned(),
        _ => None,
    };
    let jobs_token = variables["jobs_token"].clone();

    let mut cfg = krug_host::HostConfig::new(repo_root().join("spin.toml"));
    cfg.state_dir = state.path().to_path_buf();
    cfg.variables = variables.clone();
    let host = Host::start(cfg).expect("host starts");
    let client = Client::checked(host.addr());
    let migrated = client.post("/internal/migrate").bearer(&jobs_token).send();
    assert_eq!(migrated.status, 200, "migrate: {}", migrated.text());
    TestApp {
        host,
        client,
        jobs_token,
        variables,
        postgres_url,
        _state: state,
    }
}

/// `n` random bytes as hex, from the OS.
pub fn random_hex(n: usize) -> String {
    let mut bytes = vec![0u8; n];
    use std::io::Read;
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut bytes))
        .expect("read /dev/urandom");
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
