//! Ports: the small traits through which core talks to the outside world.
//!
//! Components implement them on spin-sdk (see `krug-spin-adapter`); tests and
//! tools implement them natively (see [`crate::native`]). Every port is
//! synchronous because each Spin request runs on its own instance and the host
//! calls behind these traits are blocking.

use chrono::{DateTime, Utc};

/// A value bound to or read from a SQL statement (SQLite's storage classes).
#[derive(Debug, Clone, PartialEq)]
pub enum SqlValue {
    /// SQL NULL.
    Null,
    /// A 64-bit signed integer.
    Integer(i64),
    /// A 64-bit float.
    Real(f64),
    /// UTF-8 text.
    Text(String),
    /// Raw bytes.
    Blob(Vec<u8>),
}

/// The result of one statement: column names and rows of values.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Rows {
    /// Column names, in order.
    pub columns: Vec<String>,
    /// Each row's values, in column order.
    pub rows: Vec<Vec<SqlValue>>,
}

/// Why a storage call failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// The database was locked by another writer for longer than we waited.
    #[error("database busy")]
    Busy,
    /// A constraint (unique, check, foreign key) refused the write.
    #[error("constraint violated: {0}")]
    Constraint(String),
    /// Anything else; the message is for logs only.
    #[error("storage error: {0}")]
    Other(String),
}

/// Which SQL engine is behind a [`Sql`] connection: the little core must
/// know to open write transactions and to pick its migrations. Queries
/// themselves are written once, in SQL both engines run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// SQLite (Spin's embedded store): `BEGIN IMMEDIATE` takes the one write
    /// lock, a taken lock is reported at once as busy.
    Sqlite,
    /// PostgreSQL: writers serialise on one transaction-scoped advisory lock
    /// (see [`crate::postgres`]), a lock wait past its timeout is busy.
    Postgres,
}

/// A SQL connection. Contract: statements run in the order given on one
/// connection, so `BEGIN IMMEDIATE` ... `COMMIT` issued through `execute`
/// forms a transaction. Implementations map "database is locked/busy" to
/// [`StoreError::Busy`] and constraint failures to [`StoreError::Constraint`].
pub trait Sql {
    /// Runs one statement with positional `?` parameters.
    fn execute(&self, sql: &str, params: &[SqlValue]) -> Result<Rows, StoreError>;
    /// Number of rows changed by the last INSERT/UPDATE/DELETE on this connection.
    fn changes(&self) -> Result<u64, StoreError>;
    /// The engine behind this connection; SQLite unless said otherwise.
    fn dialect(&self) -> Dialect {
        Dialect::Sqlite
    }
}

/// A key-value store. Contract: each call is individually durable; there is no
/// atomicity across calls, so races must be settled in SQL.
pub trait KeyValue {
    /// The value under `key`, if any.
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError>;
    /// Stores `value` under `key`, replacing what was there.
    fn set(&self, key: &str, value: &[u8]) -> Result<(), StoreError>;
    /// Removes `key`; removing a missing key is not an error.
    fn delete(&self, key: &str) -> Result<(), StoreError>;
}

/// The current time. Contract: UTC, monotonic enough for expiry decisions.
pub trait Clock {
    /// Now, in UTC.
    fn now(&self) -> DateTime<Utc>;
}

/// A cryptographically secure random source.
pub trait Random {
    /// Fills `buf` with random bytes.
    fn fill(&self, buf: &mut [u8]);
}

/// An outbound HTTP request to an external service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboundRequest {
    /// Upper-case method, e.g. `POST`.
    pub method: String,
    /// Absolute URL.
    pub url: String,
    /// Header name/value pairs.
    pub headers: Vec<(String, String)>,
    /// Request body.
    pub body: Vec<u8>,
}

/// The response of an outbound request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboundResponse {
    /// HTTP status code.
    pub status: u16,
    /// Header name/value pairs (names lower-case).
    pub headers: Vec<(String, String)>,
    /// Response body.
    pub body: Vec<u8>,
}

/// Why an outbound request failed before a response arrived.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HttpError {
    /// The runtime refused the destination (not in `allowed_outbound_hosts`).
    #[error("destination not allowed: {0}")]
    NotAllowed(String),
    /// Connection, timeout or protocol failure.
    #[error("outbound request failed: {0}")]
    Failed(String),
}

/// Outbound HTTP.
pub trait Http {
    /// Sends `req` and waits for the whole response.
    fn send(&self, req: OutboundRequest) -> Result<OutboundResponse, HttpError>;
}

/// Application settings (Spin variables).
pub trait Variables {
    /// The value of `name`, or `None` when it is not set.
    fn get(&self, name: &str) -> Option<String>;
}

/// Waiting between outbound calls, to keep under a provider's rate limit.
pub trait Pause {
    /// Blocks for `d`.
    fn pause(&self, d: std::time::Duration);
}

/// [`Pause`] by sleeping the current thread (native and WASI alike).
#[derive(Debug, Clone, Copy, Default)]
pub struct Sleep;

impl Pause for Sleep {
    fn pause(&self, d: std::time::Duration) {
        std::thread::sleep(d);
    }
}
