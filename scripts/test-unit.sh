#!/usr/bin/env bash
# The unit tier: every test file under test/unit, none of which needs a service. Runs alone
# (`npm run test:unit`) or beside the integration tier (scripts/test.sh).
# - Files without top-level hooks run in one process (node:test isolation 'none'): one start and one
#   module load for all of them instead of a process each.
# - A file with top-level before/after hooks runs in a process of its own: in a shared process its
#   hooks would apply to every other file's tests as well.
# Every service setting points at a closed port, so a unit test that reaches for the stack fails
# instead of touching it.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/stack/lib.sh
use_project_node

mapfile -t files < <(find test/unit -name '*.test.ts' | sort)
mapfile -t hooked < <(grep -lE '^(before|after|beforeEach|afterEach)\(' "${files[@]}" || true)
shared=()
for f in "${files[@]}"; do [[ " ${hooked[*]} " == *" $f "* ]] || shared+=("$f"); done

unset TEST_DATABASE_TEMPLATE TEST_FILE_DATABASE
export DATABASE_URL=postgresql://postgres@127.0.0.1:1/unit_tier_has_no_database
export CAPACITY_DATABASE_URL=postgresql://postgres@127.0.0.1:1/unit_tier_has_no_database_capacity
export REDIS_URL=redis://127.0.0.1:1 TEMPORAL_ADDRESS=127.0.0.1:1

echo "[test:unit] ${#files[@]} files: ${#shared[@]} in one process, ${#hooked[@]} with top-level hooks in their own"
status=0
shared_log=$(mktemp)
if [[ ${#shared[@]} -gt 0 ]]; then
  node --import tsx scripts/run-test-files.ts --isolation none "${shared[@]}" >"$shared_log" 2>&1 &
  shared_run=$!
fi
if [[ ${#hooked[@]} -gt 0 ]]; then
  # file-database.ts makes no copy without TEST_DATABASE_TEMPLATE; it records each file's times.
  node --import tsx --import ./test/helpers/file-database.ts scripts/run-test-files.ts --concurrency "${UNIT_CONCURRENCY:-2}" "${hooked[@]}" || status=1
fi
if [[ -n "${shared_run:-}" ]]; then wait "$shared_run" || status=1; fi
cat "$shared_log"
rm -f "$shared_log"
exit "$status"
