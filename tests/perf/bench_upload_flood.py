"""Benchmark: another tenant's latency while one tenant floods the web process with huge uploads.

    .venv/bin/python -m tests.perf.bench_upload_flood [--senders 32] [--mib 40] [--seconds 15]

One Redis and one web process (no worker: every flood upload is refused before it is stored). The
flooding tenant keeps ``--senders`` connections busy, each sending uploads of one ``--mib`` MiB
file (over the 10 MiB a file may have), a new one as soon as the last is refused; the senders run
in a process of their own, as a client elsewhere would. The quiet tenant meanwhile sends
``GET /workspaces`` (a Redis read), one after another, and times each.

Printed: the quiet tenant's median and 95th percentile on the idle process (the baseline, measured
in the same run) and during the flood, their ratio, and how many uploads were refused and how
much each sent before its refusal. The issue's target: a median under 50 ms during 32 x 40 MiB.
"""

from __future__ import annotations

import argparse
import multiprocessing
import socket
import statistics
import threading
import time
import uuid

import httpx

from tests.support.api import bearer, new_key
from tests.support.servers import RedisServer, WebServer

MIB = 1024 * 1024
BOUNDARY = "bench-flood-boundary"


def _send_uploads(
    port: int, key: str, size: int, stop: threading.Event, tally: list[tuple[int, int]]
) -> None:
    """Send uploads of one ``size``-byte file until ``stop``; tally (bytes sent, status) of each."""
    head = (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="huge.pdf"\r\n\r\n'.encode()
    )
    tail = f"\r\n--{BOUNDARY}--\r\n".encode()
    request = (
        f"POST /workspaces/flood/documents HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        f"Authorization: Bearer {key}\r\nContent-Type: multipart/form-data; boundary={BOUNDARY}\r\n"
        f"Content-Length: {len(head) + size + len(tail)}\r\nConnection: close\r\n\r\n"
    ).encode() + head
    block = b"%PDF-1.7 " + b"0" * (MIB - 9)
    while not stop.is_set():
        sent, status = 0, 0
        with socket.create_connection(("127.0.0.1", port), timeout=60) as connection:
            try:
                connection.sendall(request)
                while sent < size:
                    connection.sendall(block[: min(MIB, size - sent)])
                    sent += min(MIB, size - sent)
                connection.sendall(tail)
            except OSError:
                pass  # refused mid-body: the server closed the connection
            try:
                answer = connection.recv(4096)
                status = int(answer.split()[1]) if answer.startswith(b"HTTP/1.1") else 0
            except OSError:
                status = 0  # reset before the answer could be read
        tally.append((sent, status))


def flood(
    port: int, key: str, senders: int, size: int, seconds: float, results: multiprocessing.Queue
) -> None:
    stop, tally = threading.Event(), []
    threads = [
        threading.Thread(target=_send_uploads, args=(port, key, size, stop, tally), daemon=True)
        for _ in range(senders)
    ]
    for thread in threads:
        thread.start()
    time.sleep(seconds)  # the flood's duration: the measurement runs meanwhile
    stop.set()
    for thread in threads:
        thread.join(timeout=120)
    results.put(tally)


def latencies(client: httpx.Client, seconds: float) -> list[float]:
    times, deadline = [], time.monotonic() + seconds
    while time.monotonic() < deadline:
        started = time.perf_counter()
        response = client.get("/workspaces")
        assert response.status_code == 200, response.text
        times.append(time.perf_counter() - started)
    return times


def summary(times: list[float]) -> tuple[float, float]:
    ordered = sorted(times)
    return statistics.median(ordered) * 1000, ordered[int(len(ordered) * 0.95)] * 1000


def bench(senders: int, mib: int, seconds: float) -> None:
    redis_server = RedisServer()
    redis_server.start()
    web = WebServer(redis_server, RATE_LIMIT_PER_MINUTE="0")
    try:
        flood_key = new_key(web, f"flood-{uuid.uuid4().hex[:6]}")
        with httpx.Client(base_url=web.base_url, headers=bearer(new_key(web, "quiet")), timeout=60) as quiet:
            latencies(quiet, 1.0)  # warm up
            idle = latencies(quiet, seconds)
            results: multiprocessing.Queue = multiprocessing.Queue()
            flooder = multiprocessing.Process(
                target=flood, args=(web.port, flood_key, senders, mib * MIB, seconds + 2, results)
            )
            flooder.start()
            time.sleep(2)  # let the flood build up before measuring
            flooded = latencies(quiet, seconds)
            tally = results.get(timeout=300)
            flooder.join()
    finally:
        web.stop()
        redis_server.stop()
    idle_median, idle_p95 = summary(idle)
    flood_median, flood_p95 = summary(flooded)
    refused = [sent for sent, status in tally if status == 413]
    print(f"{senders} senders x {mib} MiB uploads for {seconds + 2:.0f} s (one file each, the limit 10 MiB)")
    print(
        f"  uploads answered 413: {len(refused)} of {len(tally)}; sent before the answer: median "
        f"{statistics.median(refused or [0]) / MIB:.1f} MiB (kernel buffers included)"
    )
    print(
        f"  quiet tenant GET /workspaces, idle:  median {idle_median:6.2f} ms  p95 {idle_p95:6.2f} ms"
        f"  ({len(idle)} requests)"
    )
    print(
        f"  quiet tenant GET /workspaces, flood: median {flood_median:6.2f} ms  p95 {flood_p95:6.2f} ms"
        f"  ({len(flooded)} requests)"
    )
    print(
        f"  ratio flood/idle: median x{flood_median / idle_median:.2f}, p95 x{flood_p95 / idle_p95:.2f}"
        f"  (target: median under 50 ms)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--senders", type=int, default=32)
    parser.add_argument("--mib", type=int, default=40)
    parser.add_argument("--seconds", type=float, default=15)
    args = parser.parse_args()
    bench(args.senders, args.mib, args.seconds)


if __name__ == "__main__":
    main()
