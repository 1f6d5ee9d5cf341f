"""Session fixtures: one real Redis, real ``dramatiq`` workers and a real Hypercorn web server.

Tests that break Redis on purpose start their own (see ``test_redis_outage.py``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
import redis

from actors.store import JobStore

from .support.servers import RedisServer, ServiceProcess, WebServer, start_workers

#: The legacy sync path's wait in the tests' web server, in seconds (production default: 90).
SYNC_WAIT_LIMIT = 3
#: Threads per worker process in the tests' worker.
WORKER_THREADS = 4
#: The heartbeat comment interval in the tests' web server, in seconds (production default: 15).
SSE_HEARTBEAT = 1


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    server = RedisServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def redis_client(redis_server: RedisServer) -> redis.Redis:
    return redis_server.client()


@pytest.fixture(scope="session")
def job_store(redis_client: redis.Redis) -> JobStore:
    """The workers' store, used by tests that play the worker's part themselves."""
    return JobStore(client=redis_client)


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
