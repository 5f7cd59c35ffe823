#!/usr/bin/env bash
# The README's main command: set up the stack, start a worker, run the launch check, stop the worker.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

bash scripts/stack/up.sh
mkdir -p .data
npx --no-install tsx src/worker.ts > .data/worker.log 2>&1 &
worker_pid=$!
trap 'kill "$worker_pid" 2>/dev/null; wait "$worker_pid" 2>/dev/null || true' EXIT
echo "[main] worker started (pid $worker_pid, log .data/worker.log)"

npx --no-install tsx src/client.ts preflight --wait-worker 120 "$@"
