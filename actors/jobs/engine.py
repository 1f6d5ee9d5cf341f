"""The job engine, built once per process from its settings: Redis client, job store and broker.

``JobEngine(settings)`` makes the Redis client, the ``JobStore`` and the Dramatiq ``RedisBroker``
with the engine's middleware in its place among Dramatiq's own (listed explicitly, so ours can
sit among it). Middleware order matters: ``JobStatusMiddleware`` goes before ``Retries`` so that
its ``after_*`` hooks (run in reverse order) see the message after Retries has failed or
re-enqueued it.

The engine is also a hook-less middleware of its own broker (a ``BrokerContext``), so that code
running inside a worker (``report_progress``, the maintenance actors) finds it from the broker
it runs on, ``JobEngine.of(broker)``, as Dramatiq's own code finds its Results backend. That is
the one way to reach the store: everything else is handed what it needs.
"""

from __future__ import annotations

import importlib
import logging
import threading
from typing import Any, Self

import dramatiq
import redis
from dramatiq.broker import Consumer
from dramatiq.brokers.redis import RedisBroker
from dramatiq.middleware import (
    AgeLimit,
    Callbacks,
    CurrentMessage,
    Middleware,
    Pipelines,
    Retries,
    ShutdownNotifications,
    TimeLimit,
)
from periodiq import PeriodiqMiddleware
from redis.backoff import ExponentialBackoff, NoBackoff
from redis.retry import Retry

from . import keys
from .connections import redis_client
from .dramatiq_adapter import dispatch_qsize, stoppable_consumer
from .fairness import FairShare
from .leases import RunLeases, reap, reap_if_first
from .middleware import (
    MISSED_BEATS_ALLOWED,
    Cancellation,
    JobStatusMiddleware,
    LogFormat,
    RunMetrics,
    WorkerHeartbeat,
)
from .settings import JobSettings, SettingsError
from .states import DEFAULT_GROUP_FIELD
from .store import JobStore

logger = logging.getLogger("jobs.workers")

#: Periodic messages older than this many seconds are skipped by periodiq: a day, so that a tick
#: is skipped only after the workers were gone that long (maintenance is idempotent; late is fine).
PERIODIC_SKIP_DELAY_S = 24 * 3600
#: A command that meets a dropped connection is retried this many times, with backoff from
#: 50 ms to 1 s (about 2 s in all): a Redis blip or restart is ridden out, not failed.
REDIS_RETRIES = 6


def redis_retry() -> Retry:
    """redis-py's retry policy for every client of the service (workers' and web's)."""
    return Retry(ExponentialBackoff(cap=1.0, base=0.05), REDIS_RETRIES)


#: The errors after which a command is retried on a new connection.
RETRY_ON = [redis.ConnectionError, redis.TimeoutError]


class BrokerContext(Middleware):
    """A hook-less middleware that carries a layer's parts on a broker, found with ``of(broker)``."""

    @classmethod
    def of(cls, broker: dramatiq.Broker) -> Self:
        found = next((m for m in broker.middleware if isinstance(m, cls)), None)
        if found is None:
            raise RuntimeError(f"the broker has no {cls.__name__}: import actors to build it")
        return found


class JobsBroker(RedisBroker):
    """Dramatiq's Redis broker, whose liveness is told by the worker's heartbeat thread too.

    Dramatiq learns that a worker process lives from its consumers' fetches, and a worker whose
    threads are all busy fetches nothing: after ``heartbeat_timeout`` its running messages would
    be redelivered as a dead worker's. ``keep_alive`` reports it alive every beat; ``redeliver``
    runs the broker's own maintenance (the messages of workers that are really gone, fetched but
    not started among them, back to their queues) for every queue, on the reaper's round (one
    worker per beat) instead of by chance. Dramatiq's maintenance lists a dead worker's keys
    with ``KEYS``, so it is not run by every worker every beat.

    Once ``stopping`` is set (the worker was told to stop), an ack or nack that Redis cannot take
    is given up instead of retried until Redis answers: the message stays unacknowledged, as a
    crashed worker's does, and is redelivered once this worker's heartbeat lapses.
    """

    def __init__(self, *, stopping: threading.Event, **options: Any) -> None:
        super().__init__(**options)
        self.stopping = stopping

    def consume(self, queue_name: str, prefetch: int = 1, timeout: int = 5000) -> Consumer:
        return stoppable_consumer(self, queue_name, prefetch, timeout, stopping=self.stopping)

    def keep_alive(self) -> None:
        dispatch_qsize(self, next(iter(self.get_declared_queues()), "default"), maintenance=False)

    def redeliver(self) -> None:
        for queue_name in self.get_declared_queues():
            dispatch_qsize(self, queue_name, maintenance=True)


class JobEngine(BrokerContext):
    def __init__(self, settings: JobSettings, *, group_field: str = DEFAULT_GROUP_FIELD) -> None:
        """``group_field`` is what snapshots call a job's group (the name clients know it by)."""
        self.settings = settings
        self.client = redis_client(
            settings,
            socket_connect_timeout=settings.redis_timeout,
            socket_timeout=settings.redis_timeout,
            health_check_interval=30,
            retry=redis_retry(),
            retry_on_error=RETRY_ON,
        )
        #: Counts this process's status changes in batches (started by workers; web: ``start``).
        self.run_metrics = RunMetrics(client=self.client)
        self.store = JobStore(
            client=self.client,
            counter=self.run_metrics,
            result_ttl=settings.result_ttl,
            pending_ttl=settings.pending_ttl,
            event_log_max=settings.event_log_max,
            group_field=group_field,
            durable_writes=settings.durable_writes,
            durable_timeout=settings.redis_timeout / 2,  # WAIT answers before the read times out
        )
        interval = settings.worker_heartbeat_interval
        self.leases = RunLeases(store=self.store, lease=interval * MISSED_BEATS_ALLOWED)
        heartbeat = WorkerHeartbeat(
            client=self.client,
            interval=interval,
            leases=self.leases,
            keep_alive=lambda: self.broker.keep_alive(),
            on_beat=self.reaper_round,
            settle=self.leases.lease + settings.lease_grace,
            on_outage_while_draining=self.try_redis_once,
        )
        #: How this worker process shares its threads between namespaces (``fairness.py``).
        self.fair = FairShare(client=self.client, reserve=settings.fair_share_reserve)
        #: Set when this worker process is told to stop: what Redis cannot take then is left to
        #: the reaper and to Dramatiq's redelivery, as a crash would leave it.
        self.stopping = threading.Event()
        self._trying_once = False
        self.status = JobStatusMiddleware(
            store=self.store,
            stopping=self.stopping,
            leases=self.leases,
            heartbeat=heartbeat,
            fair=self.fair,
            default_max_retries=settings.max_retries,
            outage_grace=settings.outage_grace,
        )
        self.broker = JobsBroker(
            stopping=self.stopping,
            client=self.client,
            namespace=keys.DRAMATIQ_NAMESPACE,
            heartbeat_timeout=int(settings.broker_heartbeat_timeout * 1000),
            maintenance_chance=settings.broker_maintenance_chance,
            middleware=[
                AgeLimit(),
                TimeLimit(),
                ShutdownNotifications(),
                Callbacks(),
                Pipelines(),
                self.run_metrics,  # before the status middleware: its after_* hooks run after
                self.status,
                Retries(max_retries=settings.max_retries),
                CurrentMessage(),
                Cancellation(store=self.store, grace=settings.cancel_grace),
                heartbeat,
                PeriodiqMiddleware(skip_delay=PERIODIC_SKIP_DELAY_S),
                LogFormat(log_format=settings.log_format),
                self,
            ],
        )
        if settings.worker_metrics:
            # Imported only when asked for: the module creates its metrics folder when imported.
            from dramatiq.middleware.prometheus import Prometheus

            self.broker.add_middleware(Prometheus())

    def try_redis_once(self) -> None:
        """From now on, try each Redis command once: the worker is stopping and Redis is gone, and
        what is left of its shutdown (the ack of each run it ends, its goodbye, its last metrics)
        would spend redis-py's retries, some 3.5 s, on each command. Its runs' writes ride out
        outages with backoff of their own; those they give up are left to the reaper."""
        if self._trying_once:
            return
        self._trying_once = True
        self.client.set_retry(Retry(NoBackoff(), 0))
        logger.warning("Redis unavailable while the worker stops: each command is tried once from now on")

    def reap(self) -> tuple[int, int]:
        """Requeue (or fail, when out of attempts) the jobs whose run's lease lapsed."""
        return reap(
            broker=self.broker,
            store=self.store,
            grace=self.settings.lease_grace,
            max_retries=lambda message: self.status.max_retries(self.broker, message),
        )

    def reaper_round(self, worker_id: str) -> None:
        """Each heartbeat: this process's fair-share round; the reaper and the broker's redelivery,
        run by one worker per interval (whichever asks first)."""
        self.fair.on_beat(self.broker)

        def round_() -> None:
            self.broker.redeliver()
            self.reap()

        reap_if_first(self.client, worker_id, self.settings.worker_heartbeat_interval, round_)

    def declare_plugins(self) -> None:
        """Import ``JOB_MODULES`` (their ``@job`` actors join the broker), then apply the per-type
        policies ``JOB_TIME_LIMITS`` and ``JOB_RETRIES`` to every declared job type."""
        for module in self.settings.job_modules:
            importlib.import_module(module)
        actors = self.broker.actors
        for variable, policies in (
            ("JOB_TIME_LIMITS", self.settings.job_time_limits),
            ("JOB_RETRIES", self.settings.job_retries),
        ):
            for job_type in policies.keys() - actors.keys():
                raise SettingsError(f"{variable} names {job_type!r}, which is not a job type")
        for job_type, seconds in self.settings.job_time_limits.items():
            actors[job_type].options["time_limit"] = int(seconds * 1000)
        for job_type, policy in self.settings.job_retries.items():
            actors[job_type].options.update(
                max_retries=policy.retries,
                min_backoff=int(policy.first_backoff * 1000),
                max_backoff=int(policy.max_backoff * 1000),
            )
