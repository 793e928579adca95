# Shared by the scripts: repository root, component list, builds.
# shellcheck shell=bash
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

# Package names of the app's components: every crate under functions/ but the
# shared core and adapter.
components() {
  local d
  for d in functions/*/; do
    d="${d%/}"; d="${d#functions/}"
    [[ "$d" == core || "$d" == spin-adapter ]] && continue
    [[ -f "functions/$d/Cargo.toml" ]] && echo "krug-$d"
  done
}

# Fixture components used by the host's own tests.
fixtures() {
  local d
  for d in tests/fixtures/*/; do
    [[ -f "$d/Cargo.toml" ]] && sed -n 's/^name *= *"\(.*\)"/\1/p' "$d/Cargo.toml" | head -n1
  done
}

pkg_args() {
  local p
  for p in "$@"; do printf -- '-p %s ' "$p"; done
}

log() { printf '\n==> %s\n' "$*" >&2; }

# What a fresh machine with only a Rust toolchain lacks.
ensure_toolchain() {
  if ! rustup target list --installed 2>/dev/null | grep -qx wasm32-wasip2; then
    log "adding the wasm32-wasip2 target"
    rustup target add wasm32-wasip2
  fi
  local c
  for c in "$@"; do
    rustup component list --installed 2>/dev/null | grep -q "^$c" || rustup component add "$c"
  done
}

# The web apps' npm packages (pinned by web/package-lock.json), installed when
# missing or stale, and their browser builds copied into static/vendor/ for
# the `web` component to embed.
ensure_web() {
  command -v npm >/dev/null || { echo "Node.js 20+ and npm are needed for the web apps" >&2; exit 1; }
  if [[ ! -f web/node_modules/.package-lock.json || web/package-lock.json -nt web/node_modules/.package-lock.json ]]; then
    log "installing the web apps' npm packages"
    (cd web && npm ci --no-audit --no-fund --loglevel=error)
  fi
  node web/vendor.mjs
}

# The browser the web apps' tests drive: Debian's Chromium (CHROMIUM
# overrides the path).
ensure_chromium() {
  local bin="${CHROMIUM:-/usr/bin/chromium}"
  [[ -x "$bin" ]] && return 0
  apt_install "the browser tests" chromium
}

# The PostgreSQL server programs (initdb, pg_ctl) the PostgreSQL tests start
# a throwaway cluster with: Debian's postgresql package.
ensure_postgres() {
  compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null && return 0
  apt_install "the PostgreSQL tests" postgresql
}

# apt_install WHO PACKAGE: installs Debian's PACKAGE, which WHO needs, when
# running as root; otherwise says how and exits.
apt_install() {
  if [[ "$(id -u)" -eq 0 ]] && command -v apt-get >/dev/null; then
    log "installing $2 for $1"
    apt-get update -q && apt-get install -y -q "$2"
  else
    echo "$1 need Debian's $2 (apt-get install $2)" >&2
    exit 1
  fi
}

build_wasm() {
  ensure_toolchain
  ensure_web
  log "building WASM components"
  # shellcheck disable=SC2046
  cargo build --release --target wasm32-wasip2 $(pkg_args $(components) "$@")
}

build_host() {
  log "building the local host"
  cargo build --profile native -p krug-host --bin krug-host
}

# The project's Python virtualenv (.venv at the repository root) with the
# fuzz suite's pinned packages (scripts/requirements-fuzz.txt), made when
# missing and reinstalled when the requirements file is newer than the
# marker the last install left.
ensure_venv() {
  local req="scripts/requirements-fuzz.txt" marker=".venv/.requirements-fuzz.installed"
  if [[ ! -x .venv/bin/python || ! -f "$marker" || "$req" -nt "$marker" ]]; then
    log "installing the fuzz suite's Python packages into .venv"
    [[ -x .venv/bin/python ]] || python3 -m venv .venv
    .venv/bin/python -m pip install --quiet --disable-pip-version-check -r "$req"
    touch "$marker"
  fi
}
