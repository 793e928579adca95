//! The migration runner: every `migrations/NNNN_verb_object.sql` is embedded
//! at build time and applied exactly once, in order, recorded with a checksum
//! in `schema_migrations`. Safe when several processes migrate one database
//! at once: each migration is applied inside `BEGIN IMMEDIATE` after checking,
//! under the lock, that nobody applied it first.

use serde::Serialize;

use crate::crypto::sha256_hex;
use crate::db::{immediate, with_busy_retry};
use crate::error::{ErrorClass, UseCaseError};
use crate::ports::{Clock, Dialect, Sql, SqlValue, StoreError};

include!(concat!(env!("OUT_DIR"), "/migrations.rs"));

/// What a [`migrate`] call did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MigrateReport {
    /// Versions this call applied (empty when already up to date).
    pub applied: Vec<i64>,
    /// The schema version afterwards.
    pub schema_version: i64,
}

/// Migrating failed.
#[derive(Debug, thiserror::Error)]
pub enum MigrateError {
    /// An applied migration's file changed since it was applied.
    #[error("migration {version} ({name}) was edited after it was applied")]
    Edited {
        /// Version.
        version: i64,
        /// Name.
        name: String,
    },
    /// The database is newer than this build.
    #[error("database schema {found} is newer than this build ({known})")]
    TooNew {
        /// Version in the database.
        found: i64,
        /// Newest version this build knows.
        known: i64,
    },
    /// A statement failed.
    #[error("migration {version} failed: {source}")]
    Failed {
        /// Version.
        version: i64,
        /// The failure.
        #[source]
        source: StoreError,
    },
    /// Storage failed outside a migration.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl UseCaseError for MigrateError {
    fn code(&self) -> &'static str {
        match self {
            MigrateError::Edited { .. } => "MIGRATION_EDITED",
            MigrateError::TooNew { .. } => "SCHEMA_TOO_NEW",
            MigrateError::Failed { .. } | MigrateError::Store(_) => "MIGRATION_FAILED",
        }
    }

    fn class(&self) -> ErrorClass {
        match self {
            MigrateError::Edited { .. } | MigrateError::TooNew { .. } => ErrorClass::Conflict,
            _ => ErrorClass::Unknown,
        }
    }
}

const CREATE_TABLE: &str = "CREATE TABLE IF NOT EXISTS schema_migrations (\
    version INTEGER PRIMARY KEY, name TEXT NOT NULL, checksum TEXT NOT NULL, applied_at TEXT NOT NULL)";

// PostgreSQL's INTEGER is 32 bits and the runner binds 64-bit versions.
const CREATE_TABLE_POSTGRES: &str = "CREATE TABLE IF NOT EXISTS schema_migrations (\
    version BIGINT PRIMARY KEY, name TEXT NOT NULL, checksum TEXT NOT NULL, applied_at TEXT NOT NULL)";

/// The migrations for `dialect`: `migrations/*.sql` for SQLite,
/// `migrations/postgres/*.sql` (numbered and named alike) for PostgreSQL.
pub fn migrations(dialect: Dialect) -> &'static [(i64, &'static str, &'static str)] {
    match dialect {
        Dialect::Sqlite => MIGRATIONS,
        Dialect::Postgres => POSTGRES_MIGRATIONS,
    }
}

/// Applies every pending migration of the connection's dialect. Idempotent.
pub fn migrate(sql: &dyn Sql, clock: &dyn Clock) -> Result<MigrateReport, MigrateError> {
    let dialect = sql.dialect();
    match dialect {
        Dialect::Sqlite => {
            with_busy_retry(|| sql.execute(CREATE_TABLE, &[]))?;
        }
        // Two first migrations racing on CREATE TABLE IF NOT EXISTS can both
        // pass the check on PostgreSQL and one fail on the catalog's unique
        // index: create it under the writers' lock.
        Dialect::Postgres => {
            immediate(sql, |tx| tx.execute(CREATE_TABLE_POSTGRES, &[])).map(|_| ())?
        }
    }
    let set = migrations(dialect);
    let known = set.last().map_or(0, |m| m.0);
    let mut applied = Vec::new();
    for &(version, name, text) in set {
        let checksum = sha256_hex(text.as_bytes());
        if let Some(recorded) = recorded_checksum(sql, version)? {
            if recorded != checksum {
                return Err(MigrateError::Edited {
                    version,
                    name: name.into(),
                });
            }
            continue;
        }
        let statements = split_statements(text);
        if statements.iter().all(|s| is_pragma(s)) {
            // SQLite refuses journal-mode changes inside a transaction; such
            // migrations must be idempotent and are recorded afterwards.
            for s in &statements {
                with_busy_retry(|| sql.execute(s, &[]))
                    .map_err(|source| MigrateError::Failed { version, source })?;
            }
        }
        let did_apply = immediate(sql, |tx| -> Result<bool, MigrateError> {
            if recorded_checksum(tx, version)?.is_some() {
                return Ok(false);
            }
            if !statements.iter().all(|s| is_pragma(s)) {
                for s in &statements {
                    tx.execute(s, &[])
                        .map_err(|source| MigrateError::Failed { version, source })?;
                }
            }
            tx.execute(
                "INSERT INTO schema_migrations (version, name, checksum, applied_at) VALUES (?, ?, ?, ?)",
                &[
                    SqlValue::Integer(version),
                    SqlValue::Text(name.to_string()),
                    SqlValue::Text(checksum.clone()),
                    SqlValue::Text(crate::db::ts(clock.now())),
                ],
            )?;
            Ok(true)
        })?;
        if did_apply {
            applied.push(version);
        }
    }
    let schema_version = schema_version(sql)?;
    if schema_version > known {
        return Err(MigrateError::TooNew {
            found: schema_version,
            known,
        });
    }
    Ok(MigrateReport {
        applied,
        schema_version,
    })
}

fn recorded_checksum(sql: &dyn Sql, version: i64) -> Result<Option<String>, StoreError> {
    let rows = sql.execute(
        "SELECT checksum FROM schema_migrations WHERE version = ?",
        &[SqlValue::Integer(version)],
    )?;
    rows.first().map(|r| r.text("checksum")).transpose()
}

/// The highest applied version; 0 for a fresh database. One statement: the
/// health route calls this on every probe.
pub fn schema_version(sql: &dyn Sql) -> Result<i64, StoreError> {
    match sql.execute(
        "SELECT COALESCE(MAX(version), 0) AS v FROM schema_migrations",
        &[],
    ) {
        Ok(rows) => rows.first().map_or(Ok(0), |r| r.i64("v")),
        // SQLite says "no such table"; PostgreSQL's undefined_table (42P01)
        // arrives with the same words (see `crate::postgres`).
        Err(StoreError::Other(msg)) if msg.contains("no such table") => Ok(0),
        Err(e) => Err(e),
    }
}

/// The newest version this build carries.
pub fn latest_version() -> i64 {
    MIGRATIONS.last().map_or(0, |m| m.0)
}

fn is_pragma(statement: &str) -> bool {
    skip_comments(statement)
        .to_ascii_uppercase()
        .starts_with("PRAGMA")
}

// The text after any leading whitespace and comments.
fn skip_comments(piece: &str) -> &str {
    let mut rest = piece;
    loop {
        rest = rest.trim_start();
        if let Some(after) = rest.strip_prefix("--") {
            rest = after.split_once('\n').map_or("", |(_, r)| r);
        } else if let Some(after) = rest.strip_prefix("/*") {
            rest = after.split_once("*/").map_or("", |(_, r)| r);
        } else {
            return rest;
        }
    }
}

/// Splits a SQL script into statements. Spin's SQLite `execute` runs a single
/// statement, so scripts are fed one at a time. Handles `;` inside quoted
/// strings and identifiers (`'…'`, `"…"`, `` `…` ``, `[…]`), `--` and `/* */`
/// comments, and `CREATE TRIGGER … BEGIN … END;` bodies. Comment-only pieces
/// are dropped.
pub fn split_statements(script: &str) -> Vec<String> {
    let bytes = script.as_bytes();
    let mut out = Vec::new();
    let mut start = 0;
    let mut i = 0;
    let mut depth = 0usize; // BEGIN … END nesting inside CREATE TRIGGER
    let mut in_trigger = false;
    let mut word = String::new();
    let mut words_in_stmt: Vec<String> = Vec::new();
    let flush_word =
        |word: &mut String, words: &mut Vec<String>, depth: &mut usize, in_trigger: &mut bool| {
            if word.is_empty() {
                return;
            }
            let w = word.to_ascii_uppercase();
            if words.len() < 4 {
                words.push(w.clone());
                if words.first().map(String::as_str) == Some("CREATE") && w == "TRIGGER" {
                    *in_trigger = true;
                }
            }
            if *in_trigger {
                if w == "BEGIN" || w == "CASE" {
                    *depth += 1;
                } else if w == "END" && *depth > 0 {
                    *depth -= 1;
                }
            }
            word.clear();
        };
    while i < bytes.len() {
        let c = bytes[i];
        match c {
            b'\'' | b'"' | b'`' | b'[' => {
                flush_word(&mut word, &mut words_in_stmt, &mut depth, &mut in_trigger);
                let close = if c == b'[' { b']' } else { c };
                i += 1;
                while i < bytes.len() {
                    if bytes[i] == close {
                        // A doubled quote is an escaped quote.
                        if close != b']' && i + 1 < bytes.len() && bytes[i + 1] == close {
                            i += 2;
                            continue;
                        }
                        break;
                    }
                    i += 1;
                }
            }
            // PostgreSQL's dollar quoting (`$$ … $$`, `$body$ … $body$`),
            // which holds function bodies with their own `;`. (`$1` is a
            // parameter: a tag never starts with a digit.)
            b'$' if dollar_tag(bytes, i).is_some() => {
                flush_word(&mut word, &mut words_in_stmt, &mut depth, &mut in_trigger);
                let tag = dollar_tag(bytes, i).unwrap_or_default();
                let body = i + tag.len();
                i = script[body..]
                    .find(tag)
                    .map_or(bytes.len(), |at| body + at + tag.len())
                    - 1;
            }
            b'-' if bytes.get(i + 1) == Some(&b'-') => {
                flush_word(&mut word, &mut words_in_stmt, &mut depth, &mut in_trigger);
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => {
                flush_word(&mut word, &mut words_in_stmt, &mut depth, &mut in_trigger);
                i += 2;
                while i + 1 < bytes.len() && !(bytes[i] == b'*' && bytes[i + 1] == b'/') {
                    i += 1;
                }
                i += 1;
            }
            b';' => {
                flush_word(&mut word, &mut words_in_stmt, &mut depth, &mut in_trigger);
                if !in_trigger || depth == 0 {
                    push_statement(&script[start..=i], &mut out);
                    start = i + 1;
                    in_trigger = false;
                    depth = 0;
                    words_in_stmt.clear();
                }
            }
            c if c.is_ascii_alphanumeric() || c == b'_' => word.push(c as char),
            _ => flush_word(&mut word, &mut words_in_stmt, &mut depth, &mut in_trigger),
        }
        i += 1;
    }
    if start < script.len() {
        push_statement(&script[start..], &mut out);
    }
    out
}

// The dollar-quote tag (`$$` or `$name$`) opening at `at`, if one does.
fn dollar_tag(bytes: &[u8], at: usize) -> Option<&str> {
    let mut end = at + 1;
    while end < bytes.len() && (bytes[end].is_ascii_alphanumeric() || bytes[end] == b'_') {
        end += 1;
    }
    let starts_with_digit = end > at + 1 && bytes[at + 1].is_ascii_digit();
    if bytes.get(end) == Some(&b'$') && !starts_with_digit {
        std::str::from_utf8(&bytes[at..=end]).ok()
    } else {
        None
    }
}

fn push_statement(piece: &str, out: &mut Vec<String>) {
    if has_code(piece) {
        out.push(piece.trim().trim_end_matches(';').trim().to_string());
    }
}

// True when `piece` has anything besides whitespace, comments and `;`.
fn has_code(piece: &str) -> bool {
    !skip_comments(piece)
        .trim_start_matches(';')
        .trim()
        .is_empty()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_simple_statements() {
        let s = split_statements("CREATE TABLE a (x);\n-- note; here\nINSERT INTO a VALUES (1);\n");
        assert_eq!(
            s,
            vec![
                "CREATE TABLE a (x)",
                "-- note; here\nINSERT INTO a VALUES (1)"
            ]
        );
    }

    #[test]
    fn keeps_semicolons_in_quotes_and_comments() {
        let s = split_statements(
            "INSERT INTO t VALUES ('a;b', \"c;d\", 'it''s; ok'); /* x; y */ SELECT 1;",
        );
        assert_eq!(s.len(), 2);
        assert_eq!(s[0], "INSERT INTO t VALUES ('a;b', \"c;d\", 'it''s; ok')");
        assert_eq!(s[1], "/* x; y */ SELECT 1");
    }

    #[test]
    fn keeps_trigger_bodies_whole() {
        let script = "CREATE TRIGGER t AFTER INSERT ON a BEGIN\n  UPDATE b SET n = n + 1;\n  SELECT CASE WHEN 1 THEN 2 END;\nEND;\nSELECT 2;";
        let s = split_statements(script);
        assert_eq!(s.len(), 2, "{s:#?}");
        assert!(s[0].starts_with("CREATE TRIGGER") && s[0].ends_with("END"));
        assert_eq!(s[1], "SELECT 2");
    }

    #[test]
    fn drops_comment_only_pieces_and_handles_missing_final_semicolon() {
        let s = split_statements("-- header\n\nSELECT 1;\n-- trailing comment\n;\nSELECT 2");
        assert_eq!(s, vec!["-- header\n\nSELECT 1", "SELECT 2"]);
    }

    #[test]
    fn keeps_dollar_quoted_bodies_whole() {
        let script = "CREATE FUNCTION f() RETURNS trigger LANGUAGE plpgsql AS $$\nBEGIN\n  RAISE EXCEPTION 'no; never';\nEND;\n$$;\n\
                      CREATE FUNCTION g() RETURNS int AS $body$ SELECT 1; $body$ LANGUAGE sql;\n\
                      SELECT $1, '$$';\nSELECT 2;";
        let s = split_statements(script);
        assert_eq!(s.len(), 4, "{s:#?}");
        assert!(s[0].starts_with("CREATE FUNCTION f") && s[0].ends_with("$$"));
        assert!(s[1].ends_with("LANGUAGE sql"));
        assert_eq!(s[2], "SELECT $1, '$$'");
        assert_eq!(s[3], "SELECT 2");
        // An unclosed quote runs to the end rather than past it.
        assert_eq!(split_statements("SELECT $$a; b"), vec!["SELECT $$a; b"]);
    }

    #[test]
    fn postgres_twins_pair_with_the_sqlite_migrations() {
        assert_eq!(MIGRATIONS.len(), POSTGRES_MIGRATIONS.len());
        for (s, p) in MIGRATIONS.iter().zip(POSTGRES_MIGRATIONS) {
            assert_eq!((s.0, s.1), (p.0, p.1));
        }
        assert_eq!(
            migrations(Dialect::Postgres)[3].1,
            "0004_create_wallet_tables"
        );
    }

    #[test]
    fn embedded_migrations_are_ordered_and_split() {
        assert!(MIGRATIONS.len() >= 2);
        for (i, (v, name, text)) in MIGRATIONS.iter().enumerate() {
            assert_eq!(*v as usize, i + 1);
            assert!(
                !split_statements(text).is_empty(),
                "{name} has no statements"
            );
        }
        assert_eq!(MIGRATIONS[0].1, "0001_enable_wal");
    }
}
