"""Serve the app with Hypercorn, closing every open stream cleanly on SIGTERM or SIGINT.

    python -m service.serve --bind 0.0.0.0:8000 [--graceful-timeout 10] [--with-worker [THREADS]]
        [--certfile cert.pem --keyfile key.pem]

``hypercorn "service:create_app()"`` serves the same app, but Hypercorn tells an application
nothing when its shutdown begins: open streams would run on until the graceful timeout and then
be cut. Here the signal first asks every stream to send its client a last ``retry:`` and comment
and to close (clients reconnect, to another process, and resume with ``Last-Event-ID``); then
Hypercorn stops as usual. Run one such process per core behind the load balancer.

``--certfile`` and ``--keyfile`` serve TLS, where clients that can (browsers, proxies) speak
HTTP/2: a hundred event streams share one connection, so a process holds far more streams than it
may open files (docs/scaling.md). Each HTTP/2 connection sends its streams in turn
(``h2_scheduling``).

``--with-worker`` also runs a Dramatiq worker of ``THREADS`` threads in this process, for a
single-process setup (the polling guide's "worker thread" inside the web app): the jobs run here,
beside the requests, and ``/worker/status`` shows it like any worker. On shutdown it stops taking
jobs and finishes the ones it runs (up to ``--graceful-timeout``; a job cut short is run again by
the next worker). Production runs ``dramatiq actors`` workers apart (README, "Running in
production").
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import logging
import signal

import dramatiq
from hypercorn.asyncio import serve
from hypercorn.config import Config
from quart import Quart

import actors
from actors.jobs.middleware import server_logger

from .app import BINDS_CONFIG, LOGIN_BASE_CONFIG, begin_shutdown, create_app
from .h2_scheduling import send_streams_in_turn

DEFAULT_BIND = "127.0.0.1:8000"
DEFAULT_GRACEFUL_TIMEOUT = 10.0
#: Pending connections the listening socket queues: streams arrive in bursts (a page load, a
#: reconnect wave after a deploy), far more than Hypercorn's default of 100.
DEFAULT_BACKLOG = 2048
#: Threads of the in-process worker when ``--with-worker`` names none.
DEFAULT_WORKER_THREADS = 4
#: Allocations between two young collections of the cyclic garbage collector (CPython's: 700).
GC_YOUNG_THRESHOLD = 10_000
logger = logging.getLogger("jobs.serve")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m service.serve", description=__doc__.split("\n\n")[0])
    parser.add_argument("--bind", action="append", help=f"HOST:PORT to listen on (default {DEFAULT_BIND})")
    parser.add_argument(
        "--graceful-timeout",
        type=float,
        default=DEFAULT_GRACEFUL_TIMEOUT,
        help=f"seconds to finish requests on shutdown (default {DEFAULT_GRACEFUL_TIMEOUT:g})",
    )
    parser.add_argument("--backlog", type=int, default=DEFAULT_BACKLOG, help=f"(default {DEFAULT_BACKLOG})")
    parser.add_argument("--access-log", action="store_true", help="log every request (path, no query)")
    parser.add_argument("--certfile", help="serve TLS (and HTTP/2) with this certificate chain, PEM")
    parser.add_argument("--keyfile", help="the certificate's private key, PEM")
    parser.add_argument(
        "--with-worker",
        type=int,
        nargs="?",
        const=DEFAULT_WORKER_THREADS,
        metavar="THREADS",
        help=f"also run jobs in this process, on THREADS threads (default {DEFAULT_WORKER_THREADS})",
    )
    args = parser.parse_args(argv)
    if args.with_worker is not None and args.with_worker < 1:
        parser.error("--with-worker needs at least 1 thread")
    if bool(args.certfile) != bool(args.keyfile):
        parser.error("--certfile and --keyfile go together")
    config = Config()
    config.bind = args.bind or [DEFAULT_BIND]
    config.graceful_timeout = args.graceful_timeout
    config.backlog = args.backlog
    config.certfile, config.keyfile = args.certfile, args.keyfile
    app = create_app()  # configures logging first
    # Hypercorn's own handlers would write a request's decoded path as it came (a %0A in it
    # starts a forged line); its loggers go through ours instead, escaped, in LOG_FORMAT, once.
    config.accesslog = server_logger("hypercorn.access") if args.access_log else None
    config.errorlog = server_logger("hypercorn.error")
    app.config[BINDS_CONFIG] = list(config.bind)  # AUTH=false is allowed on loopback binds alone
    host, _, port = config.bind[0].rpartition(":")
    scheme = "https" if args.certfile else "http"
    app.config[LOGIN_BASE_CONFIG] = f"{scheme}://{'127.0.0.1' if host in ('0.0.0.0', '') else host}:{port}"
    keep_collections_short()
    send_streams_in_turn()
    asyncio.run(_serve(app, config, worker_threads=args.with_worker))


async def _serve(app: Quart, config: Config, *, worker_threads: int | None = None) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)

    async def shutdown_trigger() -> None:
        await stop.wait()
        await begin_shutdown(app, timeout=config.graceful_timeout / 2)

    worker = _start_worker(worker_threads) if worker_threads else None
    try:
        await serve(app, config, shutdown_trigger=shutdown_trigger)
    finally:
        if worker is not None:
            timeout_ms = int(config.graceful_timeout * 1000)
            await loop.run_in_executor(None, lambda: worker.stop(timeout=timeout_ms))


def keep_collections_short() -> None:
    """Keep the cyclic garbage collector off the path of a change fanned out to many streams.

    A full collection walks every object the process tracks: the app and its modules, and each
    open stream's few hundred. With 10,000 streams, the collections that one change to all of
    them set off (each send allocates; each stream a terminal event ends leaves cycles behind)
    took more than a second of the fan-out (docs/benchmarks.md, "Issue 26"). What start-up made is
    frozen out of every collection, and young collections run less often, so fewer of them end in
    a full one.
    """
    gc.freeze()
    gc.set_threshold(GC_YOUNG_THRESHOLD, *gc.get_threshold()[1:])


def _start_worker(threads: int) -> dramatiq.Worker:
    """A Dramatiq worker on the engine's broker, in this process, taking every declared queue."""
    worker = dramatiq.Worker(actors.engine.broker, worker_threads=threads)
    worker.start()
    logger.info("In-process worker started: %d %s", threads, "thread" if threads == 1 else "threads")
    return worker


if __name__ == "__main__":
    main()
