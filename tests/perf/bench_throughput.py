"""Benchmark: no-op jobs through bare Dramatiq and through this project, side by side.

    .venv/bin/python -m tests.perf.bench_throughput [--jobs 2000] [--threads 8]

One Redis, one worker process with ``--threads`` threads for each system in turn, ``--jobs`` jobs
sent from Python as fast as they go, timed from the first send to the last job done:

1. bare Dramatiq (``tests/perf/bare_dramatiq.py``: no status; one ``INCR`` per job to know it ran);
2. this project, ``submit_job`` from Python, the full status model (PENDING → STARTED → SUCCESS,
   snapshot, seq, event log, wake-up, metrics, the run's lease).

For each it prints jobs/s, the ratio to bare Dramatiq and the Redis commands per job, as Redis
counts them (``INFO stats`` ``total_commands_processed``, commands inside scripts included;
the workers' heartbeats during the run are in the count too).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time

import redis

from tests.support.servers import REPO_ROOT, RedisServer, service_env, wait_until


def commands(client: redis.Redis) -> int:
    return int(client.info("stats")["total_commands_processed"])


def start(module: str, redis_server: RedisServer, threads: int) -> subprocess.Popen:
    env = {**os.environ, **service_env(redis_server.url)}
    return subprocess.Popen(
        [sys.executable, "-m", "dramatiq", module, "--processes", "1", "--threads", str(threads)],
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def run(send, done, client: redis.Redis, jobs: int) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    """Send ``jobs`` jobs and wait until ``done()`` says they all ran: (jobs/s, commands/job)."""
    before, started = commands(client), time.perf_counter()
    for _ in range(jobs):
        send()
    wait_until(lambda: done() >= jobs, timeout=600, what=f"{jobs} jobs", interval=0.05)
    took = time.perf_counter() - started
    return jobs / took, (commands(client) - before) / jobs


def bench(jobs: int, threads: int) -> None:
    redis_server = RedisServer()
    redis_server.start()
    os.environ.update(service_env(redis_server.url))
    client = redis_server.client()
    try:
        from tests.perf import bare_dramatiq

        bare = start("tests.perf.bare_dramatiq", redis_server, threads)
        try:
            time.sleep(2)  # the worker's start-up is not what is measured
            bare_rate, bare_commands = run(
                bare_dramatiq.noop.send, lambda: int(client.get(bare_dramatiq.DONE_KEY) or 0), client, jobs
            )
        finally:
            os.killpg(bare.pid, 15)
            bare.wait()

        import actors
        from actors.jobs import keys
        from actors.jobs.submit import submit_job

        worker = start("actors", redis_server, threads)
        try:
            time.sleep(2)
            done_field = "quick_steps\tSUCCESS"
            ours_rate, ours_commands = run(
                lambda: submit_job(actors.engine, "quick_steps", {"steps": 0}),
                lambda: int(client.hget(keys.METRICS_TRANSITIONS, done_field) or 0),
                client,
                jobs,
            )
        finally:
            os.killpg(worker.pid, 15)
            worker.wait()
    finally:
        redis_server.stop()
    print(f"{jobs} no-op jobs, one worker process with {threads} threads, the same Redis:")
    print(f"  {'system':<40} {'jobs/s':>8} {'ratio':>6} {'commands/job':>13}")
    print(f"  {'bare Dramatiq (no status)':<40} {bare_rate:8.0f} {1:6.2f} {bare_commands:13.1f}")
    print(
        f"  {'this project, submit_job from Python':<40} {ours_rate:8.0f} "
        f"{ours_rate / bare_rate:6.2f} {ours_commands:13.1f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=2000)
    parser.add_argument("--threads", type=int, default=8)
    args = parser.parse_args()
    bench(args.jobs, args.threads)


if __name__ == "__main__":
    main()
