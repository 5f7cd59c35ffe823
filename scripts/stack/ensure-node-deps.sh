#!/usr/bin/env bash
# npm ci only when node_modules is missing or older than the lockfile.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"
stamp="node_modules/.package-lock.json"
if [[ -f "$stamp" && "$stamp" -nt package-lock.json ]]; then
  log "npm packages up to date"
  exit 0
fi
command -v npm >/dev/null || die "npm is not installed; install Node.js 20 or 22 with npm"
log "installing npm packages (npm ci)"
npm ci --no-audit --no-fund --loglevel=error || die "npm ci failed (see above)"
