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

build_wasm() {
  ensure_toolchain
  log "building WASM components"
  # shellcheck disable=SC2046
  cargo build --release --target wasm32-wasip2 $(pkg_args $(components) "$@")
}

build_host() {
  log "building the local host"
  cargo build --profile native -p krug-host --bin krug-host
}
