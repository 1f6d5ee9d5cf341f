"""Benchmark: no-op jobs through bare Dramatiq, this project (from Python and over HTTP) and Celery.

    .venv/bin/python -m tests.perf.bench_throughput [--jobs 2000] [--threads 8]

One Redis, one worker process with ``--threads`` threads for each system in turn. The ``--jobs``
jobs are sent with no worker running (the send rate: the two cores are not shared with a
worker), then the worker is started and timed from the first job done to the last (the work rate):

1. bare Dramatiq (``tests/perf/bare_dramatiq.py``: no status; one ``INCR`` per job to know it ran);
2. this project, ``submit_job`` from Python, the full status model (PENDING → STARTED → SUCCESS,
   snapshot, seq, event log, wake-up, metrics, the run's lease);
3. this project over HTTP: ``POST /jobs/quick_steps {"steps": 0}`` from 32 concurrent clients
   (keep-alive connections on raw asyncio streams, in this process) with a tenant's API key, to
   a web server started as the tests start it (``python -m service.serve``); the key's rate limit
   is raised so that the whole run fits in its burst (its one script per request still runs).
   The web server is stopped before the worker starts;
4. Celery (``tests/perf/bare_celery.py``), ``--pool threads --concurrency <threads>``, Redis broker
   and result backend, ``task_track_started``; skipped, with a message, if Celery is not installed
   (``.venv/bin/pip install -e ".[perf]"``). Sent with ``.delay()``: the sender subscribes to each
   task's result channel, as Celery does, which is in its send commands.

For each it prints both rates, the work rate's ratio to bare Dramatiq, the Redis commands per
job of each phase and in all, as Redis counts them (``INFO stats`` ``total_commands_processed``,
commands inside scripts included; the worker's start-up and heartbeats are in the count too),
and the CPU the Redis server spent per job (``INFO cpu``): what bounds a deployment's jobs/s
(docs/scaling.md).

A second table sets the POST rate of row 3 beside that of a bare Quart app on Hypercorn
(``tests/perf/bare_web.py``, served like ``service/serve.py``) answering the same POST with no
work, from the same 32 clients: the project's request path costs what the ratio says (goal ≥ 0.9).
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext

import httpx
import redis

from tests.support.servers import (
    REPO_ROOT,
    STARTUP_TIMEOUT,
    RedisServer,
    ServiceProcess,
    free_port,
    service_env,
    wait_until,
)

#: Concurrent HTTP clients, and what each POSTs.
CLIENTS = 32
JOB_TYPE = "quick_steps"
BODY = {"steps": 0}
#: Sent/s, send commands per job, done/s, work commands per job, Redis CPU per job (µs, both phases).
Row = tuple[float, float, float, float, float]
Sender = AbstractContextManager[Callable[[], None]]


def commands(client: redis.Redis) -> int:
    return int(client.info("stats")["total_commands_processed"])


def redis_cpu(client: redis.Redis) -> float:
    """Seconds of CPU the Redis server has used (user + system)."""
    cpu = client.info("cpu")
    return float(cpu["used_cpu_user"]) + float(cpu["used_cpu_sys"])


def project_done(client: redis.Redis, jobs: int) -> int:
    """This project's jobs done of the ``jobs`` sent: those no longer waiting or running (the
    active set loses a job in the same step as its terminal status; the metrics are written
    once a second, too late for a timer)."""
    from actors.jobs import keys

    return jobs - int(client.zcard(keys.ACTIVE))


def start(args: list[str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", *args],
        cwd=REPO_ROOT,
        env=os.environ.copy(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM to the process group, SIGKILL if it has not exited in 15 s."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def each(send_one: Callable[[], object], jobs: int) -> Sender:
    """A sender of ``jobs`` jobs from Python, one call at a time."""

    def send() -> None:
        for _ in range(jobs):
            send_one()

    return nullcontext(send)


def run(sender: Sender, done: Callable[[], int], client: redis.Redis, jobs: int, worker: list[str]) -> Row:
    """Send ``jobs`` jobs with no worker running (the send rate), then start the worker and time
    it to the last job done (the work rate); each phase's commands per job as Redis counts them.
    ``sender`` is entered (a server started) before the count and left after it."""
    with sender as send:
        cpu_before = redis_cpu(client)
        before, started = commands(client), time.perf_counter()
        send()
        send_rate, send_commands = jobs / (time.perf_counter() - started), (commands(client) - before) / jobs
    base = done()  # with no worker yet, nothing of this run is done
    before = commands(client)
    process = start(worker)
    try:
        # Timed from the first job done (the worker's boot is not the job path) to the last.
        wait_until(lambda: done() - base >= 1, timeout=120, what="the first job", interval=0.002)
        first, started = done() - base, time.perf_counter()
        wait_until(lambda: done() - base >= jobs, timeout=600, what=f"{jobs} jobs", interval=0.02)
        took = time.perf_counter() - started
        work_commands = (commands(client) - before) / jobs
        cpu_per_job = (redis_cpu(client) - cpu_before) / jobs * 1e6
    finally:
        stop(process)
    return send_rate, send_commands, (jobs - first) / took, work_commands, cpu_per_job


async def _post_all(port: int, jobs: int, headers: dict[str, str]) -> None:
    body = json.dumps(BODY).encode()
    lines = [f"POST /jobs/{JOB_TYPE} HTTP/1.1", "Host: bench", "Content-Type: application/json"]
    lines += [f"Content-Length: {len(body)}", *(f"{name}: {value}" for name, value in headers.items())]
    request = "\r\n".join([*lines, "", ""]).encode() + body
    remaining = iter(range(jobs))  # shared: each job goes to whichever client is free

    async def one_client() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            for _ in remaining:
                writer.write(request)
                status, *fields = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
                answer = dict(field.lower().split(": ", 1) for field in fields if field)
                text = await reader.readexactly(int(answer["content-length"]))
                if status.split(" ")[1] != "202":
                    raise RuntimeError(f"POST /jobs/{JOB_TYPE}: {status} {text!r}")
        finally:
            writer.close()

    await asyncio.gather(*(one_client() for _ in range(CLIENTS)))


def post_all(port: int, jobs: int, headers: dict[str, str]) -> None:
    """``jobs`` POSTs from ``CLIENTS`` concurrent keep-alive connections, each expecting 202.

    Raw HTTP/1.1 on asyncio streams, as ``bench_sse``'s clients: ``httpx.AsyncClient`` costs
    this process (sharing the two cores with the server) so much that it, not the server, set
    the rate (about 220 POST/s against the bare app's 2,000)."""
    asyncio.run(_post_all(port, jobs, headers))


@contextmanager
def project_web(redis_server: RedisServer, jobs: int) -> Iterator[Callable[[], None]]:
    """The project's web server and a key of the tests' tenant, for as long as the send lasts."""
    from tests.support.api import bearer, new_key
    from tests.support.servers import WebServer

    web = WebServer(redis_server, RATE_LIMIT_PER_MINUTE=str(max(1200, 2 * jobs)))
    try:
        headers = bearer(new_key(web))
        yield lambda: post_all(web.port, jobs, headers)
    finally:
        web.stop()


def bare_web_rate(jobs: int) -> float:
    """POST/s of ``tests.perf.bare_web``, from the same clients."""
    port = free_port()
    bind = f"127.0.0.1:{port}"
    server = ServiceProcess("bare-web", [sys.executable, "-m", "tests.perf.bare_web", "--bind", bind], {})
    try:
        wait_until(
            lambda: server.check_alive() and _answers(f"http://{bind}/healthz"),
            timeout=STARTUP_TIMEOUT,
            what="the bare web server",
        )
        started = time.perf_counter()
        post_all(port, jobs, {})
        return jobs / (time.perf_counter() - started)
    finally:
        server.stop()


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def celery_row(client: redis.Redis, jobs: int, threads: int) -> Row | None:
    if importlib.util.find_spec("celery") is None:
        print('Celery is not installed (.venv/bin/pip install -e ".[perf]"): its row is skipped.')
        return None
    from tests.perf import bare_celery

    counter = bare_celery.DoneCounter(client)
    try:
        worker = ["celery", "-A", "tests.perf.bare_celery", "worker", "--pool", "threads"]
        worker += ["--concurrency", str(threads), "--loglevel", "WARNING"]
        return run(each(bare_celery.noop.delay, jobs), counter, client, jobs, worker)
    finally:
        counter.close()


def bench(jobs: int, threads: int) -> None:
    redis_server = RedisServer()
    redis_server.start()
    os.environ.update(service_env(redis_server.url))
    client = redis_server.client()
    workers = ["--processes", "1", "--threads", str(threads)]
    try:
        from tests.perf import bare_dramatiq

        rows: dict[str, Row] = {}
        rows["bare Dramatiq"] = run(
            each(bare_dramatiq.noop.send, jobs),
            lambda: int(client.get(bare_dramatiq.DONE_KEY) or 0),
            client,
            jobs,
            ["dramatiq", "tests.perf.bare_dramatiq", *workers],
        )

        import actors
        from actors.jobs.submit import submit_job

        rows["this project, Python submit"] = run(
            each(lambda: submit_job(actors.engine, JOB_TYPE, BODY), jobs),
            lambda: project_done(client, jobs),
            client,
            jobs,
            ["dramatiq", "actors", *workers],
        )
        bare_web = bare_web_rate(jobs)
        http = f"this project, HTTP submit ({CLIENTS} concurrent)"
        rows[http] = run(
            project_web(redis_server, jobs),
            lambda: project_done(client, jobs),
            client,
            jobs,
            ["dramatiq", "actors", *workers],
        )
        celery = celery_row(client, jobs, threads)
        if celery is not None:
            rows[f"Celery (threads x{threads}, Redis results, started)"] = celery
    finally:
        redis_server.stop()
    bare = rows["bare Dramatiq"]
    print(f"{jobs} no-op jobs; sent with no worker running, then one worker process with {threads} threads:")
    header = f"{'sent/s':>7} {'cmds':>5} {'done/s':>7} {'ratio':>6} {'cmds':>5} {'cmds/job':>9}"
    print(f"  {'':<44} {header} {'Redis µs/job':>12}")
    for name, (send_rate, send_commands, work_rate, work_commands, cpu) in rows.items():
        print(
            f"  {name:<44} {send_rate:7.0f} {send_commands:5.1f} {work_rate:7.0f} "
            f"{work_rate / bare[2]:6.2f} {work_commands:5.1f} {send_commands + work_commands:9.1f} "
            f"{cpu:12.0f}"
        )
    print("  (done/s from the first job done to the last; cmds per job include the worker's boot;")
    print("   Redis µs/job: the server's CPU, both phases, the benchmark's own polling included)")
    print(f"\nPOST /jobs/{JOB_TYPE} {BODY}, {CLIENTS} concurrent clients, one Hypercorn process:")
    print(f"  {'bare Quart + Hypercorn (no work)':<44} {bare_web:7.0f} POST/s")
    ours = rows[http][0]
    print(f"  {'this project (POST /jobs)':<44} {ours:7.0f} POST/s  ratio {ours / bare_web:.2f} (goal ≥ 0.9)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=2000)
    parser.add_argument("--threads", type=int, default=8)
    args = parser.parse_args()
    bench(args.jobs, args.threads)


if __name__ == "__main__":
    main()
