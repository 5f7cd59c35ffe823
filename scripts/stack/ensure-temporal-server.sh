#!/usr/bin/env bash
# Starts the Temporal dev server once, persisting to .data/temporal.db, with the search attributes the
# readiness workflows publish. Records its pid so stack:down stops only what this script started.
# A server this project started with other arguments (an older checkout's) is restarted with these,
# as ensure-postgres.sh restarts the cluster when its settings change.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# SQLite in WAL mode with synchronous=normal: a commit appends to the write-ahead log instead of
# creating, fsyncing and deleting a rollback journal (the default; its system time was ~30% of the
# server's CPU in a test run, ~20% with WAL). A killed server loses nothing committed; only an OS
# crash can lose the last commits before a checkpoint.
server=("$TOOLS_BIN/temporal" server start-dev
  --ip 127.0.0.1 --port "$TEMPORAL_PORT" --ui-port "$TEMPORAL_UI_PORT"
  --db-filename "$DATA_DIR/temporal.db" --sqlite-pragma journal_mode=wal --sqlite-pragma synchronous=normal
  --search-attribute ReadinessStage=Keyword --search-attribute ReadinessPct=Int
  --log-level warn)

healthy() { "$TOOLS_BIN/temporal" operator cluster health --address "127.0.0.1:${TEMPORAL_PORT}" >/dev/null 2>&1; }
# A process's arguments, one per line, as it was started.
arguments_of() { tr '\0' '\n' < "/proc/$1/cmdline" 2>/dev/null; }

if [[ -f "$TEMPORAL_PIDFILE" ]] && kill -0 "$(cat "$TEMPORAL_PIDFILE")" 2>/dev/null && healthy; then
  pid="$(cat "$TEMPORAL_PIDFILE")"
  if [[ "$(arguments_of "$pid")" == "$(printf '%s\n' "${server[@]}")" ]]; then
    log "Temporal dev server already running (pid $pid), UI http://127.0.0.1:${TEMPORAL_UI_PORT}"
    exit 0
  fi
  log "settings changed; restarting the Temporal dev server (pid $pid) with this checkout's"
  stop_temporal_server
fi
if port_open "$TEMPORAL_PORT"; then
  if healthy; then
    log "a Temporal server that this project did not start answers on :${TEMPORAL_PORT}; using it (stack:down will leave it alone)"
    exit 0
  fi
  die "port ${TEMPORAL_PORT} is taken by something that is not a healthy Temporal server; free it or set TEMPORAL_PORT and TEMPORAL_ADDRESS"
fi

mkdir -p "$DATA_DIR"
log "starting Temporal dev server on :${TEMPORAL_PORT} (UI http://127.0.0.1:${TEMPORAL_UI_PORT}, db $DATA_DIR/temporal.db)"
nohup "${server[@]}" >"$DATA_DIR/temporal.log" 2>&1 < /dev/null &
echo $! > "$TEMPORAL_PIDFILE"

for _ in $(seq 1 120); do
  if healthy; then
    log "Temporal dev server healthy (pid $(cat "$TEMPORAL_PIDFILE"))"
    exit 0
  fi
  kill -0 "$(cat "$TEMPORAL_PIDFILE")" 2>/dev/null || { tail -n 20 "$DATA_DIR/temporal.log" >&2; die "Temporal dev server exited during start-up; log above and in $DATA_DIR/temporal.log"; }
  sleep 0.5
done
die "Temporal dev server did not become healthy within 60 s; see $DATA_DIR/temporal.log"
