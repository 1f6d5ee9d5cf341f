"""A job's event log, kept as steps back from its record (``jobs:history:<job_id>``, a list).

Every event of a job is its snapshot right after a change, and the record holds the latest one.
So the log keeps, for each earlier event, only what the next change overwrote: the store's script
(``lua/change/_shared.lua``) appends one *step* per change but the creation, a JSON array

    [event, {field: value before, ...}]            or, when the change added fields,
    [event, {field: value before, ...}, [added, ...]]

where ``event`` is the SSE name (``status``, ``progress``) of the event before the change, and the
object holds every snapshot field the change overwrote as it was (``seq`` among them: each step
names the event it leads back to). The list holds the steps of the events before the latest,
oldest first, at most ``EVENT_LOG_MAX`` of them (the oldest go first).

Stepping back from the record through the newest steps gives every event a client may resume
after, in full and in order, for a fraction of the bytes: a finished no-op job's log is two steps
of about 160 bytes, a small list, where a stream of its three snapshots took 4.8 KB (a stream's
first node is allocated at 4 KB). The record's ``_event`` is the latest event's name when it is
not ``status``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping

import redis

from . import keys
from .encoding import decode_snapshot, text
from .events import JobEvent

#: The record's field naming its latest event, when that is not a status event.
EVENT_FIELD = "_event"
STATUS_EVENT = "status"


def replay(
    record: Mapping[bytes | str, bytes | str], steps: Iterable[bytes | str], fields: tuple[str, ...]
) -> list[JobEvent]:
    """The events ``steps`` (the newest of a history, oldest first) lead back to from ``record``
    (an HGETALL reply), oldest first, the record's own latest event last; [] without a record.
    ``fields``: the snapshot's fields in API order."""
    snapshot = decode_snapshot(record, fields)
    if snapshot is None:
        return []
    latest = record.get(EVENT_FIELD.encode(), record.get(EVENT_FIELD))  # type: ignore[call-overload]
    events = [JobEvent.from_snapshot(snapshot, text(latest) if latest is not None else STATUS_EVENT)]
    for step in reversed(list(steps)):
        event, before, *added = json.loads(step)
        snapshot = {**snapshot, **before}
        for name in added[0] if added else ():
            snapshot.pop(name, None)
        events.append(JobEvent.from_snapshot(snapshot, event))
    events.reverse()
    return events


def read(client: redis.Redis, job_id: str, fields: tuple[str, ...]) -> list[JobEvent]:
    """Every event the job's history keeps, oldest first (for tools and tests; the web reads
    within a namespace, ``reader.JobReader.events_after``)."""
    with client.pipeline(transaction=True) as pipe:
        pipe.hgetall(keys.job(job_id))
        pipe.lrange(keys.job_history(job_id), 0, -1)
        record, steps = pipe.execute()
    return replay(record, steps, fields)
