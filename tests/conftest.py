"""Fixtures: each test module gets its own Redis, and its own worker and web server when it asks.

The test process imports ``actors`` too (job types' checks and the engine's store run in it);
``REDIS_URL`` points at a Redis of its own before that, so nothing the tests run ever touches a
Redis the machine happens to run. What a module starts (Redis, worker processes, web servers)
is that module's alone: no test depends on another module having run, and a test that counts
workers, jobs or log lines counts only its module's. Tests that need every worker thread to
themselves start a ``Stack`` of their own.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator

from .support.servers import RedisServer, ServiceProcess, WebServer, redis_running, start_workers

IN_PROCESS_REDIS = RedisServer()
IN_PROCESS_REDIS.start()
os.environ["REDIS_URL"] = IN_PROCESS_REDIS.url
for _variable in ("JOB_MODULES", "JOB_RETRIES", "JOB_TIME_LIMITS"):
    os.environ.pop(_variable, None)

import httpx  # noqa: E402
import pytest  # noqa: E402
import redis  # noqa: E402

from actors.contracts.documents import DocumentStore  # noqa: E402
from actors.jobs.engine import JobEngine  # noqa: E402
from actors.jobs.store import JobStore  # noqa: E402

from .support.api import TENANT, bearer, new_key  # noqa: E402
from .support.contracts import LEASE, NDA, SUPPLY, make_docx, make_pdf  # noqa: E402
from .support.stack import engine_on  # noqa: E402

#: A workspace every test may score or audit: a PDF, a DOCX and a text contract.
WORKSPACE = "acme"
WORKSPACE_FILES = [
    ("lease.pdf", make_pdf(LEASE)),
    ("supply.docx", make_docx(SUPPLY)),
    ("nda.txt", NDA.encode()),
]

#: The legacy sync path's wait in the tests' web server, in seconds (production default: 90).
SYNC_WAIT_LIMIT = 3
#: Threads per worker process in the tests' worker.
WORKER_THREADS = 4
#: The heartbeat comment interval in the tests' web server, in seconds (production default: 15).
SSE_HEARTBEAT = 1


@pytest.fixture(scope="session", autouse=True)
def _in_process_redis() -> Iterator[RedisServer]:
    yield IN_PROCESS_REDIS
    IN_PROCESS_REDIS.stop()


@pytest.fixture(scope="module")
def redis_server() -> Iterator[RedisServer]:
    with redis_running() as server:
        yield server


@pytest.fixture(scope="module")
def redis_client(redis_server: RedisServer) -> redis.Redis:
    return redis_server.client()


@pytest.fixture(scope="module")
def engine(redis_server: RedisServer) -> JobEngine:
    return engine_on(redis_server)


@pytest.fixture(scope="module")
def job_store(engine: JobEngine) -> JobStore:
    """The workers' store on this module's Redis, for tests that play the worker's part."""
    return engine.store


@pytest.fixture(scope="module")
def workspace(redis_server: RedisServer) -> list[dict]:
    """The tests' tenant's ``acme`` workspace, stored in this module's Redis."""
    return DocumentStore(client=redis_server.client()).add(TENANT, WORKSPACE, WORKSPACE_FILES)


@pytest.fixture(scope="module")
def workers(redis_server: RedisServer) -> Iterator[ServiceProcess]:
    worker = start_workers(redis_server, threads=WORKER_THREADS)
    yield worker
    worker.stop()


@pytest.fixture(scope="module")
def web(redis_server: RedisServer) -> Iterator[WebServer]:
    server = WebServer(
        redis_server, SYNC_WAIT_LIMIT=str(SYNC_WAIT_LIMIT), SSE_HEARTBEAT_INTERVAL=str(SSE_HEARTBEAT)
    )
    yield server
    server.stop()


@pytest.fixture(scope="module")
def api_key(web: WebServer) -> str:
    """A key of the tests' tenant (``TENANT``), valid on every web server of this module's Redis."""
    return new_key(web)


@pytest.fixture
async def client(web: WebServer, api_key: str) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client of the module's web server, acting as the tests' tenant."""
    limits = httpx.Limits(max_connections=500, max_keepalive_connections=50)
    async with httpx.AsyncClient(
        base_url=web.base_url, timeout=30, limits=limits, headers=bearer(api_key)
    ) as http:
        yield http


@pytest.fixture
async def other_tenant(web: WebServer) -> AsyncIterator[httpx.AsyncClient]:
    """A client of another tenant ("rival"): what the tests' tenant does must never reach it."""
    async with httpx.AsyncClient(
        base_url=web.base_url, timeout=30, headers=bearer(new_key(web, "rival"))
    ) as http:
        yield http
