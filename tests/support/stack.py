"""A test's own stack: its Redis, the job engine on it, and its worker and web server when asked.

``engine_on(redis_server)`` builds a ``JobEngine`` exactly as ``actors`` builds the service's
(same settings and group field), bound to the test's Redis, so a test that plays the worker's
part writes through the same store, the one way to reach it.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import httpx

import actors
from actors.jobs.engine import JobEngine
from actors.jobs.ref import JobRef
from actors.jobs.states import DEFAULT_NAMESPACE
from actors.jobs.store import JobStore

from .api import bearer, new_key
from .servers import RedisServer, ServiceProcess, WebServer, start_workers


def engine_on(redis_server: RedisServer, **settings: Any) -> JobEngine:
    """The service's job engine, bound to ``redis_server`` (``settings`` override the service's)."""
    configured = actors.engine.settings.model_copy(update={"redis_url": redis_server.url, **settings})
    return JobEngine(configured, group_field=actors.GROUP_FIELD)


def new_job(store: JobStore, workspace: str | None = None, *, namespace: str = DEFAULT_NAMESPACE) -> str:
    """A new PENDING job written through the workers' own store (in ``workspace``, if named); its id."""
    job_id = str(uuid.uuid4())
    store.create(JobRef(job_id, namespace=namespace, group=workspace), "score_contracts")
    return job_id


@dataclass
class Stack:
    """A Redis, a worker process and a web server of their own, for a test that needs every
    worker thread to itself or counts what nobody else may touch."""

    redis: RedisServer
    workers: ServiceProcess
    web: WebServer
    threads: int
    #: A key of the tests' tenant.
    key: str

    @classmethod
    def start(cls, *, threads: int = 1, **env: str) -> Stack:
        redis = RedisServer()
        redis.start()
        workers = start_workers(redis, threads=threads, **env)
        web = WebServer(redis, **env)
        return cls(redis, workers, web, threads, new_key(web))

    def client(self) -> httpx.AsyncClient:
        """An HTTP client of this stack's web server, acting as the tests' tenant."""
        return httpx.AsyncClient(base_url=self.web.base_url, timeout=30, headers=bearer(self.key))

    def stop(self) -> None:
        self.web.stop()
        self.workers.stop()
        self.redis.stop()
