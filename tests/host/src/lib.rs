//! A Spin-compatible local host on wasmtime, for running Krug locally and in
//! tests where the Spin CLI cannot be installed.
//!
//! It reproduces what the app relies on from Spin 3.x:
//! - the manifest (v2): variables with defaults/required/secret, HTTP and cron
//!   triggers, per-component `source`, `allowed_outbound_hosts` (templated),
//!   `key_value_stores`, `sqlite_databases` and component variables;
//! - HTTP routing (exact, `:name`, trailing `/...`; most specific wins) and
//!   the `spin-*` request headers;
//! - `fermyon:spin/key-value@2.0.0` (state dir `sqlite_key_value.db`, one
//!   shared connection), `spin:sqlite/sqlite@3.0.0` (`sqlite_db.db`, a new
//!   connection per guest `open`, no busy timeout), `fermyon:spin/variables@2.0.0`,
//!   WASI 0.2 and `wasi:http` (outbound requests checked against the
//!   allow-list before any connection is made);
//! - `spin:postgres/postgres@4.0.0` on tokio-postgres, with Spin 4's
//!   allow-list check, per-address pools, strict binding, type mapping and
//!   error variants (see `pg.rs` for the details and the one difference);
//! - the `fermyon:spin-cron@2.0.0` cron trigger, plus [`Host::fire_cron`].
//!
//! It does not implement Spin's other interfaces (Redis, MQTT, older
//! PostgreSQL versions, MySQL, LLM, `wasi:keyvalue`, `wasi:config`), private routes, service
//! chaining or runtime config files; a component importing an interface the
//! host lacks is refused at start with a message naming it. Tests may shift
//! the guests' wall clock with [`Host::advance_clock`]. Production runs on
//! Spin; where the two differ, Spin is right.

mod app;
mod cron;
mod manifest;
mod outbound;
mod pg;
mod routes;
mod server;
mod state;
mod stores;
mod variables;

#[allow(missing_docs, clippy::all)]
mod bindings {
    include!(concat!(env!("OUT_DIR"), "/spin_bindings.rs"));
}

#[allow(missing_docs, clippy::all)]
mod cron_bindings {
    include!(concat!(env!("OUT_DIR"), "/cron_bindings.rs"));
}

use std::{
    collections::HashMap,
    net::SocketAddr,
    path::{Path, PathBuf},
    sync::{atomic::Ordering, Arc},
    time::Duration,
};

use anyhow::{Context, Result};

/// How to run an app.
#[derive(Debug, Clone)]
pub struct HostConfig {
    /// Path of `spin.toml`.
    pub manifest: PathBuf,
    /// Where to listen; port 0 picks a free one.
    pub listen: SocketAddr,
    /// Where SQLite, key-value and compiled components live.
    pub state_dir: PathBuf,
    /// Application variable values (lower-case names); these win over
    /// `SPIN_VARIABLE_*` and manifest defaults.
    pub variables: HashMap<String, String>,
    /// Whether to run cron triggers on their schedules.
    pub cron: bool,
    /// A file that gets one JSON line per finished request: component,
    /// route, total time, SQL statements, busy answers, time in SQLite and
    /// the fresh connection's first statement (for the bench).
    pub stats_file: Option<PathBuf>,
    /// A file rewritten every second with the host's memory figures
    /// ([`app::App::memory_figures`]), for the soak's memory report.
    pub memory_file: Option<PathBuf>,
}

impl HostConfig {
    /// Defaults: `127.0.0.1:0`, state in `<manifest dir>/.spin`, no cron.
    pub fn new(manifest: impl Into<PathBuf>) -> Self {
        let manifest = manifest.into();
        let state_dir = manifest
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from("."))
            .join(".spin");
        Self {
            manifest,
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            state_dir,
            variables: HashMap::new(),
            cron: false,
            stats_file: None,
            memory_file: None,
        }
    }
}

async fn bind(cfg: &HostConfig) -> Result<(Arc<app::App>, tokio::net::TcpListener)> {
    let mut app = {
        let cfg = cfg.clone();
        tokio::task::spawn_blocking(move || {
            app::load(&cfg.manifest, &cfg.state_dir, &cfg.variables)
        })
        .await??
    };
    if let Some(path) = &cfg.stats_file {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .with_context(|| format!("opening {}", path.display()))?;
        app.stats = Some(std::sync::Mutex::new(file));
    }
    let listener = tokio::net::TcpListener::bind(cfg.listen)
        .await
        .with_context(|| format!("listening on {}", cfg.listen))?;
    let app = Arc::new(app);
    // On the runtime that serves, for the binary and for `Host` alike.
    if let Some(path) = cfg.memory_file.clone() {
        tokio::spawn(write_memory_figures(app.clone(), path));
    }
    Ok((app, listener))
}

/// Caps glibc's malloc arenas at one per core, for a long-running host.
///
/// By default glibc gives up to eight arenas per core to the threads that
/// allocate, and SQLite statements run on whichever blocking-pool thread is
/// free, so each connection's schema parse and page buffers land in a
/// different arena each time. A 10-minute soak at 140 req/s grew RSS by
/// 14 MiB that way (freed chunks scattered over 16 arenas, never returned);
/// with one arena per core it stays flat. Call it before the first thread
/// starts; elsewhere than glibc it does nothing.
pub fn limit_malloc_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        let cores = libc::c_int::try_from(cores).unwrap_or(libc::c_int::MAX);
        // SAFETY: mallopt only changes the allocator's tuning; a refused
        // value (return 0) leaves glibc's default in place.
        unsafe {
            libc::mallopt(libc::M_ARENA_MAX, cores);
        }
    }
}

/// Loads the app and serves until the process ends (used by the binary).
pub async fn serve(cfg: HostConfig) -> Result<()> {
    let (app, listener) = bind(&cfg).await?;
    println!("Serving http://{}", listener.local_addr()?);
    if cfg.cron {
        server::run_cron(app.clone()).await;
    }
    server::serve(app, listener).await
}

/// Rewrites `path` with the memory figures every second (through a temporary
/// file and a rename, so a reader never sees half a file).
async fn write_memory_figures(app: Arc<app::App>, path: PathBuf) {
    let tmp = path.with_extension("tmp");
    let mut every = tokio::time::interval(Duration::from_secs(1));
    loop {
        every.tick().await;
        let text = app.memory_figures().to_string();
        if std::fs::write(&tmp, text)
            .and_then(|()| std::fs::rename(&tmp, &path))
            .is_err()
        {
            eprintln!("krug-host: cannot write {}", path.display());
            return;
        }
    }
}

/// Runs one cron component's handler now (used by the binary).
pub async fn fire_cron_once(cfg: HostConfig, component: &str) -> Result<()> {
    let app = tokio::task::spawn_blocking(move || {
        app::load(&cfg.manifest, &cfg.state_dir, &cfg.variables)
    })
    .await??;
    server::fire_cron(&app, component).await
}

/// A running host with its own runtime on background threads, so tests can
/// be plain synchronous `#[test]`s. Dropping it stops the server.
pub struct Host {
    addr: SocketAddr,
    app: Arc<app::App>,
    runtime: Option<tokio::runtime::Runtime>,
}

impl Host {
    /// Loads the app and returns once it is listening.
    pub fn start(cfg: HostConfig) -> Result<Host> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()?;
        let (app, listener) = runtime.block_on(bind(&cfg))?;
        let addr = listener.local_addr()?;
        if cfg.cron {
            runtime.block_on(server::run_cron(app.clone()));
        }
        runtime.spawn(server::serve(app.clone(), listener));
        Ok(Host {
            addr,
            app,
            runtime: Some(runtime),
        })
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Runs `component`'s cron handler now and waits for it.
    pub fn fire_cron(&self, component: &str) -> Result<()> {
        let runtime = self.runtime.as_ref().expect("running");
        runtime.block_on(server::fire_cron(&self.app, component))
    }

    /// Moves the guests' wall clock forward by `by` (cumulative).
    pub fn advance_clock(&self, by: Duration) {
        let secs = i64::try_from(by.as_secs()).unwrap_or(i64::MAX);
        self.app.clock_offset.fetch_add(secs, Ordering::Relaxed);
    }

    /// Sets the guests' wall-clock offset from real time, in seconds.
    pub fn set_clock_offset(&self, secs: i64) {
        self.app.clock_offset.store(secs, Ordering::Relaxed);
    }
}

impl Drop for Host {
    fn drop(&mut self) {
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_timeout(Duration::from_secs(2));
        }
    }
}
