#!/usr/bin/env bash
# Stops what stack:up started: the Temporal dev server it launched and the project PostgreSQL
# cluster. The machine's own services (Redis, the system PostgreSQL) are never touched.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

if [[ -f "$TEMPORAL_PIDFILE" ]]; then
  stop_temporal_server
else
  log "no Temporal dev server started by this project"
fi

if [[ -f "$PGDATA_DIR/PG_VERSION" ]] && as_pg_owner "$PG_BIN/pg_ctl" -D "$PGDATA_DIR" status >/dev/null 2>&1; then
  log "stopping project PostgreSQL cluster"
  as_pg_owner "$PG_BIN/pg_ctl" -D "$PGDATA_DIR" -w -m fast stop >/dev/null
fi
