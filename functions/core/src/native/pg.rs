//! A native [`PgClient`] (the `postgres` crate) that binds and reads values
//! as Spin's PostgreSQL interface does, and a throwaway PostgreSQL server
//! for tests.

use std::{
    cell::RefCell, error::Error as StdError, path::PathBuf, process::Command, sync::OnceLock,
    time::Duration,
};

use postgres::{
    types::{FromSql, IsNull, ToSql, Type},
    Client, NoTls, Row,
};

use crate::{
    ports::{Rows, SqlValue},
    postgres::{decimal_value, PgClient, PgFailure, PostgresSql},
};

/// One PostgreSQL session.
pub struct NativePg {
    client: RefCell<Client>,
}

impl NativePg {
    /// Connects with a libpq-style URL (`postgres://user@host:port/db`).
    pub fn connect(url: &str) -> Result<Self, PgFailure> {
        Client::connect(url, NoTls)
            .map(|client| Self {
                client: RefCell::new(client),
            })
            .map_err(|e| failure(&e, "(connect)"))
    }
}

/// [`PostgresSql`] on a native session: what tests use for PostgreSQL.
pub type NativePostgresSql = PostgresSql<NativePg>;

/// Connects a [`NativePostgresSql`] to `url`.
pub fn postgres_sql(url: &str) -> Result<NativePostgresSql, PgFailure> {
    NativePg::connect(url).map(PostgresSql::new)
}

// A client-side failure (a parameter of the wrong type, mostly) names the
// statement, which the server's own errors do not need.
fn failure(e: &postgres::Error, sql: &str) -> PgFailure {
    PgFailure {
        sqlstate: e.code().map(|c| c.code().to_string()),
        message: e.as_db_error().map_or_else(
            || format!("{e}: {e:?} in {sql}"),
            |d| d.message().to_string(),
        ),
    }
}

// NULL for a parameter of any type, as Spin binds its `db-null`.
#[derive(Debug)]
struct Null;

impl ToSql for Null {
    fn to_sql(
        &self,
        _: &Type,
        _: &mut bytes::BytesMut,
    ) -> Result<IsNull, Box<dyn StdError + Sync + Send>> {
        Ok(IsNull::Yes)
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    postgres::types::to_sql_checked!();
}

fn bind(params: &[SqlValue]) -> Vec<Box<dyn ToSql + Sync>> {
    params
        .iter()
        .map(|p| -> Box<dyn ToSql + Sync> {
            match p {
                SqlValue::Null => Box::new(Null),
                SqlValue::Integer(i) => Box::new(*i),
                SqlValue::Real(f) => Box::new(*f),
                SqlValue::Text(s) => Box::new(s.clone()),
                SqlValue::Blob(b) => Box::new(b.clone()),
            }
        })
        .collect()
}

// A `numeric` in text form, from its binary wire format: digit count,
// weight (of the first base-10000 digit), sign, display scale, digits.
struct Numeric(String);

impl<'a> FromSql<'a> for Numeric {
    fn from_sql(_: &Type, raw: &'a [u8]) -> Result<Self, Box<dyn StdError + Sync + Send>> {
        let word = |i: usize| -> Result<i16, Box<dyn StdError + Sync + Send>> {
            raw.get(i * 2..i * 2 + 2)
                .map(|b| i16::from_be_bytes([b[0], b[1]]))
                .ok_or_else(|| "short numeric".into())
        };
        let (count, weight, sign, scale) = (word(0)?, word(1)?, word(2)?, word(3)?);
        if sign as u16 == 0xC000 {
            return Ok(Numeric("NaN".into()));
        }
        let digits: Vec<i16> = (0..usize::try_from(count)?)
            .map(|k| word(4 + k))
            .collect::<Result<_, _>>()?;
        let digit = |k: i32| -> i16 {
            usize::try_from(k)
                .ok()
                .and_then(|k| digits.get(k).copied())
                .unwrap_or(0)
        };
        let mut text = String::new();
        if sign as u16 == 0x4000 {
            text.push('-');
        }
        let weight = i32::from(weight);
        if weight < 0 {
            text.push('0');
        } else {
            text.push_str(&digit(0).to_string());
            for k in 1..=weight {
                text.push_str(&format!("{:04}", digit(k)));
            }
        }
        let scale = usize::try_from(scale)?;
        if scale > 0 {
            let mut frac = String::new();
            let mut k = weight + 1;
            while frac.len() < scale {
                frac.push_str(&format!("{:04}", digit(k)));
                k += 1;
            }
            frac.truncate(scale);
            text.push('.');
            text.push_str(&frac);
        }
        Ok(Numeric(text))
    }

    fn accepts(ty: &Type) -> bool {
        *ty == Type::NUMERIC
    }
}

// A `void` result (e.g. of `pg_advisory_xact_lock`), read as NULL.
struct Void;

impl<'a> FromSql<'a> for Void {
    fn from_sql(_: &Type, _: &'a [u8]) -> Result<Self, Box<dyn StdError + Sync + Send>> {
        Ok(Void)
    }

    fn from_sql_null(_: &Type) -> Result<Self, Box<dyn StdError + Sync + Send>> {
        Ok(Void)
    }

    fn accepts(ty: &Type) -> bool {
        *ty == Type::VOID
    }
}

// Column `i` of `row` as a `T`, NULL as `None`.
fn get<'a, T: FromSql<'a>>(row: &'a Row, i: usize) -> Result<Option<T>, PgFailure> {
    row.try_get(i)
        .map_err(|e| failure(&e, "(reading a column)"))
}

fn read(row: &Row, i: usize) -> Result<SqlValue, PgFailure> {
    let ty = row.columns()[i].type_().clone();
    let value = match ty {
        Type::INT2 => get::<i16>(row, i)?.map(|v| SqlValue::Integer(v.into())),
        Type::INT4 => get::<i32>(row, i)?.map(|v| SqlValue::Integer(v.into())),
        Type::INT8 => get::<i64>(row, i)?.map(SqlValue::Integer),
        Type::FLOAT4 => get::<f32>(row, i)?.map(|v| SqlValue::Real(v.into())),
        Type::FLOAT8 => get::<f64>(row, i)?.map(SqlValue::Real),
        Type::BOOL => get::<bool>(row, i)?.map(|v| SqlValue::Integer(v.into())),
        Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME => {
            get::<String>(row, i)?.map(SqlValue::Text)
        }
        Type::BYTEA => get::<Vec<u8>>(row, i)?.map(SqlValue::Blob),
        Type::NUMERIC => match get::<Numeric>(row, i)? {
            None => None,
            Some(Numeric(text)) => Some(decimal_value(&text).ok_or_else(|| PgFailure {
                sqlstate: None,
                message: format!("numeric {text} is not a number"),
            })?),
        },
        Type::VOID => {
            row.try_get::<_, Void>(i)
                .map_err(|e| failure(&e, "(reading a column)"))?;
            None
        }
        other => {
            return Err(PgFailure {
                sqlstate: None,
                message: format!(
                    "column {:?} has type {}, which the app does not read",
                    row.columns()[i].name(),
                    other.name()
                ),
            })
        }
    };
    Ok(value.unwrap_or(SqlValue::Null))
}

impl PgClient for NativePg {
    fn query(&self, sql: &str, params: &[SqlValue]) -> Result<Rows, PgFailure> {
        let bound = bind(params);
        let refs: Vec<&(dyn ToSql + Sync)> = bound.iter().map(AsRef::as_ref).collect();
        let mut client = self.client.borrow_mut();
        let statement = client.prepare(sql).map_err(|e| failure(&e, sql))?;
        let columns = statement
            .columns()
            .iter()
            .map(|c| c.name().to_string())
            .collect();
        let rows = client
            .query(&statement, &refs)
            .map_err(|e| failure(&e, sql))?
            .iter()
            .map(|row| (0..row.len()).map(|i| read(row, i)).collect())
            .collect::<Result<_, _>>()?;
        Ok(Rows { columns, rows })
    }

    fn execute(&self, sql: &str, params: &[SqlValue]) -> Result<u64, PgFailure> {
        let bound = bind(params);
        let refs: Vec<&(dyn ToSql + Sync)> = bound.iter().map(AsRef::as_ref).collect();
        self.client
            .borrow_mut()
            .execute(sql, &refs)
            .map_err(|e| failure(&e, sql))
    }
}

/// A throwaway PostgreSQL cluster for tests: created with `initdb` in a
/// temporary directory, listening on 127.0.0.1 at a free port (trust
/// authentication, durability off for speed), and stopped when the test
/// process exits. When the process runs as root the server runs as the
/// `postgres` system user, as PostgreSQL refuses root.
pub struct TestServer {
    port: u16,
}

const USER: &str = "krug";
const START_WITHIN: Duration = Duration::from_secs(60);

impl TestServer {
    /// The one server of this test process, started on first use. Panics
    /// with the reason when PostgreSQL cannot be started.
    pub fn shared() -> &'static TestServer {
        static SERVER: OnceLock<TestServer> = OnceLock::new();
        SERVER.get_or_init(|| TestServer::start().unwrap_or_else(|e| panic!("{e}")))
    }

    fn start() -> Result<TestServer, String> {
        let bin = binaries()?;
        let stamp = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let root = std::env::temp_dir().join(format!("krug-pg-{}-{stamp}", std::process::id()));
        let dir = root.join("data");
        std::fs::create_dir_all(&root).map_err(|e| format!("{}: {e}", root.display()))?;
        let as_root = is_root();
        if as_root {
            run(Command::new("chown").arg("postgres:").arg(&root))?;
        }
        let port = free_port()?;
        let tool = |name: &str| -> Command {
            let program = bin.join(name);
            if as_root {
                let mut c = Command::new("runuser");
                c.args(["-u", "postgres", "--"]).arg(program);
                c
            } else {
                Command::new(program)
            }
        };
        run(tool("initdb").arg("-D").arg(&dir).args([
            "-U",
            USER,
            "-A",
            "trust",
            "-E",
            "UTF8",
            "--locale=C",
            "--no-sync",
        ]))?;
        let options = format!(
            "-c listen_addresses=127.0.0.1 -p {port} -c unix_socket_directories={} \
             -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200",
            root.display()
        );
        run(tool("pg_ctl")
            .arg("-D")
            .arg(&dir)
            .args(["-o", &options, "-l"])
            .arg(root.join("server.log"))
            .args(["-w", "-t", &START_WITHIN.as_secs().to_string(), "start"]))?;
        // Stopped when this process ends, however it ends: a watcher polls
        // for it once a second (through /proc: as another user it may not
        // signal this process).
        let stop = format!(
            "while [ -d /proc/{} ]; do sleep 1; done; {} -D {} -m immediate stop >/dev/null 2>&1; rm -rf {}",
            std::process::id(),
            bin.join("pg_ctl").display(),
            dir.display(),
            root.display()
        );
        let mut watcher = if as_root {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--", "sh", "-c", &stop]);
            c
        } else {
            let mut c = Command::new("sh");
            c.args(["-c", &stop]);
            c
        };
        watcher
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .map_err(|e| format!("starting the server's watcher: {e}"))?;
        Ok(TestServer { port })
    }

    /// The server's origin, `postgres://127.0.0.1:PORT` (an
    /// `allowed_outbound_hosts` entry).
    pub fn origin(&self) -> String {
        format!("postgres://127.0.0.1:{}", self.port)
    }

    /// The URL of database `db` on this server.
    pub fn url(&self, db: &str) -> String {
        format!("postgres://{USER}@127.0.0.1:{}/{db}", self.port)
    }

    /// A new, empty database with a unique name; returns its URL.
    pub fn fresh_database(&self) -> String {
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let name = format!("krug_{}_{n}", std::process::id());
        let mut admin = Client::connect(&self.url("postgres"), NoTls)
            .unwrap_or_else(|e| panic!("connecting to the test server: {e}"));
        admin
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .unwrap_or_else(|e| panic!("creating {name}: {e}"));
        self.url(&name)
    }
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

// The newest installed server's programs (Debian keeps them per version).
fn binaries() -> Result<PathBuf, String> {
    let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .map_err(|_| "PostgreSQL is not installed (no server programs found)".to_string())?
        .filter_map(Result::ok)
        .filter_map(|e| {
            let version = e.file_name().to_str()?.parse().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").exists().then_some((version, bin))
        })
        .collect();
    found.sort();
    found
        .pop()
        .map(|(_, bin)| bin)
        .ok_or_else(|| "PostgreSQL is not installed (no initdb found)".to_string())
}

fn run(cmd: &mut Command) -> Result<(), String> {
    let out = cmd.output().map_err(|e| format!("{cmd:?}: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{cmd:?} failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

fn free_port() -> Result<u16, String> {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| format!("no free port: {e}"))
}
