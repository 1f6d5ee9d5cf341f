"""The queues' dead letters, with the admin token.

GET    /queues/<queue>/dead-letters                   {queue, dead_letters: [{id, job_id, job_type,
                                                      dead_at, status, error}]}, newest first
                                                      (``?limit=``, 50, at most 200)
POST   /queues/<queue>/dead-letters/<letter>/retry    202: its job runs again as a new job, linked to it
                                                      (as ``POST /jobs/<id>/retry``); the letter goes
DELETE /queues/<queue>/dead-letters/<letter>          204: forgotten

A letter's ``id`` is the broker's own id of the message (Dramatiq's Redis broker keys its
messages by one), not its job's.

A dead letter is the message of a job that failed for good; its job's record says why: each
letter shows the job's ``status`` and last ``error`` (``{type, message}``), both null once the
record expired (a finished job is kept a day by default; Dramatiq keeps letters a week). The
tenants' own ``POST /jobs/<id>/retry`` does the same for their jobs; here the admin acts on any
tenant's, in that tenant's namespace.
"""

from __future__ import annotations

from functools import partial

from quart import Blueprint, Response, jsonify
from quart.utils import run_sync
from quart_schema import document_querystring, document_response

from actors.jobs.submit import retry_job

from ..context import services
from ..endpoints import endpoint
from ..errors import Conflict, NotFound
from ..schemas import DeadLetterQuery, DeadLetters, JobAccepted
from .jobs import accepted
from .params import number_arg

blueprint = Blueprint("queues", __name__)
DEFAULT_LIMIT, MAX_LIMIT = 50, 200


@blueprint.get("/queues/<queue>/dead-letters")
@endpoint(access="admin", errors=(404,), summary="List a queue's dead letters.")
@document_querystring(DeadLetterQuery)
@document_response(DeadLetters)
async def list_dead_letters(queue: str) -> Response:
    """The queue's dead letters, newest first (the admin's)."""
    limit = int(number_arg("limit", default=DEFAULT_LIMIT, maximum=MAX_LIMIT)) or DEFAULT_LIMIT
    letters = await services().fleet.dead_letters(_declared(queue), limit=limit)
    # Why each died is its job's record's to say (the letter keeps the message as it was sent).
    endings = await services().reader.endings([letter["job_id"] for letter in letters if letter["job_id"]])
    for letter in letters:
        ending = endings.get(letter["job_id"]) or {}
        letter["status"], letter["error"] = ending.get("status"), ending.get("error")
    return jsonify({"queue": queue, "dead_letters": letters})


@blueprint.post("/queues/<queue>/dead-letters/<letter_id>/retry")
@endpoint(access="admin", errors=(404, 409, 422), summary="Run a dead letter's job again.")
@document_response(JobAccepted, 202)
async def retry_dead_letter(queue: str, letter_id: str) -> Response:
    """Run a dead letter's job again, as a new job, and forget the letter (the admin's)."""
    fleet, engine = services().fleet, services().engine
    job_id = await fleet.dead_letter_job(_declared(queue), letter_id)
    if job_id is None:
        raise NotFound(f"No dead letter {letter_id!r} in queue {queue!r}", code="dead_letter_not_found")
    ref = await run_sync(partial(engine.store.find, job_id))()
    submitted = await run_sync(partial(retry_job, engine, job_id, namespace=ref.namespace if ref else ""))()
    if submitted is None:
        message = f"Job {job_id} cannot be run again: its arguments are no longer kept"
        raise Conflict(message, code="job_not_retryable")
    await fleet.drop_dead_letter(queue, letter_id)
    return accepted(submitted.job_id)


@blueprint.delete("/queues/<queue>/dead-letters/<letter_id>")
@endpoint(access="admin", no_content=True, errors=(404,), summary="Forget a dead letter.")
async def drop_dead_letter(queue: str, letter_id: str) -> Response:
    """Forget a dead letter (the admin's)."""
    if not await services().fleet.drop_dead_letter(_declared(queue), letter_id):
        raise NotFound(f"No dead letter {letter_id!r} in queue {queue!r}", code="dead_letter_not_found")
    return Response("", status=204)


def _declared(queue: str) -> str:
    if queue not in services().fleet.queue_names:
        raise NotFound(f"No queue {queue!r}", code="queue_not_found")
    return queue
