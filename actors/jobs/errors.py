"""The job engine's exception tree (each layer built on the engine has a tree of its own).

    JobError
    ├── StoreUnavailable        Redis cannot be reached (the web answers 503)
    ├── UnknownJobType          no public job of that name is declared (404)
    └── InvalidPayload          a job's arguments do not match its parameters or its check (422)
        └── IdempotencyKeyReused  an Idempotency-Key already used for another request (422)

    dramatiq's Interrupt (a BaseException)
    ├── JobCancelled            raised inside a running job that was asked to cancel
    └── LeaseLost               raised inside a run whose job was taken over by another run

``redis_errors_as_unavailable`` turns redis-py's "cannot reach Redis" errors into
``StoreUnavailable``, for every layer that talks to Redis.

``StoreUnavailable`` is also a Dramatiq ``MiddlewareError`` so that, raised from a
``before_enqueue`` hook, it stops the message from being sent: a job whose record could not be
written must never reach the queue.

``JobCancelled`` is an ``Interrupt``, like Dramatiq's ``TimeLimitExceeded``: a job's own
``except Exception`` cannot swallow it, so a cancelled job always stops.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import redis
from dramatiq.middleware import Interrupt, MiddlewareError

#: The redis-py errors that mean "Redis is not reachable right now".
REDIS_UNAVAILABLE_ERRORS = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError)


class JobError(Exception):
    """Base class of every error the job engine raises on purpose."""


class StoreUnavailable(JobError, MiddlewareError):
    """Redis could not be reached or did not answer in time."""


class UnknownJobType(JobError):
    def __init__(self, job_type: str, valid: list[str]) -> None:
        super().__init__(f"Unknown job type {job_type!r}; valid types: {', '.join(valid) or 'none'}")
        self.job_type = job_type
        self.valid = valid


class InvalidPayload(JobError):
    """A job's arguments do not match the parameters its actor declares, or fail its check."""

    def __init__(self, message: str, *, problems: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.problems = problems or {}


class IdempotencyKeyReused(InvalidPayload):
    """The ``Idempotency-Key`` was used, within its time to live, for a different request."""


class LeaseLost(Interrupt):
    """Raised in a run's thread when its job is no longer its own: its lease lapsed and another
    run took the job over (or the reaper ended it). The run stops; it is never retried."""


class JobCancelled(Interrupt):
    """Raised in a job's thread when it was asked to cancel: at its next progress report, or by the
    worker once the grace period is over. It is never retried."""


@contextmanager
def redis_errors_as_unavailable() -> Iterator[None]:
    """Turn redis-py's "cannot reach Redis" errors into ``StoreUnavailable`` (sync or async code)."""
    try:
        yield
    except REDIS_UNAVAILABLE_ERRORS as exc:
        raise StoreUnavailable(f"Redis is unavailable: {exc}") from exc
