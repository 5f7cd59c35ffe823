#!/usr/bin/env bash
# Brings up everything the project needs on this machine, and only what is missing:
# Node 24 (when the machine's is older), npm packages, Temporal CLI, pgvector, the project PostgreSQL cluster, Redis check,
# the Temporal dev server, the database and its migrations. Safe to run again at any time.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"
start=$SECONDS

bash scripts/stack/ensure-node.sh
use_project_node
bash scripts/stack/ensure-node-deps.sh
bash scripts/stack/ensure-temporal-cli.sh
bash scripts/stack/ensure-pgvector.sh
bash scripts/stack/ensure-parsers.sh
bash scripts/stack/ensure-postgres.sh

REDIS_HOST="${REDIS_HOST:-127.0.0.1}"; REDIS_PORT="${REDIS_PORT:-6379}"
if ! (exec 3<>"/dev/tcp/${REDIS_HOST}/${REDIS_PORT}") 2>/dev/null; then
  die "Redis is not reachable at ${REDIS_HOST}:${REDIS_PORT}. Start it (e.g. redis-server --daemonize yes --port ${REDIS_PORT} --save '' --appendonly no), install it with apt-get install redis-server, or set REDIS_URL."
fi
log "Redis reachable at ${REDIS_HOST}:${REDIS_PORT}"

bash scripts/stack/ensure-temporal-server.sh
npx --no-install tsx src/db/migrate.ts
log "stack ready in $((SECONDS - start)) s — Temporal UI http://127.0.0.1:${TEMPORAL_UI_PORT}"
