#!/usr/bin/env bash
# The seed validator parses every code block with a real parser: python3 (ast), bash -n, gofmt and
# rustfmt. Go comes with the Temporal CLI prerequisite; python3 and rustfmt are installed from
# Debian's packages when missing.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

missing=()
command -v python3 >/dev/null || missing+=(python3)
command -v gofmt >/dev/null || [[ -x /usr/local/go/bin/gofmt ]] || missing+=(golang-go)
command -v rustfmt >/dev/null || [[ -x "$HOME/.cargo/bin/rustfmt" ]] || [[ -x /usr/bin/rustfmt ]] || missing+=(rustfmt)
if [[ ${#missing[@]} -eq 0 ]]; then
  log "code-block parsers present (python3, gofmt, rustfmt)"
  exit 0
fi
if [[ "$(id -u)" != 0 ]] || ! command -v apt-get >/dev/null; then
  die "the seed validator needs ${missing[*]}; install them (Debian: apt-get install ${missing[*]})"
fi
log "installing code-block parsers: ${missing[*]}"
apt-get update -qq >/dev/null
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null || die "apt-get install ${missing[*]} failed"
