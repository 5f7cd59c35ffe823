#!/usr/bin/env bash
# The whole test suite against the real stack: brings the stack up (idempotent), migrates the test
# database templates, then every test file through node's test runner (TEST_CONCURRENCY files at a
# time, default 3, each on its own database copy) with typecheck and lint alongside.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

bash scripts/stack/up.sh
source scripts/stack/lib.sh
use_project_node
echo "[test] Node $(node --version)"
export DATABASE_URL="${TEST_DATABASE_URL:-postgresql://postgres@127.0.0.1:55432/commontrace_test}"
# Every test workflow and schedule runs in its own namespace: `default` keeps only operators' runs.
export TEMPORAL_NAMESPACE="${TEST_TEMPORAL_NAMESPACE:-commontrace-test}"
# Test files register far more users a minute from loopback than any client should; tests of the
# registration limit configure their own small limit.
export RATE_LIMIT_REGISTER_PER_MINUTE="${RATE_LIMIT_REGISTER_PER_MINUTE:-100000}"
# Workers inside the test processes log warnings and errors only; tests that read a worker's own
# lines set their level themselves.
export LOG_LEVEL="${LOG_LEVEL:-warn}"
bash scripts/stack/ensure-temporal-namespace.sh "$TEMPORAL_NAMESPACE"
# DATABASE_URL's database is a template: every test file runs on its own copy of it and of its
# `_capacity` twin (test/helpers/file-database.ts), so files can run side by side.
export TEST_DATABASE_TEMPLATE="$DATABASE_URL"
# Each test file's wall and CPU seconds (test/helpers/file-times.ts), for the summary at the end.
export TEST_FILE_TIMES="${TEST_FILE_TIMES:-$(mktemp)}"
# One workflow bundle for the whole run: every test file's workers, and the workers they spawn, load
# it instead of bundling src/workflows themselves (seconds of CPU each, on a CPU-bound run). It is
# built while the templates migrate.
export TEMPORAL_WORKFLOW_BUNDLE="${TEMPORAL_WORKFLOW_BUNDLE:-$(mktemp -d)/workflow-bundle.js}"
npx --no-install tsx scripts/build-workflows.ts "$TEMPORAL_WORKFLOW_BUNDLE" &
bundle=$!
npx --no-install tsx scripts/test-databases.ts reset "$TEST_DATABASE_TEMPLATE"
wait "$bundle"
trap 'npx --no-install tsx scripts/test-databases.ts drop-copies "$TEST_DATABASE_TEMPLATE" || true' EXIT

# The unit tier (test/unit, no services) is scripts/test-unit.sh, run beside this tier below.
mapfile -t files < <(find test -name '*.test.ts' -not -path 'test/unit/*' | sort)
[[ ${#files[@]} -gt 0 ]] || { echo "[test] no integration test files found" >&2; exit 1; }
# The one integration file that runs apart, before the rest: it restarts the shared PostgreSQL, which
# would fail whatever else used it at that moment; beside it run only the checks and the unit tier,
# which use no service. (The fault tests that SIGKILL their own workers, terminate their
# own backends or restart a Temporal dev server of their own run with the rest. So do the benchmark
# and launch tests: when a load generator falls behind on the shared cores, the benchmark says so and
# those tests accept that verdict; the rate-limit checks allow for the refill a slow run sees.)
alone=(test/capacity/pg-restart.test.ts)
# The longest of the rest start first (by their wall time in a whole run), so the phase never ends
# with one of them running alone; scripts/run-test-files.ts keeps this order (node --test would sort
# the files by name).
slow=(test/capacity/faults.test.ts test/benchmark/search-benchmark.test.ts test/workflows/rate-limit-validation.test.ts
  test/capacity/durability.test.ts test/workflows/launch-readiness.test.ts test/workflows/capacity.test.ts
  test/workflows/cold-start-crash.test.ts test/workflows/capacity-rows.test.ts test/benchmark/http-load.test.ts
  test/workflows/cold-start-import.test.ts test/cli/capacity.test.ts test/workflows/cold-start-smoke.test.ts
  test/benchmark/filtered.test.ts test/benchmark/ground-truth.test.ts test/workflows/cold-start-embeddings.test.ts)
shared=("${slow[@]}")
for f in "${files[@]}"; do [[ " ${alone[*]} ${slow[*]} " == *" $f "* ]] || shared+=("$f"); done

run_tests() {
  local concurrency=$1; shift
  node --import tsx --import ./test/helpers/file-database.ts scripts/run-test-files.ts --concurrency "$concurrency" --timeout 900000 "$@"
}

# Typecheck, lint and the unit tier run beside the integration tier from the start: they need no service.
checks_log=$(mktemp)
( set -e; echo "[test] typecheck"; npx --no-install tsc --noEmit; echo "[test] lint"; npx --no-install eslint . ) >"$checks_log" 2>&1 &
checks=$!
unit_log=$(mktemp)
UNIT_CONCURRENCY=1 bash scripts/test-unit.sh >"$unit_log" 2>&1 &
unit=$!

status=0
echo "[test] ${alone[*]} apart from the other integration files (it restarts PostgreSQL)"
run_tests 1 "${alone[@]}" || status=1
echo "[test] ${#shared[@]} integration files, ${TEST_CONCURRENCY:-3} at a time"
run_tests "${TEST_CONCURRENCY:-3}" "${shared[@]}" || status=1

wait "$unit" || status=1
echo "[test] the unit tier (scripts/test-unit.sh):"
cat "$unit_log"
wait "$checks" || status=1
cat "$checks_log"
echo "[test] slowest files (wall s, CPU s with spawned processes; the whole list is in $TEST_FILE_TIMES):"
sort -rn "$TEST_FILE_TIMES" | head -n 10 | cut -f1-3 | sed 's/^/[test]   /'
awk -F'\t' '{ cpu += $2 } END { printf "[test] test processes used %.0f CPU s in all\n", cpu }' "$TEST_FILE_TIMES"
exit "$status"
