"""Benchmark: what one web process pays, in CPU, for job events that none of its streams watches.

    .venv/bin/python -m tests.perf.bench_wakeups [--rates 1000,10000] [--duration 5] [--publishers 4]
                                                 [--success-share 0.1]

Starts its own ``redis-server`` and one web process (``python -m service.serve``: Hypercorn in that
one process, no worker children; any children are counted too), creates one job that nobody changes
and keeps ONE SSE stream open on it (``GET /jobs/<id>/events``), so the hub is active and subscribed.
Beside it runs a baseline subscriber process: ``PSUBSCRIBE *`` with redis.asyncio (as the hub reads),
parsing every message with ``JobEvent.from_wakeup`` and looking it up in an empty dict, i.e. what a
web process receiving every event of every job must do.

Publisher processes then change other jobs through the real ``JobStore`` (so the publishing path is
whatever the code does today), paced to each ``--rates`` target for ``--duration`` seconds: a mix of
``progress`` reports on a pool of jobs (small snapshots) and, for ``--success-share`` of the events,
``transition(SUCCESS, result=<~21 KB dict>)`` of fresh jobs (created before the window starts).

For each window, and an idle one (the floor), it reads utime+stime from ``/proc/<pid>/stat`` of both
processes from the window's start until both have drained (the baseline has every message, both are
back near their idle CPU) and prints, beside the events/s achieved (store calls that applied), the
CPU seconds spent per second of publishing (% of one core) and µs per event net of the idle floor,
then the average wake-up size per event type as the baseline received them. The bench's Redis has
no pub/sub output-buffer limit, so a subscriber that falls behind is not disconnected mid-window.
Figures are noisy on a shared 2-core machine.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import inspect
import json
import math
import multiprocessing as mp
import os
import socket
import threading
import time
import uuid
from typing import Any

import httpx
import redis
import redis.asyncio as aioredis

from actors import GROUP_FIELD
from actors.jobs.events import JobEvent
from actors.jobs.ref import JobRef
from actors.jobs.states import JobStatus
from actors.jobs.store import JobStore
from tests.support.api import ADMIN, new_key
from tests.support.servers import RedisServer, WebServer, wait_until
from tests.support.stack import engine_on

STOP_CHANNEL = b"bench:stop"
RESULT_BYTES = 21_000
PROGRESS_POOL = 100
TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """utime+stime of ``pid`` and its live descendants."""
    total, pending = 0.0, [pid]
    while pending:
        current = pending.pop()
        try:
            with open(f"/proc/{current}/stat") as stat:
                fields = stat.read().rpartition(")")[2].split()
            total += (int(fields[11]) + int(fields[12])) / TICK  # fields 14 and 15 of stat(5)
            for task in os.listdir(f"/proc/{current}/task"):
                with open(f"/proc/{current}/task/{task}/children") as children:
                    pending += [int(child) for child in children.read().split()]
        except FileNotFoundError:
            continue
    return total


def make_result(size: int = RESULT_BYTES) -> dict[str, Any]:
    """A contract-scoring-like result whose JSON is about ``size`` bytes."""
    entry = {"document": "contract-000.pdf", "score": 0.5, "clause": "x" * 150, "flags": ["term", "risk"]}
    count = max(1, size // (len(json.dumps(entry, separators=(",", ":"))) + 1))
    return {"scores": [{**entry, "document": f"contract-{i:03}.pdf"} for i in range(count)]}


def publisher(
    url: str, rate: float, duration: float, share: float, ready: mp.Queue, go: Any, done: mp.Queue
) -> None:
    """Create the window's jobs, report ready, then publish at ``rate`` from ``go`` for ``duration`` s."""
    store = JobStore(client=redis.Redis.from_url(url), group_field=GROUP_FIELD)
    pool = [uuid.uuid4().hex for _ in range(PROGRESS_POOL)]
    fresh = [uuid.uuid4().hex for _ in range(math.ceil(rate * duration * share * 1.2) + 2)]
    for job_id in pool + fresh:
        store.create(JobRef(job_id), "quick_steps")
    result = make_result()
    ready.put(len(pool) + len(fresh))
    go.wait()
    counts = {"progress": 0, "status:SUCCESS": 0}
    credit, i, start = 0.0, 0, time.monotonic()
    end = start + duration
    while (now := time.monotonic()) < end:
        due = start + i / rate
        if due > now:
            time.sleep(due - now)
        credit += share
        if credit >= 1 and fresh:
            credit -= 1
            applied = store.transition(JobRef(fresh.pop()), JobStatus.SUCCESS, result=result)
            counts["status:SUCCESS"] += applied is not None
        else:
            applied = store.progress(JobRef(pool[i % len(pool)]), i % 100, f"Scoring document {i} of many")
            counts["progress"] += applied is not None
        i += 1
    done.put((counts, time.monotonic() - start))


def baseline_subscriber(url: str, ready: Any, received: Any, failed: Any, out: mp.Queue) -> None:
    asyncio.run(_subscribe(url, ready, received, failed, out))


async def _subscribe(url: str, ready: Any, received: Any, failed: Any, out: mp.Queue) -> None:
    """Receive every message on every channel and do what a hub receiving everything does with it."""
    watched: dict[tuple[str, str, str], object] = {}
    with_channel = len(inspect.signature(JobEvent.from_wakeup).parameters) >= 2  # (channel, payload)?
    sizes: dict[str, tuple[int, int]] = {}
    channels: set[bytes] = set()
    client = aioredis.Redis.from_url(url)
    async with client.pubsub() as pubsub:
        await pubsub.psubscribe("*")
        while True:
            message = await pubsub.get_message(timeout=10)
            if message is None or message["type"] != "pmessage":
                if message is not None and message["type"] == "psubscribe":
                    ready.set()
                continue
            if message["channel"] == STOP_CHANNEL:
                break
            received.value += 1
            channels.add(message["channel"])
            try:
                args = (message["channel"], message["data"]) if with_channel else (message["data"],)
                event = JobEvent.from_wakeup(*args)
            except Exception:
                failed.value += 1
                continue
            watched.get(("job", event.namespace or "", event.job_id))
            if event.group is not None:
                watched.get(("group", event.namespace or "", event.group))
            kind = event.event if event.event != "status" else f"status:{event.status.value}"
            count, total = sizes.get(kind, (0, 0))
            sizes[kind] = (count + 1, total + len(message["data"]))
    out.put((sizes, len(channels)))
    await client.aclose()


def open_stream(web: WebServer, key: str, job_id: str) -> tuple[socket.socket, list[int]]:
    """One SSE stream on ``job_id``, read by a thread for as long as it is open, which counts the
    ``data:`` lines it gets (roughly: one split across two reads is missed)."""
    sock = socket.create_connection(("127.0.0.1", web.port))
    sock.sendall(
        f"GET /jobs/{job_id}/events HTTP/1.0\r\nHost: bench\r\nAccept: text/event-stream\r\n"
        f"Authorization: Bearer {key}\r\n\r\n".encode()
    )
    head = sock.recv(65536)
    if b" 200 " not in head.split(b"\r\n", 1)[0]:
        raise RuntimeError(f"the stream was refused: {head[:300]!r}")
    seen = [head.count(b"data:")]
    threading.Thread(target=_read, args=(sock, seen), daemon=True).start()
    return sock, seen


def _read(sock: socket.socket, seen: list[int]) -> None:
    with contextlib.suppress(OSError):
        while chunk := sock.recv(65536):
            seen[0] += chunk.count(b"data:")


def settle(pid: int, idle_rate: float, timeout: float = 60.0) -> None:
    """Wait until ``pid`` burns no more than about its idle rate (it has worked through its backlog)."""
    deadline, last = time.monotonic() + timeout, cpu_seconds(pid)
    while time.monotonic() < deadline:
        time.sleep(0.3)
        now = cpu_seconds(pid)
        if (now - last) / 0.3 <= max(3 * idle_rate, 0.05):
            return
        last = now


class Bench:
    """The web process and the baseline subscriber, measured side by side."""

    def __init__(self, url: str, pids: tuple[int, int], received: Any) -> None:
        self.url, self.pids, self.received = url, pids, received
        self.idle = (0.0, 0.0)  # (web, baseline) CPU seconds per second with no events

    def cpu(self) -> tuple[float, float]:
        return cpu_seconds(self.pids[0]), cpu_seconds(self.pids[1])

    def drained(self, expected: int = 0) -> None:
        """Wait for the baseline to hold ``expected`` messages and stop receiving, and both to settle."""
        wait_until(lambda: self.received.value >= expected, timeout=120, what="the baseline's backlog")
        last = -1
        while self.received.value != last:  # what else was published (creations, if any) is in too
            last = self.received.value
            time.sleep(0.5)
        for pid, idle in zip(self.pids, self.idle, strict=True):
            settle(pid, idle)

    def idle_window(self, duration: float) -> None:
        before = self.cpu()
        time.sleep(duration)
        self.idle = ((self.cpu()[0] - before[0]) / duration, (self.cpu()[1] - before[1]) / duration)

    def window(self, rate: float, duration: float, publishers: int, share: float) -> list[float]:
        """[achieved/s, events, web CPU %, web µs/event, base CPU %, base µs/event, baseline messages,
        seconds incl. drain] at ``rate``: CPU % is the CPU spent until drained per second of
        publishing; µs/event is net of the idle floor."""
        ctx = mp.get_context("spawn")
        ready, done, go = ctx.Queue(), ctx.Queue(), ctx.Event()
        args = (self.url, rate / publishers, duration, share, ready, go, done)
        procs = [ctx.Process(target=publisher, args=args, daemon=True) for _ in range(publishers)]
        try:
            for proc in procs:
                proc.start()
            for _ in procs:
                ready.get(timeout=300)
            self.drained()
            before, cpu0, t0 = self.received.value, self.cpu(), time.monotonic()
            go.set()
            results = [done.get(timeout=duration + 300) for _ in procs]
            events = sum(sum(counts.values()) for counts, _ in results)
            self.drained(before + events)
            wall, cpu1 = time.monotonic() - t0, self.cpu()
        finally:
            for proc in procs:
                proc.kill()
                proc.join()
        elapsed = max(seconds for _, seconds in results)
        row = [events / elapsed, events]
        for start, end, idle in zip(cpu0, cpu1, self.idle, strict=True):
            row += [100 * (end - start) / elapsed, 1e6 * (end - start - idle * wall) / max(events, 1)]
        return [*row, self.received.value - before, wall]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m tests.perf.bench_wakeups", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--rates", default="1000,10000", help="target events/s, comma separated")
    parser.add_argument("--duration", type=float, default=5.0, help="seconds per window (idle too)")
    parser.add_argument("--publishers", type=int, default=4, help="publisher processes")
    parser.add_argument("--success-share", type=float, default=0.1, help="share of SUCCESS events (21 KB)")
    args = parser.parse_args(argv)
    ctx = mp.get_context("spawn")
    redis_server, web, base, sock = RedisServer(), None, None, None
    try:
        redis_server.start()
        redis_server.client().config_set("client-output-buffer-limit", "pubsub 0 0 0")
        subscribed, sizes_q = ctx.Event(), ctx.Queue()
        received, failed = ctx.RawValue("q", 0), ctx.RawValue("q", 0)
        base = ctx.Process(
            target=baseline_subscriber, args=(redis_server.url, subscribed, received, failed, sizes_q)
        )
        base.start()
        wait_until(subscribed.is_set, timeout=60, what="the baseline subscriber")
        web = WebServer(redis_server)
        job_id = uuid.uuid4().hex
        engine_on(redis_server).store.create(JobRef(job_id), "quick_steps")
        sock, seen = open_stream(web, new_key(web), job_id)
        stats_url = f"{web.base_url}/events/stats"
        wait_until(
            lambda: httpx.get(stats_url, headers=ADMIN, timeout=5).json()["subscriptions"] == 1,
            timeout=30,
            what="the stream's subscription",
        )
        bench = Bench(redis_server.url, (web.process.pid, base.pid or 0), received)
        bench.drained()
        bench.idle_window(args.duration)
        mix = f"{100 - 100 * args.success_share:g}% progress / {100 * args.success_share:g}% SUCCESS"
        print(f"web pid {web.process.pid} (python -m service.serve), mix: {mix} (21 KB results)")
        print(f"idle floor: web {100 * bench.idle[0]:.2f}% of a core, baseline {100 * bench.idle[1]:.2f}%")
        columns = ("target/s", "achieved/s", "events", "web CPU%", "web µs/ev", "base CPU%", "base µs/ev")
        print("  ".join(f"{c:>10}" for c in (*columns, "idle web%")))
        for rate in (float(r) for r in args.rates.split(",")):
            row = [rate, *bench.window(rate, args.duration, args.publishers, args.success_share)]
            cells = [f"{v:,.0f}" for v in row[:3]] + [f"{v:.1f}" for v in row[3:7]]
            cells.append(f"{100 * bench.idle[0]:.2f}")
            print(
                "  ".join(f"{c:>10}" for c in cells),
                f"({row[8]:.1f} s incl. drain; baseline got {row[7]:,.0f})",
            )
        before = seen[0]  # is the hub alive? the watched job's own change must reach its stream
        engine_on(redis_server).store.progress(JobRef(job_id), 50, "the watched job's one change")
        with contextlib.suppress(TimeoutError):
            wait_until(lambda: seen[0] > before, timeout=10, what="the watched job's event")
        print(f"the watched stream got its job's change: {'yes' if seen[0] > before else 'NO (hub broken?)'}")
        redis_server.client().publish(STOP_CHANNEL, b"")
        sizes, channels = sizes_q.get(timeout=30)
        base.join(30)
        print(f"baseline: {received.value:,} messages on {channels:,} channels, {failed.value} unparsed")
        for kind, (count, total) in sorted(sizes.items()):
            print(f"wake-up {kind:>16}: {count:>7,} messages, {total / count:>8,.0f} bytes on average")
    finally:
        if sock is not None:
            sock.close()
        if base is not None and base.is_alive():
            base.kill()
            base.join()
        if web is not None:
            web.stop()
        redis_server.stop()


if __name__ == "__main__":
    main()
