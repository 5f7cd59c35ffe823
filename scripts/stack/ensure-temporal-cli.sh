#!/usr/bin/env bash
# Installs the Temporal CLI (dev server + UI) into .tools/bin. Tags after v1.5.1 carry `replace`
# directives, which `go install pkg@version` refuses, so the version is pinned.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# `go install` builds report "0.0.0-DEV", so a marker file records which tag was installed.
marker="$TOOLS_BIN/temporal.version"
if [[ -x "$TOOLS_BIN/temporal" && -f "$marker" && "$(cat "$marker")" == "$TEMPORAL_VERSION" ]]; then
  log "Temporal CLI ${TEMPORAL_VERSION} present"
  exit 0
fi
command -v go >/dev/null || die "Go is not installed, and it is needed to build the Temporal CLI. Install Go >= 1.23 (https://go.dev/dl/) or put a temporal ${TEMPORAL_VERSION} binary at $TOOLS_BIN/temporal."
mkdir -p "$TOOLS_BIN"
log "building Temporal CLI ${TEMPORAL_VERSION} with go install (first run takes a few minutes; later runs use Go's build cache)"
start=$SECONDS
GOBIN="$TOOLS_BIN" GOFLAGS=-mod=mod go install "github.com/temporalio/cli/cmd/temporal@${TEMPORAL_VERSION}" \
  || die "go install github.com/temporalio/cli/cmd/temporal@${TEMPORAL_VERSION} failed (see above)"
echo "$TEMPORAL_VERSION" > "$marker"
log "Temporal CLI ${TEMPORAL_VERSION} installed in $((SECONDS - start)) s"
