"""Benchmark: no-op jobs through bare Dramatiq and through this project, side by side.

    .venv/bin/python -m tests.perf.bench_throughput [--jobs 2000] [--threads 8]

One Redis, one worker process with ``--threads`` threads for each system in turn. The ``--jobs`` jobs
are sent from Python with no worker running (the send rate: the two cores are not shared), then
the worker is started and timed until the last job is done (the work rate):

1. bare Dramatiq (``tests/perf/bare_dramatiq.py``: no status; one ``INCR`` per job to know it ran);
2. this project, ``submit_job`` from Python, the full status model (PENDING → STARTED → SUCCESS,
   snapshot, seq, event log, wake-up, metrics, the run's lease).

For each it prints both rates, the work rate's ratio to bare Dramatiq, and the Redis commands per
job of each phase and in all, as Redis counts them (``INFO stats`` ``total_commands_processed``,
commands inside scripts included; the worker's start-up and heartbeats are in the count too).
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


def run(  # type: ignore[no-untyped-def]
    send, done, client: redis.Redis, jobs: int, start_worker
) -> tuple[float, float, float, float]:
    """Send ``jobs`` jobs with no worker running (the send rate), then start the worker and time
    it to the last job done (the work rate); each phase's commands per job as Redis counts them."""
    before, started = commands(client), time.perf_counter()
    for _ in range(jobs):
        send()
    send_rate, send_commands = jobs / (time.perf_counter() - started), (commands(client) - before) / jobs
    before = commands(client)
    worker = start_worker()
    try:
        # Timed from the first job done (the worker's boot is not the job path) to the last.
        wait_until(lambda: done() >= 1, timeout=120, what="the first job", interval=0.002)
        first, started = done(), time.perf_counter()
        wait_until(lambda: done() >= jobs, timeout=600, what=f"{jobs} jobs", interval=0.02)
        took = time.perf_counter() - started
        work_commands = (commands(client) - before) / jobs
    finally:
        os.killpg(worker.pid, 15)
        worker.wait()
    return send_rate, send_commands, (jobs - first) / took, work_commands


def bench(jobs: int, threads: int) -> None:
    redis_server = RedisServer()
    redis_server.start()
    os.environ.update(service_env(redis_server.url))
    client = redis_server.client()
    try:
        from tests.perf import bare_dramatiq

        bare = run(
            bare_dramatiq.noop.send,
            lambda: int(client.get(bare_dramatiq.DONE_KEY) or 0),
            client,
            jobs,
            lambda: start("tests.perf.bare_dramatiq", redis_server, threads),
        )

        import actors
        from actors.jobs import keys
        from actors.jobs.submit import submit_job

        done_field = "quick_steps\tSUCCESS"
        ours = run(
            lambda: submit_job(actors.engine, "quick_steps", {"steps": 0}),
            lambda: int(client.hget(keys.METRICS_TRANSITIONS, done_field) or 0),
            client,
            jobs,
            lambda: start("actors", redis_server, threads),
        )
    finally:
        redis_server.stop()
    print(f"{jobs} no-op jobs; sent with no worker running, then one worker process with {threads} threads:")
    print(f"  {'':<28} {'sent/s':>7} {'cmds':>5} {'done/s':>7} {'ratio':>6} {'cmds':>5} {'cmds/job':>9}")
    for name, (send_rate, send_commands, work_rate, work_commands) in (
        ("bare Dramatiq", bare),
        ("this project", ours),
    ):
        print(
            f"  {name:<28} {send_rate:7.0f} {send_commands:5.1f} {work_rate:7.0f} "
            f"{work_rate / bare[2]:6.2f} {work_commands:5.1f} {send_commands + work_commands:9.1f}"
        )
    print("  (done/s from the first job done to the last; cmds per job include the worker's boot)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=2000)
    parser.add_argument("--threads", type=int, default=8)
    args = parser.parse_args()
    bench(args.jobs, args.threads)


if __name__ == "__main__":
    main()
