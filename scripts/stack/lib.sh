# Shared helpers for the stack scripts. Sourced, not run.
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
TOOLS_BIN="$ROOT/.tools/bin"
# STACK_DATA_DIR moves the state elsewhere (the stack test runs a Temporal server of its own there).
DATA_DIR="${STACK_DATA_DIR:-$ROOT/.data}"
PG_MAJOR="${PG_MAJOR:-15}"
PG_BIN="/usr/lib/postgresql/${PG_MAJOR}/bin"
PGDATA_DIR="$DATA_DIR/pg"
PG_PORT="${PG_PORT:-55432}"
TEMPORAL_VERSION="v1.5.1"
TEMPORAL_PORT="${TEMPORAL_PORT:-7233}"
TEMPORAL_UI_PORT="${TEMPORAL_UI_PORT:-8233}"
TEMPORAL_PIDFILE="$DATA_DIR/temporal.pid"
PROJECT_NODE_MAJOR=24
PROJECT_NODE_BIN="$ROOT/.tools/node/bin"

log() { printf '[stack] %s\n' "$*"; }
die() { printf '[stack] ERROR: %s\n' "$*" >&2; exit 1; }

# The project cluster's files belong to the postgres account when we run as root (initdb refuses root).
as_pg_owner() {
  if [[ "$(id -u)" == 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# Puts the Node that ensure-node.sh installed (only when the machine's is older than 22) first on
# PATH, so node, npx and every tsx script of the caller run on it.
use_project_node() {
  if [[ -x "$PROJECT_NODE_BIN/node" ]]; then export PATH="$PROJECT_NODE_BIN:$PATH"; fi
  # V8's code cache for the modules Node loads (Node >= 22.1 reads it; older ones ignore the
  # variable): a warm cache saves each process about 0.3 CPU s of compiling, and npm test starts
  # well over a hundred of them (test files, workers, CLI runs).
  export NODE_COMPILE_CACHE="${NODE_COMPILE_CACHE:-$DATA_DIR/node-compile-cache}"
}

# Stops the Temporal dev server this project started (SIGTERM, SIGKILL after 10 s) and forgets its pid.
stop_temporal_server() {
  local pid
  pid="$(cat "$TEMPORAL_PIDFILE")"
  if kill -0 "$pid" 2>/dev/null; then
    log "stopping Temporal dev server (pid $pid)"
    kill "$pid"
    for _ in $(seq 1 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
    if kill -0 "$pid" 2>/dev/null; then kill -9 "$pid"; fi
  fi
  rm -f "$TEMPORAL_PIDFILE"
}
