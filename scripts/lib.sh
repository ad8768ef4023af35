# Shared helpers of scripts/run and scripts/test: install what is missing, nothing more.
# Each step checks first, so a repeat run costs nothing. See docs/testing.md ("Toolchain
# pins") for why the versions are pinned.

CARGO_LEPTOS_VERSION=0.3.10
WASM_BINDGEN_VERSION=0.2.130
CARGO_DENY_VERSION=0.20.2

say() { printf '\033[1m==> [%ss] %s\033[0m\n' "$SECONDS" "$*"; }

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    echo "need root for: $*" >&2; return 1; fi
}

apt_install() {
  say "installing Debian packages: $*"
  as_root apt-get install -y "$@" >/dev/null 2>&1 || {
    as_root apt-get update >/dev/null 2>&1
    as_root apt-get install -y "$@" >/dev/null
  }
}

ensure_rust_tools() {
  export PATH="$HOME/.cargo/bin:$PATH"
  command -v cargo >/dev/null || { echo "cargo is missing: install Rust with rustup first" >&2; exit 1; }
  if ! rustup target list --installed 2>/dev/null | grep -q wasm32-unknown-unknown; then
    say "adding the wasm32-unknown-unknown target"
    rustup target add wasm32-unknown-unknown
  fi
  if ! cargo leptos --version 2>/dev/null | grep -q "$CARGO_LEPTOS_VERSION"; then
    say "installing cargo-leptos $CARGO_LEPTOS_VERSION (about 15 minutes, once)"
    cargo install cargo-leptos --locked --version "$CARGO_LEPTOS_VERSION"
  fi
  if ! wasm-bindgen --version 2>/dev/null | grep -q "$WASM_BINDGEN_VERSION"; then
    say "installing wasm-bindgen-cli $WASM_BINDGEN_VERSION (must match the crate)"
    cargo install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION" --force
  fi
}

# cargo-deny, for the supply-chain checks of scripts/test (deny.toml).
ensure_cargo_deny() {
  if ! cargo deny --version 2>/dev/null | grep -q "$CARGO_DENY_VERSION"; then
    say "installing cargo-deny $CARGO_DENY_VERSION (a few minutes, once)"
    cargo install cargo-deny --locked --version "$CARGO_DENY_VERSION"
  fi
}

# npm ci when node_modules is missing or older than the lock file.
npm_ci_in() {
  local dir=$1
  if [ ! -d "$dir/node_modules" ] || [ "$dir/package-lock.json" -nt "$dir/node_modules/.package-lock.json" ]; then
    say "npm ci in $dir"
    (cd "$dir" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error)
  fi
}

ensure_node_tools() {
  command -v npm >/dev/null || { echo "npm is missing: install Node.js 20+ first" >&2; exit 1; }
  npm_ci_in .
}

# The cargo target directory (CARGO_TARGET_DIR or ./target).
target_dir() {
  cargo metadata --format-version 1 --no-deps 2>/dev/null |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])'
}

# FPL data: FPL_SNAPSHOT_DIR if set; else the live API if it answers; else the shared snapshot.
choose_fpl_data() {
  if [ -n "${FPL_SNAPSHOT_DIR:-}" ]; then return; fi
  local base=${FPL_API_BASE_URL:-https://fantasy.premierleague.com/api}
  if curl -fsS -m 5 -o /dev/null "$base/bootstrap-static/" 2>/dev/null; then return; fi
  for dir in ../shared/fpl-data/2025-26_gw7 ../../shared/fpl-data/2025-26_gw7; do
    if [ -f "$dir/bootstrap-static.json" ]; then
      export FPL_SNAPSHOT_DIR
      FPL_SNAPSHOT_DIR=$(cd "$dir" && pwd)
      say "the FPL API is unreachable: using the snapshot $FPL_SNAPSHOT_DIR"
      return
    fi
  done
  echo "warning: the FPL API is unreachable and FPL_SNAPSHOT_DIR is unset; answers will fail" >&2
}
