"""Profile: where a web process's memory per idle SSE stream goes, by part.

    .venv/bin/python -m tests.perf.profile_stream_memory [--streams 2000] [--frames 30] [--http2]

Starts its own ``redis-server`` and one web process (``python -m service.serve``, traced by
``tracemalloc``), starts tracing, opens ``--streams`` idle streams on one job with the benchmark's
clients (``tests.perf.sse_clients``: a socket each, or with ``--http2`` a hundred to an HTTP/2
connection), and counts the allocations made since that are still held. Each allocation is
charged to the first frame, walking from the allocating frame outwards, that lies in a part of
our own or of a library: the connection (asyncio's transport and streams), Hypercorn, h11 or h2,
Quart and Werkzeug (the request and its contexts), and our stream (``service/sse``) and routes.
The kernel's socket buffers are not in a process's heap and are not counted. RSS per stream
without tracing is ``tests.perf.bench_sse``'s figure; tracing itself makes the process bigger,
not the allocations it counts.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import signal
import sys
import tempfile
import time
import tracemalloc
import uuid
from collections import Counter
from pathlib import Path

#: Parts of the process, by where in a traceback the allocation is made; the first that matches,
#: from the allocating frame outwards, is charged.
PARTS = (
    ("our stream (service/sse)", f"{os.sep}service{os.sep}sse{os.sep}"),
    ("our routes and auth (service/)", f"{os.sep}service{os.sep}"),
    ("Quart (request, contexts, response)", f"{os.sep}quart{os.sep}"),
    ("Werkzeug (headers, URL)", f"{os.sep}werkzeug{os.sep}"),
    ("h11 (HTTP/1.1 state, buffers)", f"{os.sep}h11{os.sep}"),
    ("h2 (HTTP/2 state, windows)", f"{os.sep}h2{os.sep}"),
    ("Hypercorn (connection, stream, tasks)", f"{os.sep}hypercorn{os.sep}"),
    ("asyncio (tasks, transports, queues)", f"{os.sep}asyncio{os.sep}"),
)
SNAPSHOT_ENV = "PROFILE_SNAPSHOT_PATH"
FRAMES_ENV = "PROFILE_FRAMES"


def serve_traced() -> None:
    """The web process: ``service.serve`` with this command line; the first SIGUSR1 starts
    tracemalloc (after start-up, which it would slow down), the second writes a snapshot of what
    is allocated since."""

    def on_signal(*_: object) -> None:
        if not tracemalloc.is_tracing():
            tracemalloc.start(int(os.environ[FRAMES_ENV]))
        else:
            tracemalloc.take_snapshot().dump(os.environ[SNAPSHOT_ENV])

    signal.signal(signal.SIGUSR1, on_signal)
    from service.serve import main as serve

    serve(sys.argv[1:])


def part_of(traceback: tracemalloc.Traceback) -> str:
    for frame in reversed(traceback):  # tracemalloc keeps the most recent call last
        for name, marker in PARTS:
            if marker in frame.filename:
                return name
    return "other"


def charged(snapshot: tracemalloc.Snapshot) -> tuple[Counter[str], Counter[str]]:
    """Bytes by part, and by allocating line (with the part's own line that led to it)."""
    grown: Counter[str] = Counter()
    lines: Counter[str] = Counter()
    for statistic in snapshot.statistics("traceback"):
        part = part_of(statistic.traceback)
        grown[part] += statistic.size
        inner = statistic.traceback[-1]
        ours = next((f for f in reversed(statistic.traceback) if "asyncio" not in f.filename), inner)
        lines[f"{_short(inner)} <- {_short(ours)}"] += statistic.size
    return grown, lines


def _short(frame: tracemalloc.Frame) -> str:
    return f"{'/'.join(Path(frame.filename).parts[-2:])}:{frame.lineno}"


async def take(pid: int, path: Path) -> tracemalloc.Snapshot:
    os.kill(pid, signal.SIGUSR1)
    while not path.exists() or time.time() - path.stat().st_mtime < 0.5:  # written, then settled
        await asyncio.sleep(0.2)
    return tracemalloc.Snapshot.load(str(path))


async def main(args: argparse.Namespace) -> None:
    from actors.jobs.ref import JobRef
    from tests.perf.bench_sse import rss_kib
    from tests.perf.sse_clients import (
        close_h2_streams,
        close_streams,
        open_h2_streams,
        open_streams,
        start_web,
    )
    from tests.support.servers import RedisServer
    from tests.support.stack import engine_on

    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    redis_server = RedisServer()
    redis_server.start()
    snapshot_path = Path(tempfile.mkdtemp(prefix="stream-memory-")) / "snapshot"
    web = None
    try:
        web = start_web(
            redis_server,
            module=__spec__.name,
            REDIS_TIMEOUT="60",  # traced, the process is slow: requests wait long for a pooled connection
            **{SNAPSHOT_ENV: str(snapshot_path), FRAMES_ENV: str(args.frames)},
        )
        pid = web.server.process.pid
        job_id = str(uuid.uuid4())
        engine_on(redis_server).store.create(JobRef(job_id, namespace=web.namespace), "score_contracts")
        # A few streams first, so that what every process holds once (imports, caches) is paid.
        warm, warm_tasks = await open_streams(web, [job_id], 50)
        await close_streams(warm, warm_tasks)
        rss_before = rss_kib(pid)
        os.kill(pid, signal.SIGUSR1)  # tracing starts
        await asyncio.sleep(1.0)
        if args.http2:
            connections: list = []
            watchers: list = []
            await open_h2_streams(web, [job_id], args.streams, connections, watchers)
        else:
            clients, tasks = await open_streams(web, [job_id], args.streams)
        await asyncio.sleep(1.0)
        after = await take(pid, snapshot_path)
        rss_after = rss_kib(pid)
        if args.http2:
            await close_h2_streams(connections, watchers)
        else:
            await close_streams(clients, tasks)
    finally:
        if web is not None:
            web.server.stop()
        redis_server.stop()
        snapshot_path.unlink(missing_ok=True)
    grown, lines = charged(after)
    total = sum(grown.values())
    over = "HTTP/2, a hundred to a connection" if args.http2 else "HTTP/1.1"
    print(
        f"{args.streams} idle streams on one job over {over}; heap growth per stream by part (tracemalloc):"
    )
    for name, size in grown.most_common():
        print(f"  {name:<40} {size / args.streams / 1024:6.2f} KiB  {100 * size / total:5.1f} %")
    print(f"  {'all traced allocations':<40} {total / args.streams / 1024:6.2f} KiB")
    print(f"  RSS growth per stream under tracing: {(rss_after - rss_before) / args.streams:.1f} KiB")
    print(f"the {args.top} largest allocating lines (<- the first line outside asyncio that led there):")
    for line, size in lines.most_common(args.top):
        print(f"  {size / args.streams:8.0f} B  {line}")


if __name__ == "__main__":
    if SNAPSHOT_ENV in os.environ:  # started by main() as the web process
        serve_traced()
    else:
        parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
        parser.add_argument("--streams", type=int, default=2000)
        parser.add_argument("--top", type=int, default=25, help="allocating lines to list")
        parser.add_argument("--frames", type=int, default=12, help="frames kept per allocation")
        parser.add_argument("--http2", action="store_true", help="open the streams over HTTP/2")
        asyncio.run(main(parser.parse_args()))
