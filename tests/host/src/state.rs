//! Per-request store data and the host side of Spin's interfaces.

use std::{
    collections::HashMap,
    future::Future,
    sync::{
        atomic::{AtomicI64, Ordering},
        Arc,
    },
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use rusqlite::Connection;
use wasmtime::component::{Resource, ResourceTable};
use wasmtime_wasi::{HostWallClock, WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpHooks, WasiHttpView};

use crate::{
    bindings::{
        fermyon::spin::key_value, fermyon::spin::variables, spin::postgres::postgres,
        spin::sqlite::sqlite,
    },
    outbound::AllowList,
    pg::{self, PgHandle},
    stores::{self, KvHandle, SqlHandle, SqlStats, Stores},
};

/// What one component may use, resolved at start-up.
pub struct ComponentEnv {
    /// Component id.
    pub id: String,
    /// Key-value labels it may open.
    pub kv_labels: Vec<String>,
    /// SQLite labels it may open.
    pub sqlite_labels: Vec<String>,
    /// Its variables, resolved.
    pub variables: HashMap<String, String>,
    /// Where it may send requests.
    pub allow: AllowList,
}

/// A wall clock shifted by a shared offset (tests move time forward).
#[derive(Clone)]
pub struct ShiftedClock(pub Arc<AtomicI64>);

impl HostWallClock for ShiftedClock {
    fn resolution(&self) -> Duration {
        Duration::from_nanos(1)
    }

    fn now(&self) -> Duration {
        let real = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        let offset = self.0.load(Ordering::Relaxed);
        if offset >= 0 {
            real + Duration::from_secs(offset as u64)
        } else {
            real.saturating_sub(Duration::from_secs(offset.unsigned_abs()))
        }
    }
}

/// Outbound HTTP policy: the component's allow-list, enforced before any
/// connection is made.
pub struct Hooks {
    env: Arc<ComponentEnv>,
}

impl WasiHttpHooks for Hooks {
    fn send_request(
        &mut self,
        request: http::Request<wasmtime_wasi_http::WasiBody>,
        options: Option<wasmtime_wasi_http::RequestOptions>,
        fut: Box<dyn Future<Output = Result<(), wasmtime_wasi_http::Error>> + Send>,
    ) -> Box<
        dyn Future<
                Output = Result<
                    (
                        http::Response<wasmtime_wasi_http::WasiBody>,
                        Box<dyn Future<Output = Result<(), wasmtime_wasi_http::Error>> + Send>,
                    ),
                    wasmtime_wasi_http::Error,
                >,
            > + Send,
    > {
        if !self.env.allow.allows_uri(request.uri()) {
            eprintln!(
                "{}",
                serde_json::json!({
                    "level": "warn",
                    "host": "outbound",
                    "component": self.env.id,
                    "denied": request.uri().to_string(),
                    "reason": "not in allowed_outbound_hosts",
                })
            );
            return Box::new(async { Err(wasmtime_wasi_http::Error::HttpRequestDenied) });
        }
        let default = wasmtime_wasi_http::default_hooks();
        default.send_request(request, options, fut)
    }
}

/// The data of one store (one request or one cron run).
pub struct State {
    wasi: WasiCtx,
    http: WasiHttpCtx,
    hooks: Hooks,
    table: ResourceTable,
    env: Arc<ComponentEnv>,
    stores: Arc<Stores>,
    sql_stats: Arc<SqlStats>,
    // PostgreSQL handles this instance holds open (Spin caps them).
    pg_open: usize,
}

impl State {
    /// Fresh state for one instance of `env`'s component.
    pub fn new(env: Arc<ComponentEnv>, stores: Arc<Stores>, clock: ShiftedClock) -> Self {
        let wasi = WasiCtx::builder()
            .inherit_stdout()
            .inherit_stderr()
            .wall_clock(clock)
            .build();
        Self {
            wasi,
            http: WasiHttpCtx::new(),
            hooks: Hooks { env: env.clone() },
            table: ResourceTable::new(),
            env,
            stores,
            sql_stats: Arc::default(),
            pg_open: 0,
        }
    }

    /// This instance's SQLite counters (shared, so they can be read after
    /// the instance is gone).
    pub fn sql_stats(&self) -> Arc<SqlStats> {
        self.sql_stats.clone()
    }
}

impl WasiView for State {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl WasiHttpView for State {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView {
            ctx: &mut self.http,
            table: &mut self.table,
            hooks: &mut self.hooks,
        }
    }
}

// ---------------------------------------------------------------- key-value

impl key_value::Host for State {}

impl key_value::HostStore for State {
    fn open(
        &mut self,
        label: String,
    ) -> wasmtime::Result<Result<Resource<KvHandle>, key_value::Error>> {
        if !self.env.kv_labels.contains(&label) {
            return Ok(Err(key_value::Error::AccessDenied));
        }
        if label != "default" {
            return Ok(Err(key_value::Error::NoSuchStore));
        }
        Ok(Ok(self.table.push(KvHandle { label })?))
    }

    fn get(
        &mut self,
        store: Resource<KvHandle>,
        key: String,
    ) -> wasmtime::Result<Result<Option<Vec<u8>>, key_value::Error>> {
        let label = &self.table.get(&store)?.label;
        Ok(self
            .stores
            .kv_get(label, &key)
            .map_err(key_value::Error::Other))
    }

    fn set(
        &mut self,
        store: Resource<KvHandle>,
        key: String,
        value: Vec<u8>,
    ) -> wasmtime::Result<Result<(), key_value::Error>> {
        let label = &self.table.get(&store)?.label;
        Ok(self
            .stores
            .kv_set(label, &key, &value)
            .map_err(key_value::Error::Other))
    }

    fn delete(
        &mut self,
        store: Resource<KvHandle>,
        key: String,
    ) -> wasmtime::Result<Result<(), key_value::Error>> {
        let label = &self.table.get(&store)?.label;
        Ok(self
            .stores
            .kv_delete(label, &key)
            .map_err(key_value::Error::Other))
    }

    fn exists(
        &mut self,
        store: Resource<KvHandle>,
        key: String,
    ) -> wasmtime::Result<Result<bool, key_value::Error>> {
        let label = &self.table.get(&store)?.label;
        Ok(self
            .stores
            .kv_exists(label, &key)
            .map_err(key_value::Error::Other))
    }

    fn get_keys(
        &mut self,
        store: Resource<KvHandle>,
    ) -> wasmtime::Result<Result<Vec<String>, key_value::Error>> {
        let label = &self.table.get(&store)?.label;
        Ok(self.stores.kv_keys(label).map_err(key_value::Error::Other))
    }

    fn drop(&mut self, store: Resource<KvHandle>) -> wasmtime::Result<()> {
        self.table.delete(store)?;
        Ok(())
    }
}

// ---------------------------------------------------------------- variables

impl variables::Host for State {
    fn get(&mut self, name: String) -> wasmtime::Result<Result<String, variables::Error>> {
        if crate::variables::check_name(&name).is_err() {
            return Ok(Err(variables::Error::InvalidName(format!(
                "invalid variable name {name:?}"
            ))));
        }
        Ok(self
            .env
            .variables
            .get(&name)
            .cloned()
            .ok_or_else(|| variables::Error::Undefined(format!("no variable for {name:?}"))))
    }
}

// ---------------------------------------------------------------- sqlite

impl sqlite::Host for State {}

fn to_host(v: sqlite::Value) -> stores::Value {
    match v {
        sqlite::Value::Null => stores::Value::Null,
        sqlite::Value::Integer(i) => stores::Value::Integer(i),
        sqlite::Value::Real(f) => stores::Value::Real(f),
        sqlite::Value::Text(s) => stores::Value::Text(s),
        sqlite::Value::Blob(b) => stores::Value::Blob(b),
    }
}

fn to_guest(v: stores::Value) -> sqlite::Value {
    match v {
        stores::Value::Null => sqlite::Value::Null,
        stores::Value::Integer(i) => sqlite::Value::Integer(i),
        stores::Value::Real(f) => sqlite::Value::Real(f),
        stores::Value::Text(s) => sqlite::Value::Text(s),
        stores::Value::Blob(b) => sqlite::Value::Blob(b),
    }
}

impl sqlite::HostConnection for State {
    fn open(
        &mut self,
        database: String,
    ) -> wasmtime::Result<Result<Resource<SqlHandle>, sqlite::Error>> {
        if !self.env.sqlite_labels.contains(&database) {
            return Ok(Err(sqlite::Error::AccessDenied));
        }
        if database != "default" {
            return Ok(Err(sqlite::Error::NoSuchDatabase));
        }
        // Spin 4 opens the file on the first statement, not here.
        let handle = SqlHandle {
            conn: Arc::default(),
        };
        Ok(Ok(self.table.push(handle)?))
    }

    async fn execute(
        &mut self,
        conn: Resource<SqlHandle>,
        statement: String,
        parameters: Vec<sqlite::Value>,
    ) -> wasmtime::Result<Result<sqlite::QueryResult, sqlite::Error>> {
        let slot = self.table.get(&conn)?.conn.clone();
        let params = parameters.into_iter().map(to_host).collect();
        let result = self
            .stores
            .execute_blocking(slot, &self.sql_stats, statement, params)
            .await;
        Ok(match result {
            Ok((columns, rows)) => Ok(sqlite::QueryResult {
                columns,
                rows: rows
                    .into_iter()
                    .map(|values| sqlite::RowResult {
                        values: values.into_iter().map(to_guest).collect(),
                    })
                    .collect(),
            }),
            Err(e) => Err(sqlite::Error::Io(e)),
        })
    }

    fn last_insert_rowid(&mut self, conn: Resource<SqlHandle>) -> wasmtime::Result<i64> {
        let handle = self.table.get(&conn)?.conn.clone();
        let guard = handle
            .lock()
            .map_err(|_| wasmtime::Error::msg("connection poisoned"))?;
        Ok(guard.as_ref().map_or(0, Connection::last_insert_rowid))
    }

    fn changes(&mut self, conn: Resource<SqlHandle>) -> wasmtime::Result<u64> {
        let handle = self.table.get(&conn)?.conn.clone();
        let guard = handle
            .lock()
            .map_err(|_| wasmtime::Error::msg("connection poisoned"))?;
        Ok(guard.as_ref().map_or(0, Connection::changes))
    }

    fn drop(&mut self, conn: Resource<SqlHandle>) -> wasmtime::Result<()> {
        self.table.delete(conn)?;
        Ok(())
    }
}

// ---------------------------------------------------------------- postgres

impl postgres::Host for State {}

impl State {
    fn record_pg(&self, started: Instant) {
        let took = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
        self.sql_stats.record(took, false, false);
    }
}

impl postgres::HostConnection for State {
    async fn open(
        &mut self,
        address: String,
    ) -> wasmtime::Result<Result<Resource<PgHandle>, postgres::Error>> {
        if let Err(e) = pg::check_address(&self.env.allow, &address) {
            eprintln!(
                "{}",
                serde_json::json!({
                    "level": "warn",
                    "host": "postgres",
                    "component": self.env.id,
                    "denied": format!("{e:?}"),
                    "reason": "not in allowed_outbound_hosts",
                })
            );
            return Ok(Err(e));
        }
        let handle = match self.stores.pg.connect(&self.env.id, &address).await {
            Ok(h) => h,
            Err(e) => return Ok(Err(e)),
        };
        // Like Spin, the connection is taken first and given back when the
        // instance already holds as many handles as it may.
        if self.pg_open >= pg::HANDLES_PER_INSTANCE {
            return Ok(Err(postgres::Error::ConnectionFailed(
                "too many connections".into(),
            )));
        }
        self.pg_open += 1;
        Ok(Ok(self.table.push(handle)?))
    }

    async fn query(
        &mut self,
        conn: Resource<PgHandle>,
        statement: String,
        params: Vec<postgres::ParameterValue>,
    ) -> wasmtime::Result<Result<postgres::RowSet, postgres::Error>> {
        let client = self.table.get(&conn)?.client();
        let started = Instant::now();
        let result = pg::query(&client, &statement, &params).await;
        self.record_pg(started);
        Ok(result)
    }

    async fn execute(
        &mut self,
        conn: Resource<PgHandle>,
        statement: String,
        params: Vec<postgres::ParameterValue>,
    ) -> wasmtime::Result<Result<u64, postgres::Error>> {
        let client = self.table.get(&conn)?.client();
        let started = Instant::now();
        let result = pg::execute(&client, &statement, &params).await;
        self.record_pg(started);
        Ok(result)
    }

    fn drop(&mut self, conn: Resource<PgHandle>) -> wasmtime::Result<()> {
        self.table.delete(conn)?;
        self.pg_open = self.pg_open.saturating_sub(1);
        Ok(())
    }
}
