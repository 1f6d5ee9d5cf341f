"""Starting a public job: validate its arguments, write its record, send its message.

The status middleware writes the PENDING record in ``before_enqueue``; if the send itself then
fails (Redis went away between the two writes), the job is marked FAILURE here on a best-effort
basis so that no client waits on a job that will never run.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import dramatiq

from .errors import StoreUnavailable
from .records import REDIS_UNAVAILABLE_ERRORS
from .registry import get_public_job, validate_payload
from .states import JobStatus
from .status import status_middleware

logger = logging.getLogger("jobs")


def submit_job(broker: dramatiq.Broker, job_type: str, payload: Mapping[str, Any]) -> str:
    """Enqueue ``job_type`` with ``payload`` and return the job id (blocking: run it off the loop).

    Raises ``UnknownJobType`` and ``InvalidPayload`` before anything is written, and
    ``StoreUnavailable`` when Redis cannot be reached (then nothing was queued).
    """
    actor = get_public_job(broker, job_type)
    message = actor.message_with_options(kwargs=validate_payload(actor, payload))
    try:
        broker.enqueue(message)
    except REDIS_UNAVAILABLE_ERRORS as exc:
        _mark_unsent(broker, message.message_id)
        raise StoreUnavailable(f"Redis is unavailable: {exc}") from exc
    return message.message_id


def _mark_unsent(broker: dramatiq.Broker, job_id: str) -> None:
    try:
        status_middleware(broker).store.transition(
            job_id,
            JobStatus.FAILURE,
            error={"type": "enqueue_failed", "message": "The job could not be queued"},
        )
    except StoreUnavailable:
        logger.warning("Job %s could not be queued, nor marked failed: Redis unavailable", job_id)
