"""What a test session starts before anything else: a Redis of the test process's own, and the
shared fixtures (``tests/support/fixtures.py``) once ``REDIS_URL`` names that Redis.

Importing this file starts nothing: the Redis starts in ``pytest_sessionstart``, which pytest calls
before it collects (imports) a test module, and stops in ``pytest_unconfigure``. The test process
imports ``actors`` too (job types' checks and the engine's store run in it), and ``actors`` reads
``REDIS_URL`` when it is imported, so nothing here imports it: had anything imported it before the
session started, the session refuses to run, rather than let it reach a Redis the machine happens
to run (``REDIS_URL``'s default, localhost:6379).

What a module starts (Redis, worker processes, web servers) is that module's alone: no test depends
on another module having run, and a test that counts workers, jobs or log lines counts only its
module's. Tests that need every worker thread to themselves start a ``Stack`` of their own.
"""

from __future__ import annotations

import os
import sys

import pytest

from .support.contracts import WORKSPACE, WORKSPACE_FILES
from .support.servers import RedisServer

# Test modules import these from here, as they did when the workspace was defined here.
__all__ = ["WORKSPACE", "WORKSPACE_FILES"]

#: Where the session keeps the test process's own Redis between the hooks that start and stop it.
IN_PROCESS_REDIS = pytest.StashKey[RedisServer]()
#: Job settings of the developer's shell that would change the test process's ``actors``.
UNSET_VARIABLES = ("JOB_MODULES", "JOB_RETRIES", "JOB_TIME_LIMITS")


def pytest_sessionstart(session: pytest.Session) -> None:
    if "actors" in sys.modules:
        raise pytest.UsageError(
            "actors was imported before the tests' own Redis started, so it may be talking to "
            f"{os.environ.get('REDIS_URL', 'redis://localhost:6379/0')}; import it from test modules only"
        )
    server = RedisServer()
    session.config.stash[IN_PROCESS_REDIS] = server  # before it starts: a failed start is stopped too
    server.start()
    os.environ["REDIS_URL"] = server.url
    for variable in UNSET_VARIABLES:
        os.environ.pop(variable, None)
    # Only now: importing the fixtures imports actors, which must read the URL set above.
    from .support import fixtures

    session.config.pluginmanager.register(fixtures, "tests.support.fixtures")


def pytest_unconfigure(config: pytest.Config) -> None:
    server = config.stash.get(IN_PROCESS_REDIS, None)
    if server is not None:
        server.stop()
