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

# A local Redis Cluster of three masters (no replicas), each node in a temporary directory, for
# the cluster variants of the Redis tests (scripts/test; by hand: scripts/redis-cluster).
# start_redis_cluster exports TEST_REDIS_CLUSTER_URL (the nodes, separated by commas) once the
# cluster answers cluster_state:ok; ports 7001-7003 when they and their bus ports (+10000) are
# free, else three free ones. stop_redis_cluster [PORT...] stops those nodes (default: the ones
# started here) and removes their directories.
REDIS_CLUSTER_STARTED=""
port_is_free() {
  python3 -c 'import socket,sys
for p in map(int, sys.argv[1:]):
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", p)); s.close()' "$@" 2>/dev/null
}
cluster_ports() {
  if port_is_free 7001 7002 7003 17001 17002 17003; then echo "7001 7002 7003"; return; fi
  local ports=() p
  while [ ${#ports[@]} -lt 3 ]; do
    p=$((20000 + RANDOM % 20000))
    port_is_free "$p" $((p + 10000)) && ports+=("$p")
  done
  echo "${ports[*]}"
}
start_redis_cluster() {
  command -v redis-server >/dev/null || apt_install redis-server
  local dir ports p nodes=() urls=()
  dir=$(mktemp -d "${TMPDIR:-/tmp}/fpl-chat-redis-cluster.XXXXXX")
  ports=$(cluster_ports)
  for p in $ports; do
    mkdir -p "$dir/$p"
    redis-server --port "$p" --bind 127.0.0.1 --cluster-enabled yes \
      --cluster-config-file nodes.conf --cluster-node-timeout 5000 --dir "$dir/$p" \
      --save "" --appendonly no --daemonize yes --pidfile "$dir/$p/redis.pid" \
      --logfile "$dir/$p/redis.log" >/dev/null
    nodes+=("127.0.0.1:$p") urls+=("redis://127.0.0.1:$p")
    REDIS_CLUSTER_STARTED="$REDIS_CLUSTER_STARTED $p"
  done
  for p in $ports; do
    for _ in $(seq 1 50); do redis-cli -p "$p" ping >/dev/null 2>&1 && break; sleep 0.1; done
  done
  redis-cli --cluster create "${nodes[@]}" --cluster-replicas 0 --cluster-yes >"$dir/create.log" 2>&1 ||
    { cat "$dir/create.log" >&2; return 1; }
  rm -f "$dir/create.log"
  for _ in $(seq 1 100); do
    local ok=0
    for p in $ports; do
      redis-cli -p "$p" cluster info 2>/dev/null | grep -q '^cluster_state:ok' && ok=$((ok + 1))
    done
    if [ "$ok" = 3 ]; then
      TEST_REDIS_CLUSTER_URL=$(IFS=,; echo "${urls[*]}")
      export TEST_REDIS_CLUSTER_URL
      return
    fi
    sleep 0.1
  done
  echo "the Redis Cluster on ports $ports did not reach cluster_state:ok" >&2
  return 1
}
stop_redis_cluster() {
  local p dir
  for p in ${*:-$REDIS_CLUSTER_STARTED}; do
    dir=$(redis-cli -p "$p" config get dir 2>/dev/null | tail -n 1)
    redis-cli -p "$p" shutdown nosave >/dev/null 2>&1 || true
    case "$dir" in
      */fpl-chat-redis-cluster.*/"$p") rm -rf "$dir"; rmdir "${dir%/*}" 2>/dev/null || true ;;
    esac
  done
  REDIS_CLUSTER_STARTED=""
}

# Release instances for the browser tests (scripts/test, scripts/e2e-lb), started as the container
# runs them. The callers set: bin (the release binary), site (the site it serves), snapshot (FPL
# data, see e2e_snapshot), scratch (a directory for the instances' files and logs) and pids (an
# array the caller kills at exit; start_app appends to it).

# e2e_snapshot: FPL_SNAPSHOT_DIR, else the shared gw7 snapshot, else nothing (the live API).
e2e_snapshot() {
  local dir
  if [ -n "${FPL_SNAPSHOT_DIR:-}" ]; then echo "$FPL_SNAPSHOT_DIR"; return; fi
  for dir in ../shared/fpl-data/2025-26_gw7 ../../shared/fpl-data/2025-26_gw7; do
    [ -f "$dir/bootstrap-static.json" ] && { (cd "$dir" && pwd); return; }
  done
  return 0
}

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# start_app NAME PORT [VAR=VALUE ...]: the release binary with a clean environment, in
# $scratch/NAME, on SQLite there unless a VAR names another DATABASE_URL; returns once /healthz
# answers, else prints the instance's log and exits.
start_app() {
  local name=$1 port=$2
  shift 2
  mkdir -p "$scratch/$name"
  (
    cd "$scratch/$name"
    exec env -i PATH="$PATH" HOME="$HOME" \
      LEPTOS_SITE_ROOT="$site" LEPTOS_SITE_ADDR="127.0.0.1:$port" \
      DATABASE_URL="sqlite://$scratch/$name/e2e.db" FPL_SNAPSHOT_DIR="$snapshot" \
      METRICS_AUTH_TOKEN=e2e-metrics-token RUST_LOG=warn "$@" \
      "$bin" serve >"$scratch/$name.log" 2>&1
  ) &
  pids+=($!)
  for _ in $(seq 1 100); do
    curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && return
    sleep 0.2
  done
  cat "$scratch/$name.log"; exit 1
}
