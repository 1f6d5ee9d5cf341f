"""Job states, their default messages (word for word from the seed) and the snapshot's fields."""

from __future__ import annotations

from enum import Enum


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


#: The fields of a job snapshot, in the order the API shows them.
SNAPSHOT_FIELDS = (
    "job_id",
    "job_type",
    "workspace",
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
