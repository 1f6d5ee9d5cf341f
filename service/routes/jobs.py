"""Job endpoints: create, read (and long-poll), and the seed's ``/score`` and ``/audit`` routes.

POST /jobs/<job_type>           202 {job_id, status, status_url, events_url} + Location
GET  /jobs                      jobs newest first (?status=A,B&job_type=&workspace=&since=&until=&q=
                                &limit=&cursor=; the admin names the tenant: ?tenant=)
GET  /jobs/<job_id>             the snapshot (long-poll: ?wait=N&since=S; the admin's
                                ?include=traceback&tenant=)
POST /jobs/<job_id>/cancel      200 cancelled, 202 stopping, 409 already finished
POST /score, POST /audit        ?async_mode=true -> as POST /jobs; false (default) -> wait
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from functools import partial
from typing import Any

from quart import Blueprint, Response, jsonify, request, url_for
from quart.utils import run_sync
from quart_schema import document_querystring, document_response

from actors.jobs.reader import JobReader, with_derived
from actors.jobs.registry import job_spec
from actors.jobs.states import JobStatus, is_finished
from actors.jobs.submit import Submitted, retry_job, submit_job_async

from ..auth.identity import Forbidden, Unauthenticated, identity, tenant
from ..context import services
from ..endpoints import endpoint
from ..errors import BadRequest, Conflict, NotFound, TooManyRequests
from ..schemas import JobAccepted, JobListQuery, JobPage, JobSnapshot, LongPollQuery, SyncQuery
from ..sse.streams import Revoked, wait_for
from .events import admit
from .params import bool_arg, count, job_filter, json_object_body, number_arg

logger = logging.getLogger("jobs.api")

blueprint = Blueprint("jobs", __name__)

MAX_IDEMPOTENCY_KEY = 255
DEFAULT_LIST_LIMIT = 50
MAX_LIST_LIMIT = 200
#: Most jobs one page of ``GET /jobs`` looks at (docs/benchmarks.md: a search's share).
MAX_SCANNED = 2000
#: Longest a long-poll may wait, in seconds (under every proxy's idle limit).
MAX_LONG_POLL_WAIT = 60.0
#: The seed's routes, and the job type each starts (the OpenAPI document gives each its body).
LEGACY_ROUTES = {"/score": "score_contracts", "/audit": "audit_contracts"}


@blueprint.post("/jobs/<job_type>")
@endpoint(errors=(404, 413, 415, 422))
@document_response(JobAccepted, 202)
@document_response(JobAccepted, 200)
async def create_job(job_type: str) -> Response:
    """Start a job (202); with a repeated ``Idempotency-Key``, the job it started (200)."""
    submitted = await _submit(job_type, await json_object_body())
    return await _answer(submitted)


@blueprint.get("/jobs")
@endpoint(summary="List jobs, newest first.")
@document_querystring(JobListQuery)
@document_response(JobPage)
async def list_jobs() -> Response:
    """Jobs newest first, filtered (all filters at once): ``?status=`` (one or several states,
    comma-separated), ``job_type``, ``workspace``, ``since``/``until`` (creation time: ISO 8601 or
    unix seconds), ``q`` (case-insensitive text in the job's id, type, arguments, result or
    error); ``limit``, ``cursor``: follow ``next_cursor``. A page looks at no more than
    ``MAX_SCANNED`` jobs: a search may answer fewer rows (even none) and a ``next_cursor``.
    Rows carry no ``result`` unless ``?include=result`` (``GET /jobs/<id>`` has it)."""
    include = request.args.get("include")
    if include not in (None, "", "result"):
        raise BadRequest("include must be result (or absent)", code="invalid_parameter")
    raw_status = request.args.get("status")
    where = job_filter(
        statuses=raw_status.split(",") if raw_status else None,
        job_type=request.args.get("job_type"),
        workspace=request.args.get("workspace"),
        since=request.args.get("since"),
        until=request.args.get("until"),
        q=request.args.get("q"),
    )
    limit = int(number_arg("limit", default=DEFAULT_LIST_LIMIT, maximum=MAX_LIST_LIMIT)) or DEFAULT_LIST_LIMIT
    raw_cursor = request.args.get("cursor")
    cursor = count(raw_cursor) if raw_cursor else None
    if raw_cursor and cursor is None:
        raise BadRequest("cursor must be the next_cursor of a previous page", code="invalid_parameter")
    jobs, next_cursor = await _listing_reader().list_jobs(
        limit=limit, cursor=cursor, where=where, include_result=include == "result", scan_cap=MAX_SCANNED
    )
    return jsonify(
        {
            "jobs": [rerunnable(job) for job in jobs],
            "next_cursor": str(next_cursor) if next_cursor is not None else None,
        }
    )


@blueprint.get("/jobs/<job_id>")
@endpoint(errors=(404,), summary="Read a job's snapshot, or wait for its next change.")
@document_querystring(LongPollQuery)
@document_response(JobSnapshot)
async def get_job(job_id: str) -> Response:
    """The snapshot; with ``?wait=N&since=S`` (long-poll) once ``seq`` passes S or after N s;
    with ``?include=arguments`` also the arguments it was started with; with
    ``?include=traceback`` (the admin's, naming ``?tenant=``) the traceback of its last failure."""
    wait = number_arg("wait", maximum=MAX_LONG_POLL_WAIT)
    include = request.args.get("include")
    if include not in (None, "", "arguments", "traceback"):
        raise BadRequest("include must be arguments or traceback (or absent)", code="invalid_parameter")
    if include == "traceback" and not identity().is_admin:
        raise Forbidden("A job's traceback shows the server's files: the admin token reads it")
    reader = _listing_reader()
    snapshot = await _snapshot_or_404(job_id, reader)
    if wait:
        since = number_arg("since", default=snapshot["seq"])
        latest, _ = await _wait(
            job_id, wait, until=lambda s: s["seq"] > since or is_finished(s), reader=reader
        )
        snapshot = latest or snapshot
    if snapshot["status"] == JobStatus.PENDING.value:
        snapshot.update(await services().fleet.queue_estimate(snapshot))
    if include == "arguments":
        snapshot["arguments"] = await reader.arguments(job_id)
    if include == "traceback":
        snapshot["traceback"] = await reader.traceback(job_id)
    return jsonify(rerunnable(with_derived(snapshot)))


def rerunnable(snapshot: dict[str, Any]) -> dict[str, Any]:
    """``retryable`` as ``POST /jobs/<id>/retry`` would find it: the job has finished (the
    reader's say) and its type may be started again (an internal type, as ``extract_documents``,
    may not: its arguments are not a client's to send again)."""
    spec = job_spec(services().engine.broker, snapshot["job_type"])
    snapshot["retryable"] = bool(snapshot.get("retryable")) and spec is not None and spec.public
    return snapshot


@blueprint.post("/jobs/<job_id>/cancel")
@endpoint(errors=(404, 409), summary="Cancel a job.")
@document_response(JobSnapshot, 200)
@document_response(JobSnapshot, 202)
async def cancel_job(job_id: str) -> tuple[Response, int]:
    """200 with the CANCELLED snapshot (it had not started), 202 while a running job stops,
    409 when it had already finished."""
    snapshot = await _snapshot_or_404(job_id)
    if not is_finished(snapshot):
        cancel = partial(services().engine.store.request_cancel, job_id, namespace=tenant())
        snapshot = await run_sync(cancel)() or snapshot
        if snapshot["status"] == JobStatus.CANCELLED.value:
            return jsonify(snapshot), 200
    if is_finished(snapshot):
        raise Conflict(f"Job {job_id} has already finished: {snapshot['status']}", status=snapshot["status"])
    return jsonify(snapshot), 202


@blueprint.post("/jobs/<job_id>/retry")
@endpoint(errors=(404, 409, 422), summary="Run a finished job again, as a new job.")
@document_response(JobAccepted, 202)
async def retry_job_route(job_id: str) -> Response:
    """The finished job again: a new job of its type with its arguments (202, checked again as any
    new job is), linked both ways (``retry_of`` in the new, ``retried_by`` in the old); 409 while
    the job has not finished."""
    snapshot = await _snapshot_or_404(job_id)
    if not is_finished(snapshot):
        raise Conflict(
            f"Job {job_id} has not finished ({snapshot['status']}): wait for it, or cancel it first",
            code="job_not_finished",
            status=snapshot["status"],
        )
    submitted = await run_sync(partial(retry_job, services().engine, job_id, namespace=tenant()))()
    if submitted is None:
        raise Conflict(
            f"Job {job_id} cannot be run again: its arguments are no longer kept", code="job_not_retryable"
        )
    logger.info("Job %s retried as job %s", job_id, submitted.job_id)
    return accepted(submitted.job_id)


@blueprint.post("/score")
@endpoint(errors=(404, 409, 413, 415, 422), summary="Score contracts (the seed's route).")
@document_querystring(SyncQuery)
@document_response(JobSnapshot, 200)
@document_response(JobAccepted, 202)
async def score() -> Response | tuple[Response, int]:
    """The seed's scoring route: waits for the job (200), or answers 202 in async mode."""
    return await _legacy_job(LEGACY_ROUTES["/score"])


@blueprint.post("/audit")
@endpoint(errors=(404, 409, 413, 415, 422), summary="Audit contracts (the seed's route).")
@document_querystring(SyncQuery)
@document_response(JobSnapshot, 200)
@document_response(JobAccepted, 202)
async def audit() -> Response | tuple[Response, int]:
    """The seed's audit route: waits for the job (200), or answers 202 in async mode."""
    return await _legacy_job(LEGACY_ROUTES["/audit"])


async def _legacy_job(job_type: str) -> Response | tuple[Response, int]:
    async_mode = bool_arg("async_mode", default=False)
    submitted = await _submit(job_type, await json_object_body())
    job_id = submitted.job_id
    logger.info(
        "[/%s] %s mode: job %s queued", request.path.strip("/"), "Async" if async_mode else "Sync", job_id
    )
    if async_mode:
        return await _answer(submitted)
    try:
        finished, done = await _wait(job_id, services().settings.sync_wait_limit, until=is_finished)
    except TooManyRequests:
        return accepted(job_id)  # no room to wait here: the job, queued, is the client's to follow
    if not done:
        return accepted(job_id)
    return jsonify(finished), 200


async def _wait(
    job_id: str,
    timeout: float,
    *,
    until: Callable[[Mapping[str, Any]], bool],
    reader: JobReader | None = None,
) -> tuple[dict[str, Any] | None, bool]:
    """``wait_for`` the caller's job, holding a place among the open streams and waits (429
    past the limits) and ending with a 401 as soon as the caller's key or session does."""
    who = identity()
    if who.expires_at is not None:
        timeout = min(timeout, max(0.0, who.expires_at - time.time()))
    slot = admit()
    try:
        reader, hub = reader or _reader(), services().hub
        return await wait_for(
            reader=reader, hub=hub, job_id=job_id, timeout=timeout, until=until, owners=who.owners
        )
    except Revoked:
        raise Unauthenticated("This key was revoked, or this session ended, while it waited") from None
    finally:
        slot.release()


async def _submit(job_type: str, payload: dict[str, Any]) -> Submitted:
    """Validate, write the job and send its message (``submit_job_async``: no executor thread)."""
    key = request.headers.get("Idempotency-Key")
    if key is not None and not (0 < len(key) <= MAX_IDEMPOTENCY_KEY and key.isprintable()):
        raise BadRequest(
            f"Idempotency-Key must have 1 to {MAX_IDEMPOTENCY_KEY} printable characters",
            code="invalid_parameter",
        )
    svc = services()
    return await submit_job_async(
        svc.engine, svc.redis, job_type, payload, namespace=tenant(), idempotency_key=key
    )


async def _answer(submitted: Submitted) -> Response:
    """202 for a new job; 200 for a repeated Idempotency-Key, with the job's current status."""
    if submitted.created:
        return accepted(submitted.job_id)
    return accepted(submitted.job_id, await _reader().snapshot(submitted.job_id))


def accepted(job_id: str, snapshot: dict[str, Any] | None = None) -> Response:
    """202 for a job just queued; 200, with its current status, for one ``snapshot`` shows (the
    answer of every route that starts a job). A whole ``Response``: quart-schema would pass a
    headers mapping through pydantic (a ``TypeAdapter`` made per request)."""
    status_url = url_for("jobs.get_job", job_id=job_id)
    body = {
        "job_id": job_id,
        "status": snapshot["status"] if snapshot else JobStatus.PENDING.value,
        "message": snapshot["message"] if snapshot else JobStatus.PENDING.default_message,
        "status_url": status_url,
        "events_url": url_for("events.job_events", job_id=job_id),
    }
    answer = jsonify(body)
    answer.status_code = 200 if snapshot else 202
    answer.headers["Location"] = status_url
    return answer


def _reader() -> JobReader:
    """Reads in the caller's tenant: another tenant's job is not found, as a missing one is not."""
    return services().reader.within(tenant())


def _admin_tenant() -> str:
    name = request.args.get("tenant")
    if not name:
        raise BadRequest("Name the tenant whose jobs to list: ?tenant=<name>", code="invalid_parameter")
    return name


def _listing_reader() -> JobReader:
    """The caller's reader; the admin's reads the tenant it names (``?tenant=``), one at a time."""
    return services().reader.within(_admin_tenant()) if identity().is_admin else _reader()


async def _snapshot_or_404(job_id: str, reader: JobReader | None = None) -> dict[str, Any]:
    snapshot = await (reader or _reader()).snapshot(job_id)
    if snapshot is None:
        raise NotFound(f"No job with id {job_id!r} (it may have expired)", code="job_not_found")
    return snapshot
