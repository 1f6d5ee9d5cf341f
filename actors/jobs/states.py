"""Job states, their default messages (word for word from the seed) and the snapshot's fields."""

from __future__ import annotations

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
        "started_at",
        "finished_at",
        "retry_at",
        "worker",
    )


def is_finished(snapshot: Mapping[str, Any]) -> bool:
    """True when the snapshot's job has reached a terminal state."""
    return JobStatus(snapshot["status"]).is_terminal
