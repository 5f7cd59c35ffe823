#!/usr/bin/env bash
# Installs pgvector >= 0.8.0 into the machine's PostgreSQL 15 when it is missing; a machine's own
# pgvector of that version or newer is kept. Debian 12 ships no pgvector 0.8, so we build the newest
# Debian source package that can be fetched (sid, forky, then trixie). apt is pointed at a throwaway
# sources list so the system's apt configuration never changes.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

PG_CONFIG="$PG_BIN/pg_config"
MIN_VERSION="0.8.0"

installed_version() {
  local control
  control="$("$PG_CONFIG" --sharedir 2>/dev/null)/extension/vector.control"
  [[ -f "$control" ]] || return 1
  sed -n "s/^default_version = '\(.*\)'/\1/p" "$control"
}

version_ge() { [[ "$(printf '%s\n%s\n' "$2" "$1" | sort -V | head -n1)" == "$2" ]]; }

[[ -x "$PG_CONFIG" ]] || [[ -x "/usr/lib/postgresql/${PG_MAJOR}/bin/postgres" ]] || \
  die "PostgreSQL ${PG_MAJOR} is not installed. Install it with: apt-get install postgresql-${PG_MAJOR}"

if [[ -x "$PG_CONFIG" ]] && current="$(installed_version)" && [[ -n "$current" ]] && version_ge "$current" "$MIN_VERSION"; then
  log "pgvector ${current} already installed for PostgreSQL ${PG_MAJOR}; nothing to do"
  exit 0
fi

[[ "$(id -u)" == 0 ]] || die "building pgvector needs root (apt-get and make install). Re-run as root, or install pgvector >= ${MIN_VERSION} for PostgreSQL ${PG_MAJOR} yourself."
command -v apt-get >/dev/null || die "apt-get not found: install pgvector >= ${MIN_VERSION} for PostgreSQL ${PG_MAJOR} by hand (https://github.com/pgvector/pgvector#installation)"

work="$(mktemp -d /tmp/pgvector-build.XXXXXX)"
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/src"
apt_tmp=(-o "Dir::Etc::sourcelist=$work/src.list" -o "Dir::Etc::sourceparts=-" -o "Dir::State::Lists=$work/lists" -o "APT::Get::List-Cleanup=0" -o "APT::Sandbox::User=root")

log "installing build prerequisites (postgresql-server-dev-${PG_MAJOR}, build-essential)"
# The dev package may pull a newer postgresql-15 point release; dpkg restarts nothing here
# (no systemd), so a running cluster keeps its old binary until it is restarted.
if ! dpkg -s "postgresql-server-dev-${PG_MAJOR}" >/dev/null 2>&1 || ! command -v make >/dev/null; then
  apt-get update -qq >/dev/null || die "apt-get update failed; check network access to the Debian mirror"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "postgresql-server-dev-${PG_MAJOR}" build-essential dpkg-dev >/dev/null \
    || die "apt-get install postgresql-server-dev-${PG_MAJOR} failed"
fi
command -v dpkg-source >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq dpkg-dev >/dev/null

# The newest source that can be fetched wins: sid and forky list newer pgvector releases than trixie
# (fixes for CVE-2026-3172 and the HNSW vacuum bugs), but a mirror may list a version whose files it
# does not serve, so each suite is tried in turn, newest first.
srcdir=""
for suite in ${PGVECTOR_SUITES:-sid forky trixie}; do
  echo "deb-src http://deb.debian.org/debian ${suite} main" > "$work/src.list"
  rm -rf "$work/lists" "$work/src" && mkdir -p "$work/lists/partial" "$work/src"
  log "fetching pgvector source from Debian ${suite} (temporary sources list)"
  if apt-get "${apt_tmp[@]}" update -qq >/dev/null 2>&1 \
     && (cd "$work/src" && apt-get "${apt_tmp[@]}" source -qq pgvector >/dev/null 2>&1); then
    srcdir="$(find "$work/src" -maxdepth 1 -mindepth 1 -type d -name 'pgvector-*' | head -n1)"
    [[ -n "$srcdir" ]] && break
  fi
  log "Debian ${suite}: pgvector source not available here; trying an older suite"
done
[[ -n "$srcdir" ]] || die "no pgvector source could be fetched from Debian (${PGVECTOR_SUITES:-sid forky trixie}); install pgvector >= ${MIN_VERSION} by hand"

log "building $(basename "$srcdir") against ${PG_CONFIG}"
make -s -C "$srcdir" PG_CONFIG="$PG_CONFIG" >/dev/null
make -s -C "$srcdir" PG_CONFIG="$PG_CONFIG" install >/dev/null
current="$(installed_version)" || die "pgvector install finished but vector.control is missing"
version_ge "$current" "$MIN_VERSION" || die "installed pgvector ${current} is older than ${MIN_VERSION}"
log "pgvector ${current} installed"
