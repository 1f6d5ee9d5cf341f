"""Benchmark: Redis memory per kept finished no-op job, by part (``MEMORY USAGE`` of every key).

    .venv/bin/python -m tests.perf.bench_memory [--jobs 10000] [--threads 8]

Starts its own ``redis-server`` on a free port, submits ``--jobs`` no-op jobs (``quick_steps``
with ``steps: 0``, in no workspace) from Python as ``submit_job`` does for the API, then runs one
real worker process (``dramatiq actors``) until every job is done and stops it: each job is
written exactly as a deployment writes it (PENDING at its submission, STARTED when a run claims
it, SUCCESS with its result), with the real Dramatiq message it was sent with kept beside its
record. Then it reads ``MEMORY USAGE <key> SAMPLES 0`` of every key in the server and sums it by
kind: the jobs' records, their own logs, the namespace's and group's logs and job indexes, the
active set, the broker's keys and the rest (the worker's heartbeat, metrics). Each part is printed
in bytes per job (the part's total over ``--jobs``); the shared logs, bounded by
``EVENT_LOG_MAX`` entries, cost less per job the more jobs are kept.

It also times one maintenance ``sweep`` (``clean_up``'s work) over what is kept and counts the
Redis commands it sent: a sweep whose cost does not grow with the jobs kept sends the same number
for 1,000 jobs as for 10,000 (``docs/scaling.md``).
"""

from __future__ import annotations

import argparse
import os
import time
from collections import defaultdict

import redis

from tests.perf.bench_throughput import JOB_TYPE, commands, project_done, start, stop
from tests.support.servers import RedisServer, service_env, wait_until

#: The parts a kept job's bytes are reported by: (key prefix, name), the first match wins.
PARTS = (
    ("jobs:job:", "record (hash)"),
    ("jobs:log:", "job log (stream; before issue 25)"),
    ("jobs:history:", "job history (list)"),
    ("jobs:message:", "job message (string)"),
    ("jobs:tenant-log:", "namespace log, share"),
    ("jobs:group-log:", "group log, share"),
    ("jobs:index:", "namespace index (zset)"),
    ("jobs:group-jobs:", "group index (zset)"),
    ("jobs:groups:", "namespace's groups"),
    ("jobs:active", "active set"),
    ("dramatiq:", "broker keys"),
)
OTHER = "other (metrics, worker, namespaces)"
#: Longest wait for the worker to finish every job, in seconds.
WORK_TIMEOUT_S = 600


def usage_by_part(client: redis.Redis) -> tuple[dict[str, int], dict[str, int]]:
    """Bytes and key counts of every key in the server, summed by part."""
    sizes: dict[str, int] = defaultdict(int)
    counts: dict[str, int] = defaultdict(int)
    for raw in client.scan_iter(count=1000):
        key = raw.decode()
        part = next((name for prefix, name in PARTS if key.startswith(prefix)), OTHER)
        sizes[part] += int(client.memory_usage(key, samples=0) or 0)
        counts[part] += 1
    return dict(sizes), dict(counts)


def sweep_cost(client: redis.Redis) -> tuple[int, float]:
    """Commands sent and seconds taken by one maintenance sweep over what the server keeps, as
    ``clean_up`` runs it with the default settings."""
    from actors.jobs.maintenance import sweep
    from actors.jobs.settings import JobSettings

    defaults = JobSettings.defaults()
    before, started = commands(client), time.perf_counter()
    sweep(client, kept_for=min(defaults.result_ttl, defaults.pending_ttl))
    elapsed = time.perf_counter() - started
    return commands(client) - before - 1, elapsed  # less the INFO that read the count


def fill(redis_server: RedisServer, jobs: int, threads: int) -> None:
    """``jobs`` no-op jobs submitted, then worked to SUCCESS by one real worker process."""
    import actors
    from actors.jobs.submit import submit_job

    for _ in range(jobs):
        submit_job(actors.engine, JOB_TYPE, {"steps": 0})
    client = redis_server.client()
    worker = start(["dramatiq", "actors", "--processes", "1", "--threads", str(threads)])
    try:
        wait_until(lambda: project_done(client, jobs) == jobs, timeout=WORK_TIMEOUT_S, what="every job done")
    finally:
        stop(worker)


def bench(jobs: int, threads: int) -> None:
    redis_server = RedisServer()
    redis_server.start()
    os.environ.update(service_env(redis_server.url))
    try:
        client = redis_server.client()
        fill(redis_server, jobs, threads)
        sizes, counts = usage_by_part(client)
        swept, took = sweep_cost(client)
        version = client.info("server")["redis_version"]
    finally:
        redis_server.stop()
    print(f"{jobs} finished no-op jobs ({JOB_TYPE} {{'steps': 0}}), Redis {version}:")
    print(f"  {'part':<40} {'keys':>7} {'bytes':>11} {'bytes/job':>10}")
    for name in [name for _, name in PARTS] + [OTHER]:
        if name in sizes:
            print(f"  {name:<40} {counts[name]:7d} {sizes[name]:11d} {sizes[name] / jobs:10.0f}")
    total = sum(sizes.values())
    print(f"  {'all':<40} {sum(counts.values()):7d} {total:11d} {total / jobs:10.0f}")
    print(f"maintenance sweep: {swept} Redis commands, {took * 1000:.0f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=10_000)
    parser.add_argument("--threads", type=int, default=8)
    args = parser.parse_args()
    bench(args.jobs, args.threads)


if __name__ == "__main__":
    main()
