#!/usr/bin/env bash
# Set up a fresh machine for cti: a virtualenv in .venv with cti and its test tools, and
# the Debian packages the tests run (chromium, nginx, the PostgreSQL client, curl, jq, …),
# installed when missing and we are root.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e '.[test,bench]'
# Debian packages the tests drive as programs: the browser, and the tools the deployment
# docs' commands use (each command → its package). Installed when missing and we are root.
packages=""
for pair in chromium:chromium curl:curl jq:jq sqlite3:sqlite3 openssl:openssl \
            nginx:nginx-light systemd-analyze:systemd psql:postgresql-client \
            pg_dump:postgresql-client pg_restore:postgresql-client createdb:postgresql-client; do
  command -v "${pair%%:*}" >/dev/null 2>&1 || packages="$packages ${pair#*:}"
done
packages=$(printf '%s\n' $packages | sort -u | tr '\n' ' ')
if [ -n "${packages// /}" ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing Debian packages for the tests:$packages" >&2
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $packages >/dev/null) \
      || echo "warning: could not install$packages; the tests that need them will not run (CI=true: fail)" >&2
  else
    echo "note: missing$packages; the tests that need them will not run (apt-get install$packages)" >&2
  fi
fi
