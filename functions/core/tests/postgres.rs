//! The PostgreSQL backend against a real server (a throwaway cluster this
//! test process starts): both migration sets build the same schema, the
//! runner migrates once under concurrency, values travel in SQLite's storage
//! classes, failures map as on SQLite, and the writers' lock serialises
//! read-then-write transactions exactly as `BEGIN IMMEDIATE` does.

use std::{
    collections::BTreeSet,
    sync::{Arc, Barrier},
    time::Duration,
};

use krug_core::{
    db::{immediate, write_alone},
    migrate::{self, migrations, MIGRATIONS},
    native::{postgres_sql, NativePostgresSql, NativeSql, SystemClock, TestServer},
    params,
    ports::{Dialect, Sql, SqlValue, StoreError},
};

fn fresh() -> (String, NativePostgresSql) {
    let url = TestServer::shared().fresh_database();
    let sql = postgres_sql(&url).expect("connect");
    (url, sql)
}

fn migrated() -> (String, NativePostgresSql) {
    let (url, sql) = fresh();
    migrate::migrate(&sql, &SystemClock).expect("migrate");
    (url, sql)
}

fn texts(sql: &dyn Sql, query: &str, params: &[SqlValue]) -> Vec<Vec<String>> {
    sql.execute(query, params)
        .unwrap_or_else(|e| panic!("{query}: {e}"))
        .rows
        .into_iter()
        .map(|row| {
            row.into_iter()
                .map(|v| match v {
                    SqlValue::Text(s) => s,
                    SqlValue::Integer(i) => i.to_string(),
                    SqlValue::Null => String::new(),
                    other => format!("{other:?}"),
                })
                .collect()
        })
        .collect()
}

/// The rows of a two-column text query, as pairs.
fn pairs(sql: &dyn Sql, query: &str, params: &[SqlValue]) -> BTreeSet<(String, String)> {
    texts(sql, query, params)
        .into_iter()
        .map(|r| (r[0].clone(), r[1].clone()))
        .collect()
}

/// One column as both engines describe it: (table, column, type class,
/// not null, part of the primary key).
type Column = (String, String, &'static str, bool, bool);

/// A schema: its columns, then its hand-made indexes and its triggers as
/// (name, table).
type Schema = (
    BTreeSet<Column>,
    BTreeSet<(String, String)>,
    BTreeSet<(String, String)>,
);

fn sqlite_type(declared: &str) -> &'static str {
    match declared.to_ascii_uppercase().as_str() {
        "INTEGER" => "integer",
        "TEXT" => "text",
        "REAL" => "real",
        "BLOB" => "bytes",
        _ => "other",
    }
}

fn postgres_type(data_type: &str) -> &'static str {
    match data_type {
        "bigint" => "integer",
        "text" => "text",
        "double precision" => "real",
        "bytea" => "bytes",
        _ => "other",
    }
}

fn sqlite_schema() -> Schema {
    let sql = NativeSql::sqlite_memory().unwrap();
    migrate::migrate(&sql, &SystemClock).unwrap();
    let tables = texts(
        &sql,
        "SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%'",
        &[],
    );
    let mut columns = BTreeSet::new();
    for t in tables.iter().map(|r| r[0].clone()) {
        let info = sql
            .execute(&format!("PRAGMA table_info({t})"), &[])
            .unwrap();
        for row in info.iter() {
            let pk = row.i64("pk").unwrap() > 0;
            columns.insert((
                t.clone(),
                row.text("name").unwrap(),
                sqlite_type(&row.text("type").unwrap()),
                row.i64("notnull").unwrap() == 1 || pk,
                pk,
            ));
        }
    }
    let named = |kind: &str| -> BTreeSet<(String, String)> {
        pairs(
            &sql,
            "SELECT name, tbl_name FROM sqlite_schema WHERE type = ? AND sql IS NOT NULL",
            params![kind].as_slice(),
        )
    };
    (columns, named("index"), named("trigger"))
}

fn postgres_schema(sql: &dyn Sql) -> Schema {
    let pk: BTreeSet<(String, String)> = pairs(
        sql,
        // information_schema's columns are domains: read as text.
        "SELECT k.table_name::text, k.column_name::text FROM information_schema.table_constraints c \
         JOIN information_schema.key_column_usage k ON k.constraint_name = c.constraint_name \
         AND k.table_schema = c.table_schema \
         WHERE c.constraint_type = 'PRIMARY KEY' AND c.table_schema = 'public'",
        &[],
    );
    let columns = texts(
        sql,
        "SELECT table_name::text, column_name::text, data_type::text, is_nullable::text \
         FROM information_schema.columns \
         WHERE table_schema = 'public'",
        &[],
    )
    .into_iter()
    .map(|r| {
        let key = pk.contains(&(r[0].clone(), r[1].clone()));
        (
            r[0].clone(),
            r[1].clone(),
            postgres_type(&r[2]),
            r[3] == "NO",
            key,
        )
    })
    .collect();
    // Indexes made by hand, not those behind a primary key or UNIQUE
    // constraint (SQLite's automatic ones have no SQL and are left out too).
    let indexes = pairs(
        sql,
        "SELECT c.relname::text, t.relname::text FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid \
         JOIN pg_class t ON t.oid = i.indrelid JOIN pg_namespace n ON n.oid = t.relnamespace \
         WHERE n.nspname = 'public' \
         AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid)",
        &[],
    );
    let triggers = pairs(
        sql,
        "SELECT DISTINCT trigger_name::text, event_object_table::text FROM information_schema.triggers \
         WHERE trigger_schema = 'public'",
        &[],
    );
    (columns, indexes, triggers)
}

fn report<T: std::fmt::Debug + Ord + Clone>(
    what: &str,
    a: &BTreeSet<T>,
    b: &BTreeSet<T>,
) -> String {
    let only_a: Vec<_> = a.difference(b).cloned().collect();
    let only_b: Vec<_> = b.difference(a).cloned().collect();
    if only_a.is_empty() && only_b.is_empty() {
        String::new()
    } else {
        format!("{what}: only in SQLite {only_a:#?}, only in PostgreSQL {only_b:#?}\n")
    }
}

#[test]
fn both_migration_sets_build_the_same_tables_columns_keys_indexes_and_triggers() {
    let (_, pg) = migrated();
    let (sc, si, st) = sqlite_schema();
    let (pc, pi, pt) = postgres_schema(&pg);
    assert!(sc.len() > 100, "the SQLite schema was read: {}", sc.len());
    let diff =
        report("columns", &sc, &pc) + &report("indexes", &si, &pi) + &report("triggers", &st, &pt);
    assert!(diff.is_empty(), "{diff}");
}

#[test]
fn concurrent_runners_apply_each_migration_once() {
    let url = TestServer::shared().fresh_database();
    let start = Arc::new(Barrier::new(4));
    let runs: Vec<_> = (0..4)
        .map(|_| {
            let (url, start) = (url.clone(), Arc::clone(&start));
            std::thread::spawn(move || {
                let sql = postgres_sql(&url).unwrap();
                start.wait();
                migrate::migrate(&sql, &SystemClock).unwrap()
            })
        })
        .collect();
    let mut applied: Vec<i64> = runs
        .into_iter()
        .flat_map(|r| r.join().unwrap().applied)
        .collect();
    applied.sort_unstable();
    let expected: Vec<i64> = migrations(Dialect::Postgres).iter().map(|m| m.0).collect();
    assert_eq!(applied, expected);
    assert_eq!(expected.len(), MIGRATIONS.len());
    let sql = postgres_sql(&url).unwrap();
    assert_eq!(
        migrate::schema_version(&sql).unwrap(),
        migrate::latest_version()
    );
    // And again: nothing left to do.
    assert!(migrate::migrate(&sql, &SystemClock)
        .unwrap()
        .applied
        .is_empty());
}

#[test]
fn values_travel_in_sqlite_storage_classes() {
    let (_, sql) = fresh();
    assert_eq!(sql.dialect(), Dialect::Postgres);
    sql.execute(
        "CREATE TABLE v (id BIGINT PRIMARY KEY, r DOUBLE PRECISION, t TEXT, b BYTEA, n BIGINT)",
        &[],
    )
    .unwrap();
    for i in 1..=3_i64 {
        sql.execute(
            "INSERT INTO v (id, r, t, b, n) VALUES (?, ?, ?, ?, ?)",
            &[
                SqlValue::Integer(i),
                SqlValue::Real(0.5 * i as f64),
                SqlValue::Text(format!("it's ? {i}")),
                SqlValue::Blob(vec![0, 255, i as u8]),
                SqlValue::Null,
            ],
        )
        .unwrap();
    }
    let rows = sql
        .execute(
            "SELECT id, r, t, b, n, id > 1 AS big FROM v WHERE t <> '?' ORDER BY id",
            &[],
        )
        .unwrap();
    assert_eq!(rows.columns, ["id", "r", "t", "b", "n", "big"]);
    assert_eq!(
        rows.rows[2],
        vec![
            SqlValue::Integer(3),
            SqlValue::Real(1.5),
            SqlValue::Text("it's ? 3".into()),
            SqlValue::Blob(vec![0, 255, 3]),
            SqlValue::Null,
            SqlValue::Integer(1),
        ]
    );
    // SUM of bigint is numeric on PostgreSQL, an integer on SQLite.
    let agg = sql
        .execute(
            "SELECT SUM(id) AS s, COUNT(*) AS c, AVG(id) AS a, SUM(n) AS none FROM v",
            &[],
        )
        .unwrap();
    let row = agg.first().unwrap();
    assert_eq!(row.i64("s").unwrap(), 6);
    assert_eq!(row.i64("c").unwrap(), 3);
    assert_eq!(row.opt_f64("a").unwrap(), Some(2.0));
    assert_eq!(row.opt_i64("none").unwrap(), None);
    // changes(): the last write's rows; RETURNING counts what it returns;
    // transaction control and savepoints leave it alone.
    sql.execute(
        "UPDATE v SET n = ? WHERE id >= ?",
        params![7_i64, 2_i64].as_slice(),
    )
    .unwrap();
    assert_eq!(sql.changes().unwrap(), 2);
    let back = immediate(&sql, |tx| -> Result<_, StoreError> {
        let rows = tx.execute(
            "UPDATE v SET n = n + 1 WHERE id = ? RETURNING n",
            params![3_i64].as_slice(),
        )?;
        let changed = tx.changes()?;
        tx.execute("SAVEPOINT s", &[])?;
        let after_savepoint = tx.changes()?;
        tx.execute("DELETE FROM v WHERE id = 1", &[])?;
        tx.execute("ROLLBACK TO s", &[])?;
        Ok((rows.first().unwrap().i64("n")?, changed, after_savepoint))
    })
    .unwrap();
    assert_eq!(back, (8, 1, 1));
    assert_eq!(sql.changes().unwrap(), 1, "COMMIT left changes() alone");
    let ids = texts(&sql, "SELECT id FROM v ORDER BY id", &[]);
    assert_eq!(ids.len(), 3, "ROLLBACK TO undid the delete");
}

#[test]
fn parameters_bind_strictly_as_spin_binds_them() {
    let (_, sql) = fresh();
    sql.execute("CREATE TABLE s (t TEXT, i BIGINT)", &[])
        .unwrap();
    // An integer for a text column is refused, not converted: what
    // passes here passes through Spin's PostgreSQL interface.
    let err = sql
        .execute("INSERT INTO s (t) VALUES (?)", params![5_i64].as_slice())
        .unwrap_err();
    assert!(matches!(err, StoreError::Other(_)), "{err:?}");
    sql.execute(
        "INSERT INTO s (t, i) VALUES (?, ?)",
        params!["5", None::<i64>].as_slice(),
    )
    .unwrap();
    let n = texts(&sql, "SELECT COUNT(*) FROM s", &[]);
    assert_eq!(n, [["1"]]);
}

#[test]
fn failures_map_as_on_sqlite() {
    let (_, sql) = fresh();
    assert_eq!(migrate::schema_version(&sql).unwrap(), 0, "no table yet");
    migrate::migrate(&sql, &SystemClock).unwrap();
    sql.execute(
        "INSERT INTO member_balances (member_id, available, updated_at) VALUES (?, ?, ?)",
        params!["m1", 5_i64, "2026-12-04T00:00:00.000000Z"].as_slice(),
    )
    .unwrap();
    let dup = sql
        .execute(
            "INSERT INTO member_balances (member_id, available, updated_at) VALUES (?, ?, ?)",
            params!["m1", 5_i64, "2026-12-04T00:00:00.000000Z"].as_slice(),
        )
        .unwrap_err();
    assert!(matches!(dup, StoreError::Constraint(_)), "{dup:?}");
    let negative = sql
        .execute(
            "UPDATE member_balances SET available = ? WHERE member_id = ?",
            params![-1_i64, "m1"].as_slice(),
        )
        .unwrap_err();
    assert!(
        matches!(negative, StoreError::Constraint(_)),
        "{negative:?}"
    );
    sql.execute(
        "INSERT INTO ledger_entries (id, member_id, kind, amount, cause_type, cause_id, actor_role, created_at) \
         VALUES ('e1', 'm1', 'earn', 5, 'admin', 'c1', 'admin', '2026-12-04T00:00:00.000000Z')",
        &[],
    )
    .unwrap();
    let edited = sql
        .execute("UPDATE ledger_entries SET amount = 6 WHERE id = 'e1'", &[])
        .unwrap_err();
    assert!(
        matches!(&edited, StoreError::Constraint(m) if m.contains("append-only")),
        "{edited:?}"
    );
    let missing = sql.execute("SELECT * FROM nowhere", &[]).unwrap_err();
    assert!(
        matches!(&missing, StoreError::Other(m) if m.contains("no such table")),
        "{missing:?}"
    );
}

#[test]
fn the_writers_lock_serialises_read_then_write_transactions() {
    let (url, sql) = fresh();
    sql.execute(
        "CREATE TABLE counter (id BIGINT PRIMARY KEY, n BIGINT NOT NULL)",
        &[],
    )
    .unwrap();
    sql.execute("INSERT INTO counter (id, n) VALUES (1, 0)", &[])
        .unwrap();
    // Each transaction reads, waits, then writes what it read plus one:
    // without the lock READ COMMITTED loses updates here.
    let start = Arc::new(Barrier::new(10));
    let mut workers: Vec<_> = (0..8)
        .map(|_| {
            let (url, start) = (url.clone(), Arc::clone(&start));
            std::thread::spawn(move || {
                let sql = postgres_sql(&url).unwrap();
                start.wait();
                for _ in 0..5 {
                    immediate(&sql, |tx| -> Result<(), StoreError> {
                        let n = tx
                            .execute("SELECT n FROM counter WHERE id = 1", &[])?
                            .first()
                            .unwrap()
                            .i64("n")?;
                        std::thread::sleep(Duration::from_millis(2));
                        tx.execute(
                            "UPDATE counter SET n = ? WHERE id = 1",
                            params![n + 1].as_slice(),
                        )?;
                        Ok(())
                    })
                    .unwrap();
                }
            })
        })
        .collect();
    // Lone writes (their own transaction each) queue with them.
    for _ in 0..2 {
        let (url, start) = (url.clone(), Arc::clone(&start));
        workers.push(std::thread::spawn(move || {
            let sql = postgres_sql(&url).unwrap();
            start.wait();
            for _ in 0..500 {
                write_alone(
                    &sql,
                    "UPDATE counter SET n = n + 1 WHERE id = ?",
                    params![1_i64].as_slice(),
                )
                .unwrap();
            }
        }));
    }
    for w in workers {
        w.join().unwrap();
    }
    assert_eq!(texts(&sql, "SELECT n FROM counter", &[]), [["1040"]]);
    assert!(sql.statements() > 0);
}

#[test]
fn a_writer_that_dies_releases_the_lock() {
    let (url, sql) = fresh();
    sql.execute("CREATE TABLE t (n BIGINT)", &[]).unwrap();
    let holder = postgres_sql(&url).unwrap();
    holder.execute("BEGIN IMMEDIATE", &[]).unwrap();
    holder.execute("INSERT INTO t (n) VALUES (1)", &[]).unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let waiter = std::thread::spawn(move || {
        let sql = postgres_sql(&url).unwrap();
        let r = immediate(&sql, |tx| tx.execute("INSERT INTO t (n) VALUES (2)", &[]));
        tx.send(r.is_ok()).unwrap();
    });
    // The second writer waits while the first holds the lock …
    assert!(rx.recv_timeout(Duration::from_millis(300)).is_err());
    // … and goes on once the first one's session ends without a COMMIT.
    drop(holder);
    assert_eq!(rx.recv_timeout(Duration::from_secs(5)), Ok(true));
    waiter.join().unwrap();
    assert_eq!(texts(&sql, "SELECT n FROM t", &[]), [["2"]]);
}
