//! The core ports implemented on spin-sdk host interfaces.

use std::cell::{Cell, OnceCell};

use chrono::{DateTime, Utc};
use krug_core::ports::{
    Clock, Dialect, Http, HttpError, KeyValue, OutboundRequest, OutboundResponse, Random, Rows,
    Sql, SqlValue, StoreError, Variables,
};
use krug_core::postgres::{classify, decimal_value, PgClient, PgFailure, PostgresSql};
use spin_sdk::{key_value, pg4, sqlite3};

/// The app's database, opened on first use so routes that never touch SQL
/// pay nothing: SQLite `default` (one connection per request instance, as
/// Spin gives each guest `open` its own), or PostgreSQL when the variable
/// `database` is `postgres` (at `postgres_url`, through Spin's PostgreSQL
/// interface and [`PostgresSql`]). It counts the statements it sends (and
/// how many came back "busy") for the access log.
#[derive(Default)]
pub struct SpinSql {
    backend: OnceCell<Backend>,
    statements: Cell<u32>,
    busy: Cell<u32>,
}

enum Backend {
    Sqlite(sqlite3::Connection),
    Postgres(PostgresSql<SpinPg>),
}

/// Which database the app runs on, from the variable `database`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DatabaseKind {
    /// SQLite `default` (the variable is empty or `sqlite`).
    Sqlite,
    /// PostgreSQL at `postgres_url`.
    Postgres,
}

impl DatabaseKind {
    /// Reads the setting; anything but `sqlite`, `postgres` or empty is a
    /// deployment error.
    pub fn parse(value: &str) -> Result<Self, StoreError> {
        match value.trim() {
            "" | "sqlite" => Ok(Self::Sqlite),
            "postgres" => Ok(Self::Postgres),
            other => Err(StoreError::Other(format!(
                "variable database is {other:?}: expected sqlite or postgres"
            ))),
        }
    }
}

impl SpinSql {
    /// Statements sent so far, and how many of them found the database busy.
    /// On PostgreSQL these are the statements the server received (each
    /// `BEGIN`, writers' lock and `COMMIT` counts).
    pub(crate) fn counts(&self) -> (u32, u32) {
        let statements = match self.backend.get() {
            Some(Backend::Postgres(pg)) => u32::try_from(pg.statements()).unwrap_or(u32::MAX),
            _ => self.statements.get(),
        };
        (statements, self.busy.get())
    }

    fn backend(&self) -> Result<&Backend, StoreError> {
        if let Some(backend) = self.backend.get() {
            return Ok(backend);
        }
        let kind = DatabaseKind::parse(&spin_sdk::variables::get("database").unwrap_or_default())?;
        let backend = match kind {
            DatabaseKind::Sqlite => {
                Backend::Sqlite(sqlite3::Connection::open_default().map_err(map_sql_error)?)
            }
            DatabaseKind::Postgres => Backend::Postgres(PostgresSql::new(SpinPg::open()?)),
        };
        Ok(self.backend.get_or_init(|| backend))
    }

    fn sqlite_execute(
        &self,
        conn: &sqlite3::Connection,
        sql: &str,
        params: &[SqlValue],
    ) -> Result<Rows, StoreError> {
        let params: Vec<sqlite3::Value> = params.iter().map(to_spin).collect();
        self.statements.set(self.statements.get().saturating_add(1));
        let result = conn.execute(sql, &params).map_err(map_sql_error)?;
        Ok(Rows {
            columns: result.columns,
            rows: result
                .rows
                .into_iter()
                .map(|row| row.values.into_iter().map(from_spin).collect())
                .collect(),
        })
    }
}

/// Spin's PostgreSQL connection as core's [`PgClient`].
pub struct SpinPg {
    conn: pg4::Connection,
}

impl SpinPg {
    /// Connects to `postgres_url`, ending any transaction a previous guest
    /// left open on the pooled connection.
    ///
    /// Spin pools PostgreSQL connections per address and hands one back to
    /// the pool as the guest left it; a guest that trapped between `BEGIN`
    /// and `COMMIT` would leave its writes pending and the writers' lock
    /// held for whoever gets the connection next.
    fn open() -> Result<Self, StoreError> {
        let url = spin_sdk::variables::get("postgres_url")
            .ok()
            .filter(|u| !u.is_empty())
            .ok_or_else(|| {
                StoreError::Other("variable database is postgres but postgres_url is empty".into())
            })?;
        let conn = pg4::Connection::open(&url).map_err(|e| classify(pg_failure(e)))?;
        conn.execute("ROLLBACK", &[])
            .map_err(|e| classify(pg_failure(e)))?;
        Ok(Self { conn })
    }
}

fn to_pg(value: &SqlValue) -> pg4::ParameterValue {
    match value {
        SqlValue::Null => pg4::ParameterValue::DbNull,
        SqlValue::Integer(i) => pg4::ParameterValue::Int64(*i),
        SqlValue::Real(f) => pg4::ParameterValue::Floating64(*f),
        SqlValue::Text(s) => pg4::ParameterValue::Str(s.clone()),
        SqlValue::Blob(b) => pg4::ParameterValue::Binary(b.clone()),
    }
}

// Results in SQLite's storage classes, which is what core reads. Spin
// hands a `void` column (the writers' lock) and a `name` column over as
// raw bytes of an "other" type: NULL and text here.
fn from_pg(value: pg4::DbValue, ty: &pg4::DbDataType) -> Result<SqlValue, PgFailure> {
    if let (pg4::DbDataType::Other(name), pg4::DbValue::Unsupported(bytes)) = (ty, &value) {
        match name.as_str() {
            "void" => return Ok(SqlValue::Null),
            "name" => return Ok(SqlValue::Text(String::from_utf8_lossy(bytes).into_owned())),
            _ => {}
        }
    }
    Ok(match value {
        pg4::DbValue::DbNull => SqlValue::Null,
        pg4::DbValue::Boolean(b) => SqlValue::Integer(i64::from(b)),
        pg4::DbValue::Int8(i) => SqlValue::Integer(i64::from(i)),
        pg4::DbValue::Int16(i) => SqlValue::Integer(i64::from(i)),
        pg4::DbValue::Int32(i) => SqlValue::Integer(i64::from(i)),
        pg4::DbValue::Int64(i) => SqlValue::Integer(i),
        pg4::DbValue::Floating32(f) => SqlValue::Real(f64::from(f)),
        pg4::DbValue::Floating64(f) => SqlValue::Real(f),
        pg4::DbValue::Str(s) | pg4::DbValue::Uuid(s) => SqlValue::Text(s),
        pg4::DbValue::Binary(b) => SqlValue::Blob(b),
        pg4::DbValue::Decimal(d) => decimal_value(&d).ok_or_else(|| PgFailure {
            sqlstate: None,
            message: format!("numeric {d:?} is not a number"),
        })?,
        other => {
            return Err(PgFailure {
                sqlstate: None,
                message: format!("a column of a type core does not read: {other:?}"),
            })
        }
    })
}

fn pg_failure(e: pg4::PgError) -> PgFailure {
    match e {
        pg4::PgError::QueryFailed(pg4::QueryError::DbError(db)) => PgFailure {
            sqlstate: Some(db.code),
            message: db.message,
        },
        // Spin reports a failure while reading rows (a unique violation of
        // an `INSERT … RETURNING`) as text, with the SQLSTATE inside it.
        pg4::PgError::QueryFailed(pg4::QueryError::Text(message)) => PgFailure {
            sqlstate: sqlstate_in(&message),
            message,
        },
        pg4::PgError::ConnectionFailed(m) => PgFailure {
            sqlstate: None,
            message: format!("connection failed: {m}"),
        },
        pg4::PgError::BadParameter(m) => PgFailure {
            sqlstate: None,
            message: format!("bad parameter: {m}"),
        },
        pg4::PgError::ValueConversionFailed(m) => PgFailure {
            sqlstate: None,
            message: format!("value conversion failed: {m}"),
        },
        pg4::PgError::Other(m) => PgFailure {
            sqlstate: None,
            message: m,
        },
    }
}

/// The SQLSTATE in a driver's error text (`SqlState(E23505)`), if any.
fn sqlstate_in(text: &str) -> Option<String> {
    let at = text.find("SqlState(E")? + "SqlState(E".len();
    let code = text.get(at..at + 5)?;
    code.bytes()
        .all(|b| b.is_ascii_alphanumeric())
        .then(|| code.to_string())
}

impl PgClient for SpinPg {
    fn query(&self, sql: &str, params: &[SqlValue]) -> Result<Rows, PgFailure> {
        let params: Vec<_> = params.iter().map(to_pg).collect();
        let set = self.conn.query(sql, &params).map_err(pg_failure)?;
        let types: Vec<pg4::DbDataType> = set.columns.iter().map(|c| c.data_type.clone()).collect();
        Ok(Rows {
            columns: set.columns.into_iter().map(|c| c.name).collect(),
            rows: set
                .rows
                .into_iter()
                .map(|row| {
                    row.into_iter()
                        .zip(&types)
                        .map(|(v, ty)| from_pg(v, ty))
                        .collect()
                })
                .collect::<Result<_, _>>()?,
        })
    }

    fn execute(&self, sql: &str, params: &[SqlValue]) -> Result<u64, PgFailure> {
        let params: Vec<_> = params.iter().map(to_pg).collect();
        self.conn.execute(sql, &params).map_err(pg_failure)
    }
}

fn to_spin(value: &SqlValue) -> sqlite3::Value {
    match value {
        SqlValue::Null => sqlite3::Value::Null,
        SqlValue::Integer(i) => sqlite3::Value::Integer(*i),
        SqlValue::Real(f) => sqlite3::Value::Real(*f),
        SqlValue::Text(s) => sqlite3::Value::Text(s.clone()),
        SqlValue::Blob(b) => sqlite3::Value::Blob(b.clone()),
    }
}

fn from_spin(value: sqlite3::Value) -> SqlValue {
    match value {
        sqlite3::Value::Null => SqlValue::Null,
        sqlite3::Value::Integer(i) => SqlValue::Integer(i),
        sqlite3::Value::Real(f) => SqlValue::Real(f),
        sqlite3::Value::Text(s) => SqlValue::Text(s),
        sqlite3::Value::Blob(b) => SqlValue::Blob(b),
    }
}

// Spin reports every engine failure as `io(message)`; SQLite's own message
// text is the only way to tell contention and constraint failures apart.
fn map_sql_error(e: sqlite3::Error) -> StoreError {
    match e {
        sqlite3::Error::Io(msg) => classify_sqlite_message(msg),
        other => StoreError::Other(other.to_string()),
    }
}

fn classify_sqlite_message(msg: String) -> StoreError {
    let lower = msg.to_ascii_lowercase();
    if lower.contains("database is locked") || lower.contains("database is busy") {
        StoreError::Busy
    } else if lower.contains("constraint") {
        StoreError::Constraint(msg)
    } else {
        StoreError::Other(msg)
    }
}

impl Sql for SpinSql {
    fn execute(&self, sql: &str, params: &[SqlValue]) -> Result<Rows, StoreError> {
        let result = match self.backend()? {
            Backend::Sqlite(conn) => self.sqlite_execute(conn, sql, params),
            Backend::Postgres(pg) => pg.execute(sql, params),
        };
        if matches!(result, Err(StoreError::Busy)) {
            self.busy.set(self.busy.get().saturating_add(1));
        }
        result
    }

    fn changes(&self) -> Result<u64, StoreError> {
        match self.backend()? {
            Backend::Sqlite(conn) => Ok(conn.changes()),
            Backend::Postgres(pg) => pg.changes(),
        }
    }

    fn dialect(&self) -> Dialect {
        match self.backend.get() {
            Some(Backend::Postgres(_)) => Dialect::Postgres,
            Some(Backend::Sqlite(_)) => Dialect::Sqlite,
            // Core asks before its first statement: open now (a failure
            // to open surfaces again on that statement).
            None => match self.backend() {
                Ok(Backend::Postgres(_)) => Dialect::Postgres,
                _ => Dialect::Sqlite,
            },
        }
    }
}

/// Key-value store `default`, opened on first use.
#[derive(Default)]
pub struct SpinKv {
    store: OnceCell<key_value::Store>,
}

impl SpinKv {
    fn store(&self) -> Result<&key_value::Store, StoreError> {
        if let Some(store) = self.store.get() {
            return Ok(store);
        }
        let store =
            key_value::Store::open_default().map_err(|e| StoreError::Other(e.to_string()))?;
        Ok(self.store.get_or_init(|| store))
    }
}

impl KeyValue for SpinKv {
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.store()?
            .get(key)
            .map_err(|e| StoreError::Other(e.to_string()))
    }

    fn set(&self, key: &str, value: &[u8]) -> Result<(), StoreError> {
        self.store()?
            .set(key, value)
            .map_err(|e| StoreError::Other(e.to_string()))
    }

    fn delete(&self, key: &str) -> Result<(), StoreError> {
        self.store()?
            .delete(key)
            .map_err(|e| StoreError::Other(e.to_string()))
    }
}

/// The WASI wall clock (the host may shift it in tests).
#[derive(Default, Clone, Copy)]
pub struct SpinClock;

impl Clock for SpinClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// The WASI CSPRNG (`wasi:random/random`).
#[derive(Default, Clone, Copy)]
pub struct SpinRandom;

impl Random for SpinRandom {
    fn fill(&self, buf: &mut [u8]) {
        let bytes = wasi::random::random::get_random_bytes(buf.len() as u64);
        buf.copy_from_slice(&bytes[..buf.len()]);
    }
}

/// Spin variables visible to this component.
#[derive(Default, Clone, Copy)]
pub struct SpinVariables;

impl Variables for SpinVariables {
    fn get(&self, name: &str) -> Option<String> {
        spin_sdk::variables::get(name).ok()
    }
}

/// Outbound HTTP through `wasi:http/outgoing-handler`; the runtime enforces
/// `allowed_outbound_hosts`.
#[derive(Default, Clone, Copy)]
pub struct SpinHttp;

impl Http for SpinHttp {
    fn send(&self, req: OutboundRequest) -> Result<OutboundResponse, HttpError> {
        use spin_sdk::http::{Method, Request, Response};
        let method = match req.method.as_str() {
            "GET" => Method::Get,
            "POST" => Method::Post,
            "PUT" => Method::Put,
            "PATCH" => Method::Patch,
            "DELETE" => Method::Delete,
            "HEAD" => Method::Head,
            other => Method::Other(other.to_string()),
        };
        let mut builder = Request::builder();
        builder.method(method).uri(req.url.clone()).body(req.body);
        for (name, value) in &req.headers {
            builder.header(name.clone(), value.clone());
        }
        let request = builder.build();
        // The route handler runs synchronously inside the SDK's executor, with
        // no other future pending, so driving this one future to completion
        // here is safe.
        let result: Result<Response, _> = spin_sdk::http::run(spin_sdk::http::send(request));
        match result {
            Ok(resp) => Ok(OutboundResponse {
                status: *resp.status(),
                headers: resp
                    .headers()
                    .map(|(k, v)| (k.to_ascii_lowercase(), v.as_str().unwrap_or("").to_string()))
                    .collect(),
                body: resp.into_body(),
            }),
            Err(e) => {
                let text = e.to_string();
                if text.contains("HttpRequestDenied")
                    || text.to_ascii_lowercase().contains("denied")
                {
                    Err(HttpError::NotAllowed(req.url))
                } else {
                    Err(HttpError::Failed(text))
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlstates_are_found_in_driver_text() {
        let text = "Error { kind: Db, cause: Some(DbError { severity: \"ERROR\", code: SqlState(E23505), message: \"duplicate key\" }) }";
        assert_eq!(sqlstate_in(text).as_deref(), Some("23505"));
        assert_eq!(sqlstate_in("connection reset"), None);
        assert_eq!(sqlstate_in("SqlState(E23"), None);
    }

    #[test]
    fn sqlite_messages_are_classified() {
        assert_eq!(
            classify_sqlite_message("database is locked".into()),
            StoreError::Busy
        );
        assert!(matches!(
            classify_sqlite_message("UNIQUE constraint failed: members.phone".into()),
            StoreError::Constraint(_)
        ));
        assert!(matches!(
            classify_sqlite_message("no such table: x".into()),
            StoreError::Other(_)
        ));
    }
}
