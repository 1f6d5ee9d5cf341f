"""The event stream of a whole workspace: every job in it, new ones included, on one connection.

A workspace has its own event log (written by the job store's script in the same atomic step as
the job's own log), so its stream has a single resumable position: the id of the last workspace
log entry sent, which is the SSE ``id``. A fresh client first gets a ``snapshot`` event for each
of the workspace's newest jobs; a reconnecting one gets every entry after its ``Last-Event-ID``,
or, when the log no longer reaches back that far, the snapshots again. Each wake-up carries the
id of the entry before it, so a live event is sent at once when it follows the position and
the gap is read from the log when it does not. Per job, an event never older than one already
sent goes out, so no job is ever seen to move backwards.
"""

from __future__ import annotations

import contextlib
import logging
from typing import Any

from actors.errors import StoreUnavailable
from actors.records import JobEvent

from .hub import Subscription
from .streams import SNAPSHOT_EVENT, EventStream

logger = logging.getLogger("jobs.streams")

#: Jobs whose snapshots a fresh workspace stream sends first (the newest ones).
DEFAULT_OPENING_JOBS = 100
#: The position of a client that has seen nothing of the workspace's log.
START = "0-0"


def parse_entry_id(raw: str) -> tuple[int, int] | None:
    """``"1732845123456-3"`` -> ``(1732845123456, 3)``; None when it is not a stream entry id."""
    millis, _, sequence = raw.partition("-")
    if not (millis.isdigit() and sequence.isdigit()):
        return None
    return int(millis), int(sequence)


class WorkspaceStream(EventStream):
    def __init__(
        self, *, workspace: str, since: str | None, opening_jobs: int = DEFAULT_OPENING_JOBS, **common: Any
    ) -> None:
        super().__init__(**common)
        self.workspace = workspace
        self.since = since
        self.opening_jobs = opening_jobs
        self.position = since or START
        self.seq_sent: dict[str, int] = {}

    def _subscribe(self) -> contextlib.AbstractContextManager[Subscription]:
        return self.hub.subscribe(workspace=self.workspace)

    async def _start(self) -> list[bytes]:
        if self.since is None:
            return await self._snapshots()
        return await self._resync()

    async def _on_event(self, event: JobEvent) -> list[bytes]:
        if event.previous_workspace_entry == self.position:
            return self._send([event])
        return await self._resync()

    async def _resync(self) -> list[bytes]:
        try:
            events, oldest = await self.reader.workspace_events_after(self.workspace, self.position)
        except StoreUnavailable:
            return []  # the hub sends RESYNC once Redis is back
        if oldest is not None and _entry(oldest) > _entry(self.position) and self.position != START:
            logger.info(
                "Workspace %s: the log no longer reaches %s; sending snapshots", self.workspace, self.position
            )
            return await self._snapshots()
        return self._send(events)

    async def _snapshots(self) -> list[bytes]:
        try:
            snapshots, newest = await self.reader.workspace_state(self.workspace, self.opening_jobs)
        except StoreUnavailable:
            return []
        self.position = newest
        chunks = []
        for snapshot in reversed(snapshots):  # oldest job first, like the log
            self.seq_sent[snapshot["job_id"]] = snapshot["seq"]
            event = JobEvent.from_snapshot(snapshot, SNAPSHOT_EVENT)
            chunks.append(f"event: {event.event}\nid: {self.position}\ndata: {event.data}\n\n".encode())
        return chunks

    def _send(self, events: list[JobEvent]) -> list[bytes]:
        chunks = []
        for event in events:
            assert event.workspace_entry is not None
            if _entry(event.workspace_entry) <= _entry(self.position):
                continue  # already sent
            self.position = event.workspace_entry
            if event.seq <= self.seq_sent.get(event.job_id, 0):
                continue  # older than a snapshot already sent for this job
            self.seq_sent[event.job_id] = event.seq
            chunks.append(f"event: {event.event}\nid: {self.position}\ndata: {event.data}\n\n".encode())
        return chunks


def _entry(entry_id: str) -> tuple[int, int]:
    parsed = parse_entry_id(entry_id)
    assert parsed is not None, entry_id
    return parsed
