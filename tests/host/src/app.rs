//! Loading an app: manifest → variables → compiled, pre-instantiated
//! components with their permissions.

use std::{
    collections::HashMap,
    path::{Path, PathBuf},
    sync::{atomic::AtomicI64, Arc},
};

use anyhow::{anyhow, bail, Context, Result};
use sha2::{Digest, Sha256};
use wasmtime::{
    component::{Component, HasSelf, InstancePre, Linker},
    Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig,
};
use wasmtime_wasi_http::p2::bindings::ProxyPre;

use crate::{
    bindings::SpinImports,
    cron::Schedule,
    cron_bindings::SpinCronPre,
    manifest::{Manifest, RouteDecl},
    outbound::AllowList,
    routes::{Route, Router},
    state::{ComponentEnv, ShiftedClock, State},
    stores::Stores,
    variables,
};

/// A component ready to serve HTTP.
pub struct HttpComponent {
    /// Its permissions and settings.
    pub env: Arc<ComponentEnv>,
    /// Pre-instantiated proxy world.
    pub pre: ProxyPre<State>,
}

/// A component ready for cron events.
pub struct CronComponent {
    /// Its permissions and settings.
    pub env: Arc<ComponentEnv>,
    /// Pre-instantiated cron world.
    pub pre: SpinCronPre<State>,
    /// When it fires.
    pub schedule: Schedule,
}

/// A loaded application.
pub struct App {
    /// The engine (pooling allocator, async).
    pub engine: Engine,
    /// Route table.
    pub router: Router,
    /// HTTP components by id.
    pub http: HashMap<String, HttpComponent>,
    /// Cron components by id.
    pub cron: HashMap<String, CronComponent>,
    /// Key-value and SQLite.
    pub stores: Arc<Stores>,
    /// Seconds added to the guests' wall clock.
    pub clock_offset: Arc<AtomicI64>,
    /// Where per-request SQLite figures go, when asked for.
    pub stats: Option<std::sync::Mutex<std::fs::File>>,
}

impl App {
    /// Where the host's memory is, as JSON: the instance pool's live and
    /// idle warm slots with the bytes the idle ones keep resident, and the
    /// C heap's bytes in use and free (glibc only), which tell a leak from
    /// fragmentation when RSS grows.
    pub fn memory_figures(&self) -> serde_json::Value {
        let pool = self.engine.pooling_allocator_metrics().map(|m| {
            serde_json::json!({
                "component_instances": m.component_instances(),
                "memories": m.memories(),
                "unused_warm_memories": m.unused_warm_memories(),
                "unused_memory_bytes_resident": m.unused_memory_bytes_resident(),
                "tables": m.tables(),
                "unused_warm_tables": m.unused_warm_tables(),
                "unused_table_bytes_resident": m.unused_table_bytes_resident(),
                "stacks": m.stacks(),
                "unused_warm_stacks": m.unused_warm_stacks(),
                "unused_stack_bytes_resident": m.unused_stack_bytes_resident(),
            })
        });
        serde_json::json!({ "pool": pool, "heap": heap_figures() })
    }

    /// Fresh store data for component `env`.
    pub fn state(&self, env: &Arc<ComponentEnv>) -> State {
        State::new(
            env.clone(),
            self.stores.clone(),
            ShiftedClock(self.clock_offset.clone()),
        )
    }
}

/// The C heap as glibc's allocator reports it: bytes taken from the system
/// (`arena` + `mmapped`), in use and free inside the arenas.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn heap_figures() -> Option<serde_json::Value> {
    // SAFETY: mallinfo2 takes no arguments and only reads the allocator's
    // own bookkeeping under its locks.
    let m = unsafe { libc::mallinfo2() };
    Some(serde_json::json!({
        "arena": m.arena,
        "mmapped": m.hblkhd,
        "in_use": m.uordblks,
        "free": m.fordblks,
        "top_releasable": m.keepcost,
    }))
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn heap_figures() -> Option<serde_json::Value> {
    None
}

/// Idle instance slots the pool keeps warm (see `engine`).
const WARM_SLOTS: u32 = 16;

fn engine() -> Result<Engine> {
    let mut config = Config::new();
    config.wasm_component_model(true);
    // Instances are recycled from a pool: per-request instantiation costs
    // microseconds instead of mmap/munmap per request.
    let mut pool = PoolingAllocationConfig::default();
    pool.total_component_instances(512);
    pool.total_core_instances(2048);
    pool.total_memories(512);
    pool.total_tables(2048);
    pool.max_memory_size(256 << 20);
    pool.max_component_instance_size(1 << 20);
    pool.max_core_instance_size(1 << 20);
    pool.max_tables_per_component(64);
    pool.max_memories_per_component(4);
    pool.max_core_instances_per_component(64);
    // Resetting a recycled slot with memset instead of madvise keeps its
    // pages resident, so the next request does not fault them back in.
    pool.linear_memory_keep_resident(2 << 20);
    pool.table_keep_resident(64 << 10);
    // Each idle slot keeps those pages (about 1.2 MiB at the app's sizes),
    // and the pool prefers a never-used slot over another component's idle
    // one until this many sit idle (wasmtime's default: 100). With 16, the
    // slots ever used stay within 16 plus the highest concurrency seen; a
    // component without an idle slot of its own then takes another's (one
    // image remap) instead of a fresh one.
    pool.max_unused_warm_slots(WARM_SLOTS);
    config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    config.memory_reservation(256 << 20);
    config.memory_guard_size(64 << 10);
    Ok(Engine::new(&config)?)
}

/// Compiles `wasm`, or loads the compilation cached for these exact bytes and
/// this engine under `cache_dir`.
fn load_component(engine: &Engine, wasm: &Path, cache_dir: &Path) -> Result<Component> {
    let bytes = std::fs::read(wasm).with_context(|| format!("reading {}", wasm.display()))?;
    let mut hasher = Sha256::new();
    hasher.update(&bytes);
    let mut engine_hash = std::collections::hash_map::DefaultHasher::new();
    std::hash::Hash::hash(&engine.precompile_compatibility_hash(), &mut engine_hash);
    hasher.update(std::hash::Hasher::finish(&engine_hash).to_le_bytes());
    let key: String = hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let cached = cache_dir.join(format!("{key}.cwasm"));
    if cached.exists() {
        // SAFETY: the file was written by `precompile_component` of an engine
        // with the same compatibility hash (it is in the file name), in a
        // directory only this host writes.
        if let Ok(c) = unsafe { Component::deserialize_file(engine, &cached) } {
            return Ok(c);
        }
    }
    let compiled = engine
        .precompile_component(&bytes)
        .map_err(anyhow::Error::from)
        .with_context(|| format!("compiling {}", wasm.display()))?;
    std::fs::create_dir_all(cache_dir)?;
    let tmp = cache_dir.join(format!("{key}.{}.tmp", std::process::id()));
    std::fs::write(&tmp, &compiled)?;
    std::fs::rename(&tmp, &cached)?;
    // SAFETY: produced just above by this engine.
    Ok(unsafe { Component::deserialize(engine, &compiled) }?)
}

fn readable_link_error(id: &str, e: impl Into<anyhow::Error>) -> anyhow::Error {
    let e: anyhow::Error = e.into();
    anyhow!(
        "component {id:?} cannot run on this host: {e:#}. The host provides WASI 0.2, wasi:http, \
         fermyon:spin/key-value@2.0.0, fermyon:spin/variables@2.0.0, spin:sqlite/sqlite@3.0.0 and \
         spin:postgres/postgres@4.0.0"
    )
}

/// Loads the app at `manifest_path`.
pub fn load(
    manifest_path: &Path,
    state_dir: &Path,
    explicit_vars: &HashMap<String, String>,
) -> Result<App> {
    let manifest = Manifest::load(manifest_path)?;
    let base = manifest_path
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."));
    let env: HashMap<String, String> = std::env::vars().collect();
    let app_vars = variables::resolve(&manifest.variables, explicit_vars, &env)?;

    let engine = engine()?;
    let mut linker: Linker<State> = Linker::new(&engine);
    wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
    wasmtime_wasi_http::p2::add_only_http_to_linker_async(&mut linker)?;
    SpinImports::add_to_linker::<State, HasSelf<State>>(&mut linker, |s| s)?;

    let stores = Arc::new(Stores::open(state_dir)?);
    let cache_dir = state_dir.join("compiled");

    let mut envs: HashMap<String, Arc<ComponentEnv>> = HashMap::new();
    let mut components: HashMap<String, Component> = HashMap::new();
    let mut prepare = |id: &str| -> Result<(Arc<ComponentEnv>, InstancePre<State>)> {
        let decl = manifest
            .component
            .get(id)
            .ok_or_else(|| anyhow!("unknown component {id:?}"))?;
        if !envs.contains_key(id) {
            let mut vars = HashMap::new();
            for (name, template) in &decl.variables {
                variables::check_name(name)?;
                let value = variables::expand(template, &app_vars)
                    .with_context(|| format!("component {id:?} variable {name:?}"))?;
                vars.insert(name.clone(), value);
            }
            let hosts = decl
                .allowed_outbound_hosts
                .iter()
                .map(|h| variables::expand(h, &app_vars))
                .collect::<Result<Vec<_>>>()
                .with_context(|| format!("component {id:?} allowed_outbound_hosts"))?;
            let allow = AllowList::parse(&hosts).with_context(|| format!("component {id:?}"))?;
            envs.insert(
                id.to_string(),
                Arc::new(ComponentEnv {
                    id: id.to_string(),
                    kv_labels: decl.key_value_stores.clone(),
                    sqlite_labels: decl.sqlite_databases.clone(),
                    variables: vars,
                    allow,
                }),
            );
            let component = load_component(&engine, &base.join(&decl.source), &cache_dir)
                .with_context(|| format!("component {id:?}"))?;
            components.insert(id.to_string(), component);
        }
        let pre = linker
            .instantiate_pre(&components[id])
            .map_err(|e| readable_link_error(id, e))?;
        Ok((envs[id].clone(), pre))
    };

    let mut routes = Vec::new();
    let mut http = HashMap::new();
    for t in &manifest.trigger.http {
        let pattern = match &t.route {
            RouteDecl::Path(p) => p.clone(),
            RouteDecl::Private { .. } => bail!("private routes are not supported by this host"),
        };
        routes.push(Route::parse(&pattern, &t.component)?);
        if !http.contains_key(&t.component) {
            let (env, pre) = prepare(&t.component)?;
            let pre = ProxyPre::new(pre).map_err(|e| readable_link_error(&t.component, e))?;
            http.insert(t.component.clone(), HttpComponent { env, pre });
        }
    }
    let mut cron = HashMap::new();
    for t in &manifest.trigger.cron {
        let schedule = Schedule::parse(&t.cron_expression)
            .with_context(|| format!("cron trigger for {:?}", t.component))?;
        let (env, pre) = prepare(&t.component)?;
        let pre = SpinCronPre::new(pre).map_err(|e| readable_link_error(&t.component, e))?;
        cron.insert(t.component.clone(), CronComponent { env, pre, schedule });
    }

    Ok(App {
        engine,
        router: Router::new(routes)?,
        http,
        cron,
        stores,
        clock_offset: Arc::new(AtomicI64::new(0)),
        stats: None,
    })
}
