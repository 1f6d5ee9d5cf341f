"""Server-Sent Events for one or many jobs, and the waits behind the sync path and long-polling.

A stream sends ``retry:``, then for each job either its current snapshot (a fresh client) or every
logged event after the client's position (a reconnecting one), then live events. Its position is
the last ``seq`` sent per job; the SSE ``id`` is that position, the seqs joined by dots in the
order the jobs were asked for (for one job, simply its seq). Duplicates are skipped; a gap, a
``RESYNC`` from the hub or a missed wake-up is filled from the job's log, so each event reaches
the client once and in order (docs/design.md, invariant 3). When a log no longer reaches back far enough
the stream sends one full ``snapshot`` event instead of a partial replay.

A stream ends after every job's terminal event, when it reaches its maximum life (the client
reconnects and resumes), when the process shuts down (after a last ``retry:`` and comment), or
when its client stops reading (the hub cancels it).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import time
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from typing import Any

from hypercorn.typing import ASGIReceiveCallable, ASGISendCallable

from actors.jobs.errors import StoreUnavailable
from actors.jobs.events import JobEvent
from actors.jobs.reader import JobReader

from .admission import Slot
from .hub import EventHub
from .subscription import DEFAULT_READY_TIMEOUT, DROPPED, RESYNC, REVOKED, SHUTDOWN, Subscription

logger = logging.getLogger("jobs.streams")

HEARTBEAT = b": keepalive\n\n"
#: SSE event name for a full snapshot sent in place of a replay that the log can no longer give.
SNAPSHOT_EVENT = "snapshot"
#: The ``retry:`` sent before closing for shutdown or rotation: reconnect soon, elsewhere.
RECONNECT_RETRY_MS = 250
#: A stream's life is stretched by up to this fraction, so that streams opened together do not
#: all reconnect together.
MAX_LIFE_JITTER = 0.1


def frame(event: JobEvent, event_id: str) -> bytes:
    """One event in the SSE wire format: its name, its id, and the snapshot as its data."""
    return f"event: {event.event}\nid: {event_id}\ndata: {event.data}\n\n".encode()


def reconnect_frame(reason: str) -> bytes:
    """The last frame of a stream the server ends: reconnect soon (and resume), saying why."""
    return f"retry: {RECONNECT_RETRY_MS}\n: {reason}; reconnect to resume\n\n".encode()


class EventStream:
    """What every stream shares: ``retry:``, heartbeats, rotation, shutdown and the watchdog.

    Subclasses say what to subscribe to and what to send at the start, on an event and on a
    ``RESYNC``; each returns the formatted chunks to send. ``reader`` reads in the caller's
    namespace; ``owners`` are the key and session the stream was opened with (the end of either
    ends the stream), ``ends_at`` when the session ends by itself (unix seconds; the stream ends
    then too), and ``slot`` its place among the process's streams, given back when it ends.
    """

    def __init__(
        self,
        *,
        reader: JobReader,
        hub: EventHub,
        heartbeat: float,
        retry_ms: int,
        max_life: float,
        owners: tuple[str, ...] = (),
        ends_at: float | None = None,
        slot: Slot | None = None,
    ) -> None:
        self.reader = reader
        self.owners = owners
        self.hub = hub
        self.heartbeat = heartbeat
        self.retry_ms = retry_ms
        self.max_life = max_life * (1 + random.uniform(0, MAX_LIFE_JITTER))
        if ends_at is not None:
            self.max_life = max(0.0, min(self.max_life, ends_at - time.time()))
        self.slot = slot

    def release(self) -> None:
        """Give the stream's place among the open streams back (again is harmless)."""
        if self.slot is not None:
            self.slot.release()

    def _subscribe(self) -> contextlib.AbstractContextManager[Subscription]:
        raise NotImplementedError

    async def _start(self) -> list[bytes]:
        raise NotImplementedError

    async def _on_event(self, event: JobEvent) -> list[bytes]:
        raise NotImplementedError

    async def _resync(self) -> list[bytes]:
        raise NotImplementedError

    def _done(self) -> bool:
        return False

    def _next_due(self) -> float | None:
        """When (the event loop's clock) the stream has something of its own to send, besides
        events: ``_due`` is then called. None: never (the job and workspace streams)."""
        return None

    async def _due(self) -> list[bytes]:
        return []

    async def send(self, receive: ASGIReceiveCallable, send: ASGISendCallable) -> None:
        """Send the stream as an ASGI response's body (its answer has started), each chunk timed
        so the hub can drop a client that stops reading, until the stream ends or its client
        goes away (a small task listens for that, as a framework's receiver would)."""
        loop = asyncio.get_running_loop()
        task = asyncio.current_task()
        assert task is not None
        hung_up = False

        async def hang_up_on_disconnect() -> None:
            nonlocal hung_up
            while (await receive())["type"] != "http.disconnect":
                pass
            hung_up = True
            task.cancel()

        watcher = asyncio.ensure_future(hang_up_on_disconnect())
        sub: Subscription | None = None
        try:
            with self._subscribe() as sub:
                async with contextlib.aclosing(self._chunks(sub)) as chunks:
                    async for chunk in chunks:
                        if chunk.startswith(b"event:"):
                            self.hub.events_sent += 1
                        sub.blocked_since = loop.time()
                        await send({"type": "http.response.body", "body": chunk, "more_body": True})
                        sub.blocked_since = None
                await send({"type": "http.response.body", "body": b"", "more_body": False})
        except asyncio.CancelledError:
            if not (hung_up or (sub is not None and sub.dropped)):
                raise  # the server's own cancellation (its shutdown) goes on
            task.uncancel()  # the client left, or stopped reading (the hub): the stream is over
        finally:
            watcher.cancel()
            self.release()

    async def _chunks(self, sub: Subscription) -> AsyncIterator[bytes]:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.max_life
        yield f"retry: {self.retry_ms}\n\n".encode()
        await sub.ready(DEFAULT_READY_TIMEOUT)  # the log is read once no wake-up can be missed
        for chunk in await self._start():
            yield chunk
        while not self._done():
            remaining = deadline - loop.time()
            if remaining <= 0:
                yield reconnect_frame("stream rotated")
                return
            due = self._next_due()
            if due is not None and due <= loop.time():
                for chunk in await self._due():
                    yield chunk
                continue
            wait = min(self.heartbeat, remaining)
            item = await sub.next(wait if due is None else min(wait, due - loop.time()))
            if item is None:
                if due is not None and loop.time() >= due:
                    continue  # sent at the top of the loop
                chunks = [HEARTBEAT] if remaining > self.heartbeat else []
            elif item is SHUTDOWN:
                yield reconnect_frame("server shutting down")
                return
            elif item is DROPPED or item is REVOKED:
                return
            elif item is RESYNC:
                chunks = await self._resync()
            else:
                assert isinstance(item, JobEvent)
                chunks = await self._on_event(item)
            for chunk in chunks:
                yield chunk
        # Every job has ended, and so does the stream. One change often ends many streams at
        # once (everyone watching a job): the loop runs every other stream's send before this
        # one's close, each costing Hypercorn about as much, so the last client is not kept
        # waiting behind all the closes.
        await asyncio.sleep(0)


class JobStream(EventStream):
    """The event stream of one or more jobs for one client."""

    def __init__(
        self,
        *,
        job_ids: Sequence[str],
        snapshots: Mapping[str, dict[str, Any]],
        since: Mapping[str, int] | None,
        **common: Any,
    ) -> None:
        """``snapshots`` were read just before; ``since`` is the client's position, if any."""
        super().__init__(**common)
        self.job_ids = tuple(job_ids)
        self.snapshots = snapshots
        self.since = since
        self.last = dict.fromkeys(self.job_ids, 0)
        self.finished: set[str] = set()

    @property
    def cursor(self) -> str:
        """The stream's position: the SSE ``id`` a client sends back as ``Last-Event-ID``."""
        return ".".join(str(self.last[job_id]) for job_id in self.job_ids)

    def _subscribe(self) -> contextlib.AbstractContextManager[Subscription]:
        return self.hub.subscribe(*self.job_ids, namespace=self.reader.namespace, owners=self.owners)

    def _done(self) -> bool:
        return len(self.finished) == len(self.job_ids)

    async def _start(self) -> list[bytes]:
        opening = []
        for job_id in self.job_ids:
            snapshot = self.snapshots[job_id]
            if self.since is None or self.since[job_id] > snapshot["seq"]:
                name = "status" if self.since is None else SNAPSHOT_EVENT
                opening.append(JobEvent.from_snapshot(snapshot, name))
            else:
                self.last[job_id] = self.since[job_id]
        self.snapshots = {}  # read once, at the start: not kept for the stream's life
        return self._apply(opening) + await self._resync()

    async def _resync(self) -> list[bytes]:
        chunks = []
        for job_id in self.job_ids:
            if job_id not in self.finished:
                chunks += self._apply(await self._catch_up(job_id))
        return chunks

    async def _on_event(self, event: JobEvent) -> list[bytes]:
        if event.seq <= self.last[event.job_id] + 1:
            return self._apply([event])
        return self._apply(await self._catch_up(event.job_id))

    def _apply(self, events: list[JobEvent]) -> list[bytes]:
        """Advance the position over ``events``, returning the ones not yet sent, formatted."""
        chunks = []
        for event in events:
            if event.job_id in self.finished or event.seq <= self.last[event.job_id]:
                continue  # already sent: a wake-up that raced the log read
            self.last[event.job_id] = event.seq
            if event.is_terminal:
                self.finished.add(event.job_id)
            chunks.append(frame(event, self.cursor))
        return chunks

    async def _catch_up(self, job_id: str) -> list[JobEvent]:
        """Events after the job's position from its log, or one ``snapshot`` event if that
        history is gone. A job that no longer exists (expired, or lost with a Redis that kept no
        data) counts as finished: there is nothing more to say about it."""
        try:
            events, snapshot = await self.reader.events_after(job_id, self.last[job_id])
        except StoreUnavailable:
            # Keep the client: the hub sends RESYNC once Redis is back, and we catch up then.
            return []
        if snapshot is None:
            logger.info("Job %s no longer exists; its stream stops following it", job_id)
            self.finished.add(job_id)
            return []
        if (events and events[0].seq == self.last[job_id] + 1) or snapshot["seq"] <= self.last[job_id]:
            return events
        return [JobEvent.from_snapshot(snapshot, SNAPSHOT_EVENT)]


class Revoked(Exception):
    """The key or session a wait was made with ended while it waited."""


async def wait_for(
    *,
    reader: JobReader,
    hub: EventHub,
    job_id: str,
    timeout: float,
    until: Callable[[Mapping[str, Any]], bool],
    owners: tuple[str, ...] = (),
) -> tuple[dict[str, Any] | None, bool]:
    """Wait up to ``timeout`` seconds for the job's snapshot to satisfy ``until``.

    Returns the latest snapshot (None if the job does not exist) and whether ``until`` held;
    raises ``Revoked`` as soon as any of ``owners`` (the caller's key and session) ends.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    with hub.subscribe(job_id, namespace=reader.namespace, owners=owners, cancel_on_drop=False) as sub:
        await sub.ready(min(timeout, DEFAULT_READY_TIMEOUT))
        snapshot = await reader.snapshot(job_id)
        while True:
            if snapshot is None or until(snapshot):
                return snapshot, snapshot is not None
            remaining = deadline - loop.time()
            if remaining <= 0:
                return snapshot, False
            item = await sub.next(remaining)
            if isinstance(item, JobEvent):
                if item.seq > snapshot["seq"]:
                    snapshot = json.loads(item.data)
            elif item is REVOKED:
                raise Revoked()
            elif item is not None:  # RESYNC, DROPPED, SHUTDOWN: the snapshot tells where the job is
                snapshot = await reader.snapshot(job_id)
                if item is not RESYNC:
                    return snapshot, snapshot is not None and until(snapshot)
