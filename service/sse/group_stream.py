"""The event stream of a whole group: every job in it, new ones included, on one connection.

The web serves a workspace's stream this way (``/workspaces/<name>/events``): the contract jobs
are grouped by workspace. A group has its own event log (written by the job store's script in
the same atomic step as the job's own log), so its stream has a single resumable position: the
id of the last group log entry sent, which is the SSE ``id``. A fresh client first gets a
``snapshot`` event for each of the group's newest jobs; a reconnecting one gets every entry
after its ``Last-Event-ID``, or, when the log no longer reaches back that far, the snapshots
again. Each wake-up carries the id of the entry before it, so a live event is sent at once when
it follows the position and the gap is read from the log when it does not. Per job, an event
never older than one already sent goes out, so no job is ever seen to move backwards.
"""

from __future__ import annotations

import contextlib
import logging
import re
from typing import Any

from actors.jobs.errors import StoreUnavailable
from actors.jobs.events import GROUP_LOG_START, JobEvent

from .hub import Subscription
from .streams import SNAPSHOT_EVENT, EventStream, frame

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
        self.seq_sent: dict[str, int] = {}

    def _subscribe(self) -> contextlib.AbstractContextManager[Subscription]:
        return self.hub.subscribe(namespace=self.reader.namespace, group=self.group, owner=self.owner)

    async def _start(self) -> list[bytes]:
        if self.since is None:
            return await self._snapshots()
        return await self._resync()

    async def _on_event(self, event: JobEvent) -> list[bytes]:
        if event.previous_group_entry == self.position:
            return self._send([event])
        return await self._resync()

    async def _resync(self) -> list[bytes]:
        try:
            events, oldest = await self.reader.group_events_after(self.group, self.position)
        except StoreUnavailable:
            return []  # the hub sends RESYNC once Redis is back
        if oldest is not None and _entry(oldest) > _entry(self.position) and self.position != GROUP_LOG_START:
            logger.info(
                "Group %s: the log no longer reaches %s; sending snapshots", self.group, self.position
            )
            return await self._snapshots()
        return self._send(events)

    async def _snapshots(self) -> list[bytes]:
        try:
            snapshots, newest = await self.reader.group_state(self.group, self.opening_jobs)
        except StoreUnavailable:
            return []
        self.position = newest
        chunks = []
        for snapshot in reversed(snapshots):  # oldest job first, like the log
            self.seq_sent[snapshot["job_id"]] = snapshot["seq"]
            chunks.append(frame(JobEvent.from_snapshot(snapshot, SNAPSHOT_EVENT), self.position))
        return chunks

    def _send(self, events: list[JobEvent]) -> list[bytes]:
        chunks = []
        for event in events:
            assert event.group_entry is not None
            if _entry(event.group_entry) <= _entry(self.position):
                continue  # already sent
            self.position = event.group_entry
            if event.seq <= self.seq_sent.get(event.job_id, 0):
                continue  # older than a snapshot already sent for this job
            self.seq_sent[event.job_id] = event.seq
            chunks.append(frame(event, self.position))
        return chunks


def _entry(entry_id: str) -> tuple[int, int]:
    parsed = parse_entry_id(entry_id)
    assert parsed is not None, entry_id
    return parsed
