"""``report_progress``: the one call an actor makes to tell its clients how far it got."""

from __future__ import annotations

import dramatiq
from dramatiq.middleware import CurrentMessage

from .errors import JobCancelled
from .status import status_middleware


def report_progress(percent: float, message: str | None = None) -> None:
    """Publish a ``progress`` event (0-100, optional message) for the job this thread is running.

    Each call is a new event with the next ``seq``. It is also the job's cancellation checkpoint:
    it raises ``JobCancelled`` once the job was asked to cancel. It raises ``RuntimeError`` outside
    a job and is a no-op for actors that are not public jobs (they have no record).
    """
    current = CurrentMessage.get_current_message()
    if current is None:
        raise RuntimeError("report_progress() must be called from inside a running job")
    store = status_middleware(dramatiq.get_broker()).store
    if store.cancel_requested([current.message_id]):
        raise JobCancelled("the job was cancelled")  # the cooperative checkpoint
    store.progress(current.message_id, percent, message)
