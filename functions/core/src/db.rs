//! SQL helpers over the [`Sql`] port: parameter conversion, typed row access
//! and `BEGIN IMMEDIATE` transactions that wait out other writers.

use std::time::Duration;

use crate::ports::{Dialect, Rows, Sql, SqlValue, StoreError};

impl From<i64> for SqlValue {
    fn from(v: i64) -> Self {
        SqlValue::Integer(v)
    }
}

impl From<u32> for SqlValue {
    fn from(v: u32) -> Self {
        SqlValue::Integer(i64::from(v))
    }
}

impl From<bool> for SqlValue {
    fn from(v: bool) -> Self {
        SqlValue::Integer(i64::from(v))
    }
}

impl From<&str> for SqlValue {
    fn from(v: &str) -> Self {
        SqlValue::Text(v.to_string())
    }
}

impl From<String> for SqlValue {
    fn from(v: String) -> Self {
        SqlValue::Text(v)
    }
}

impl From<&String> for SqlValue {
    fn from(v: &String) -> Self {
        SqlValue::Text(v.clone())
    }
}

impl From<Vec<u8>> for SqlValue {
    fn from(v: Vec<u8>) -> Self {
        SqlValue::Blob(v)
    }
}

impl<T: Into<SqlValue>> From<Option<T>> for SqlValue {
    fn from(v: Option<T>) -> Self {
        v.map_or(SqlValue::Null, Into::into)
    }
}

/// Builds a `Vec<SqlValue>` from mixed values: `params![id, 5_i64, None::<String>]`.
#[macro_export]
macro_rules! params {
    ($($v:expr),* $(,)?) => {
        vec![$($crate::ports::SqlValue::from($v)),*]
    };
}

/// The stored form of an instant: fixed-width RFC 3339 UTC with microseconds
/// (`2026-11-24T10:00:00.000000Z`), so text order is time order in SQL.
pub fn ts(at: chrono::DateTime<chrono::Utc>) -> String {
    at.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

/// An RFC 3339 instant from a client, as it will be stored: in UTC, cut to
/// whole microseconds (what [`ts`] keeps, so a rule checked now still holds
/// for the stored values), and `None` when it is not RFC 3339 or its UTC
/// year is outside 0000–9999 (which [`ts`] cannot write as RFC 3339, so the
/// row would never read back).
pub fn parse_instant(text: &str) -> Option<chrono::DateTime<chrono::Utc>> {
    use chrono::{Datelike, Timelike};
    let at = chrono::DateTime::parse_from_rfc3339(text)
        .ok()?
        .with_timezone(&chrono::Utc);
    if !(0..=9999).contains(&at.year()) {
        return None;
    }
    at.with_nanosecond(at.nanosecond() / 1_000 * 1_000)
}

/// `rows` groups of `per_row` placeholders for a multi-row `VALUES` list or
/// an `IN (…)` list: `marks(2, 3)` is `(?, ?, ?), (?, ?, ?)`, and with
/// `per_row` 1 the groups are bare (`marks(3, 1)` is `?, ?, ?`).
pub fn marks(rows: usize, per_row: usize) -> String {
    let one = if per_row == 1 {
        "?".to_string()
    } else {
        format!("({})", vec!["?"; per_row].join(", "))
    };
    vec![one; rows].join(", ")
}

/// Parses a value written by [`ts`] (or any RFC 3339 string).
pub fn parse_ts(text: &str) -> Result<chrono::DateTime<chrono::Utc>, StoreError> {
    chrono::DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&chrono::Utc))
        .map_err(|e| StoreError::Other(format!("bad stored time {text:?}: {e}")))
}

/// One row of a result with access by column name.
#[derive(Debug, Clone, Copy)]
pub struct Row<'a> {
    columns: &'a [String],
    values: &'a [SqlValue],
}

impl Rows {
    /// Iterates rows with column-name access.
    pub fn iter(&self) -> impl Iterator<Item = Row<'_>> {
        self.rows.iter().map(|values| Row {
            columns: &self.columns,
            values,
        })
    }

    /// The first row, if any.
    pub fn first(&self) -> Option<Row<'_>> {
        self.iter().next()
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// True when no row came back.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }
}

impl<'a> Row<'a> {
    fn value(&self, column: &str) -> Result<&'a SqlValue, StoreError> {
        self.columns
            .iter()
            .position(|c| c == column)
            .map(|i| &self.values[i])
            .ok_or_else(|| StoreError::Other(format!("no column {column:?} in result")))
    }

    fn mismatch(column: &str, want: &str, got: &SqlValue) -> StoreError {
        StoreError::Other(format!("column {column:?}: expected {want}, got {got:?}"))
    }

    /// A non-null integer.
    pub fn i64(&self, column: &str) -> Result<i64, StoreError> {
        match self.value(column)? {
            SqlValue::Integer(i) => Ok(*i),
            other => Err(Self::mismatch(column, "integer", other)),
        }
    }

    /// A nullable integer.
    pub fn opt_i64(&self, column: &str) -> Result<Option<i64>, StoreError> {
        match self.value(column)? {
            SqlValue::Null => Ok(None),
            SqlValue::Integer(i) => Ok(Some(*i)),
            other => Err(Self::mismatch(column, "integer or null", other)),
        }
    }

    /// A non-null text.
    pub fn text(&self, column: &str) -> Result<String, StoreError> {
        match self.value(column)? {
            SqlValue::Text(s) => Ok(s.clone()),
            other => Err(Self::mismatch(column, "text", other)),
        }
    }

    /// A nullable text.
    pub fn opt_text(&self, column: &str) -> Result<Option<String>, StoreError> {
        match self.value(column)? {
            SqlValue::Null => Ok(None),
            SqlValue::Text(s) => Ok(Some(s.clone())),
            other => Err(Self::mismatch(column, "text or null", other)),
        }
    }

    /// A nullable number (integers widen to floats).
    pub fn opt_f64(&self, column: &str) -> Result<Option<f64>, StoreError> {
        match self.value(column)? {
            SqlValue::Null => Ok(None),
            SqlValue::Real(f) => Ok(Some(*f)),
            #[allow(clippy::cast_precision_loss)]
            SqlValue::Integer(i) => Ok(Some(*i as f64)),
            other => Err(Self::mismatch(column, "number or null", other)),
        }
    }

    /// An integer read as a boolean (0 = false).
    pub fn bool(&self, column: &str) -> Result<bool, StoreError> {
        Ok(self.i64(column)? != 0)
    }
}

/// How long [`immediate`] keeps retrying a busy database before giving up.
///
/// Short on purpose: a write that has waited this long for the lock means
/// the database is overloaded, and answering 503 + `Retry-After` sheds the
/// load. Waiting longer only keeps more guests alive whose clients have
/// given up (Spin does not cancel a guest when its client goes away), and
/// their retries take the CPU the lock holder needs: a short stall then
/// never drains.
pub const BUSY_BUDGET: Duration = Duration::from_secs(3);

/// Turns off SQLite's own busy handler on this connection, so that a
/// writer that finds the lock taken hears so at once and [`immediate`]
/// decides when it tries again.
///
/// Spin's local SQLite (like every connection opened through the common
/// Rust binding) waits up to 5 s inside SQLite, sleeping 1, 2, 5, … up to
/// 100 ms between tries: the longer a writer has waited the less often it
/// tries, so newcomers overtake it and the write tail reaches seconds.
pub const NO_BUSY_HANDLER: &str = "PRAGMA busy_timeout = 0";

/// How long a waiting writer polls the write lock with the shrinking
/// pauses of [`busy_pause`]; past it the pauses grow.
///
/// SQLite's write lock has no queue, so waiting writers poll it, and a poll
/// from the guest costs a host call and a thread hop. Shrinking pauses keep
/// the order fair while the queue is short (the longest waiter tries most
/// often and usually goes next), but their cost grows with every writer
/// that waits. Held at 0.25 ms for up to a second, they made 298 of an
/// earn's 323 statements busy tries at 64 POS connections (53 req/s
/// against 101 at 4), and under a backlog the writes never caught up with
/// their arrivals again. A wait longer than this window is a queue, not a
/// collision, so the pause then grows with the wait and a backlog's poll
/// rate falls as it deepens.
pub const POLL_WINDOW: Duration = Duration::from_millis(100);

/// Runs `f` inside `BEGIN IMMEDIATE` … `COMMIT`, rolling back when `f` fails.
///
/// Each Spin request has its own connection, so concurrent writers meet here:
/// `BEGIN IMMEDIATE` takes the write lock up front (no deadlocking upgrade
/// from a read), and when another writer holds it we retry as
/// [`with_busy_retry`] says, for up to [`BUSY_BUDGET`], before returning
/// [`StoreError::Busy`]. `f` must not have side effects outside the
/// database: it runs at most once, but only after the lock is held.
///
/// On PostgreSQL the same call opens a transaction and takes the writers'
/// lock (see [`crate::postgres`]), which queues inside the server; its
/// `COMMIT` never reports busy.
pub fn immediate<T, E>(sql: &dyn Sql, mut f: impl FnMut(&dyn Sql) -> Result<T, E>) -> Result<T, E>
where
    E: From<StoreError>,
{
    if sql.dialect() == Dialect::Sqlite {
        sql.execute(NO_BUSY_HANDLER, &[])?;
    }
    with_busy_retry(|| sql.execute("BEGIN IMMEDIATE", &[]).map(|_| ()))?;
    match f(sql) {
        Ok(value) => match with_busy_retry(|| sql.execute("COMMIT", &[]).map(|_| ())) {
            Ok(()) => Ok(value),
            Err(e) => {
                let _ = sql.execute("ROLLBACK", &[]);
                Err(e.into())
            }
        },
        Err(e) => {
            let _ = sql.execute("ROLLBACK", &[]);
            Err(e)
        }
    }
}

/// Runs one writing `statement` on its own, in a write transaction of its
/// own, waiting for the write lock as [`immediate`] does.
///
/// Left to itself, a lone write in WAL mode reads first and asks for the
/// lock afterwards; when another writer committed in between it hears
/// "busy" (a stale snapshot) however often it retries, so under a steady
/// stream of writers it starved until its budget ran out (a duplicate
/// webhook's counter did, in the 5 000-delivery storm). Taking the lock
/// first, as `BEGIN IMMEDIATE` does, queues it with the other writers.
pub fn write_alone(
    sql: &dyn Sql,
    statement: &str,
    params: &[SqlValue],
) -> Result<Rows, StoreError> {
    immediate(sql, |tx| tx.execute(statement, params))
}

/// Retries `op` while it reports [`StoreError::Busy`] for at most
/// [`BUSY_BUDGET`], pausing between tries as [`busy_pause`] says.
pub fn with_busy_retry<T>(mut op: impl FnMut() -> Result<T, StoreError>) -> Result<T, StoreError> {
    let started = std::time::Instant::now();
    loop {
        match op() {
            Err(StoreError::Busy) if started.elapsed() < BUSY_BUDGET => {
                let waited = started.elapsed();
                // The clock's low digits are jitter enough to keep waiting
                // writers from waking together.
                std::thread::sleep(busy_pause(waited, waited.subsec_micros() % 1000));
            }
            other => return other,
        }
    }
}

/// The pause before the next try of a writer that has waited `waited` for
/// the write lock, with `jitter` in `0..1000` spreading it by ±25 %.
///
/// SQLite has no queue for its write lock: whoever tries first after a
/// commit gets it. So within [`POLL_WINDOW`] the pause shrinks as the wait
/// grows — a newcomer waits about 2 ms between tries, a writer that has
/// waited the whole window about 0.25 ms — and the longest waiters, trying
/// most often, usually win the lock next. (Growing pauses did the opposite
/// at normal load: later writers overtook the early ones, which made the
/// write tail.)
///
/// Past the window the pause grows by 1 ms per 100 ms waited (about 29 ms
/// when [`BUSY_BUDGET`] runs out; never more than 50 ms). A writer 300 ms
/// in tries as often as a newcomer, so a queue of a few dozen stays in
/// order, while a backlog of hundreds no longer starves the lock holder of
/// CPU (at 64 connections: 158 busy tries per earn instead of 298, 66 req/s
/// instead of 53). The price is order in a backlog: newer writers, trying
/// more often, tend to go first, and the oldest are the ones shed at
/// [`BUSY_BUDGET`] — the ones whose clients are likeliest to have given up.
pub fn busy_pause(waited: Duration, jitter: u32) -> Duration {
    const LONGEST_US: u64 = 2_000;
    const SHORTEST_US: u64 = 250;
    const BACKED_OFF_US: u64 = 50_000;
    let window_us = u64::try_from(POLL_WINDOW.as_micros()).unwrap_or(u64::MAX);
    let waited_us = u64::try_from(waited.as_micros()).unwrap_or(u64::MAX);
    let base = if waited_us > window_us {
        (SHORTEST_US + (waited_us - window_us) / 100).min(BACKED_OFF_US)
    } else {
        LONGEST_US - (LONGEST_US - SHORTEST_US) * waited_us / window_us
    };
    let spread = 750 + u64::from(jitter.min(999)) / 2;
    Duration::from_micros(base * spread / 1000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn busy_pauses_shrink_as_the_wait_grows_then_grow_with_a_backlog() {
        let at = |ms: u64, jitter: u32| busy_pause(Duration::from_millis(ms), jitter);
        // A newcomer waits 1.5–2.5 ms; a writer at the window's end 0.19–0.31 ms.
        assert_eq!(at(0, 0), Duration::from_micros(1_500));
        assert_eq!(at(0, 999), Duration::from_micros(2_498));
        assert_eq!(at(100, 0), Duration::from_micros(187));
        let mut last = at(0, 500);
        for ms in 1..=100 {
            let p = at(ms, 500);
            assert!(p <= last, "{ms} ms: {p:?} > {last:?}");
            last = p;
        }
        // A backlog: 1 ms more per 100 ms waited, up to 50 ms.
        assert_eq!(at(300, 0), at(0, 0) + Duration::from_micros(187));
        for ms in (110..=3_000).step_by(10) {
            let p = at(ms, 500);
            assert!(
                p > last || p == at(5_000, 500),
                "{ms} ms: {p:?} <= {last:?}"
            );
            last = p;
        }
        assert_eq!(at(1_100, 0), Duration::from_micros(7_687));
        assert_eq!(at(60_000, 999), Duration::from_micros(62_450));
        // Jitter never leaves the ±25 % band.
        for j in [0, 1, 500, 999, 5_000] {
            let p = at(50, j).as_micros();
            assert!((843..=1_406).contains(&p), "{j}: {p}");
        }
    }

    #[test]
    fn marks_lists_placeholders() {
        assert_eq!(marks(3, 1), "?, ?, ?");
        assert_eq!(marks(2, 3), "(?, ?, ?), (?, ?, ?)");
        assert_eq!(marks(0, 2), "");
    }

    #[test]
    fn params_macro_converts() {
        let v = params![1_i64, "a", None::<String>, Some(true), String::from("b")];
        assert_eq!(
            v,
            vec![
                SqlValue::Integer(1),
                SqlValue::Text("a".into()),
                SqlValue::Null,
                SqlValue::Integer(1),
                SqlValue::Text("b".into())
            ]
        );
    }

    #[test]
    fn row_access_by_name() {
        let rows = Rows {
            columns: vec!["a".into(), "b".into(), "c".into()],
            rows: vec![vec![
                SqlValue::Integer(3),
                SqlValue::Text("x".into()),
                SqlValue::Null,
            ]],
        };
        let row = rows.first().unwrap();
        assert_eq!(row.i64("a").unwrap(), 3);
        assert_eq!(row.text("b").unwrap(), "x");
        assert_eq!(row.opt_text("c").unwrap(), None);
        assert!(row.i64("b").is_err());
        assert!(row.i64("zz").is_err());
    }
}
