"""``GET /metrics``: the service in Prometheus's text format.

Fleet-wide figures come from Redis (so every web process reports the same, read by the engine's
``Fleet``): status changes per job type and status, the run-time histogram per job type, queue
depths and live workers. Per-process figures come from this process's hub: open streams, events
pushed, streams dropped. Dramatiq's own worker metrics are served by its Prometheus middleware in
each worker process when ``WORKER_METRICS`` is set (see the README).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector

from actors.jobs.metrics import FIELD_SEPARATOR, cumulative

from .context import Services


async def render_metrics(svc: Services) -> bytes:
    figures = await svc.fleet.figures()
    snapshot = _Snapshot(
        transitions=figures.transitions,
        durations=figures.durations,
        queues=await svc.fleet.queues(),
        workers=len(await svc.fleet.workers()),
        hub=svc.hub.stats(),
        current={"PENDING": figures.waiting, "STARTED": figures.running},
    )
    registry = CollectorRegistry(auto_describe=False)
    registry.register(snapshot)
    return generate_latest(registry)


class _Snapshot(Collector):
    """The figures read for one scrape, as metric families."""

    def __init__(
        self,
        *,
        transitions: dict[str, int],
        durations: dict[str, float],
        queues: dict[str, dict[str, int]],
        workers: int,
        hub: dict[str, int | bool],
        current: dict[str, int],
    ) -> None:
        self.transitions = transitions
        self.durations = durations
        self.queues = queues
        self.workers = workers
        self.hub = hub
        self.current = current

    def collect(self) -> Iterator[Metric]:
        changes = CounterMetricFamily(
            "jobservice_job_status_changes",
            "Jobs entering each status, by job type",
            labels=["job_type", "status"],
        )
        for field, count in sorted(self.transitions.items()):
            job_type, _, status = field.partition(FIELD_SEPARATOR)
            changes.add_metric([job_type, status], count)
        yield changes
        now = GaugeMetricFamily(
            "jobservice_jobs", "Jobs waiting for their first start, and running", labels=["status"]
        )
        for status, count in self.current.items():
            now.add_metric([status], count)
        yield now

        runs = HistogramMetricFamily(
            "jobservice_job_duration_seconds", "How long jobs ran, by job type", labels=["job_type"]
        )
        by_type: defaultdict[str, dict[str, float]] = defaultdict(dict)
        for field, value in self.durations.items():
            job_type, _, part = field.partition(FIELD_SEPARATOR)
            by_type[job_type][part] = value
        for job_type, parts in sorted(by_type.items()):
            runs.add_metric([job_type], cumulative(parts), sum_value=parts.get("sum", 0.0))
        yield runs

        depth = GaugeMetricFamily(
            "jobservice_queue_messages", "Messages per queue and state", labels=["queue", "state"]
        )
        for queue, counts in sorted(self.queues.items()):
            for state, count in counts.items():
                depth.add_metric([queue, state], count)
        yield depth
        yield GaugeMetricFamily(
            "jobservice_workers", "Worker processes with a fresh heartbeat", value=self.workers
        )
        yield GaugeMetricFamily(
            "jobservice_open_streams",
            "Open event streams in this web process",
            value=int(self.hub["subscriptions"]),
        )
        yield CounterMetricFamily(
            "jobservice_events_pushed",
            "Events sent on streams by this web process",
            value=int(self.hub["events_sent"]),
        )
        yield CounterMetricFamily(
            "jobservice_streams_dropped",
            "Streams dropped because their client stopped reading",
            value=int(self.hub["dropped_total"]),
        )
