//! `first-statement <db> [n]`: opens `db` `n` times (default 2 000) the way
//! Spin opens a connection for a request, runs one statement on each and
//! prints the median and mean cost in microseconds as JSON. The first
//! statement on a fresh connection is where SQLite parses the whole schema,
//! so this is the part of every request's floor that grows with the schema.

use std::time::Instant;

use rusqlite::{Connection, OpenFlags};

fn main() {
    let mut args = std::env::args().skip(1);
    let Some(path) = args.next() else {
        eprintln!("usage: first-statement <db> [n]");
        std::process::exit(2);
    };
    let n: usize = args.next().and_then(|v| v.parse().ok()).unwrap_or(2_000);
    let mut took = Vec::with_capacity(n);
    for _ in 0..n {
        let started = Instant::now();
        let conn = Connection::open_with_flags(
            &path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .expect("database opens");
        // Any statement that names a table makes SQLite read the schema.
        let _: i64 = conn
            .query_row("SELECT count(*) FROM sqlite_schema WHERE 0", [], |r| {
                r.get(0)
            })
            .expect("first statement runs");
        drop(conn);
        took.push(started.elapsed().as_secs_f64() * 1e6);
    }
    took.sort_by(f64::total_cmp);
    let mean = took.iter().sum::<f64>() / took.len().max(1) as f64;
    println!(
        "{}",
        format_args!(
            "{{\"n\":{n},\"p50_us\":{:.1},\"mean_us\":{mean:.1}}}",
            took[took.len() / 2]
        )
    );
}
