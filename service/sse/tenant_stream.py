"""The event stream of a whole tenant: every job of it, new ones included, and its live counts.

The web serves it as ``/tenant/events``. It is the workspace stream (``group_stream.py``) over
another log: the tenant's (``keys.tenant_log``), which the job store's script appends every
change of every job of the namespace to, in the same atomic step as the job's own log, and whose
wake-ups go out on the tenant's channel. So the framing is the workspace stream's: a fresh client
gets one ``snapshot`` event for each of the tenant's newest jobs (newest first in the index,
sent oldest first), then each change of any job as it happens (``status``, ``progress``, the
snapshot as data, carrying its ``job_id``), each with the id of its entry in the tenant's log;
``Last-Event-ID`` (or ``?since=``) resumes with no gap and no repeat, and snapshots again when
the log no longer reaches back.

Between them it sends ``fleet`` events, without an ``id`` (they are not in the log, and resuming
never replays them): the body ``GET /worker/status`` gives this tenant, at the start, within
``FLEET_COALESCE_S`` of any status change of one of its jobs (at most one per that time), and
every ``FLEET_INTERVAL_S`` otherwise, so a console that holds this stream needs no polling.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Awaitable, Callable
from typing import Any

from actors.jobs.events import JobEvent
from actors.jobs.states import EventType

from .group_stream import GroupStream
from .subscription import Subscription

#: The SSE event name of the live counts.
FLEET_EVENT = "fleet"
#: Seconds between two ``fleet`` events while no job of the tenant changes status.
FLEET_INTERVAL_S = 5.0
#: The fewest seconds between two ``fleet`` events: the status changes of a burst share one.
FLEET_COALESCE_S = 1.0

#: What reads the ``fleet`` event's body (``/worker/status``'s, as the tenant sees it).
FleetStatus = Callable[[], Awaitable[dict[str, Any]]]


class TenantStream(GroupStream):
    def __init__(self, *, fleet_status: FleetStatus, since: str | None, **common: Any) -> None:
        super().__init__(group="", since=since, **common)
        self.group = f"tenant {self.reader.namespace}"  # for the logs only: no group is read
        self.fleet_status = fleet_status
        self.fleet_due: float | None = None  # when the next fleet event goes out (loop time)
        self.fleet_sent_at = float("-inf")

    def _subscribe(self) -> contextlib.AbstractContextManager[Subscription]:
        return self.hub.subscribe(namespace=self.reader.namespace, whole_namespace=True, owners=self.owners)

    def _entries(self, event: JobEvent) -> tuple[str | None, str | None]:
        return event.tenant_entry, event.previous_tenant_entry

    async def _read_after(self, position: str) -> tuple[list[JobEvent], str | None]:
        return await self.reader.tenant_events_after(position)

    async def _read_state(self) -> tuple[list[dict[str, Any]], str]:
        return await self.reader.tenant_state(self.opening_jobs)

    async def _start(self) -> list[bytes]:
        return await super()._start() + await self._due()

    async def _on_event(self, event: JobEvent) -> list[bytes]:
        if event.event == EventType.STATUS.value:
            self._fleet_soon()
        return await super()._on_event(event)

    async def _resync(self) -> list[bytes]:
        self._fleet_soon()  # Redis was away, or a wake-up was missed: counts may have moved
        return await super()._resync()

    def _fleet_soon(self) -> None:
        soon = max(asyncio.get_running_loop().time(), self.fleet_sent_at + FLEET_COALESCE_S)
        if self.fleet_due is None or soon < self.fleet_due:
            self.fleet_due = soon

    def _next_due(self) -> float | None:
        return self.fleet_due

    async def _due(self) -> list[bytes]:
        body = await self.fleet_status()
        loop = asyncio.get_running_loop()
        self.fleet_sent_at = loop.time()
        self.fleet_due = self.fleet_sent_at + FLEET_INTERVAL_S
        return [f"event: {FLEET_EVENT}\ndata: {json.dumps(body, separators=(',', ':'))}\n\n".encode()]
