"""How a job's snapshot and events are encoded in Redis, shared by the workers and the web side.

A snapshot is a Redis hash whose values are each a JSON document, so the Lua script in
``store.py`` can assemble the snapshot's JSON without decoding anything. An event is the
snapshot as it stood right after the change, tagged with its ``seq`` and its type.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import redis

from .errors import StoreUnavailable
from .states import SNAPSHOT_FIELDS, JobStatus

#: The redis-py errors that mean "Redis is not reachable right now".
REDIS_UNAVAILABLE_ERRORS = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError)

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
    moment = datetime.now(UTC) + timedelta(seconds=offset_seconds)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def compact_json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


def encode_fields(fields: Mapping[str, Any]) -> list[str]:
    """Flatten ``fields`` into HSET's ``field value ...`` arguments, each value JSON-encoded."""
    flat: list[str] = []
    for name, value in fields.items():
        flat += [name, compact_json(value.value if isinstance(value, JobStatus) else value)]
    return flat


def decode_snapshot(raw: Mapping[bytes | str, bytes | str]) -> dict[str, Any] | None:
    """Turn an HGETALL reply into a snapshot dict in the API's field order; None when empty."""
    if not raw:
        return None
    decoded = {_text(k): json.loads(v) for k, v in raw.items()}
    ordered = {name: decoded.pop(name, None) for name in SNAPSHOT_FIELDS}
    ordered.update(decoded)
    return ordered


@dataclass(frozen=True, slots=True)
class JobEvent:
    """One change of one job: its ``seq``, its SSE event name and the snapshot after it (JSON)."""

    job_id: str
    seq: int
    event: str
    data: str
    status: JobStatus
    workspace: str | None = None
    #: This event's id in its workspace's log, and the id of the entry before it ("0-0" if none).
    workspace_entry: str | None = None
    previous_workspace_entry: str | None = None

    @property
    def is_terminal(self) -> bool:
        return self.status.is_terminal

    @classmethod
    def from_snapshot_json(
        cls, job_id: str, event: str, data: str, workspace_entries: tuple[str, str] | None = None
    ) -> JobEvent:
        snapshot = json.loads(data)
        previous, entry = workspace_entries or (None, None)
        return cls(
            job_id,
            int(snapshot["seq"]),
            event,
            data,
            JobStatus(snapshot["status"]),
            snapshot.get("workspace"),
            entry,
            previous,
        )

    @classmethod
    def from_snapshot(cls, snapshot: Mapping[str, Any], event: str = "status") -> JobEvent:
        return cls(
            snapshot["job_id"],
            int(snapshot["seq"]),
            event,
            compact_json(snapshot),
            JobStatus(snapshot["status"]),
            snapshot.get("workspace"),
        )

    @classmethod
    def from_wakeup(cls, payload: bytes | str) -> JobEvent:
        """Parse a wake-up: ``<job_id> <event> <previous ws entry> <ws entry> <snapshot json>``
        (see ``store._APPLY_CHANGE``; the workspace entries are ``-`` for a job without one)."""
        job_id, event, previous, entry, data = _text(payload).split(" ", 4)
        entries = (previous, entry) if entry != "-" else None
        return cls.from_snapshot_json(job_id, event, data, entries)

    @classmethod
    def from_workspace_entry(
        cls, entry_id: bytes | str, fields: Mapping[bytes | str, bytes | str]
    ) -> JobEvent:
        """An entry of a workspace's log (its id is the event's ``workspace_entry``)."""
        by_name = {_text(k): _text(v) for k, v in fields.items()}
        return cls.from_snapshot_json(
            by_name["job_id"], by_name["event"], by_name["snapshot"], ("", _text(entry_id))
        )

    @classmethod
    def from_log_entry(cls, job_id: str, fields: Mapping[bytes | str, bytes | str]) -> JobEvent:
        by_name = {_text(k): _text(v) for k, v in fields.items()}
        return cls.from_snapshot_json(job_id, by_name["event"], by_name["snapshot"])


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
