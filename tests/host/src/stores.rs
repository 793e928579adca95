//! Spin's key-value and SQLite interfaces, laid out on disk as Spin lays them
//! out locally: key-value in `<state>/sqlite_key_value.db` behind one shared
//! connection; SQLite `default` in `<state>/sqlite_db.db` with a new
//! connection for every guest `open`.
//!
//! Like Spin 4's local SQLite, a guest `open` only checks the label: the
//! connection is opened on the handle's first statement, every statement
//! runs on the blocking thread pool (so a slow query never holds an async
//! worker), and connections come with the SQLite binding's default busy
//! timeout of 5 s, as Spin's do. The app's write transactions turn it off
//! and retry themselves (see core's `db::immediate`).

use std::{
    path::{Path, PathBuf},
    sync::{
        atomic::{AtomicU32, AtomicU64, Ordering},
        Arc, Mutex,
    },
    time::Instant,
};

use anyhow::{Context, Result};
use rusqlite::{types::ValueRef, Connection, OptionalExtension};

/// Host side of an open key-value store (a guest `store` resource).
pub struct KvHandle {
    pub(crate) label: String,
}

/// Host side of an open SQLite connection (a guest `connection` resource):
/// the connection itself appears on the first statement.
pub struct SqlHandle {
    pub(crate) conn: Arc<Mutex<Option<Connection>>>,
}

/// What one instance's SQL cost, for the per-request stats line (SQLite
/// and PostgreSQL statements alike).
#[derive(Debug, Default)]
pub struct SqlStats {
    /// Statements executed.
    pub statements: AtomicU32,
    /// Of those, how many failed with "database is locked".
    pub busy: AtomicU32,
    /// Time inside SQLite or waiting for PostgreSQL (opening included), in
    /// microseconds.
    pub sql_us: AtomicU64,
    /// Time of the first statement on a fresh connection (open, schema
    /// parse, the statement), in microseconds.
    pub first_us: AtomicU64,
}

impl SqlStats {
    pub(crate) fn record(&self, took_us: u64, first: bool, busy: bool) {
        self.statements.fetch_add(1, Ordering::Relaxed);
        self.sql_us.fetch_add(took_us, Ordering::Relaxed);
        if first {
            self.first_us.fetch_add(took_us, Ordering::Relaxed);
        }
        if busy {
            self.busy.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// The app's storage, shared by every instance.
pub struct Stores {
    kv: Mutex<Connection>,
    sqlite_path: PathBuf,
    /// PostgreSQL connection pools, per component and address.
    pub(crate) pg: crate::pg::Pools,
}

impl Stores {
    /// Opens (creating) the state directory's databases.
    pub fn open(state_dir: &Path) -> Result<Self> {
        std::fs::create_dir_all(state_dir)
            .with_context(|| format!("creating {}", state_dir.display()))?;
        let kv_path = state_dir.join("sqlite_key_value.db");
        let kv =
            Connection::open(&kv_path).with_context(|| format!("opening {}", kv_path.display()))?;
        kv.execute_batch(
            "CREATE TABLE IF NOT EXISTS spin_key_value (
                store TEXT NOT NULL, key TEXT NOT NULL, value BLOB NOT NULL,
                PRIMARY KEY (store, key))",
        )?;
        Ok(Self {
            kv: Mutex::new(kv),
            sqlite_path: state_dir.join("sqlite_db.db"),
            pg: crate::pg::Pools::default(),
        })
    }

    /// A new connection to the `default` database.
    pub fn open_sqlite(&self) -> rusqlite::Result<Connection> {
        use rusqlite::OpenFlags;
        // Each connection is used by one guest at a time, so SQLite's own
        // per-connection mutex is pure overhead.
        Connection::open_with_flags(
            &self.sqlite_path,
            OpenFlags::SQLITE_OPEN_READ_WRITE
                | OpenFlags::SQLITE_OPEN_CREATE
                | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
    }

    /// Runs one guest statement on `conn` (a handle's connection slot) on
    /// the blocking pool, opening the connection first when this is the
    /// handle's first statement.
    pub async fn execute_blocking(
        self: &Arc<Self>,
        conn: Arc<Mutex<Option<Connection>>>,
        stats: &Arc<SqlStats>,
        sql: String,
        params: Vec<Value>,
    ) -> std::result::Result<(Vec<String>, Vec<Vec<Value>>), String> {
        let stores = self.clone();
        let stats = stats.clone();
        tokio::task::spawn_blocking(move || {
            let started = Instant::now();
            let mut guard = conn.lock().map_err(|_| "connection poisoned".to_string())?;
            let first = guard.is_none();
            if first {
                *guard = Some(stores.open_sqlite().map_err(|e| e.to_string())?);
            }
            let result = execute(guard.as_ref().expect("opened above"), &sql, params);
            let busy = matches!(&result, Err(rusqlite::Error::SqliteFailure(e, _))
                if e.code == rusqlite::ErrorCode::DatabaseBusy);
            let took = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
            stats.record(took, first, busy);
            result.map_err(|e| e.to_string())
        })
        .await
        .map_err(|e| format!("query task failed: {e}"))?
    }

    fn with_kv<T>(
        &self,
        f: impl FnOnce(&Connection) -> rusqlite::Result<T>,
    ) -> std::result::Result<T, String> {
        let conn = self
            .kv
            .lock()
            .map_err(|_| "key-value store poisoned".to_string())?;
        f(&conn).map_err(|e| e.to_string())
    }

    /// `get`.
    pub fn kv_get(&self, store: &str, key: &str) -> std::result::Result<Option<Vec<u8>>, String> {
        self.with_kv(|c| {
            c.prepare_cached("SELECT value FROM spin_key_value WHERE store = ?1 AND key = ?2")?
                .query_row((store, key), |r| r.get(0))
                .optional()
        })
    }

    /// `set`.
    pub fn kv_set(&self, store: &str, key: &str, value: &[u8]) -> std::result::Result<(), String> {
        self.with_kv(|c| {
            c.prepare_cached(
                "INSERT INTO spin_key_value (store, key, value) VALUES (?1, ?2, ?3)
                 ON CONFLICT (store, key) DO UPDATE SET value = excluded.value",
            )?
            .execute((store, key, value))
            .map(|_| ())
        })
    }

    /// `delete`.
    pub fn kv_delete(&self, store: &str, key: &str) -> std::result::Result<(), String> {
        self.with_kv(|c| {
            c.prepare_cached("DELETE FROM spin_key_value WHERE store = ?1 AND key = ?2")?
                .execute((store, key))
                .map(|_| ())
        })
    }

    /// `exists`.
    pub fn kv_exists(&self, store: &str, key: &str) -> std::result::Result<bool, String> {
        self.kv_get(store, key).map(|v| v.is_some())
    }

    /// `get-keys`.
    pub fn kv_keys(&self, store: &str) -> std::result::Result<Vec<String>, String> {
        self.with_kv(|c| {
            let mut stmt =
                c.prepare_cached("SELECT key FROM spin_key_value WHERE store = ?1 ORDER BY key")?;
            let keys = stmt
                .query_map([store], |r| r.get(0))?
                .collect::<rusqlite::Result<Vec<String>>>();
            keys
        })
    }
}

/// A SQLite value in the host's own terms, converted to and from the
/// generated binding types in `state.rs`.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// NULL.
    Null,
    /// Integer.
    Integer(i64),
    /// Real.
    Real(f64),
    /// Text.
    Text(String),
    /// Blob.
    Blob(Vec<u8>),
}

/// Runs one statement the way Spin does: prepare, bind positional
/// parameters, step through every row.
pub fn execute(
    conn: &Connection,
    sql: &str,
    params: Vec<Value>,
) -> rusqlite::Result<(Vec<String>, Vec<Vec<Value>>)> {
    let mut stmt = conn.prepare_cached(sql)?;
    let columns: Vec<String> = stmt
        .column_names()
        .into_iter()
        .map(str::to_string)
        .collect();
    let bound = params.into_iter().map(|v| match v {
        Value::Null => rusqlite::types::Value::Null,
        Value::Integer(i) => rusqlite::types::Value::Integer(i),
        Value::Real(f) => rusqlite::types::Value::Real(f),
        Value::Text(s) => rusqlite::types::Value::Text(s),
        Value::Blob(b) => rusqlite::types::Value::Blob(b),
    });
    let mut rows = stmt.query(rusqlite::params_from_iter(bound))?;
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        let mut values = Vec::with_capacity(columns.len());
        for i in 0..columns.len() {
            values.push(match row.get_ref(i)? {
                ValueRef::Null => Value::Null,
                ValueRef::Integer(n) => Value::Integer(n),
                ValueRef::Real(f) => Value::Real(f),
                ValueRef::Text(t) => Value::Text(String::from_utf8_lossy(t).into_owned()),
                ValueRef::Blob(b) => Value::Blob(b.to_vec()),
            });
        }
        out.push(values);
    }
    Ok((columns, out))
}
