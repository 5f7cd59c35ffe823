#!/usr/bin/env bash
# Runs a command on the project's Node (Node 24 from .tools/node when the machine's is older), so
# `npm run worker`, `npm run cli`, the benchmarks and every other package script use the same
# runtime as the README's two commands.   bash scripts/run.sh tsx src/worker.ts
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/stack/lib.sh"
use_project_node
export PATH="$ROOT/node_modules/.bin:$PATH"
exec "$@"
