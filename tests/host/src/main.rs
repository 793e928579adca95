//! `krug-host`: run a Spin app locally.
//!
//! ```text
//! krug-host [--manifest spin.toml] [--listen 127.0.0.1:3000] [--state-dir DIR] [--no-cron] [--stats-file F] [--memory-file F]
//! krug-host [--manifest spin.toml] [--state-dir DIR] fire-cron <component>
//! ```

use std::{net::SocketAddr, path::PathBuf, process::ExitCode};

use krug_host::HostConfig;

fn usage() -> ExitCode {
    eprintln!(
        "usage: krug-host [--manifest spin.toml] [--listen 127.0.0.1:3000] [--state-dir DIR] [--no-cron] [--stats-file F] [--memory-file F]\n       \
         krug-host [--manifest spin.toml] [--state-dir DIR] fire-cron <component>"
    );
    ExitCode::from(2)
}

fn main() -> ExitCode {
    let mut manifest = PathBuf::from("spin.toml");
    let mut listen: SocketAddr = SocketAddr::from(([127, 0, 0, 1], 3000));
    let mut state_dir: Option<PathBuf> = None;
    let mut cron = true;
    let mut fire: Option<String> = None;
    let mut stats_file: Option<PathBuf> = None;
    let mut memory_file: Option<PathBuf> = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--manifest" | "-f" => match args.next() {
                Some(v) => manifest = PathBuf::from(v),
                None => return usage(),
            },
            "--listen" => match args.next().and_then(|v| v.parse().ok()) {
                Some(v) => listen = v,
                None => return usage(),
            },
            "--state-dir" => match args.next() {
                Some(v) => state_dir = Some(PathBuf::from(v)),
                None => return usage(),
            },
            "--no-cron" => cron = false,
            "--stats-file" => match args.next() {
                Some(v) => stats_file = Some(PathBuf::from(v)),
                None => return usage(),
            },
            "--memory-file" => match args.next() {
                Some(v) => memory_file = Some(PathBuf::from(v)),
                None => return usage(),
            },
            "fire-cron" => match args.next() {
                Some(c) => fire = Some(c),
                None => return usage(),
            },
            "-h" | "--help" => {
                usage();
                return ExitCode::SUCCESS;
            }
            _ => return usage(),
        }
    }
    let mut cfg = HostConfig::new(manifest);
    cfg.listen = listen;
    cfg.cron = cron;
    cfg.stats_file = stats_file;
    cfg.memory_file = memory_file;
    if let Some(dir) = state_dir {
        cfg.state_dir = dir;
    }
    krug_host::limit_malloc_arenas();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("krug-host: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = match fire {
        Some(component) => runtime.block_on(krug_host::fire_cron_once(cfg, &component)),
        None => runtime.block_on(krug_host::serve(cfg)),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("krug-host: {e:#}");
            ExitCode::FAILURE
        }
    }
}
