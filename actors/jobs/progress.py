"""What a running job calls: ``report_progress`` to tell its clients how far it got (also its
cooperative cancellation checkpoint), and ``current_job`` to learn where it runs.

The job is the one this thread is running (Dramatiq's ``CurrentMessage``); the store is the
engine's, found through the broker the job runs on.
"""

from __future__ import annotations

import dramatiq
from dramatiq.middleware import CurrentMessage

from .engine import JobEngine
from .errors import LeaseLost
from .registry import JobContext, job_spec, namespace_of
from .store import ride_out


def _current_message() -> dramatiq.Message:
    current = CurrentMessage.get_current_message()
    if current is None:
        raise RuntimeError("this must be called from inside a running job")
    return current


def current_job() -> JobContext:
    """The running job's broker and namespace (a job type's code reads its tenant's data there)."""
    return JobContext(dramatiq.get_broker(), namespace_of(_current_message()))


def report_progress(percent: float, message: str | None = None) -> None:
    """Publish a ``progress`` event (0-100, optional message) for the job this thread is running.

    Each call is a new event with the next ``seq``. It raises ``JobCancelled`` (an ``Interrupt``
    that the job's own ``except Exception`` does not catch) once the job was asked to cancel, and
    ``LeaseLost`` once the job is no longer this run's (taken over after its lease lapsed). A Redis
    outage is ridden out for up to ``OUTAGE_GRACE`` seconds. It raises ``RuntimeError`` outside a
    job and is a no-op for actors that are not public jobs (they have no record).
    """
    current = _current_message()
    broker = dramatiq.get_broker()
    spec = job_spec(broker, current.actor_name)
    if spec is None:
        return
    engine = JobEngine.of(broker)
    run = engine.leases.run_of(current.message_id) or spec.ref(current)
    grace = engine.settings.outage_grace

    def write() -> dict | None:
        return engine.store.progress(run, percent, message)  # raises JobCancelled once asked to

    if ride_out(write, grace=grace, what=f"job {current.message_id}'s progress") is None and run.run:
        raise LeaseLost("the job is no longer this run's: another run took it over, or it ended")
