"""The fixtures every test module shares: its Redis → web server → key → HTTP client chain, its
workers, and the workers a test starts, kills and replaces as it goes.

``tests/conftest.py`` registers this module as a plugin once the in-process Redis is up and
``REDIS_URL`` names it, because importing it imports ``actors``, which reads ``REDIS_URL`` at
import. Each fixture is spelled once, here; a module says how its stack differs by overriding one
fixture, ``stack_options`` (a persistent Redis, other settings, a key per test), and overrides
``web`` or ``workers`` themselves only when it needs a server of another kind.

Scopes keep the house rule: Redis, web server, workers and key belong to one module; the HTTP
client, the workers of ``worker``/``worker_pool`` and, when asked, the key are the test's own.
"""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import AsyncIterator, Iterator, Mapping
from dataclasses import dataclass, field

import httpx
import pytest
import redis

from actors.contracts.documents import DocumentStore
from actors.jobs.engine import JobEngine
from actors.jobs.store import JobStore

from .api import TENANT, bearer, new_key
from .contracts import WORKSPACE, WORKSPACE_FILES
from .sentinel import SentinelGroup
from .servers import RedisServer, ServiceProcess, WebServer, redis_running, start_workers
from .stack import engine_on

#: The legacy sync path's wait in the tests' web server, in seconds (production default: 90).
SYNC_WAIT_LIMIT = 3
#: Threads per worker process in the tests' worker.
WORKER_THREADS = 4
#: The heartbeat comment interval in the tests' web server, in seconds (production default: 15).
SSE_HEARTBEAT = 1
#: What a module's web server and workers start with unless its ``stack_options`` say otherwise.
#: (Workers read neither; one mapping for both keeps a module's override to one line.)
DEFAULT_SETTINGS = {"SYNC_WAIT_LIMIT": str(SYNC_WAIT_LIMIT), "SSE_HEARTBEAT_INTERVAL": str(SSE_HEARTBEAT)}


@dataclass(frozen=True)
class StackOptions:
    """How a module's stack differs from the default: what its ``stack_options`` fixture returns."""

    #: An append-only Redis, so that jobs and keys survive a test killing and restarting it.
    persistent_redis: bool = False
    #: The environment, on top of ``service_env``'s, of the module's web server and workers.
    settings: Mapping[str, str] = field(default_factory=lambda: dict(DEFAULT_SETTINGS))
    #: A new key for each test's ``client``: its own minute of requests and its own stream count,
    #: for modules whose tests spend much of either.
    key_per_test: bool = False


@pytest.fixture(scope="module")
def stack_options() -> StackOptions:
    """The module's stack as most modules want it; a module that wants another overrides this."""
    return StackOptions()


@pytest.fixture(scope="module")
def redis_server(stack_options: StackOptions) -> Iterator[RedisServer]:
    with redis_running(persistent=stack_options.persistent_redis) as server:
        yield server


@pytest.fixture(scope="module")
def sentinel_group() -> Iterator[SentinelGroup]:
    """A primary, its replica and three Sentinels of the module's own (``support/sentinel.py``)."""
    group = SentinelGroup()
    group.start()
    yield group
    group.stop()


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
def workers(redis_server: RedisServer, stack_options: StackOptions) -> Iterator[ServiceProcess]:
    worker = start_workers(redis_server, threads=WORKER_THREADS, **stack_options.settings)
    yield worker
    worker.stop()


@pytest.fixture(scope="module")
def web(redis_server: RedisServer, stack_options: StackOptions) -> Iterator[WebServer]:
    server = WebServer(redis_server, **stack_options.settings)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def api_key(web: WebServer) -> str:
    """A key of the tests' tenant (``TENANT``), valid on every web server of this module's Redis.
    Made when the module first asks (its first test's set-up, before any outage a test causes)."""
    return new_key(web)


@pytest.fixture
async def client(
    web: WebServer, api_key: str, stack_options: StackOptions
) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client of the module's web server, acting as the tests' tenant."""
    key = new_key(web) if stack_options.key_per_test else api_key
    limits = httpx.Limits(max_connections=500, max_keepalive_connections=50)
    async with httpx.AsyncClient(
        base_url=web.base_url, timeout=30, limits=limits, headers=bearer(key)
    ) as http:
        yield http


@pytest.fixture
async def other_tenant(web: WebServer) -> AsyncIterator[httpx.AsyncClient]:
    """A client of another tenant ("rival"): what the tests' tenant does must never reach it."""
    async with httpx.AsyncClient(
        base_url=web.base_url, timeout=30, headers=bearer(new_key(web, "rival"))
    ) as http:
        yield http


class WorkerPool:
    """Worker processes a test starts, kills and replaces while it runs; the fixture stops whatever
    is left after the test. Starting and reaping run in a thread: the test's event loop keeps
    reading the streams it has open meanwhile."""

    def __init__(self, redis_server: RedisServer, settings: Mapping[str, str]) -> None:
        self.redis_server = redis_server
        self.settings = dict(settings)
        self.started: list[ServiceProcess] = []

    async def start(self, *args: str) -> ServiceProcess:
        """One more worker process (four threads), with the module's settings and ``args`` on its
        command line, once it beats."""
        worker = await asyncio.to_thread(start_workers, self.redis_server, args=args, **self.settings)
        self.started.append(worker)
        return worker

    async def kill(self, worker: ServiceProcess) -> None:
        """SIGKILL to the worker's whole process group, as a crash: no drain, no ack, no goodbye."""
        os.killpg(worker.process.pid, signal.SIGKILL)
        await asyncio.to_thread(worker.process.wait)

    async def stop(self) -> None:
        """Stop every worker still running, in the order they started (again is harmless)."""
        for worker in self.started:
            await asyncio.to_thread(worker.stop)


@pytest.fixture
async def worker_pool(redis_server: RedisServer, stack_options: StackOptions) -> AsyncIterator[WorkerPool]:
    """Workers the test starts, kills and replaces itself; none outlives the test."""
    pool = WorkerPool(redis_server, stack_options.settings)
    yield pool
    await pool.stop()


@pytest.fixture
async def worker(worker_pool: WorkerPool) -> ServiceProcess:
    """A worker of the test's own, with the module's settings, stopped after the test."""
    return await worker_pool.start()
