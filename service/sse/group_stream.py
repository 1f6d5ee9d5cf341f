"""The event stream of a whole group: every job in it, new ones included, on one connection.

The web serves a workspace's stream this way (``/workspaces/<name>/events``): the contract jobs
are grouped by workspace. A group has its own event log (written by the job store's script in
the same atomic step as the job's own log), so its stream has a single resumable position: the
id of the last group log entry sent, which is the SSE ``id``. A fresh client first gets a
``snapshot`` event for each of the group's newest jobs, as they stood at the log entry whose id
the last of them carries (``JobReader.group_state`` reads the two as of one moment); a
reconnecting one gets every entry after its ``Last-Event-ID``, or, when the log no longer
reaches back that far, the snapshots again. Each wake-up carries the id of the entry before it,
so a live event is sent at once when it follows the position and the gap is read from the log
when it does not.

Each event reaches a client once, across reconnections too: an id is only ever sent with
everything up to it, so resuming from it repeats nothing and skips nothing. Per job, an event at
or below the ``seq`` already sent is dropped (on every path: live, replayed, snapshot), so no job
is ever seen twice at one step or moving backwards; when dropping one moves the position past
the last id sent, the stream sends the new position alone (an ``id:`` with a comment).
"""

from __future__ import annotations

import contextlib
import logging
import re
from typing import Any

from actors.jobs.errors import StoreUnavailable
from actors.jobs.events import GROUP_LOG_START, JobEvent

from .streams import SNAPSHOT_EVENT, EventStream, frame
from .subscription import Subscription

logger = logging.getLogger("jobs.streams")

#: Jobs whose snapshots a fresh group stream sends first (the newest ones).
DEFAULT_OPENING_JOBS = 100
#: A Redis stream entry id: milliseconds and a sequence number, each within 64 bits.
_ENTRY_ID = re.compile(r"([0-9]{1,20})-([0-9]{1,20})")


def parse_entry_id(raw: str) -> tuple[int, int] | None:
    """``"1732845123456-3"`` -> ``(1732845123456, 3)``; None when it is not a stream entry id."""
    match = _ENTRY_ID.fullmatch(raw)
    if match is None or max(int(match[1]), int(match[2])) >= 2**64:
        return None
    return int(match[1]), int(match[2])


class GroupStream(EventStream):
    def __init__(
        self, *, group: str, since: str | None, opening_jobs: int = DEFAULT_OPENING_JOBS, **common: Any
    ) -> None:
        super().__init__(**common)
        self.group = group
        self.since = since
        self.opening_jobs = opening_jobs
        self.position = since or GROUP_LOG_START
        #: The position the client holds: the last ``id`` it was sent.
        self.client_position = since
        self.seq_sent: dict[str, int] = {}

    def _subscribe(self) -> contextlib.AbstractContextManager[Subscription]:
        return self.hub.subscribe(namespace=self.reader.namespace, group=self.group, owners=self.owners)

    # What a stream of another log (the tenant's: tenant_stream.py) reads differently.

    def _entries(self, event: JobEvent) -> tuple[str | None, str | None]:
        """The event's id in this stream's log, and the id of the entry before it."""
        return event.group_entry, event.previous_group_entry

    async def _read_after(self, position: str) -> tuple[list[JobEvent], str | None]:
        return await self.reader.group_events_after(self.group, position)

    async def _read_state(self) -> tuple[list[dict[str, Any]], str]:
        return await self.reader.group_state(self.group, self.opening_jobs)

    async def _start(self) -> list[bytes]:
        if self.since is None:
            return await self._snapshots()
        return await self._resync()

    async def _on_event(self, event: JobEvent) -> list[bytes]:
        entry, previous = self._entries(event)
        assert entry is not None
        if _entry(entry) <= _entry(self.position):
            # Already covered: a wake-up published while the opening or a replay was being read.
            return []
        if previous == self.position:
            return self._send([event])
        return await self._resync()

    async def _resync(self) -> list[bytes]:
        try:
            events, oldest = await self._read_after(self.position)
        except StoreUnavailable:
            return []  # the hub sends RESYNC once Redis is back
        if oldest is not None and _entry(oldest) > _entry(self.position) and self.position != GROUP_LOG_START:
            logger.info(
                "Stream of %s: the log no longer reaches %s; sending snapshots", self.group, self.position
            )
            return await self._snapshots()
        return self._send(events)

    async def _snapshots(self) -> list[bytes]:
        try:
            snapshots, newest = await self._read_state()
        except StoreUnavailable:
            return []
        self.position = newest
        fresh = [
            JobEvent.from_snapshot(snapshot, SNAPSHOT_EVENT)
            for snapshot in reversed(snapshots)  # oldest job first, like the log
            if snapshot["seq"] > self.seq_sent.get(snapshot["job_id"], 0)
        ]
        chunks = []
        for number, event in enumerate(fresh, start=1):
            self.seq_sent[event.job_id] = event.seq
            # Only the last snapshot carries the position: a client cut off before it has not got
            # every job as of that entry, and reconnects without an id (or with its older one) to
            # be sent them again, rather than resume past the ones it never got.
            chunks.append(self._frame(event) if number == len(fresh) else _unpositioned(event))
        return self._with_position(chunks)

    def _send(self, events: list[JobEvent]) -> list[bytes]:
        chunks = []
        for event in events:
            entry, _ = self._entries(event)
            assert entry is not None
            if _entry(entry) <= _entry(self.position):
                continue  # already sent
            self.position = entry
            if event.seq <= self.seq_sent.get(event.job_id, 0):
                continue  # the client has this step of the job already (or a later one)
            self.seq_sent[event.job_id] = event.seq
            chunks.append(self._frame(event))
        return self._with_position(chunks)

    def _frame(self, event: JobEvent) -> bytes:
        self.client_position = self.position
        return frame(event, self.position)

    def _with_position(self, chunks: list[bytes]) -> list[bytes]:
        """``chunks``, then the position alone when it moved past the last id sent (over events
        the client had), so that a reconnection resumes from it and is not sent them again.
        Browsers take an ``id:`` from a block without data too; the comment makes it a block
        every SSE reader hands on."""
        if self.position not in (self.client_position, GROUP_LOG_START):
            self.client_position = self.position
            chunks.append(f": position\nid: {self.position}\n\n".encode())
        return chunks


def _unpositioned(event: JobEvent) -> bytes:
    """A frame without ``id:``: the client keeps the position it had (``frame`` otherwise)."""
    return f"event: {event.event}\ndata: {event.data}\n\n".encode()


def _entry(entry_id: str) -> tuple[int, int]:
    parsed = parse_entry_id(entry_id)
    assert parsed is not None, entry_id
    return parsed
