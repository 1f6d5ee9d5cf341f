"""Broker set-up: importing this package configures the Redis broker and registers every actor.

That is what ``dramatiq actors`` and ``periodiq actors`` need, and the only work this project does
at import time. Dramatiq's default middleware is listed explicitly so ours can sit among it.
The settings are read once, here, from the environment (``actors.settings``).

Middleware order matters: ``JobStatusMiddleware`` goes before ``Retries`` so that its ``after_*``
hooks (run in reverse order) see the message after Retries has failed or re-enqueued it.
"""

from __future__ import annotations

import importlib

import dramatiq
import redis
from dramatiq.brokers.redis import RedisBroker
from dramatiq.middleware import (
    AgeLimit,
    Callbacks,
    CurrentMessage,
    Pipelines,
    Retries,
    ShutdownNotifications,
    TimeLimit,
)
from periodiq import PeriodiqMiddleware

from . import keys
from .cancellation import Cancellation
from .documents import DocumentStore
from .heartbeat import WorkerHeartbeat
from .llm import LLMConfig
from .logs import LogFormat
from .settings import Settings, SettingsError
from .status import JobStatusMiddleware
from .store import JobStore

settings = Settings.from_env()

client = redis.Redis.from_url(
    settings.redis_url,
    socket_connect_timeout=settings.redis_timeout,
    socket_timeout=settings.redis_timeout,
    health_check_interval=30,
)
job_store = JobStore(
    client=client,
    result_ttl=settings.result_ttl,
    pending_ttl=settings.pending_ttl,
    event_log_max=settings.event_log_max,
)
broker = RedisBroker(
    client=client,
    namespace=keys.DRAMATIQ_NAMESPACE,
    heartbeat_timeout=int(settings.broker_heartbeat_timeout * 1000),
    maintenance_chance=settings.broker_maintenance_chance,
    middleware=[
        AgeLimit(),
        TimeLimit(),
        ShutdownNotifications(),
        Callbacks(),
        Pipelines(),
        JobStatusMiddleware(store=job_store, default_max_retries=settings.max_retries),
        Retries(max_retries=settings.max_retries),
        CurrentMessage(),
        Cancellation(store=job_store, grace=settings.cancel_grace),
        WorkerHeartbeat(client=client, interval=settings.worker_heartbeat),
        PeriodiqMiddleware(skip_delay=30),
        LogFormat(log_format=settings.log_format),
    ],
)
if settings.worker_metrics:
    # Imported only when asked for: the module creates its metrics folder when imported.
    from dramatiq.middleware.prometheus import Prometheus

    broker.add_middleware(Prometheus())
dramatiq.set_broker(broker)

documents = DocumentStore(client=client, max_document_bytes=settings.max_document_bytes)
llm_config = LLMConfig.from_settings(settings)

from . import contracts, maintenance  # noqa: E402  (actors need the broker above)

for _module in settings.job_modules:
    importlib.import_module(_module)

for _variable, _policies in (
    ("JOB_TIME_LIMITS", settings.job_time_limits),
    ("JOB_RETRIES", settings.job_retries),
):
    for _job_type in _policies.keys() - broker.actors.keys():
        raise SettingsError(f"{_variable} names {_job_type!r}, which is not a job type")
for _job_type, _seconds in settings.job_time_limits.items():
    broker.actors[_job_type].options["time_limit"] = int(_seconds * 1000)
for _job_type, (_retries, _first, _longest) in settings.job_retries.items():
    broker.actors[_job_type].options.update(
        max_retries=_retries, min_backoff=int(_first * 1000), max_backoff=int(_longest * 1000)
    )

__all__ = ["broker", "contracts", "documents", "job_store", "llm_config", "maintenance", "settings"]
