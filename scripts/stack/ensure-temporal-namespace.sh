#!/usr/bin/env bash
# Creates a Temporal namespace on the dev server if missing, with the search attributes the readiness
# workflows publish (custom search attributes are per namespace). The test suite runs in its own
# namespace so the Web UI's `default` keeps only what an operator started.
#   bash scripts/stack/ensure-temporal-namespace.sh commontrace-test
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

namespace="${1:?usage: ensure-temporal-namespace.sh <namespace>}"
temporal_cli() { "$TOOLS_BIN/temporal" --address "127.0.0.1:${TEMPORAL_PORT}" "$@"; }

if ! temporal_cli operator namespace describe --namespace "$namespace" >/dev/null 2>&1; then
  log "creating Temporal namespace ${namespace} (retention 1 day)"
  temporal_cli operator namespace create --namespace "$namespace" --retention 24h >/dev/null
fi
# A new namespace takes a moment to reach every service of the dev server.
ready=false
for _ in $(seq 1 60); do
  if attributes="$(temporal_cli operator search-attribute list --namespace "$namespace" 2>/dev/null)"; then ready=true; break; fi
  sleep 0.25
done
$ready || die "namespace ${namespace} did not become usable within 15 s; see $DATA_DIR/temporal.log"
for spec in ReadinessStage=Keyword ReadinessPct=Int; do
  name="${spec%%=*}"
  if ! grep -qw "$name" <<<"$attributes"; then
    temporal_cli operator search-attribute create --namespace "$namespace" --name "$name" --type "${spec#*=}" >/dev/null
  fi
done
