"""Session fixtures: one real Redis, real ``dramatiq`` workers and a real Hypercorn web server.

The session's Redis is chosen before anything imports ``actors``, and ``REDIS_URL`` points at it,
so that code the tests run in this process (document checks, the job store) uses it and never a
Redis the machine happens to run. Tests that break Redis on purpose start their own (see
``test_redis_outage.py``).
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator

from .support.servers import RedisServer, ServiceProcess, WebServer, start_workers

SESSION_REDIS = RedisServer()
os.environ["REDIS_URL"] = SESSION_REDIS.url
os.environ.pop("JOB_MODULES", None)

import httpx  # noqa: E402
import pytest  # noqa: E402
import redis  # noqa: E402

from actors.documents import DocumentStore  # noqa: E402
from actors.store import JobStore  # noqa: E402

from .support.contracts import LEASE, NDA, SUPPLY, make_docx, make_pdf  # noqa: E402

#: A workspace every test may score or audit: a PDF, a DOCX and a text contract.
WORKSPACE = "acme"

#: The legacy sync path's wait in the tests' web server, in seconds (production default: 90).
SYNC_WAIT_LIMIT = 3
#: Threads per worker process in the tests' worker.
WORKER_THREADS = 4
#: The heartbeat comment interval in the tests' web server, in seconds (production default: 15).
SSE_HEARTBEAT = 1


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    SESSION_REDIS.start()
    yield SESSION_REDIS
    SESSION_REDIS.stop()


@pytest.fixture(scope="session")
def redis_client(redis_server: RedisServer) -> redis.Redis:
    return redis_server.client()


@pytest.fixture(scope="session")
def job_store(redis_client: redis.Redis) -> JobStore:
    """The workers' store, used by tests that play the worker's part themselves."""
    return JobStore(client=redis_client)


@pytest.fixture(scope="session", autouse=True)
def workspace(redis_client: redis.Redis) -> list[dict]:
    """The ``acme`` workspace, stored once per session."""
    files = [("lease.pdf", make_pdf(LEASE)), ("supply.docx", make_docx(SUPPLY)), ("nda.txt", NDA.encode())]
    return DocumentStore(client=redis_client).add(WORKSPACE, files)


@pytest.fixture(scope="session")
def workers(redis_server: RedisServer) -> Iterator[ServiceProcess]:
    worker = start_workers(redis_server, threads=WORKER_THREADS)
    yield worker
    worker.stop()


@pytest.fixture(scope="session")
def web(redis_server: RedisServer) -> Iterator[WebServer]:
    server = WebServer(
        redis_server, SYNC_WAIT_LIMIT=str(SYNC_WAIT_LIMIT), SSE_HEARTBEAT_INTERVAL=str(SSE_HEARTBEAT)
    )
    yield server
    server.stop()


@pytest.fixture
async def client(web: WebServer) -> AsyncIterator[httpx.AsyncClient]:
    limits = httpx.Limits(max_connections=500, max_keepalive_connections=50)
    async with httpx.AsyncClient(base_url=web.base_url, timeout=30, limits=limits) as http:
        yield http
