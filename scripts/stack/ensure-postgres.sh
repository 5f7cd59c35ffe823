#!/usr/bin/env bash
# A project-owned PostgreSQL 15 cluster under .data/pg on its own port. The machine's cluster is
# never reconfigured; ours gets the memory the 100K x 1536 HNSW test needs (index ~0.8 GB must fit in
# shared_buffers; the in-memory build wants maintenance_work_mem >= ~1 GB).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

SHARED_BUFFERS="${PG_SHARED_BUFFERS:-2GB}"
MAINTENANCE_WORK_MEM="${PG_MAINTENANCE_WORK_MEM:-2GB}"

[[ -x "$PG_BIN/initdb" && -x "$PG_BIN/pg_ctl" ]] || \
  die "PostgreSQL ${PG_MAJOR} server binaries not found in $PG_BIN. Install them with: apt-get install postgresql-${PG_MAJOR} (or point DATABASE_URL at your own server and skip stack:up)."
if [[ "$(id -u)" == 0 ]] && ! id postgres >/dev/null 2>&1; then
  die "running as root but there is no 'postgres' account to own the cluster; create one (useradd -r postgres) or run as a normal user"
fi

if [[ ! -f "$PGDATA_DIR/PG_VERSION" ]]; then
  log "initializing PostgreSQL ${PG_MAJOR} cluster in $PGDATA_DIR"
  mkdir -p "$PGDATA_DIR"
  [[ "$(id -u)" == 0 ]] && chown postgres:postgres "$PGDATA_DIR"
  chmod 700 "$PGDATA_DIR"
  as_pg_owner "$PG_BIN/initdb" -D "$PGDATA_DIR" -U postgres --auth=trust --encoding=UTF8 --locale=C.UTF-8 >/dev/null \
    || die "initdb failed for $PGDATA_DIR"
  echo "include_if_exists = 'commontrace.conf'" >> "$PGDATA_DIR/postgresql.conf"
fi

desired="$(cat <<CONF
# Written by scripts/stack/ensure-postgres.sh on every stack:up; edit PG_* variables, not this file.
listen_addresses = '127.0.0.1'
port = ${PG_PORT}
unix_socket_directories = ''
max_connections = 200
shared_buffers = '${SHARED_BUFFERS}'
maintenance_work_mem = '${MAINTENANCE_WORK_MEM}'
max_parallel_maintenance_workers = 1
effective_cache_size = '8GB'
work_mem = '16MB'
max_wal_size = '4GB'
wal_level = minimal
max_wal_senders = 0
random_page_cost = 1.1
jit = off
CONF
)"
conf="$PGDATA_DIR/commontrace.conf"
changed=0
if [[ ! -f "$conf" ]] || [[ "$(cat "$conf")" != "$desired" ]]; then
  printf '%s\n' "$desired" > "$conf"
  [[ "$(id -u)" == 0 ]] && chown postgres:postgres "$conf"
  changed=1
fi

if as_pg_owner "$PG_BIN/pg_ctl" -D "$PGDATA_DIR" status >/dev/null 2>&1; then
  if [[ "$changed" == 1 ]]; then
    log "settings changed; restarting the project cluster"
    as_pg_owner "$PG_BIN/pg_ctl" -D "$PGDATA_DIR" -w -m fast restart -l "$PGDATA_DIR/server.log" >/dev/null
  else
    log "PostgreSQL ${PG_MAJOR} already running on 127.0.0.1:${PG_PORT}"
  fi
else
  if port_open "$PG_PORT"; then
    die "port ${PG_PORT} is taken by another process; free it or set PG_PORT and DATABASE_URL to another port"
  fi
  log "starting PostgreSQL ${PG_MAJOR} on 127.0.0.1:${PG_PORT} (shared_buffers=${SHARED_BUFFERS}, maintenance_work_mem=${MAINTENANCE_WORK_MEM})"
  as_pg_owner "$PG_BIN/pg_ctl" -D "$PGDATA_DIR" -w -t 60 start -l "$PGDATA_DIR/server.log" >/dev/null \
    || die "PostgreSQL failed to start; see $PGDATA_DIR/server.log"
fi
