"""``JobEvent``: one change of one job, as the readers get it.

An event is the job's snapshot as it stood right after the change, with its ``seq`` and its SSE
event name (``status`` or ``progress``). It reaches readers three ways, each parsed here: as a
wake-up published by the store's scripts (one JSON document, see ``lua/change/_shared.lua``), as an
entry of the job's own log, and as an entry of a log many jobs share (its group's, its
namespace's), whose entry ids let a stream resume with no gap and no repeat.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .encoding import compact_json, text
from .states import JobStatus

#: The id a shared log's first entry follows.
GROUP_LOG_START = "0-0"


@dataclass(frozen=True, slots=True)
class JobEvent:
    """One change of one job: its ``seq``, its SSE event name and the snapshot after it (JSON)."""

    job_id: str
    seq: int
    event: str
    data: str
    status: JobStatus
    namespace: str | None = None
    group: str | None = None
    #: This event's id in its group's log, and the id of the entry before it ("0-0" if none).
    group_entry: str | None = None
    previous_group_entry: str | None = None
    #: The same in its namespace's log (every job of the namespace: the tenant's stream).
    tenant_entry: str | None = None
    previous_tenant_entry: str | None = None

    @property
    def is_terminal(self) -> bool:
        return self.status.is_terminal

    @classmethod
    def parse(cls, job_id: str, event: str, data: str, **where: str | None) -> JobEvent:
        """An event from its snapshot's JSON ``data``; ``where`` names its place in shared logs."""
        return cls._of(job_id, event, json.loads(data), data, **where)

    @classmethod
    def _of(
        cls, job_id: str, event: str, snapshot: Mapping[str, Any], data: str, **where: str | None
    ) -> JobEvent:
        return cls(
            job_id=job_id,
            seq=int(snapshot["seq"]),
            event=event,
            data=data,
            status=JobStatus(snapshot["status"]),
            **where,
        )

    @classmethod
    def from_snapshot(cls, snapshot: Mapping[str, Any], event: str = "status") -> JobEvent:
        return cls._of(snapshot["job_id"], event, snapshot, compact_json(snapshot))

    @classmethod
    def from_wakeup(cls, payload: bytes | str) -> JobEvent:
        """Parse a wake-up: ``{"job_id", "event", "namespace", "group", "group_entry",
        "tenant_entry", "snapshot"}``, where an entry is ``[previous id, this id]`` (the group's
        is null for a job without a group)."""
        wakeup = json.loads(payload)
        grouped, in_tenant = wakeup["group_entry"], wakeup["tenant_entry"]
        return cls._of(
            wakeup["job_id"],
            wakeup["event"],
            snapshot := wakeup["snapshot"],
            compact_json(snapshot),
            namespace=wakeup["namespace"],
            group=wakeup["group"] if grouped else None,
            previous_group_entry=grouped[0] if grouped else None,
            group_entry=grouped[1] if grouped else None,
            previous_tenant_entry=in_tenant[0],
            tenant_entry=in_tenant[1],
        )

    @classmethod
    def from_log_entry(cls, job_id: str, fields: Mapping[bytes | str, bytes | str]) -> JobEvent:
        by_name = {text(k): text(v) for k, v in fields.items()}
        return cls.parse(job_id, by_name["event"], by_name["snapshot"])

    @classmethod
    def from_tenant_entry(
        cls, namespace: str, entry_id: bytes | str, fields: Mapping[bytes | str, bytes | str]
    ) -> JobEvent:
        """An entry of a namespace's log (its id is the event's ``tenant_entry``)."""
        return cls._from_shared_log(fields, namespace=namespace, tenant_entry=text(entry_id))

    @classmethod
    def from_group_entry(
        cls, namespace: str, group: str, entry_id: bytes | str, fields: Mapping[bytes | str, bytes | str]
    ) -> JobEvent:
        """An entry of a group's log (its id is the event's ``group_entry``)."""
        return cls._from_shared_log(fields, namespace=namespace, group=group, group_entry=text(entry_id))

    @classmethod
    def _from_shared_log(cls, fields: Mapping[bytes | str, bytes | str], **where: str) -> JobEvent:
        """An entry of a log many jobs share: it names its job."""
        by_name = {text(k): text(v) for k, v in fields.items()}
        return cls.parse(by_name["job_id"], by_name["event"], by_name["snapshot"], **where)
