"""The job service's exception tree, shared by the workers and the web side.

    JobServiceError
    ├── StoreUnavailable        Redis cannot be reached (the web side answers 503)
    ├── InvalidPayload          a job's arguments do not match its parameters (422)
    └── UnknownJobType          no public job of that name is registered (404)

``StoreUnavailable`` is also a Dramatiq ``MiddlewareError`` so that, raised from a
``before_enqueue`` hook, it stops the message from being sent: a job whose record could not be
written must never reach the queue.
"""

from __future__ import annotations

from dramatiq.middleware import MiddlewareError


class JobServiceError(Exception):
    """Base class of every error this project raises on purpose."""


class StoreUnavailable(JobServiceError, MiddlewareError):
    """Redis could not be reached or did not answer in time."""


class InvalidPayload(JobServiceError):
    """A job's arguments do not match the parameters its actor declares."""

    def __init__(self, message: str, *, problems: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.problems = problems or {}


class UnknownJobType(JobServiceError):
    def __init__(self, job_type: str, valid: list[str]) -> None:
        super().__init__(f"Unknown job type {job_type!r}; valid types: {', '.join(valid) or 'none'}")
        self.job_type = job_type
        self.valid = valid
