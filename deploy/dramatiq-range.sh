# The Dramatiq releases CI tests the engine on, read by deploy/test.sh and
# deploy/test-dramatiq-range.sh (sourced, not run). pyproject.toml allows from the lowest to
# below the next minor release after the highest; tests/test_dramatiq_range.py keeps the two
# agreeing. Raising either: run the engine's tests on it first (docs/design.md, "Dramatiq
# releases").

# Dramatiq 2.1.0 is the first that allows redis-py 7.2 (1.18 and 2.0 cap it below 7, 1.17 below 6);
# redis-py's own floor is 7.2, the first whose asyncio pool retries a refused connection.
DRAMATIQ_LOWEST=2.1.0
REDIS_LOWEST=7.2.0
# The whole suite runs on this one.
DRAMATIQ_HIGHEST=2.2.1
