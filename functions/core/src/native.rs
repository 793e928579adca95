//! Native implementations of the ports, for tests and tools (feature
//! `native`). `NativeSql` uses the same SQLite engine Spin uses locally.

use std::{
    collections::HashMap,
    path::Path,
    sync::{
        atomic::{AtomicU64, Ordering},
        Mutex,
    },
};

use chrono::{DateTime, Duration, Utc};
use rusqlite::{types::ValueRef, Connection, ErrorCode};

use crate::ports::{Clock, KeyValue, Random, Rows, Sql, SqlValue, StoreError, Variables};

mod pg;
pub use pg::{postgres_sql, NativePg, NativePostgresSql, TestServer};

/// A SQLite connection, opened as Spin opens its local ones (with the
/// binding's 5 s busy timeout, which `db::immediate` turns off so that
/// contention surfaces as [`StoreError::Busy`] and it retries itself).
///
/// With `KRUG_TEST_BACKEND=postgres` in the environment it is a PostgreSQL
/// session instead, on the throwaway [`TestServer`]: [`NativeSql::memory`]
/// gets a fresh database and [`NativeSql::open`] one database per path, so
/// every thread that opens the same file shares one database, as they would
/// share the file. That runs core's repository and race tests on both
/// backends unchanged.
pub struct NativeSql {
    inner: Inner,
}

enum Inner {
    Sqlite(Connection),
    Postgres(Box<NativePostgresSql>),
}

/// The backend core's native tests run on, from `KRUG_TEST_BACKEND`
/// (`sqlite`, the default, or `postgres`).
pub fn test_backend() -> crate::ports::Dialect {
    match std::env::var("KRUG_TEST_BACKEND").as_deref() {
        Ok("postgres") => crate::ports::Dialect::Postgres,
        Ok("" | "sqlite") | Err(_) => crate::ports::Dialect::Sqlite,
        Ok(other) => panic!("KRUG_TEST_BACKEND={other}: expected sqlite or postgres"),
    }
}

// The URL of the test database standing for each file path opened on
// PostgreSQL.
fn database_for(path: &Path) -> String {
    static BY_PATH: Mutex<Option<HashMap<std::path::PathBuf, String>>> = Mutex::new(None);
    let mut map = BY_PATH.lock().expect("database map");
    map.get_or_insert_with(HashMap::new)
        .entry(path.to_path_buf())
        .or_insert_with(|| TestServer::shared().fresh_database())
        .clone()
}

fn connect_postgres(url: &str) -> Result<NativeSql, StoreError> {
    postgres_sql(url)
        .map(|pg| NativeSql {
            inner: Inner::Postgres(Box::new(pg)),
        })
        .map_err(crate::postgres::classify)
}

impl NativeSql {
    /// Opens (creating if needed) the database file at `path`.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        if test_backend() == crate::ports::Dialect::Postgres {
            return connect_postgres(&database_for(path));
        }
        Connection::open(path)
            .map(|conn| Self {
                inner: Inner::Sqlite(conn),
            })
            .map_err(map_error)
    }

    /// A private in-memory database.
    pub fn memory() -> Result<Self, StoreError> {
        if test_backend() == crate::ports::Dialect::Postgres {
            return connect_postgres(&TestServer::shared().fresh_database());
        }
        Self::sqlite_memory()
    }

    /// A private in-memory SQLite database, whatever the test backend.
    pub fn sqlite_memory() -> Result<Self, StoreError> {
        Connection::open_in_memory()
            .map(|conn| Self {
                inner: Inner::Sqlite(conn),
            })
            .map_err(map_error)
    }
}

fn map_error(e: rusqlite::Error) -> StoreError {
    match &e {
        rusqlite::Error::SqliteFailure(err, _) => match err.code {
            ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked => StoreError::Busy,
            ErrorCode::ConstraintViolation => StoreError::Constraint(e.to_string()),
            _ => StoreError::Other(e.to_string()),
        },
        _ => StoreError::Other(e.to_string()),
    }
}

impl Sql for NativeSql {
    fn execute(&self, sql: &str, params: &[SqlValue]) -> Result<Rows, StoreError> {
        let conn = match &self.inner {
            Inner::Sqlite(conn) => conn,
            Inner::Postgres(pg) => return pg.execute(sql, params),
        };
        let mut stmt = conn.prepare(sql).map_err(map_error)?;
        let columns: Vec<String> = stmt.column_names().iter().map(|c| c.to_string()).collect();
        let bound: Vec<rusqlite::types::Value> = params
            .iter()
            .map(|p| match p {
                SqlValue::Null => rusqlite::types::Value::Null,
                SqlValue::Integer(i) => rusqlite::types::Value::Integer(*i),
                SqlValue::Real(f) => rusqlite::types::Value::Real(*f),
                SqlValue::Text(s) => rusqlite::types::Value::Text(s.clone()),
                SqlValue::Blob(b) => rusqlite::types::Value::Blob(b.clone()),
            })
            .collect();
        let mut rows = stmt
            .query(rusqlite::params_from_iter(bound))
            .map_err(map_error)?;
        let mut out = Vec::new();
        while let Some(row) = rows.next().map_err(map_error)? {
            let mut values = Vec::with_capacity(columns.len());
            for i in 0..columns.len() {
                values.push(match row.get_ref(i).map_err(map_error)? {
                    ValueRef::Null => SqlValue::Null,
                    ValueRef::Integer(i) => SqlValue::Integer(i),
                    ValueRef::Real(f) => SqlValue::Real(f),
                    ValueRef::Text(t) => SqlValue::Text(String::from_utf8_lossy(t).into_owned()),
                    ValueRef::Blob(b) => SqlValue::Blob(b.to_vec()),
                });
            }
            out.push(values);
        }
        Ok(Rows { columns, rows: out })
    }

    fn changes(&self) -> Result<u64, StoreError> {
        match &self.inner {
            Inner::Sqlite(conn) => Ok(conn.changes()),
            Inner::Postgres(pg) => pg.changes(),
        }
    }

    fn dialect(&self) -> crate::ports::Dialect {
        match &self.inner {
            Inner::Sqlite(_) => crate::ports::Dialect::Sqlite,
            Inner::Postgres(pg) => pg.dialect(),
        }
    }
}

/// An in-memory key-value store.
#[derive(Default)]
pub struct MemoryKv {
    map: Mutex<HashMap<String, Vec<u8>>>,
}

impl KeyValue for MemoryKv {
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.map.lock().expect("kv lock").get(key).cloned())
    }

    fn set(&self, key: &str, value: &[u8]) -> Result<(), StoreError> {
        self.map
            .lock()
            .expect("kv lock")
            .insert(key.to_string(), value.to_vec());
        Ok(())
    }

    fn delete(&self, key: &str) -> Result<(), StoreError> {
        self.map.lock().expect("kv lock").remove(key);
        Ok(())
    }
}

/// The system clock.
#[derive(Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A clock tests set and advance by hand.
pub struct ManualClock {
    now: Mutex<DateTime<Utc>>,
}

impl ManualClock {
    /// Starts at `at`.
    pub fn at(at: DateTime<Utc>) -> Self {
        Self {
            now: Mutex::new(at),
        }
    }

    /// Moves time forward by `by`.
    pub fn advance(&self, by: Duration) {
        *self.now.lock().expect("clock lock") += by;
    }

    /// Sets the time.
    pub fn set(&self, at: DateTime<Utc>) {
        *self.now.lock().expect("clock lock") = at;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self.now.lock().expect("clock lock")
    }
}

/// The operating system's CSPRNG.
#[derive(Default, Clone, Copy)]
pub struct OsRandom;

impl Random for OsRandom {
    fn fill(&self, buf: &mut [u8]) {
        getrandom::fill(buf).expect("the OS random source works");
    }
}

/// A deterministic generator (splitmix64) for reproducible tests.
pub struct SeqRandom {
    state: AtomicU64,
}

impl SeqRandom {
    /// Starts from `seed`.
    pub fn new(seed: u64) -> Self {
        Self {
            state: AtomicU64::new(seed),
        }
    }
}

impl Random for SeqRandom {
    fn fill(&self, buf: &mut [u8]) {
        for chunk in buf.chunks_mut(8) {
            let mut z = self
                .state
                .fetch_add(0x9E37_79B9_7F4A_7C15, Ordering::Relaxed)
                .wrapping_add(0x9E37_79B9_7F4A_7C15);
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^= z >> 31;
            chunk.copy_from_slice(&z.to_le_bytes()[..chunk.len()]);
        }
    }
}

/// Settings from a map.
#[derive(Default, Clone)]
pub struct MapVariables(pub HashMap<String, String>);

impl Variables for MapVariables {
    fn get(&self, name: &str) -> Option<String> {
        self.0.get(name).cloned()
    }
}
