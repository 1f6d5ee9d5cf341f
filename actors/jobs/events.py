"""How a job's snapshot and events are encoded in Redis, for the writer and the readers alike.

A snapshot is a Redis hash whose values are each a JSON document, so the store's Lua script can
assemble the snapshot's JSON without decoding anything. An event is the snapshot as it stood
right after the change, with its ``seq`` and its type; fields whose name starts with ``_`` are
the engine's own (the job's namespace) and are in neither. An event reaches readers three ways,
each parsed here: as a wake-up on ``keys.EVENTS_CHANNEL``, as an entry of the job's log, and as
an entry of its group's log or its namespace's. The wake-up's lines are ``<job_id> <event>
<previous group entry id> <group entry id> <previous namespace entry id> <namespace entry id>``
(the group's are ``-`` for a job without a group), the job's namespace, its group's name as
JSON, and the snapshot JSON (none of them can hold a newline).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import redis

from .errors import StoreUnavailable
from .states import NAMESPACE_FIELD, JobStatus

#: The redis-py errors that mean "Redis is not reachable right now".
REDIS_UNAVAILABLE_ERRORS = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError)
#: The id a group log's first entry follows.
GROUP_LOG_START = "0-0"

#: The characters a job id may contain (Dramatiq's message ids are UUID4 strings).
_JOB_ID_CHARS = frozenset("0123456789abcdefABCDEF-")
_JOB_ID_MAX = 64


@contextmanager
def redis_errors_as_unavailable() -> Iterator[None]:
    """Turn redis-py's "cannot reach Redis" errors into ``StoreUnavailable`` (sync or async code)."""
    try:
        yield
    except REDIS_UNAVAILABLE_ERRORS as exc:
        raise StoreUnavailable(f"Redis is unavailable: {exc}") from exc


def is_valid_job_id(job_id: str) -> bool:
    """True when ``job_id`` could name a job; anything else is answered "not found" at once."""
    return 0 < len(job_id) <= _JOB_ID_MAX and set(job_id) <= _JOB_ID_CHARS


def utc_now(offset_seconds: float = 0.0) -> str:
    """An ISO 8601 UTC timestamp with milliseconds, ``offset_seconds`` from now."""
    return iso_time(datetime.now(UTC).timestamp() + offset_seconds)


def iso_time(unix_seconds: float) -> str:
    """A unix time as an ISO 8601 UTC timestamp with milliseconds (the API's one format)."""
    moment = datetime.fromtimestamp(unix_seconds, UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


#: One encoder for every change (``json.dumps`` with options builds a new one per call).
_COMPACT = json.JSONEncoder(separators=(",", ":")).encode


def compact_json(value: Any) -> str:
    return _COMPACT(value.value if isinstance(value, JobStatus) else value)


def text(value: bytes | str) -> str:
    """A Redis reply as text (redis-py gives bytes unless told to decode)."""
    return value.decode() if isinstance(value, bytes) else value


def encode_fields(fields: Mapping[str, Any]) -> list[str]:
    """Flatten ``fields`` into HSET's ``field value ...`` arguments, each value JSON-encoded."""
    flat: list[str] = []
    for name, value in fields.items():
        flat += [name, compact_json(value)]
    return flat


def decode_snapshot(raw: Mapping[bytes | str, bytes | str], fields: Sequence[str]) -> dict[str, Any] | None:
    """Turn an HGETALL reply into a snapshot dict in the order of ``fields`` (the engine's own
    ``_`` fields left out); None when empty."""
    if not raw:
        return None
    decoded = {name: json.loads(v) for k, v in raw.items() if not (name := text(k)).startswith("_")}
    ordered = {name: decoded.pop(name, None) for name in fields}
    ordered.update(decoded)
    return ordered


def owned_by(raw: Mapping[bytes | str, bytes | str], namespace: str) -> bool:
    """Whether an HGETALL reply is a job of ``namespace`` (an empty reply is nobody's)."""
    stored = raw.get(NAMESPACE_FIELD.encode(), raw.get(NAMESPACE_FIELD))  # type: ignore[call-overload]
    return stored is not None and json.loads(stored) == namespace


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
    def parse(
        cls,
        job_id: str,
        event: str,
        data: str,
        *,
        namespace: str | None = None,
        group: str | None = None,
        group_entry: str | None = None,
        previous_group_entry: str | None = None,
        tenant_entry: str | None = None,
        previous_tenant_entry: str | None = None,
    ) -> JobEvent:
        snapshot = json.loads(data)
        return cls(
            job_id,
            int(snapshot["seq"]),
            event,
            data,
            JobStatus(snapshot["status"]),
            namespace,
            group,
            group_entry,
            previous_group_entry,
            tenant_entry,
            previous_tenant_entry,
        )

    @classmethod
    def from_snapshot(cls, snapshot: Mapping[str, Any], event: str = "status") -> JobEvent:
        return cls(
            snapshot["job_id"],
            int(snapshot["seq"]),
            event,
            compact_json(snapshot),
            JobStatus(snapshot["status"]),
        )

    @classmethod
    def from_wakeup(cls, payload: bytes | str) -> JobEvent:
        """Parse a wake-up (see the module's docstring and ``scripts.APPLY_CHANGE``)."""
        head, namespace, group_json, data = text(payload).split("\n", 3)
        job_id, event, previous, entry, previous_in_tenant, in_tenant = head.split(" ")
        grouped = entry != "-"
        return cls.parse(
            job_id,
            event,
            data,
            namespace=namespace,
            group=json.loads(group_json) if grouped else None,
            group_entry=entry if grouped else None,
            previous_group_entry=previous if grouped else None,
            tenant_entry=in_tenant,
            previous_tenant_entry=previous_in_tenant,
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
