#!/usr/bin/env bash
# The README's main command: set up the stack, start a worker and the search API (each its own
# process, as in production), run launchReadiness at demo scale and follow it to GO / NO-GO.
# Extra arguments go to `launch` (e.g. --scale full, --traces 50000, --skip rateLimitValidation).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

bash scripts/stack/up.sh
source scripts/stack/lib.sh
use_project_node
mkdir -p .data
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
}
trap cleanup EXIT

# node itself, not an npx wrapper, so that the pid we kill on exit is the process that polls.
node --import tsx src/worker.ts > .data/worker.log 2>&1 &
pids+=($!)
echo "[main] worker started (pid ${pids[-1]}, log .data/worker.log)"
node --import tsx src/client.ts api > .data/api.log 2>&1 &
pids+=($!)
echo "[main] search API started (pid ${pids[-1]}, log .data/api.log)"

# The worker would serve its own API if none answered; wait so the separate process is the one used.
for _ in $(seq 1 60); do
  node -e "fetch('http://127.0.0.1:8787/healthz').then(r => process.exit(r.ok ? 0 : 1), () => process.exit(1))" && break
  sleep 1
done

npx --no-install tsx src/client.ts preflight --wait-worker 120
npx --no-install tsx src/client.ts launch --scale demo --follow --wait-worker 120 "$@"
