//! PostgreSQL behind the [`Sql`] port, with SQLite's guarantees.
//!
//! Core writes its SQL once, in the subset both engines run (`?`
//! placeholders, standard upserts, `RETURNING`). [`PostgresSql`] carries it
//! to a [`PgClient`] (Spin's PostgreSQL interface in components, a native
//! client in tests): it numbers the placeholders, sends row-returning
//! statements as queries and the rest as commands, and maps failures to
//! [`StoreError`] by their SQLSTATE.
//!
//! # Writers
//!
//! On SQLite `BEGIN IMMEDIATE` takes the database's one write lock, so write
//! transactions run one after another and each sees every earlier commit;
//! core's invariants (balances, seat counts, promo limits, once-only
//! webhooks) rest on that. Here `BEGIN IMMEDIATE` becomes `BEGIN` (READ
//! COMMITTED) followed by [`WRITE_LOCK`], one transaction-scoped advisory
//! lock that every writer takes first: writers queue on it in arrival order,
//! and as each statement under READ COMMITTED reads the newest committed
//! data, a writer that holds the lock sees everything its predecessors
//! committed. That is SQLite's serial order of writers, on a server where
//! readers never wait. (SERIALIZABLE would let unrelated writers overlap,
//! but every conflict then aborts one of them and every use case would have
//! to be safe to rerun from its first read; the lock keeps the retry where
//! it is, in [`crate::db::with_busy_retry`].) The lock is released by
//! `COMMIT`, `ROLLBACK` or the end of the session, so a writer that dies
//! never blocks the others. A write sent outside a transaction gets the same
//! lock in a transaction of its own, as a lone SQLite write does.
//!
//! A writer that waits longer than the lock timeout hears `55P03`, which is
//! [`StoreError::Busy`], as are deadlocks (`40P01`) and serialization
//! failures (`40001`).

use std::cell::Cell;

use crate::ports::{Dialect, Rows, Sql, SqlValue, StoreError};

/// Taken by every write transaction right after `BEGIN`: the writers' lock,
/// with a lock timeout local to the transaction (the same 3 s a writer
/// waits on SQLite, [`crate::db::BUSY_BUDGET`]). The key is arbitrary but
/// fixed; nothing else in the database may use it.
pub const WRITE_LOCK: &str =
    "SELECT set_config('lock_timeout', '3000ms', true), pg_advisory_xact_lock(4242424242)";

/// How a PostgreSQL statement failed, as the server or driver reported it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PgFailure {
    /// The five-character SQLSTATE, when the server answered with one.
    pub sqlstate: Option<String>,
    /// The message, for logs.
    pub message: String,
}

/// A connection to PostgreSQL. Contract: statements use `$1, $2, …`
/// placeholders and run in order on one session (so `BEGIN` … `COMMIT`
/// forms a transaction); parameters bind as Spin's PostgreSQL interface
/// binds them (integers as `int8`, reals as `float8`, text, bytes, NULL);
/// results come back in SQLite's storage classes (booleans as 0/1, `numeric`
/// as an integer when whole, else a real).
pub trait PgClient {
    /// Runs a statement that returns rows.
    fn query(&self, sql: &str, params: &[SqlValue]) -> Result<Rows, PgFailure>;
    /// Runs a command and returns the number of rows it affected.
    fn execute(&self, sql: &str, params: &[SqlValue]) -> Result<u64, PgFailure>;
}

/// [`Sql`] on a [`PgClient`] (see the module docs).
pub struct PostgresSql<C> {
    client: C,
    changes: Cell<u64>,
    in_transaction: Cell<bool>,
    statements: Cell<u64>,
}

impl<C: PgClient> PostgresSql<C> {
    /// Wraps a connected client.
    pub fn new(client: C) -> Self {
        Self {
            client,
            changes: Cell::new(0),
            in_transaction: Cell::new(false),
            statements: Cell::new(0),
        }
    }

    /// Statements sent to the server so far (each `BEGIN`, lock and `COMMIT`
    /// counts), for benchmarks.
    pub fn statements(&self) -> u64 {
        self.statements.get()
    }

    fn query(&self, sql: &str, params: &[SqlValue]) -> Result<Rows, StoreError> {
        self.statements.set(self.statements.get() + 1);
        self.client.query(sql, params).map_err(classify)
    }

    fn command(&self, sql: &str, params: &[SqlValue]) -> Result<u64, StoreError> {
        self.statements.set(self.statements.get() + 1);
        self.client.execute(sql, params).map_err(classify)
    }

    fn begin_write(&self) -> Result<(), StoreError> {
        self.command("BEGIN", &[])?;
        if let Err(e) = self.query(WRITE_LOCK, &[]) {
            let _ = self.command("ROLLBACK", &[]);
            return Err(e);
        }
        Ok(())
    }

    // One statement that is not transaction control.
    fn statement(&self, sql: &str, params: &[SqlValue]) -> Result<Rows, StoreError> {
        let text = numbered(sql);
        match kind(sql) {
            Kind::Read => self.query(&text, params),
            Kind::Write { returns_rows } => {
                let run = || -> Result<Rows, StoreError> {
                    if returns_rows {
                        let rows = self.query(&text, params)?;
                        self.changes.set(rows.len() as u64);
                        Ok(rows)
                    } else {
                        self.changes.set(self.command(&text, params)?);
                        Ok(Rows::default())
                    }
                };
                if self.in_transaction.get() {
                    return run();
                }
                self.begin_write()?;
                match run().and_then(|rows| self.command("COMMIT", &[]).map(|_| rows)) {
                    Ok(rows) => Ok(rows),
                    Err(e) => {
                        let _ = self.command("ROLLBACK", &[]);
                        Err(e)
                    }
                }
            }
            Kind::Other => self.command(&text, params).map(|_| Rows::default()),
        }
    }
}

impl<C: PgClient> Sql for PostgresSql<C> {
    fn execute(&self, sql: &str, params: &[SqlValue]) -> Result<Rows, StoreError> {
        let words = leading_words(sql, 2);
        let first = words.first().map(String::as_str).unwrap_or_default();
        match first {
            "BEGIN" => {
                // `BEGIN IMMEDIATE` is core's "begin a write transaction";
                // a plain `BEGIN` (reads only) needs no lock.
                if words.get(1).map(String::as_str) == Some("IMMEDIATE") {
                    self.begin_write()?;
                } else {
                    self.command("BEGIN", &[])?;
                }
                self.in_transaction.set(true);
                Ok(Rows::default())
            }
            "COMMIT" | "END" | "ROLLBACK" if words.get(1).map(String::as_str) != Some("TO") => {
                self.in_transaction.set(false);
                self.command(sql, params).map(|_| Rows::default())
            }
            // SQLite's connection settings have no meaning here.
            "PRAGMA" => Ok(Rows::default()),
            _ => self.statement(sql, params),
        }
    }

    fn changes(&self) -> Result<u64, StoreError> {
        Ok(self.changes.get())
    }

    fn dialect(&self) -> Dialect {
        Dialect::Postgres
    }
}

#[derive(Debug, PartialEq, Eq)]
enum Kind {
    Read,
    Write { returns_rows: bool },
    Other,
}

// What a statement does, from its first word (and `RETURNING`).
fn kind(sql: &str) -> Kind {
    let words = leading_words(sql, 1);
    match words.first().map(String::as_str).unwrap_or_default() {
        "SELECT" | "VALUES" | "SHOW" | "EXPLAIN" | "TABLE" => Kind::Read,
        "WITH" => {
            if has_word(sql, &["INSERT", "UPDATE", "DELETE"]) {
                Kind::Write {
                    returns_rows: has_word(sql, &["RETURNING"]),
                }
            } else {
                Kind::Read
            }
        }
        "INSERT" | "UPDATE" | "DELETE" | "MERGE" => Kind::Write {
            returns_rows: has_word(sql, &["RETURNING"]),
        },
        _ => Kind::Other,
    }
}

/// The SQLSTATE classes core reacts to: busy (lock timeout, deadlock,
/// serialization failure), constraint (class 23), missing table (in the
/// words SQLite uses, which [`crate::migrate::schema_version`] expects);
/// anything else is [`StoreError::Other`].
pub fn classify(f: PgFailure) -> StoreError {
    match f.sqlstate.as_deref() {
        Some("55P03" | "40P01" | "40001") => StoreError::Busy,
        Some(code) if code.starts_with("23") => {
            StoreError::Constraint(format!("{code}: {}", f.message))
        }
        Some("42P01") => StoreError::Other(format!("no such table: {}", f.message)),
        Some(code) => StoreError::Other(format!("{code}: {}", f.message)),
        None => StoreError::Other(f.message),
    }
}

/// A `numeric` in its text form as a storage class: whole numbers that fit
/// become integers (`SUM` of `bigint` is `numeric` on PostgreSQL, an integer
/// on SQLite), others reals; `None` when it is not a number.
pub fn decimal_value(text: &str) -> Option<SqlValue> {
    let t = text.trim();
    let whole = t.strip_suffix(".0").unwrap_or(t);
    let whole = match whole.split_once('.') {
        Some((int, frac)) if frac.bytes().all(|b| b == b'0') => int,
        _ => whole,
    };
    if let Ok(i) = whole.parse::<i64>() {
        return Some(SqlValue::Integer(i));
    }
    t.parse::<f64>().ok().map(SqlValue::Real)
}

/// `sql` with its `?` placeholders numbered `$1, $2, …` in order, leaving
/// quoted strings, quoted identifiers, comments and dollar-quoted bodies
/// alone.
pub fn numbered(sql: &str) -> String {
    let bytes = sql.as_bytes();
    let mut out = String::with_capacity(sql.len() + 16);
    let mut n = 0;
    let mut i = 0;
    let mut copied = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'?' => {
                out.push_str(&sql[copied..i]);
                n += 1;
                out.push('$');
                out.push_str(&n.to_string());
                copied = i + 1;
            }
            q @ (b'\'' | b'"') => {
                i += 1;
                while i < bytes.len() {
                    if bytes[i] == q {
                        if bytes.get(i + 1) == Some(&q) {
                            i += 1;
                        } else {
                            break;
                        }
                    }
                    i += 1;
                }
            }
            b'-' if bytes.get(i + 1) == Some(&b'-') => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => {
                i += 2;
                while i + 1 < bytes.len() && !(bytes[i] == b'*' && bytes[i + 1] == b'/') {
                    i += 1;
                }
                i += 1;
            }
            b'$' if i + 1 < bytes.len() && bytes[i + 1] == b'$' => {
                let body = i + 2;
                i = sql[body..]
                    .find("$$")
                    .map_or(bytes.len(), |at| body + at + 1);
            }
            _ => {}
        }
        i += 1;
    }
    out.push_str(&sql[copied.min(sql.len())..]);
    out
}

// The first `n` words of `sql` in upper case, after comments.
fn leading_words(sql: &str, n: usize) -> Vec<String> {
    let mut rest = sql;
    let mut words = Vec::with_capacity(n);
    while words.len() < n {
        rest = rest.trim_start();
        if let Some(after) = rest.strip_prefix("--") {
            rest = after.split_once('\n').map_or("", |(_, r)| r);
            continue;
        }
        if let Some(after) = rest.strip_prefix("/*") {
            rest = after.split_once("*/").map_or("", |(_, r)| r);
            continue;
        }
        let end = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(rest.len());
        if end == 0 {
            break;
        }
        words.push(rest[..end].to_ascii_uppercase());
        rest = &rest[end..];
    }
    words
}

// Whether any of `wanted` (upper case) is a word of `sql` outside quotes.
fn has_word(sql: &str, wanted: &[&str]) -> bool {
    let mut word = String::new();
    let mut quote: Option<char> = None;
    for c in sql.chars().chain(std::iter::once(' ')) {
        if let Some(q) = quote {
            if c == q {
                quote = None;
            }
            continue;
        }
        if c.is_ascii_alphanumeric() || c == '_' {
            word.push(c.to_ascii_uppercase());
            continue;
        }
        if wanted.contains(&word.as_str()) {
            return true;
        }
        word.clear();
        if c == '\'' || c == '"' {
            quote = Some(c);
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_numbered_outside_quotes_and_comments() {
        assert_eq!(
            numbered("SELECT a FROM t WHERE b = ? AND c IN (?, ?)"),
            "SELECT a FROM t WHERE b = $1 AND c IN ($2, $3)"
        );
        assert_eq!(
            numbered("SELECT '?', \"q?\", 'it''s ?' -- why?\n, ? /* ? */, ?"),
            "SELECT '?', \"q?\", 'it''s ?' -- why?\n, $1 /* ? */, $2"
        );
        assert_eq!(numbered("SELECT $$ ? $$, ?"), "SELECT $$ ? $$, $1");
        assert_eq!(numbered("SELECT 1"), "SELECT 1");
        assert_eq!(numbered("?"), "$1");
    }

    #[test]
    fn statements_are_sorted_into_reads_writes_and_commands() {
        assert_eq!(kind("  -- c\n select 1"), Kind::Read);
        assert_eq!(
            kind("INSERT INTO t (a) VALUES (?)"),
            Kind::Write {
                returns_rows: false
            }
        );
        assert_eq!(
            kind("UPDATE t SET a = 1 WHERE b = ? RETURNING a"),
            Kind::Write { returns_rows: true }
        );
        assert_eq!(
            kind("INSERT INTO t (a) VALUES ('RETURNING')"),
            Kind::Write {
                returns_rows: false
            }
        );
        assert_eq!(kind("WITH x AS (SELECT 1) SELECT * FROM x"), Kind::Read);
        assert_eq!(
            kind("WITH x AS (SELECT 1) UPDATE t SET a = 2"),
            Kind::Write {
                returns_rows: false
            }
        );
        assert_eq!(kind("CREATE TABLE t (a BIGINT)"), Kind::Other);
        assert_eq!(kind("SAVEPOINT s"), Kind::Other);
        assert_eq!(leading_words("ROLLBACK TO s", 2), ["ROLLBACK", "TO"]);
    }

    #[test]
    fn failures_map_by_sqlstate() {
        let f = |code: Option<&str>| PgFailure {
            sqlstate: code.map(str::to_string),
            message: "m".into(),
        };
        for busy in ["55P03", "40P01", "40001"] {
            assert_eq!(classify(f(Some(busy))), StoreError::Busy);
        }
        assert!(matches!(
            classify(f(Some("23505"))),
            StoreError::Constraint(_)
        ));
        assert!(matches!(
            classify(f(Some("23000"))),
            StoreError::Constraint(_)
        ));
        assert_eq!(
            classify(f(Some("42P01"))),
            StoreError::Other("no such table: m".into())
        );
        assert_eq!(classify(f(None)), StoreError::Other("m".into()));
    }

    #[test]
    fn numerics_become_storage_classes() {
        assert_eq!(decimal_value("42"), Some(SqlValue::Integer(42)));
        assert_eq!(decimal_value("-7.000"), Some(SqlValue::Integer(-7)));
        assert_eq!(decimal_value("2.5"), Some(SqlValue::Real(2.5)));
        assert_eq!(
            decimal_value("99999999999999999999"),
            Some(SqlValue::Real(1e20))
        );
        assert_eq!(decimal_value("x"), None);
    }
}
