"""Benchmark: SSE push against the 2 s polling it replaces, stream density, and fan-out.

    .venv/bin/python -m tests.perf.bench_sse [--streams 1000] [--jobs 100] [--idle 1000,5000,10000]
        [--h2-idle 10000,50000] [--h2-jobs 1000] [--h2-changes 1000]

Starts its own ``redis-server`` and one web process (``python -m service.serve``), then, in one run:

1. Push latency: ``--streams`` SSE clients watch ``--jobs`` jobs; a writer using the workers' own
   job store (the status middleware's code path) makes one change at a time, stamped with its
   write time; each client's receive time minus that stamp is a latency. The same jobs are then
   watched by as many clients polling ``GET /jobs/<id>`` every 2 s (the seed's setting), each
   change's latency being the first poll that sees it. Prints p50/p99 for both, the ratio of
   medians, and HTTP requests per job watched.
2. Density: idle streams on one job at each level of ``--idle``, in a fresh web process; its RSS
   growth per stream over its baseline, and its Redis connections at each level.
3. Fan-out: with the largest idle level open, one progress change, then the terminal change
   (which also ends every stream); for each, the time until the last client has it, and the CPU
   the web process (the server's share) and this process (the clients') spent meanwhile.
4. What authentication costs: push latency, and RSS per idle stream at ``--auth-idle`` streams,
   measured in fresh web processes with ``AUTH=false`` (the baseline) and with keys, and their
   ratios (a key is checked once per stream, never per event).

5. HTTP/2 at scale: in a fresh web process, idle streams over HTTP/2 (as many to a connection
   as the server allows, a hundred) on ``--h2-jobs`` jobs, at each level of ``--h2-idle``: RSS
   per stream, the process's open files and its Redis connections; then, with the largest level
   open, the push latency of ``--h2-changes`` stamped changes, each to one job and its streams.
   Over HTTP/1.1 each stream is a socket, and this machine caps a process at 20,000 files.

Phases 1-3 run with authentication on, as in production: each client sends a key of one tenant,
whose rate and stream limits are lifted for the run (a thousand browsers would have keys of
their own).

Every figure is printed beside its target. Clients are raw asyncio sockets or HTTP/2 connections
in this process (``tests.perf.sse_clients``; the web server runs in another), so the client side
costs little. Run it on an otherwise idle machine.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import random
import resource
import statistics
import time
import uuid
from collections.abc import Callable, Iterable

import redis

from actors.jobs.ref import JobRef
from actors.jobs.states import JobStatus
from actors.jobs.store import JobStore
from service.settings import WebSettings
from tests.support.h2client import H2Client
from tests.support.servers import RedisServer
from tests.support.stack import engine_on

from .sse_clients import (
    POLL_INTERVAL_S,
    H2Watcher,
    StreamClient,
    Web,
    close_h2_streams,
    close_streams,
    open_h2_streams,
    open_streams,
    poll_forever,
    start_web,
)


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmRSS:"))


def web_redis_connections(client: redis.Redis) -> int:
    return sum(1 for c in client.client_list() if c["name"].startswith("jobs-web-"))


def new_jobs(web: Web, store: JobStore, count: int) -> list[str]:
    job_ids = [str(uuid.uuid4()) for _ in range(count)]
    for job_id in job_ids:
        store.create(JobRef(job_id, namespace=web.namespace), "score_contracts")
    return job_ids


async def stamped_changes(web: Web, store: JobStore, job_ids: list[str], changes: int) -> None:
    """``changes`` progress changes to ``job_ids`` in turn, 5 ms apart, each stamped with its
    write time, through the workers' own store; then a second for the last to land."""
    loop = asyncio.get_running_loop()
    for i in range(changes):
        ref = JobRef(job_ids[i % len(job_ids)], namespace=web.namespace)
        await loop.run_in_executor(
            None, lambda r=ref, n=i: store.progress(r, n % 100, f"t={time.time():.6f}")
        )
        await asyncio.sleep(0.005)
    await asyncio.sleep(1.0)


def latency_figures(events: Iterable[tuple[float, dict]], expected: int) -> dict[str, float]:
    """p50 and p99 of the stamped changes' latencies (arrival minus write time) in ``events``."""
    latencies = [
        (received - float(data["message"][2:])) * 1000
        for received, data in events
        if (data.get("message") or "").startswith("t=")
    ]
    return {
        "p50": statistics.median(latencies),
        "p99": percentile(latencies, 0.99),
        "delivered": len(latencies),
        "expected": expected,
    }


async def push_latency(web: Web, store: JobStore, streams: int, jobs: int) -> dict[str, float]:
    job_ids = new_jobs(web, store, jobs)
    clients, tasks = await open_streams(web, job_ids, streams)
    await stamped_changes(web, store, job_ids, 5 * jobs)
    await close_streams(clients, tasks)
    return latency_figures((event for c in clients for event in c.received), 5 * streams)


async def poll_latency(
    web: Web, store: JobStore, pollers: int, jobs: int, seconds: float
) -> dict[str, float]:
    job_ids = new_jobs(web, store, jobs)
    seen: dict[int, list[tuple[float, int]]] = {i: [] for i in range(pollers)}
    counter = [0]
    started = time.time()
    tasks = [
        asyncio.create_task(poll_forever(web.port, job_ids[i % jobs], seen[i], counter, web.auth))
        for i in range(pollers)
    ]
    await asyncio.sleep(POLL_INTERVAL_S + 0.5)
    changed: dict[str, list[tuple[float, int]]] = {job_id: [] for job_id in job_ids}
    deadline = time.time() + seconds
    loop = asyncio.get_running_loop()
    while time.time() < deadline:
        job_id = random.choice(job_ids)
        at = time.time()
        snapshot = await loop.run_in_executor(
            None, lambda j=job_id: store.progress(JobRef(j, namespace=web.namespace), 50)
        )
        changed[job_id].append((at, snapshot["seq"]))
        await asyncio.sleep(0.02)
    await asyncio.sleep(POLL_INTERVAL_S + 0.5)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    elapsed = time.time() - started
    latencies = []
    for i in range(pollers):
        for at, seq in changed[job_ids[i % jobs]]:
            first = next((t for t, s in seen[i] if s >= seq and t >= at), None)
            if first is not None:
                latencies.append((first - at) * 1000)
    return {
        "p50": statistics.median(latencies),
        "p99": percentile(latencies, 0.99),
        "requests": counter[0],
        "per_watcher_minute": counter[0] / pollers / elapsed * 60,
    }


async def idle_rss(web: Web, store: JobStore, count: int) -> float:
    """KiB of RSS per idle stream with ``count`` streams open on one job, in a fresh process."""
    [job_id] = new_jobs(web, store, 1)
    baseline = rss_kib(web.server.process.pid)
    clients, tasks = await open_streams(web, [job_id], count)
    await asyncio.sleep(1.0)
    per_stream = (rss_kib(web.server.process.pid) - baseline) / count
    await close_streams(clients, tasks)
    return per_stream


async def density_and_fanout(web: Web, store: JobStore, levels: list[int], client: redis.Redis) -> None:
    [job_id] = new_jobs(web, store, 1)
    baseline = rss_kib(web.server.process.pid)
    connections_idle = web_redis_connections(client)
    pool_bound = WebSettings.defaults().redis_pool_size + 1
    print(
        f"  web process RSS, no stream open: {baseline / 1024:.1f} MiB; Redis connections: {connections_idle}"
    )
    clients: list[StreamClient] = []
    tasks: list[asyncio.Task] = []
    for level in levels:
        more, more_tasks = await open_streams(web, [job_id], level - len(clients))
        clients += more
        tasks += more_tasks
        await asyncio.sleep(1.0)
        per_stream = (rss_kib(web.server.process.pid) - baseline) / level
        connections = web_redis_connections(client)
        verdict = "ok" if per_stream <= 40 else "OVER"
        print(
            f"  {level:>6} idle streams: {per_stream:5.1f} KiB RSS per stream (target <= 40: {verdict}); "
            f"Redis connections {connections} (target: constant; bound {pool_bound} = pool + 1 pub/sub)"
        )
    ref = JobRef(job_id, namespace=web.namespace)
    for what, change in (
        ("a progress change", lambda: store.progress(ref, 50, "halfway")),
        ("the terminal change (each stream then ends)", lambda: store.transition(ref, JobStatus.SUCCESS)),
    ):
        await fan_out(web, clients, what, change)
    await close_streams(clients, tasks)


async def over_http2(web: Web, store: JobStore, args: argparse.Namespace, client: redis.Redis) -> None:
    """Idle streams over HTTP/2 on ``--h2-jobs`` jobs, as many to a connection as the server
    allows: RSS per stream and open files at each level of ``--h2-idle``; then, with the largest
    open, push latency of ``--h2-changes`` stamped changes, each to one job and all its streams."""
    levels = [int(n) for n in args.h2_idle.split(",")]
    job_ids = new_jobs(web, store, args.h2_jobs)
    pid = web.server.process.pid
    baseline = rss_kib(pid)
    connections: list[H2Client] = []
    watchers: list[H2Watcher] = []
    for level in levels:
        opening = time.monotonic()
        await open_h2_streams(web, job_ids, level - len(watchers), connections, watchers)
        opened_s = time.monotonic() - opening
        await asyncio.sleep(1.0)
        per_stream = (rss_kib(pid) - baseline) / level
        verdict = "ok" if per_stream <= 20 else "OVER"
        print(
            f"  {level:>6} idle streams on {len(connections)} connections (opened in {opened_s:.0f} s): "
            f"{per_stream:5.1f} KiB RSS per stream (target <= 20: {verdict}); web process open files "
            f"{len(os.listdir(f'/proc/{pid}/fd'))}; Redis connections {web_redis_connections(client)}"
        )
    # The clients' own objects (tens of thousands of streams) are frozen out of this process's
    # garbage collections, whose pauses would otherwise be counted as the server's latency.
    gc.collect()
    gc.freeze()
    await stamped_changes(web, store, job_ids, args.h2_changes)
    gc.unfreeze()
    push = latency_figures(
        (e for w in watchers for e in w.events()), args.h2_changes * len(watchers) // len(job_ids)
    )
    verdict = "ok" if push["p99"] <= 50 else "OVER"
    print(
        f"  push with {len(watchers)} streams open, {args.h2_changes} changes each to one job's "
        f"{len(watchers) // len(job_ids)} streams: p50 {push['p50']:.2f} ms, p99 {push['p99']:.2f} ms "
        f"(target <= 50: {verdict}); delivered {push['delivered']}/{push['expected']}"
    )
    await close_h2_streams(connections, watchers)


def cpu_seconds(pid: int) -> float:
    """User and system CPU time a process has used (``/proc/<pid>/stat``)."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def fan_out(web: Web, clients: list[StreamClient], what: str, change: Callable[[], object]) -> None:
    """One change to every client's job: when the last client had it, and the CPU each side spent
    meanwhile (the web process's is the server's share; this process's, the clients')."""
    for c in clients:
        c.received.clear()
    server_before, clients_before = cpu_seconds(web.server.process.pid), time.process_time()
    started = time.time()
    change()
    await asyncio.wait_for(_all_received(clients), 120)
    took_ms = (max(c.received[0][0] for c in clients) - started) * 1000
    server_ms = (cpu_seconds(web.server.process.pid) - server_before) * 1000
    clients_ms = (time.process_time() - clients_before) * 1000
    verdict = "ok" if took_ms <= 500 else "OVER"
    print(
        f"  {what} fanned out to {len(clients)} streams: the last client had it after "
        f"{took_ms:.0f} ms (target <= 500: {verdict}); CPU meanwhile: web process "
        f"{server_ms:.0f} ms ({1000 * server_ms / len(clients):.0f} us a stream), clients {clients_ms:.0f} ms"
    )


async def _all_received(clients: list[StreamClient]) -> None:
    while not all(c.received for c in clients):
        await asyncio.sleep(0.01)


async def main(args: argparse.Namespace) -> None:
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    levels = [int(n) for n in args.idle.split(",")]
    redis_server = RedisServer()
    redis_server.start()
    web = start_web(redis_server)
    client = redis_server.client()
    store = engine_on(redis_server).store
    try:
        print(f"1. push latency, {args.streams} streams on {args.jobs} jobs, against polling every 2 s")
        push = await push_latency(web, store, args.streams, args.jobs)
        poll = await poll_latency(web, store, args.streams, args.jobs, args.poll_seconds)
        ratio = poll["p50"] / push["p50"]
        print(
            f"  SSE push:    p50 {push['p50']:7.2f} ms (target <= 10)  p99 {push['p99']:7.2f} ms (<= 100)"
            f"  delivered {push['delivered']}/{push['expected']}"
        )
        print(f"  2 s polling: p50 {poll['p50']:7.1f} ms              p99 {poll['p99']:7.1f} ms")
        print(f"  median ratio polling/push: {ratio:.0f}x (target >= 100x)")
        print(
            f"  HTTP requests per job watched: SSE 1 per watcher for the job's whole life; polling "
            f"{poll['per_watcher_minute']:.0f} per watcher per minute ({poll['requests']} in the run)"
        )
        print(f"2-3. density and fan-out, idle streams on one job, in a fresh web process: {levels}")
        web.server.stop()
        web = start_web(redis_server)
        await density_and_fanout(web, store, levels, client)
        web.server.stop()
        print(
            f"4. what authentication costs: AUTH=false, then keys; {args.streams} streams, "
            f"{args.auth_idle} idle"
        )
        figures = {}
        for auth in (False, True):
            web = start_web(redis_server, auth=auth)
            push = await push_latency(web, store, args.streams, args.jobs)
            web.server.stop()
            web = start_web(redis_server, auth=auth)  # a fresh process for the memory figure
            figures[auth] = (push["p50"], push["p99"], await idle_rss(web, store, args.auth_idle))
            web.server.stop()
        for name, index, unit in (
            ("push p50", 0, "ms"),
            ("push p99", 1, "ms"),
            ("RSS per idle stream", 2, "KiB"),
        ):
            off, on = figures[False][index], figures[True][index]
            print(
                f"  {name:<20} AUTH=false {off:7.2f} {unit}  keys {on:7.2f} {unit}  ratio {on / off:.2f} "
                "(target <= 1.10)"
            )
        if args.h2_idle:
            print(
                f"5. HTTP/2: idle streams at {args.h2_idle} on {args.h2_jobs} jobs in one fresh web process, "
                "then push with them all open"
            )
            web = start_web(redis_server)
            await over_http2(web, store, args, client)
    finally:
        web.server.stop()
        redis_server.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--streams", type=int, default=1000)
    parser.add_argument("--jobs", type=int, default=100)
    parser.add_argument("--poll-seconds", type=float, default=10.0)
    parser.add_argument("--idle", default="1000,5000,10000")
    parser.add_argument("--auth-idle", type=int, default=5000)
    parser.add_argument("--h2-idle", default="10000,50000", help="levels of streams over HTTP/2 ('': skip)")
    parser.add_argument("--h2-jobs", type=int, default=1000)
    parser.add_argument("--h2-changes", type=int, default=1000)
    asyncio.run(main(parser.parse_args()))
