#!/usr/bin/env bash
# Start a PostgreSQL server on 127.0.0.1:${PGPORT:-5432} with trust authentication for
# local connections, for the app-state tests (issue 6). Installs Debian's postgresql when
# it is missing. Idempotent and quiet: a server already answering is left alone.
# scripts/test-deps.sh (so `make test` and .ci/run) runs it when nothing answers there.
set -euo pipefail
port="${PGPORT:-5432}"
data="${JOINEDUP_CI_PGDATA:-/tmp/joinedup-ci-pg-$port}"

answers() { (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; }
if answers; then exit 0; fi

if ! ls -d /usr/lib/postgresql/*/bin >/dev/null 2>&1; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq --no-install-recommends postgresql >/dev/null
fi
# shellcheck disable=SC2012  # version folders, sorted by version
bin="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)"
run() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

if [ ! -f "$data/PG_VERSION" ]; then
  mkdir -p "$data"
  [ "$(id -u)" = 0 ] && chown postgres: "$data"
  run "$bin/initdb" -D "$data" --auth=trust --username=postgres --encoding=UTF8 >/dev/null
fi
run "$bin/pg_ctl" -D "$data" -l "$data/server.log" -w -t 60 \
  -o "-c listen_addresses=127.0.0.1 -p $port -k /tmp" start >/dev/null
answers
