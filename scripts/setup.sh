#!/usr/bin/env bash
# Set up a fresh machine for cti: a virtualenv in .venv with cti and its test tools, and
# Debian's chromium for the browser tests (installed when missing and we are root).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e '.[test,bench]'
if ! command -v chromium >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing Debian's chromium for the browser tests" >&2
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
      || echo "warning: could not install chromium; browser tests will not run (CI=true: fail)" >&2
  else
    echo "note: chromium not found; browser tests will not run (apt-get install chromium)" >&2
  fi
fi
