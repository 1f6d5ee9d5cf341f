"""The SSE benchmark's clients: raw HTTP/1.x sockets, HTTP/2 connections and 2 s pollers.

Clients are as thin as can be (asyncio sockets, or the ``h2`` state machine for HTTP/2), so the
client side of a run, which shares the machine's cores with the web process, costs little. Each
records when each event arrived (``time.time()``), so latencies are read off afterwards.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

from tests.support.api import TENANT, new_key
from tests.support.h2client import H2Client, H2Stream
from tests.support.servers import RedisServer, WebServer

POLL_INTERVAL_S = 2.0
OPEN_BATCH = 250
#: HTTP/2 connections opened at a time, each with as many streams as the server allows on one:
#: 200 streams at once. A thousand at once, in a process already holding 10,000, queued for the
#: web's 16 Redis connections past ``REDIS_TIMEOUT`` and some were answered 503.
CONNECTIONS_PER_BATCH = 2
#: Seconds a batch of streams may take to open (each sends its first event).
OPEN_TIMEOUT_S = 120


@dataclass
class Web:
    """A web process of the run, and how its clients say who they are."""

    server: WebServer
    key: str | None  # None with AUTH=false
    namespace: str  # where the jobs its clients may see live

    @property
    def port(self) -> int:
        return self.server.port

    @property
    def auth(self) -> str:
        """The request's Authorization line ("" with AUTH=false)."""
        return f"Authorization: Bearer {self.key}\r\n" if self.key else ""

    @property
    def headers(self) -> dict[str, str]:
        return {"authorization": f"Bearer {self.key}"} if self.key else {}


def start_web(
    redis_server: RedisServer, *, auth: bool = True, module: str = "service.serve", **env: str
) -> Web:
    """A web process with the run's limits lifted (``module`` and ``env`` as ``WebServer`` takes them)."""
    server = WebServer(
        redis_server,
        module=module,
        SSE_HEARTBEAT_INTERVAL="15",
        AUTH=str(auth).lower(),
        MAX_STREAMS="0",
        MAX_STREAMS_PER_KEY="0",
        RATE_LIMIT_PER_MINUTE="0",
        **env,
    )
    if not auth:
        return Web(server, None, "local")
    return Web(server, new_key(server), TENANT)


@dataclass
class StreamClient:
    """A minimal SSE reader: HTTP/1.0, so the body is the raw event stream until close."""

    job_id: str
    received: list[tuple[float, dict]] = field(default_factory=list)
    first_event: asyncio.Event = field(default_factory=asyncio.Event)
    writer: asyncio.StreamWriter | None = None

    async def run(self, port: int, path: str, auth: str) -> None:
        reader, self.writer = await asyncio.open_connection("127.0.0.1", port)
        # The real host: with AUTH=false any other is refused (a DNS rebinding guard).
        head = f"GET {path} HTTP/1.0\r\nHost: 127.0.0.1:{port}\r\nAccept: text/event-stream\r\n"
        self.writer.write(f"{head}{auth}\r\n".encode())
        await reader.readuntil(b"\r\n\r\n")
        while line := await reader.readline():
            if line.startswith(b"data: "):
                self.received.append((time.time(), json.loads(line[6:])))
                self.first_event.set()

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


async def open_streams(
    web: Web, job_ids: list[str], count: int
) -> tuple[list[StreamClient], list[asyncio.Task]]:
    """``count`` streams, one socket each, on ``job_ids`` in turn; returned once each has its first event."""
    clients, tasks = [], []
    for start in range(0, count, OPEN_BATCH):
        batch = [
            StreamClient(job_ids[i % len(job_ids)]) for i in range(start, min(count, start + OPEN_BATCH))
        ]
        tasks += [asyncio.create_task(c.run(web.port, f"/jobs/{c.job_id}/events", web.auth)) for c in batch]
        await asyncio.wait_for(asyncio.gather(*(c.first_event.wait() for c in batch)), OPEN_TIMEOUT_S)
        clients += batch
    return clients, tasks


async def close_streams(clients: list[StreamClient], tasks: list[asyncio.Task]) -> None:
    for client in clients:
        client.close()
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


@dataclass
class H2Watcher:
    """An SSE stream over a shared HTTP/2 connection, and the job it watches."""

    job_id: str
    stream: H2Stream

    def events(self) -> Iterator[tuple[float, dict]]:
        """Each event's arrival time and data, read off the chunks as they arrived."""
        pending = b""
        for at, chunk in self.stream.chunks:
            *lines, pending = (pending + chunk).split(b"\n")
            for line in lines:
                if line.startswith(b"data: "):
                    yield at, json.loads(line[6:])

    async def opened(self) -> None:
        """Until the stream's first event has come (its status first: a refusal fails the run)."""
        status = await self.stream.status
        if status != 200:
            body = b"".join([chunk async for chunk in self.stream.body()])
            raise AssertionError(f"stream refused with {status}: {body.decode(errors='replace')}")
        async for chunk in self.stream.body():
            if b"\ndata: " in chunk or chunk.startswith(b"data: "):
                return
        raise AssertionError("the stream ended before its first event")


async def open_h2_streams(
    web: Web, job_ids: list[str], count: int, connections: list[H2Client], watchers: list[H2Watcher]
) -> None:
    """Add ``count`` streams on ``job_ids`` (each in turn after those in ``watchers``), as many on
    each HTTP/2 connection as the server allows at once; new connections join ``connections``."""
    path_of = {job_id: f"/jobs/{job_id}/events" for job_id in job_ids}
    target = len(watchers) + count
    while len(watchers) < target:
        batch: list[H2Watcher] = []
        for _ in range(CONNECTIONS_PER_BATCH):
            connection = await H2Client("127.0.0.1", web.port).connect()
            connections.append(connection)
            for _ in range(min(connection.max_streams, target - len(watchers) - len(batch))):
                job_id = job_ids[(len(watchers) + len(batch)) % len(job_ids)]
                batch.append(H2Watcher(job_id, connection.request(path_of[job_id], web.headers)))
            if len(watchers) + len(batch) == target:
                break
        await asyncio.wait_for(asyncio.gather(*(w.opened() for w in batch)), OPEN_TIMEOUT_S)
        watchers += batch


async def close_h2_streams(connections: list[H2Client], watchers: list[H2Watcher]) -> None:
    for connection in connections:
        await connection.aclose()
    connections.clear()
    watchers.clear()


async def poll_forever(
    port: int, job_id: str, seen: list[tuple[float, int]], counter: list[int], auth: str
) -> None:
    """GET /jobs/<id> every 2 s on one keep-alive connection; record (time, seq) of each answer."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    await asyncio.sleep(random.uniform(0, POLL_INTERVAL_S))  # clients do not poll in lockstep
    try:
        while True:
            writer.write(f"GET /jobs/{job_id} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n{auth}\r\n".encode())
            head = await reader.readuntil(b"\r\n\r\n")
            length = next(
                int(h.split(b":")[1]) for h in head.split(b"\r\n") if h.lower().startswith(b"content-length")
            )
            body = json.loads(await reader.readexactly(length))
            counter[0] += 1
            seen.append((time.time(), body["seq"]))
            await asyncio.sleep(POLL_INTERVAL_S)
    finally:
        writer.close()
