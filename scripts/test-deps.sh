#!/usr/bin/env bash
# What the tests need beyond .venv, checked and installed in one step (issue 11). `make test`
# runs it before lint, types and tests; `.ci/run` runs `make test`, so CI uses it too.
#
#   Chromium ............ browser tests and PDF reports (Debian: chromium)
#   pdftoppm, pdftotext . PDF report tests (Debian: poppler-utils)
#   Java 17 or newer .... Spark linkage test (Debian: openjdk-17-jre-headless)
#   pyspark ............. the `spark` extra, in the venv
#   PostgreSQL .......... app-state tests: JOINEDUP_TEST_PG_URL if set, else the server on
#                         127.0.0.1:${PGPORT:-5432}, else one started by .ci/postgres.sh
#
# What is present is left alone, and then nothing is printed and nothing is fetched. What
# is missing is installed when this user can (root, or sudo without a password): one
# `apt-get update`, one `apt-get install`, then pip for the spark extra; one line is
# printed per thing installed or started. When it cannot (not root and no password-free
# sudo, or not a Debian-like system), it installs nothing, prints the exact commands to
# run and exits 1, before any test has run.
#
# On success it writes VENV/test-env (`export JOINEDUP_TEST_PG_URL=...`), which the
# Makefile sources before pytest, so the PostgreSQL tests run against the server found.
#
# Usage: scripts/test-deps.sh [--check] [--venv DIR]
#   --check      install and start nothing: exit 0 when all is present, else exit 1 and
#                print the commands that would make it so.
#   --venv DIR   the project's virtual environment (default .venv).
# Environment:
#   JOINEDUP_TEST_DEPS_NO_ROOT=1  behave as a user without root or sudo (never install a
#                system package; pip and a local PostgreSQL still go ahead). The tests use
#                it to simulate such a user; set it if `make test` must not touch the system.
#   JOINEDUP_TEST_PG_URL          an admin URL of a PostgreSQL server for the tests.
#   PGPORT                        loopback port for the PostgreSQL found or started (5432).
#   JOINEDUP_CHROMIUM             a Chrome, Chromium or Edge binary to use instead.
#
# Uses only bash builtins besides the tools it checks for, apt-get, apt-cache and sudo (so a
# test can run it with a PATH of stand-ins).
set -euo pipefail
here="${BASH_SOURCE[0]%/*}"
[[ $here != "${BASH_SOURCE[0]}" ]] || here=.
cd "$here/.."

check_only=0
venv=.venv
while (($#)); do
  case "$1" in
    --check) check_only=1 ;;
    --venv) venv="${2:?--venv needs a folder}"; shift ;;
    *) printf 'test-deps: unknown argument %s (use --check, --venv DIR)\n' "$1" >&2; exit 2 ;;
  esac
  shift
done
py="$venv/bin/python"
if [[ ! -x $py ]]; then
  printf "test-deps: %s is missing or cannot be run by this user: run make setup first.\n" "$py" >&2
  exit 2
fi
log="$venv/test-deps.log"
port="${PGPORT:-5432}"

missing=()   # what is missing, in words
apt_pkgs=()  # Debian packages that would supply it
problems=()  # what no install can fix here (the user must act)
need_pip=0
need_pg_start=0
java_pkg=openjdk-17-jre-headless

have() { command -v "$1" >/dev/null 2>&1; }

have_chromium() {
  if [[ -n ${JOINEDUP_CHROMIUM:-} ]]; then [[ -f $JOINEDUP_CHROMIUM ]]; return; fi
  local name  # the names joinedup.report.pdf looks for
  for name in chromium chromium-browser google-chrome google-chrome-stable msedge; do
    have "$name" && return 0
  done
  return 1
}

java_major() {  # major version of `java` on PATH, or nothing
  local out
  have java || return 0
  out="$(java -version 2>&1)" || return 0
  if [[ $out =~ version\ \"1\.([0-9]+) ]]; then printf '%s' "${BASH_REMATCH[1]}"
  elif [[ $out =~ version\ \"([0-9]+) ]]; then printf '%s' "${BASH_REMATCH[1]}"
  fi
}

have_pyspark() { "$py" -c 'import importlib.util, sys; sys.exit(importlib.util.find_spec("pyspark") is None)'; }

pg_url_default() { printf 'postgresql://postgres@127.0.0.1:%s/postgres' "$port"; }

pg_answers() { (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; }

pg_connects() {  # an admin connection to $1 (a SQLAlchemy or libpq URL) works
  "$py" - "$1" <<'PY' 2>/dev/null
import sys

import psycopg
from sqlalchemy.engine import make_url

url = make_url(sys.argv[1]).set(drivername="postgresql")
psycopg.connect(url.render_as_string(hide_password=False), connect_timeout=5).close()
PY
}

pg_binaries() {
  have pg_ctl && return 0
  local d
  for d in /usr/lib/postgresql/*/bin; do [[ -x $d/pg_ctl ]] && return 0; done
  return 1
}

check_chromium() {
  have_chromium && return 0
  missing+=("Chromium (browser tests and PDF reports)")
  apt_pkgs+=(chromium)
}
check_poppler() {
  have pdftoppm && have pdftotext && return 0
  missing+=("pdftoppm and pdftotext (PDF report tests)")
  apt_pkgs+=(poppler-utils)
}
check_java() {
  local major
  major="$(java_major)"
  [[ -n $major ]] && ((major >= 17)) && return 0
  missing+=("Java 17 or newer (Spark linkage test; found ${major:+Java }${major:-none})")
  apt_pkgs+=("$java_pkg")
}
check_pyspark() {
  have_pyspark && return 0
  missing+=("pyspark, the spark extra, in $venv (Spark linkage test)")
  need_pip=1
}
pg_url=""
check_postgres() {
  if [[ -n ${JOINEDUP_TEST_PG_URL:-} ]]; then
    pg_url="$JOINEDUP_TEST_PG_URL"
    pg_connects "$pg_url" && return 0
    problems+=("JOINEDUP_TEST_PG_URL is set, but no PostgreSQL accepts an admin connection there: start that server, or unset JOINEDUP_TEST_PG_URL to use or start one on 127.0.0.1:$port")
    return 0
  fi
  pg_url="$(pg_url_default)"
  if pg_answers; then
    pg_connects "$pg_url" && return 0
    problems+=("a server answers on 127.0.0.1:$port but refuses $pg_url: set JOINEDUP_TEST_PG_URL to an admin URL of it (a user that may create databases), or set PGPORT to a free port to start a test server there")
    return 0
  fi
  missing+=("a PostgreSQL server on 127.0.0.1:$port (app-state tests)")
  need_pg_start=1
  pg_binaries || apt_pkgs+=(postgresql)
}

check_all() {
  missing=() apt_pkgs=() problems=() need_pip=0 need_pg_start=0
  check_chromium
  check_poppler
  check_java
  check_pyspark
  check_postgres
}

check_all
if ((${#missing[@]} == 0 && ${#problems[@]} == 0)); then
  if ((!check_only)); then
    printf "export JOINEDUP_TEST_PG_URL='%s'\n" "${pg_url//\'/\'\\\'\'}" >"$venv/test-env"
  fi
  exit 0
fi

# Who may install: root, or sudo without a password; JOINEDUP_TEST_DEPS_NO_ROOT=1 says no.
sudo=""
can_root=0
why=""
if [[ ${JOINEDUP_TEST_DEPS_NO_ROOT:-} == 1 ]]; then
  why="JOINEDUP_TEST_DEPS_NO_ROOT=1 is set, so no system package is installed"
  sudo="sudo "
elif ((EUID == 0)); then
  can_root=1
elif have sudo && sudo -n true 2>/dev/null; then
  can_root=1
  sudo="sudo "
else
  why="this user is not root and has no password-free sudo"
  sudo="sudo "
fi
if ((${#apt_pkgs[@]})) && ! have apt-get; then
  can_root=0
  why="there is no apt-get here: install the same with this system's package manager"
fi
if ((check_only)); then why="--check installs nothing"; fi

stop() {  # the message that names what is missing and the commands to run; exit 1
  {
    printf 'make test cannot run yet: %s.\n' "$why"
    local m
    for m in "${missing[@]}"; do printf '  missing: %s\n' "$m"; done
    for m in "${problems[@]}"; do printf '  problem: %s\n' "$m"; done
    if ((${#apt_pkgs[@]} || need_pip || need_pg_start)); then
      printf 'Run these commands, then make test again:\n'
      if ((${#apt_pkgs[@]})); then
        printf '  %sapt-get update\n' "$sudo"
        printf '  %sapt-get install -y %s\n' "$sudo" "${apt_pkgs[*]}"
      fi
      if ((need_pip)); then
        printf "  %s -m pip install --no-build-isolation -e '.[spark]'\n" "$py"
      fi
      if ((need_pg_start)); then
        printf '  %sbash .ci/postgres.sh\n' "${PGPORT:+PGPORT=$PGPORT }"
      fi
    fi
  } >&2
  exit 1
}

if ((check_only)) || ((${#problems[@]})); then
  [[ -n $why ]] || why="what is below needs you"
  stop
fi
if ((${#apt_pkgs[@]})) && ((!can_root)); then stop; fi

: >"$log"
fail() {  # $1: what failed; show the log's last lines
  local lines=() line
  while IFS= read -r line; do lines+=("$line"); done <"$log"
  printf 'test-deps: %s failed; the last lines of %s:\n' "$1" "$log" >&2
  printf '  %s\n' "${lines[@]: -20}" >&2
  exit 1
}

if ((${#apt_pkgs[@]})); then
  as_root() { if [[ -n $sudo ]]; then sudo DEBIAN_FRONTEND=noninteractive "$@"; else "$@"; fi; }
  export DEBIAN_FRONTEND=noninteractive
  as_root apt-get update -qq >>"$log" 2>&1 || fail "apt-get update"
  # Debian 13 and later have no Java 17: take their Java 21 instead.
  if [[ " ${apt_pkgs[*]} " == *" $java_pkg "* ]] && ! apt-cache show "$java_pkg" >/dev/null 2>&1 \
    && apt-cache show openjdk-21-jre-headless >/dev/null 2>&1; then
    apt_pkgs=("${apt_pkgs[@]/#$java_pkg/openjdk-21-jre-headless}")
  fi
  as_root apt-get install -y -qq -o DPkg::Lock::Timeout=300 \
    "${apt_pkgs[@]}" >>"$log" 2>&1 || fail "apt-get install ${apt_pkgs[*]}"
  for p in "${apt_pkgs[@]}"; do printf 'test-deps: installed %s (Debian package)\n' "$p"; done
  hash -r
fi
if ((need_pip)); then
  "$py" -m pip install --disable-pip-version-check --no-build-isolation -e '.[spark]' \
    >>"$log" 2>&1 || fail "pip install -e '.[spark]'"
  printf 'test-deps: installed the spark extra (pyspark) into %s\n' "$venv"
fi
if ((need_pg_start)); then
  bash .ci/postgres.sh >>"$log" 2>&1 || fail ".ci/postgres.sh"
  printf 'test-deps: started PostgreSQL on 127.0.0.1:%s (.ci/postgres.sh; it keeps running)\n' "$port"
fi

check_all  # what was installed must now be found
if ((${#missing[@]} || ${#problems[@]})); then
  why="installing did not supply everything (see $log)"
  stop
fi
printf "export JOINEDUP_TEST_PG_URL='%s'\n" "${pg_url//\'/\'\\\'\'}" >"$venv/test-env"
