//! Foundation repositories against real SQLite files: migrations, WAL,
//! BEGIN IMMEDIATE under contention, idempotency races, audit pagination,
//! scheduled-job claiming.

use std::{path::Path, sync::Arc, thread};

use chrono::{Duration, TimeZone, Utc};
use krug_core::{
    audit::{self, AuditEntry, AuditFilter},
    db::immediate,
    idempotency::{self, Begin, IdempotencyError},
    jobs::{self, JobEnv},
    migrate::{self, MIGRATIONS},
    native::{ManualClock, MapVariables, MemoryKv, NativeSql, OsRandom, SystemClock},
    pagination::Cursor,
    ports::{Sql, SqlValue, StoreError},
};

fn migrated(path: &Path) -> NativeSql {
    let sql = NativeSql::open(path).unwrap();
    migrate::migrate(&sql, &SystemClock).unwrap();
    sql
}

/// Whether the suite runs on PostgreSQL (`KRUG_TEST_BACKEND`), where a test
/// of SQLite's own behaviour (its files, pragmas, STRICT tables, busy
/// handler) has nothing to check; the PostgreSQL twins have their own tests
/// in `postgres.rs`.
fn sqlite_only() -> bool {
    krug_core::native::test_backend() == krug_core::ports::Dialect::Postgres
}

#[test]
fn migrations_apply_once_and_switch_to_wal() {
    if sqlite_only() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let sql = NativeSql::open(&dir.path().join("db")).unwrap();
    assert_eq!(migrate::schema_version(&sql).unwrap(), 0);
    let first = migrate::migrate(&sql, &SystemClock).unwrap();
    assert_eq!(first.applied.len(), MIGRATIONS.len());
    assert_eq!(first.schema_version, migrate::latest_version());
    let again = migrate::migrate(&sql, &SystemClock).unwrap();
    assert!(again.applied.is_empty());
    let mode = sql.execute("PRAGMA journal_mode", &[]).unwrap();
    assert_eq!(
        mode.rows[0][0],
        krug_core::ports::SqlValue::Text("wal".into())
    );
}

#[test]
fn the_promo_trigger_migration_keeps_every_existing_campaign_a_candidate() {
    if sqlite_only() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let sql = NativeSql::open(&dir.path().join("db")).unwrap();
    let (before, after): (Vec<&(i64, &str, &str)>, Vec<_>) =
        MIGRATIONS.iter().partition(|m| m.0 < 15);
    let run = |text: &str| {
        for s in migrate::split_statements(text) {
            sql.execute(&s, &[]).unwrap();
        }
    };
    for m in &before {
        run(m.2);
    }
    // Two campaigns as the schema before stored them: one for two
    // businesses, one network-wide.
    for (id, businesses) in [("p-shops", r#"["b1","b2"]"#), ("p-all", "[]")] {
        sql.execute(
            "INSERT INTO promos (id, name, kind, businesses, auto, created_at, updated_at) \
             VALUES (?, ?, 'percent', ?, 1, '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z')",
            &[
                SqlValue::Text(id.into()),
                SqlValue::Text(id.into()),
                SqlValue::Text(businesses.into()),
            ],
        )
        .unwrap();
    }
    for b in ["b1", "b2"] {
        sql.execute(
            "INSERT INTO promo_businesses (promo_id, business_id) VALUES ('p-shops', ?)",
            &[SqlValue::Text(b.into())],
        )
        .unwrap();
    }
    let m15 = after.iter().find(|m| m.0 == 15).expect("migration 15");
    run(m15.2);
    let rows = sql
        .execute(
            "SELECT scope, trigger_key, promo_id FROM promo_triggers ORDER BY scope, promo_id",
            &[],
        )
        .unwrap();
    let got: Vec<Vec<String>> = rows
        .rows
        .iter()
        .map(|r| {
            r.iter()
                .map(|v| match v {
                    SqlValue::Text(t) => t.clone(),
                    other => panic!("{other:?}"),
                })
                .collect()
        })
        .collect();
    assert_eq!(
        got,
        vec![
            vec!["*", "*", "p-all"],
            vec!["b1", "*", "p-shops"],
            vec!["b2", "*", "p-shops"],
        ]
    );
    let left = sql
        .execute(
            "SELECT COUNT(*) FROM sqlite_schema WHERE name IN ('promo_businesses', 'promos_auto_network')",
            &[],
        )
        .unwrap();
    assert_eq!(left.rows[0][0], SqlValue::Integer(0));
}

#[test]
fn the_promo_counter_migration_counts_held_and_committed_uses() {
    if sqlite_only() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let sql = NativeSql::open(&dir.path().join("db")).unwrap();
    let run = |text: &str| {
        for s in migrate::split_statements(text) {
            sql.execute(&s, &[]).unwrap();
        }
    };
    for m in MIGRATIONS.iter().filter(|m| m.0 < 16) {
        run(m.2);
    }
    // Uses as the schema before stored them: an expired hold still counts
    // until the job releases it; a released use does not.
    for (i, (promo, discount, status, expires)) in [
        ("p1", 100, "committed", "2026-01-01T00:15:00Z"),
        ("p1", 50, "held", "2099-01-01T00:00:00Z"),
        ("p1", 70, "held", "2026-01-01T00:15:00Z"),
        ("p1", 999, "released", "2026-01-01T00:15:00Z"),
        ("p2", 999, "released", "2026-01-01T00:15:00Z"),
    ]
    .into_iter()
    .enumerate()
    {
        sql.execute(
            "INSERT INTO promo_uses (id, promo_id, reservation_id, member_id, discount, status, day, expires_at, created_at) \
             VALUES (?, ?, 'r', 'm', ?, ?, '2026-01-01', ?, '2026-01-01T00:00:00Z')",
            &[
                SqlValue::Text(format!("u{i}")),
                SqlValue::Text(promo.into()),
                SqlValue::Integer(discount),
                SqlValue::Text(status.into()),
                SqlValue::Text(expires.into()),
            ],
        )
        .unwrap();
    }
    run(MIGRATIONS
        .iter()
        .find(|m| m.0 == 16)
        .expect("migration 16")
        .2);
    let rows = sql
        .execute(
            "SELECT promo_id, uses, spent FROM promo_counters ORDER BY promo_id",
            &[],
        )
        .unwrap();
    assert_eq!(
        rows.rows,
        vec![vec![
            SqlValue::Text("p1".into()),
            SqlValue::Integer(3),
            SqlValue::Integer(220)
        ]]
    );
}

#[test]
fn an_edited_migration_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let sql = migrated(&dir.path().join("db"));
    sql.execute(
        "UPDATE schema_migrations SET checksum = 'x' WHERE version = 2",
        &[],
    )
    .unwrap();
    let err = migrate::migrate(&sql, &SystemClock).unwrap_err();
    assert!(
        matches!(err, migrate::MigrateError::Edited { version: 2, .. }),
        "{err}"
    );
}

#[test]
fn racing_migrators_apply_each_migration_once() {
    let dir = tempfile::tempdir().unwrap();
    let path = Arc::new(dir.path().join("db"));
    let handles: Vec<_> = (0..6)
        .map(|_| {
            let path = path.clone();
            thread::spawn(move || {
                let sql = NativeSql::open(&path).unwrap();
                migrate::migrate(&sql, &SystemClock).unwrap().applied
            })
        })
        .collect();
    let mut applied: Vec<i64> = handles
        .into_iter()
        .flat_map(|h| h.join().unwrap())
        .collect();
    applied.sort_unstable();
    let expected: Vec<i64> = MIGRATIONS.iter().map(|m| m.0).collect();
    assert_eq!(applied, expected);
}

#[test]
fn immediate_serialises_concurrent_writers_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let path = Arc::new(dir.path().join("db"));
    let sql = migrated(&path);
    sql.execute("CREATE TABLE counter (n BIGINT NOT NULL)", &[])
        .unwrap();
    sql.execute("INSERT INTO counter VALUES (0)", &[]).unwrap();
    let handles: Vec<_> = (0..8)
        .map(|_| {
            let path = path.clone();
            thread::spawn(move || {
                let sql = NativeSql::open(&path).unwrap();
                for _ in 0..50 {
                    // Read-modify-write: only correct if the transaction holds the lock.
                    immediate(&sql, |tx| -> Result<(), StoreError> {
                        let n = tx
                            .execute("SELECT n FROM counter", &[])?
                            .first()
                            .unwrap()
                            .i64("n")?;
                        tx.execute("UPDATE counter SET n = ?", &[(n + 1).into()])?;
                        Ok(())
                    })
                    .unwrap();
                }
            })
        })
        .collect();
    handles.into_iter().for_each(|h| h.join().unwrap());
    let n = sql
        .execute("SELECT n FROM counter", &[])
        .unwrap()
        .first()
        .unwrap()
        .i64("n")
        .unwrap();
    assert_eq!(n, 400);
}

#[test]
fn a_lone_write_waits_for_the_lock_without_the_connections_busy_handler() {
    if sqlite_only() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    let holder = migrated(&path);
    holder
        .execute("CREATE TABLE lone (n INTEGER)", &[])
        .unwrap();
    holder.execute("BEGIN IMMEDIATE", &[]).unwrap();
    let path2 = path.clone();
    let writer = thread::spawn(move || {
        let sql = NativeSql::open(&path2).unwrap();
        let started = std::time::Instant::now();
        krug_core::db::write_alone(&sql, "INSERT INTO lone (n) VALUES (1)", &[]).unwrap();
        let waited = started.elapsed();
        // The handler is off on this connection now: a plain write that
        // meets the lock hears so at once instead of sleeping up to 5 s.
        (sql, waited)
    });
    thread::sleep(std::time::Duration::from_millis(300));
    holder.execute("COMMIT", &[]).unwrap();
    let (sql, waited) = writer.join().unwrap();
    assert!(
        waited >= std::time::Duration::from_millis(250),
        "{waited:?}"
    );
    holder.execute("BEGIN IMMEDIATE", &[]).unwrap();
    let started = std::time::Instant::now();
    assert!(matches!(
        sql.execute("INSERT INTO lone (n) VALUES (2)", &[]),
        Err(StoreError::Busy)
    ));
    assert!(started.elapsed() < std::time::Duration::from_secs(1));
    holder.execute("ROLLBACK", &[]).unwrap();
    assert_eq!(
        holder
            .execute("SELECT COUNT(*) FROM lone", &[])
            .unwrap()
            .rows[0][0],
        SqlValue::Integer(1)
    );
}

#[test]
fn immediate_rolls_back_on_error() {
    let dir = tempfile::tempdir().unwrap();
    let sql = migrated(&dir.path().join("db"));
    sql.execute("CREATE TABLE t (x INTEGER)", &[]).unwrap();
    let result: Result<(), StoreError> = immediate(&sql, |tx| {
        tx.execute("INSERT INTO t VALUES (1)", &[])?;
        Err(StoreError::Other("boom".into()))
    });
    assert!(result.is_err());
    assert!(sql.execute("SELECT x FROM t", &[]).unwrap().rows.is_empty());
}

#[test]
fn idempotency_fresh_replay_reused_in_flight() {
    let dir = tempfile::tempdir().unwrap();
    let sql = migrated(&dir.path().join("db"));
    let clock = ManualClock::at(Utc.with_ymd_and_hms(2026, 11, 24, 10, 0, 0).unwrap());
    let h = idempotency::request_hash("POST", "/p", b"{\"a\":1}");
    assert_eq!(
        idempotency::begin(&sql, &clock, "s", "k1", &h).unwrap(),
        Begin::Fresh
    );
    assert!(matches!(
        idempotency::begin(&sql, &clock, "s", "k1", &h),
        Err(IdempotencyError::InFlight)
    ));
    idempotency::complete(&sql, "s", "k1", 201, "{\"id\":1}").unwrap();
    assert_eq!(
        idempotency::begin(&sql, &clock, "s", "k1", &h).unwrap(),
        Begin::Replay {
            status: 201,
            body: "{\"id\":1}".into()
        }
    );
    let other = idempotency::request_hash("POST", "/p", b"{\"a\":2}");
    assert!(matches!(
        idempotency::begin(&sql, &clock, "s", "k1", &other),
        Err(IdempotencyError::KeyReused)
    ));
    // Another scope is another key space.
    assert_eq!(
        idempotency::begin(&sql, &clock, "t", "k1", &other).unwrap(),
        Begin::Fresh
    );
    // Abandoned keys are processed afresh.
    idempotency::abandon(&sql, "t", "k1").unwrap();
    assert_eq!(
        idempotency::begin(&sql, &clock, "t", "k1", &other).unwrap(),
        Begin::Fresh
    );
    // After 24 h a record no longer counts: a new request takes the key
    // over in place (in flight again, its old answer gone) even before the
    // purge, which removes the other expired one.
    clock.advance(Duration::hours(24) + Duration::seconds(1));
    assert_eq!(
        idempotency::begin(&sql, &clock, "s", "k1", &other).unwrap(),
        Begin::Fresh
    );
    assert!(matches!(
        idempotency::begin(&sql, &clock, "s", "k1", &other),
        Err(IdempotencyError::InFlight)
    ));
    assert_eq!(idempotency::purge_expired(&sql, &clock).unwrap(), 1);
    assert_eq!(
        idempotency::begin(&sql, &clock, "t", "k1", &h).unwrap(),
        Begin::Fresh
    );
}

#[test]
fn twenty_racing_requests_get_exactly_one_fresh() {
    let dir = tempfile::tempdir().unwrap();
    let path = Arc::new(dir.path().join("db"));
    migrated(&path);
    let handles: Vec<_> = (0..20)
        .map(|_| {
            let path = path.clone();
            thread::spawn(move || {
                let sql = NativeSql::open(&path).unwrap();
                krug_core::db::with_busy_retry(|| {
                    match idempotency::begin(&sql, &SystemClock, "pos", "same-key", "hash") {
                        Ok(b) => Ok(Ok(b)),
                        Err(IdempotencyError::Unknown(StoreError::Busy)) => Err(StoreError::Busy),
                        Err(e) => Ok(Err(e)),
                    }
                })
                .unwrap()
            })
        })
        .collect();
    let results: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    let fresh = results
        .iter()
        .filter(|r| matches!(r, Ok(Begin::Fresh)))
        .count();
    let in_flight = results
        .iter()
        .filter(|r| matches!(r, Err(IdempotencyError::InFlight)))
        .count();
    assert_eq!(fresh, 1);
    assert_eq!(in_flight, 19);
}

#[test]
fn audit_log_paginates_newest_first() {
    let dir = tempfile::tempdir().unwrap();
    let sql = migrated(&dir.path().join("db"));
    let clock = ManualClock::at(Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap());
    for i in 0..250 {
        let subject = if i % 2 == 0 { "even" } else { "odd" };
        audit::record(
            &sql,
            &clock,
            &OsRandom,
            &AuditEntry {
                actor_id: Some("admin-1"),
                actor_role: "admin",
                action: "test.event",
                subject_type: "thing",
                subject_id: subject,
                details: serde_json::json!({ "i": i }),
                request_id: Some("req"),
            },
        )
        .unwrap();
        // Several entries share a timestamp: the id breaks ties.
        if i % 3 == 0 {
            clock.advance(Duration::seconds(1));
        }
    }
    let mut seen = Vec::new();
    let mut cursor: Option<Cursor> = None;
    loop {
        let page = audit::list(&sql, &AuditFilter::default(), 100, cursor.as_ref()).unwrap();
        seen.extend(page.items.iter().map(|r| r.details["i"].as_i64().unwrap()));
        match page.next_cursor {
            Some(c) => cursor = Some(Cursor::decode(&c).unwrap()),
            None => break,
        }
    }
    // Every entry exactly once, and newest-second first (entries within one
    // second are ordered by id, which is random within a millisecond).
    assert_eq!(seen.len(), 250);
    let mut sorted = seen.clone();
    sorted.sort_unstable();
    assert_eq!(sorted, (0..250).collect::<Vec<_>>());
    let second_of = |i: i64| i.max(1).saturating_sub(1) / 3 + i64::from(i > 0);
    assert!(seen.windows(2).all(|w| second_of(w[0]) >= second_of(w[1])));
    let odd = audit::list(
        &sql,
        &AuditFilter {
            subject_type: Some("thing".into()),
            subject_id: Some("odd".into()),
        },
        100,
        None,
    )
    .unwrap();
    assert_eq!(odd.items.len(), 100);
    assert!(odd.items.iter().all(|r| r.subject_id == "odd"));
}

#[test]
fn due_jobs_are_claimed_once_per_period() {
    let dir = tempfile::tempdir().unwrap();
    let sql = migrated(&dir.path().join("db"));
    let clock = ManualClock::at(Utc.with_ymd_and_hms(2026, 11, 24, 10, 5, 0).unwrap());
    let env = JobEnv {
        sql: &sql,
        kv: &MemoryKv::default(),
        clock: &clock,
        random: &OsRandom,
        variables: &MapVariables::default(),
    };
    let first = jobs::run_due(&env).unwrap();
    assert!(first.iter().all(|o| o.outcome == "ok"), "{first:?}");
    let second = jobs::run_due(&env).unwrap();
    assert!(second.iter().all(|o| o.outcome == "skipped"));
    clock.advance(Duration::hours(1));
    let third = jobs::run_due(&env).unwrap();
    assert!(third
        .iter()
        .any(|o| o.job == "purge-idempotency-keys" && o.outcome == "ok"));
}
