#!/usr/bin/env bash
# The whole test suite against the real stack: brings the stack up (idempotent), migrates a
# dedicated test database, then typecheck, lint and every test file through node's test runner.
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
npx --no-install tsx src/db/migrate.ts

echo "[test] typecheck"; npx --no-install tsc --noEmit
echo "[test] lint"; npx --no-install eslint .

mapfile -t files < <(find test -name '*.test.ts' | sort)
[[ ${#files[@]} -gt 0 ]] || { echo "[test] no test files found" >&2; exit 1; }
# One file at a time: files share the database and the dev server, and 2 cores gain little from overlap.
exec node --import tsx --test --test-concurrency=1 --test-timeout=900000 "${files[@]}"
