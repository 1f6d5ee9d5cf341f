"""The job service's exception tree, shared by the workers and the web side.

    JobServiceError
    ├── StoreUnavailable        Redis cannot be reached (the web side answers 503)
    ├── InvalidPayload          a job's arguments do not match its parameters (422)
    │   └── DataSharingRefused  an LLM comparison asked for without consent to share (400)
    │   └── IdempotencyKeyReused an Idempotency-Key already used for another request (422)
    ├── UnknownJobType          no public job of that name is registered (404)
    ├── WorkspaceError
    │   ├── UnknownWorkspace    no workspace of that name (404)
    │   ├── EmptyWorkspace      the workspace holds no document (422)
    │   └── UnknownDocument     no document of that id in the workspace (404)
    ├── DocumentError
    │   ├── UnsupportedDocument a file type we do not read (415)
    │   ├── UnreadableDocument  a known type we cannot read, or no text in it (422)
    │   └── DocumentTooLarge    over the size limit (413)
    ├── LLMError                the LLM endpoint failed past its retries, or replied nonsense
    └── JobCancelled            raised inside a running job that was asked to cancel

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


class DataSharingRefused(InvalidPayload):
    """``compare_chatgpt`` without ``share_data_with_chatgpt``: no text may leave the machine."""


class WorkspaceError(JobServiceError):
    pass


class UnknownWorkspace(WorkspaceError):
    pass


class EmptyWorkspace(WorkspaceError):
    pass


class UnknownDocument(WorkspaceError):
    pass


class DocumentError(JobServiceError):
    pass


class UnsupportedDocument(DocumentError):
    pass


class UnreadableDocument(DocumentError):
    pass


class DocumentTooLarge(DocumentError):
    pass


class LLMError(JobServiceError):
    """The LLM endpoint could not give a usable answer; the message says why."""


class JobCancelled(JobServiceError):
    """Raised in a job's thread when it was asked to cancel: at its next progress report, or by the
    worker once the grace period is over. It is never retried."""


class IdempotencyKeyReused(InvalidPayload):
    """The ``Idempotency-Key`` was used, within its time to live, for a different request."""
