#!/usr/bin/env bash
# Restarts the stack's PostgreSQL with `pg_ctl restart -m fast` (every connection is cut, the server
# comes back on the same data): the fault tests use it mid-run.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
as_pg_owner "$PG_BIN/pg_ctl" -D "$PGDATA_DIR" -w -t 60 -m fast restart -l "$PGDATA_DIR/server.log" >/dev/null
log "PostgreSQL restarted (pg_ctl restart -m fast)"
