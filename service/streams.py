"""Server-Sent Events for one job, and the legacy sync path's wait, both fed by the hub.

A stream sends ``retry:``, then either the current snapshot (a fresh client) or every logged
event after the client's ``Last-Event-ID`` (a reconnecting one), then live events. It tracks the
last ``seq`` it sent: duplicates are skipped, and a gap, a ``RESYNC`` from the hub or a missed
wake-up is filled from the job's log, so each event reaches the client once and in order
(DESIGN invariant 3). When the log no longer reaches back far enough it sends one full
``snapshot`` event instead of a partial replay. It ends after a terminal event.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from typing import Any

from actors.errors import StoreUnavailable
from actors.records import JobEvent
from actors.states import JobStatus

from .hub import DROPPED, EventHub
from .jobs_reader import JobReader

logger = logging.getLogger("jobs.streams")

HEARTBEAT = b": keepalive\n\n"
#: SSE event name for a full snapshot sent in place of a replay that the log can no longer give.
SNAPSHOT_EVENT = "snapshot"


def format_event(event: JobEvent) -> bytes:
    return f"event: {event.event}\nid: {event.seq}\ndata: {event.data}\n\n".encode()


class JobStream:
    """The event stream of one job for one client."""

    def __init__(
        self, *, reader: JobReader, hub: EventHub, job_id: str, heartbeat: float, retry_ms: int
    ) -> None:
        self.reader = reader
        self.hub = hub
        self.job_id = job_id
        self.heartbeat = heartbeat
        self.retry_ms = retry_ms
        self.last_seq = 0

    async def events(self, snapshot: dict[str, Any], since: int | None) -> AsyncIterator[bytes]:
        """Yield the stream's bytes; ``snapshot`` was read just before, ``since`` is Last-Event-ID."""
        with self.hub.subscribe(self.job_id) as sub:
            yield f"retry: {self.retry_ms}\n\n".encode()
            if since is None or since > snapshot["seq"]:
                first = JobEvent.from_snapshot(snapshot, "status" if since is None else SNAPSHOT_EVENT)
                self.last_seq = first.seq
                yield format_event(first)
                if first.is_terminal:
                    return
            else:
                self.last_seq = since
            pending = await self._catch_up()
            while pending is not None:
                for event in pending:
                    if event.seq <= self.last_seq:
                        continue  # already sent: a wake-up that raced the log read
                    self.last_seq = event.seq
                    yield format_event(event)
                    if event.is_terminal:
                        return
                item = await sub.next(self.heartbeat)
                if item is None:
                    pending = []
                    yield HEARTBEAT
                elif item is DROPPED:
                    logger.info("Dropping a stream of job %s: its client stopped reading", self.job_id)
                    return
                elif isinstance(item, JobEvent) and item.seq <= self.last_seq + 1:
                    pending = [item]
                else:  # RESYNC, or an event after a gap
                    pending = await self._catch_up()
            logger.info("Closing a stream of job %s: the job no longer exists", self.job_id)

    async def _catch_up(self) -> list[JobEvent] | None:
        """Events after ``last_seq`` from the log, or one ``snapshot`` event if that history is
        gone; None when the job itself is gone (expired, or lost with a Redis that kept no data)."""
        try:
            events, snapshot = await self.reader.events_after(self.job_id, self.last_seq)
        except StoreUnavailable:
            # Keep the client: the hub sends RESYNC once Redis is back, and we catch up then.
            return []
        if snapshot is None:
            return None
        if (events and events[0].seq == self.last_seq + 1) or snapshot["seq"] <= self.last_seq:
            return events
        return [JobEvent.from_snapshot(snapshot, SNAPSHOT_EVENT)]


async def wait_for_terminal(
    *, reader: JobReader, hub: EventHub, job_id: str, timeout: float
) -> dict[str, Any] | None:
    """The job's terminal snapshot, or None if it is not finished within ``timeout`` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    with hub.subscribe(job_id) as sub:
        snapshot = await reader.snapshot(job_id)
        while True:
            if snapshot is not None and JobStatus(snapshot["status"]).is_terminal:
                return snapshot
            remaining = deadline - loop.time()
            if remaining <= 0:
                return None
            item = await sub.next(remaining)
            if isinstance(item, JobEvent):
                if item.is_terminal:
                    return json.loads(item.data)
            elif item is not None:  # RESYNC or DROPPED: the snapshot tells where the job is
                snapshot = await reader.snapshot(job_id)
