//! The host in a child OS process, so a test can `kill -9` it and start it
//! again on the same state directory and port.
//!
//! The child is the test binary itself, re-executed to run one ignored test
//! whose body is [`serve_if_child`]: with the `KRUG_CHILD_HOST_*` variables
//! set it starts [`krug_host::Host`] and blocks until it is killed (or its
//! parent is gone, or its lifetime runs out); without them it returns at
//! once, so running every ignored test never hangs on it. [`HostProcess`]
//! is the parent's side: start, wait for health, SIGKILL, restart, and a
//! `Drop` that kills the child whatever happened in the test.

use std::{
    collections::{HashMap, HashSet},
    ffi::OsString,
    fs::File,
    net::{SocketAddr, TcpListener},
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use crate::{repo_root, Client};

const ENV_STATE: &str = "KRUG_CHILD_HOST_STATE";
const ENV_LISTEN: &str = "KRUG_CHILD_HOST_LISTEN";
const ENV_VARIABLES: &str = "KRUG_CHILD_HOST_VARIABLES";
const ENV_PARENT: &str = "KRUG_CHILD_HOST_PARENT";
const ENV_LIFETIME: &str = "KRUG_CHILD_HOST_LIFETIME_SECS";

/// What a child host runs with.
#[derive(Debug, Clone)]
pub struct HostSpec {
    /// Full name of the ignored test that calls [`serve_if_child`]
    /// (`module::name`).
    pub test_name: String,
    /// The state directory (SQLite, key-value, compiled components); kept
    /// across restarts.
    pub state_dir: PathBuf,
    /// Where the child listens; the same on every restart.
    pub addr: SocketAddr,
    /// Application variables.
    pub variables: HashMap<String, String>,
    /// The child's stdout and stderr are appended here.
    pub log: PathBuf,
    /// The child exits on its own after this long (a backstop should the
    /// parent die without killing it).
    pub lifetime: Duration,
    /// A directory that keeps the host's compiled components between runs:
    /// copied into the state before the first start and refreshed from it
    /// after, so only changed components are compiled again (compiling all
    /// of them takes most of a start on a busy machine).
    pub compiled_cache: Option<PathBuf>,
}

/// A host running in a child process. Dropping it kills the child.
pub struct HostProcess {
    spec: HostSpec,
    child: Option<Child>,
    starts: u32,
}

impl HostProcess {
    /// Starts the child and waits up to `ready_within` for
    /// `GET /api/v1/health` to answer 200.
    pub fn start(spec: HostSpec, ready_within: Duration) -> anyhow::Result<Self> {
        let compiled = spec.state_dir.join("compiled");
        if let Some(cache) = &spec.compiled_cache {
            copy_compiled(cache, &compiled, false);
        }
        let mut host = Self {
            spec,
            child: None,
            starts: 0,
        };
        host.restart(ready_within)?;
        if let Some(cache) = &host.spec.compiled_cache {
            copy_compiled(&compiled, cache, true);
        }
        Ok(host)
    }

    /// The address the child serves on.
    pub fn addr(&self) -> SocketAddr {
        self.spec.addr
    }

    /// How many times a child was started.
    pub fn starts(&self) -> u32 {
        self.starts
    }

    /// The running child's process id.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// SIGKILLs the child (no shutdown of any kind) and reaps it.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            // std's `kill` is SIGKILL on Unix.
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Kills any running child, then starts a new one on the same state
    /// and port and waits for it to be healthy. A child that dies while
    /// starting (the port still held, say) is started again until the
    /// deadline.
    pub fn restart(&mut self, ready_within: Duration) -> anyhow::Result<()> {
        self.kill();
        let deadline = Instant::now() + ready_within;
        loop {
            let mut child = self.spawn()?;
            self.starts += 1;
            match wait_healthy(self.spec.addr, &mut child, deadline) {
                Ok(()) => {
                    self.child = Some(child);
                    return Ok(());
                }
                Err(e) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    if Instant::now() >= deadline {
                        anyhow::bail!("{e}; child log:\n{}", self.log_tail(4000));
                    }
                    std::thread::sleep(Duration::from_millis(200));
                }
            }
        }
    }

    /// The last `max` bytes of the child's log.
    pub fn log_tail(&self, max: usize) -> String {
        let text = std::fs::read(&self.spec.log).unwrap_or_default();
        let start = text.len().saturating_sub(max);
        String::from_utf8_lossy(&text[start..]).into_owned()
    }

    fn spawn(&self) -> anyhow::Result<Child> {
        let log = File::options()
            .create(true)
            .append(true)
            .open(&self.spec.log)?;
        let exe = std::env::current_exe()?;
        let child = Command::new(exe)
            .args([
                self.spec.test_name.as_str(),
                "--exact",
                "--ignored",
                "--nocapture",
                "--test-threads",
                "1",
            ])
            .env(ENV_STATE, &self.spec.state_dir)
            .env(ENV_LISTEN, self.spec.addr.to_string())
            .env(
                ENV_VARIABLES,
                serde_json::to_string(&self.spec.variables).expect("variables serialise"),
            )
            .env(ENV_PARENT, std::process::id().to_string())
            .env(ENV_LIFETIME, self.spec.lifetime.as_secs().to_string())
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()?;
        Ok(child)
    }
}

impl Drop for HostProcess {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Polls the health route until it answers 200, the child exits, or the
/// deadline passes.
fn wait_healthy(addr: SocketAddr, child: &mut Child, deadline: Instant) -> anyhow::Result<()> {
    let client = Client::new(addr);
    loop {
        if let Some(status) = child.try_wait()? {
            anyhow::bail!("child host exited while starting: {status}");
        }
        if let Ok(resp) = client.get("/api/v1/health").try_send() {
            if resp.status == 200 {
                return Ok(());
            }
        }
        if Instant::now() >= deadline {
            anyhow::bail!("child host not healthy on {addr} in time");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Copies the `*.cwasm` files of `from` missing in `to` (each through a
/// temporary name, so a reader never sees half a file); with `prune`, also
/// removes those of `to` that `from` lacks. Failures only cost a compile.
fn copy_compiled(from: &Path, to: &Path, prune: bool) {
    let names = |dir: &Path| -> HashSet<OsString> {
        std::fs::read_dir(dir)
            .map(|entries| {
                entries
                    .flatten()
                    .map(|e| e.file_name())
                    .filter(|n| n.to_string_lossy().ends_with(".cwasm"))
                    .collect()
            })
            .unwrap_or_default()
    };
    if std::fs::create_dir_all(to).is_err() {
        return;
    }
    let wanted = names(from);
    let present = names(to);
    for name in wanted.difference(&present) {
        let mut tmp = name.clone();
        tmp.push(format!(".{}.tmp", std::process::id()));
        let tmp = to.join(tmp);
        if std::fs::copy(from.join(name), &tmp).is_ok() {
            let _ = std::fs::rename(&tmp, to.join(name));
        } else {
            let _ = std::fs::remove_file(&tmp);
        }
    }
    if prune {
        for stale in present.difference(&wanted) {
            let _ = std::fs::remove_file(to.join(stale));
        }
    }
}

/// A 127.0.0.1 address with a port that was free a moment ago.
pub fn free_addr() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    listener.local_addr().expect("local addr")
}

/// The body of the child's test: in a child started by [`HostProcess`],
/// serves the app and never returns; anywhere else returns at once.
pub fn serve_if_child() {
    let Ok(state_dir) = std::env::var(ENV_STATE) else {
        return;
    };
    let listen: SocketAddr = std::env::var(ENV_LISTEN)
        .expect("listen address set")
        .parse()
        .expect("listen address parses");
    let variables: HashMap<String, String> =
        serde_json::from_str(&std::env::var(ENV_VARIABLES).unwrap_or_else(|_| "{}".into()))
            .expect("variables parse");
    let parent: Option<u32> = std::env::var(ENV_PARENT).ok().and_then(|p| p.parse().ok());
    let lifetime = std::env::var(ENV_LIFETIME)
        .ok()
        .and_then(|s| s.parse().ok())
        .map_or(Duration::from_secs(900), Duration::from_secs);
    let ends = Instant::now() + lifetime;

    let mut cfg = krug_host::HostConfig::new(repo_root().join("spin.toml"));
    cfg.state_dir = PathBuf::from(state_dir);
    cfg.listen = listen;
    cfg.variables = variables;
    let host = match krug_host::Host::start(cfg) {
        Ok(h) => h,
        Err(e) => {
            eprintln!("child host failed to start: {e:#}");
            std::process::exit(3);
        }
    };
    println!("child host {} serving {}", std::process::id(), host.url());
    loop {
        std::thread::sleep(Duration::from_millis(200));
        // Orphaned (the parent died without killing us) or past the
        // backstop: leave without a trace.
        let orphaned = parent.is_some_and(|p| std::os::unix::process::parent_id() != p);
        if orphaned || Instant::now() >= ends {
            std::process::exit(0);
        }
    }
}
