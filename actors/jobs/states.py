"""Job states, their default messages (word for word from the seed), the snapshot's fields, and
the namespaces jobs live in."""

from __future__ import annotations

import re
from collections.abc import Mapping
from enum import Enum
from typing import Any


class JobStatus(str, Enum):
    PENDING = "PENDING"
    STARTED = "STARTED"
    SUCCESS = "SUCCESS"
    FAILURE = "FAILURE"
    CANCELLED = "CANCELLED"

    @property
    def is_terminal(self) -> bool:
        return self in TERMINAL_STATES

    @property
    def default_message(self) -> str:
        return DEFAULT_MESSAGES[self]


TERMINAL_STATES = frozenset({JobStatus.SUCCESS, JobStatus.FAILURE, JobStatus.CANCELLED})

DEFAULT_MESSAGES = {
    JobStatus.PENDING: "Job queued, waiting to start...",
    JobStatus.STARTED: "Processing in progress...",
    JobStatus.SUCCESS: "Completed successfully!",
    JobStatus.FAILURE: "Job failed",
    JobStatus.CANCELLED: "Job cancelled",
}


class EventType(str, Enum):
    """The SSE ``event:`` name of a change: a status transition or a progress report."""

    STATUS = "status"
    PROGRESS = "progress"


#: What a snapshot calls a job's group unless the engine is told another name (``JobEngine``).
DEFAULT_GROUP_FIELD = "group"

#: Every job lives in a namespace (the web gives each tenant one): its listings, groups and
#: idempotency keys are the namespace's, and a reader asking in another namespace finds nothing.
#: The namespace travels with the job's message as this option.
NAMESPACE_OPTION = "namespace"
#: The finished job a job runs again (``submit.retry_job``), as its message's option.
RETRY_OF_OPTION = "retry_of"
#: The namespace of a job sent without one (e.g. straight from Python with ``actor.send``).
DEFAULT_NAMESPACE = "default"
#: The snapshot field that records the namespace; like every field starting with ``_``, it is
#: the engine's own and never shown.
NAMESPACE_FIELD = "_namespace"
#: The record's field that keeps the job's encoded Dramatiq message (for the reaper, a retry and
#: the job's arguments; an engine's own field, never in a snapshot).
MESSAGE_FIELD = "_message"
#: The record's field that keeps the traceback of the job's last failure, bounded (the admin's to
#: read: it shows the server's paths; an engine's own field, never in a snapshot).
TRACEBACK_FIELD = "_traceback"
#: Most characters of a traceback kept (its end, where the error is, when it is longer).
MAX_TRACEBACK_CHARS = 16 * 1024
_NAMESPACE = re.compile(r"[a-z0-9][a-z0-9_-]{0,62}")


def is_valid_namespace(name: str) -> bool:
    """Lower-case letters, digits, ``_`` and ``-``, 1 to 63 of them: safe in any key."""
    return _NAMESPACE.fullmatch(name) is not None


def snapshot_fields(group_field: str = DEFAULT_GROUP_FIELD) -> tuple[str, ...]:
    """The fields of a job snapshot, in the order the API shows them."""
    return (
        "job_id",
        "job_type",
        group_field,
        "status",
        "message",
        "progress",
        "seq",
        "attempt",
        "result",
        "error",
        "created_at",
        "updated_at",
        "started_at",
        "finished_at",
        "retry_at",
        "worker",
        "retry_of",
        "retried_by",
    )


def is_finished(snapshot: Mapping[str, Any]) -> bool:
    """True when the snapshot's job has reached a terminal state."""
    return JobStatus(snapshot["status"]).is_terminal
