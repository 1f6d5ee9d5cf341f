"""Bulk actions: run again, or cancel, the jobs a filter matches (up to ``MAX_BULK`` a request).

POST /bulk/retry    finished jobs, each as ``POST /jobs/<id>/retry`` would (``submit.retry_jobs``)
POST /bulk/cancel   jobs not finished, each as ``POST /jobs/<id>/cancel`` would
                    (``JobStore.request_cancel``)

The body names the jobs as ``GET /jobs`` does (``status`` as a list, ``job_type``, ``workspace``,
``since``, ``until``, ``q``), with ``limit`` (default and most: 1000) and ``dry_run`` (count only).
The answer: ``{matched, done: [...], skipped: [{job_id, code, message}], more}`` (a dry run:
``{matched, more}``). ``more`` says further jobs match: the client sends the request again (a job
retried once is skipped then, as ``already_retried``; a job cancelled is no longer matched).

A bulk request is one request of the tenant's rate limit; the jobs it retries queue in the
tenant's fair share of the workers, as any of its jobs do. It looks at no more than
``BULK_SCANNED`` jobs to find its matches, so it costs a bounded share of a web process.
"""

from __future__ import annotations

from dataclasses import replace
from functools import partial
from typing import Any

import pydantic
from quart import Blueprint, Response, jsonify
from quart.utils import run_sync
from quart_schema import document_request, document_response

from actors.jobs.errors import JobError
from actors.jobs.states import TERMINAL_STATES, JobStatus, is_finished
from actors.jobs.submit import retry_jobs

from ..auth.identity import tenant
from ..context import services
from ..endpoints import endpoint
from ..errors import BadRequest
from ..schemas import BulkOutcome, BulkRequest
from .jobs import logger
from .params import job_filter, json_object_body

blueprint = Blueprint("bulk", __name__)

#: Most jobs one bulk request looks at to find its matches (five times a page of ``GET /jobs``'s
#: share: one bulk request stands for many pages).
BULK_SCANNED = 10_000
_NOT_FINISHED = frozenset({JobStatus.PENDING, JobStatus.STARTED})


@blueprint.post("/bulk/retry")
@endpoint(errors=(413, 415), summary="Retry every finished job a filter matches.")
@document_request(BulkRequest)
@document_response(BulkOutcome, 200)
async def bulk_retry() -> Response:
    """Run the matching finished jobs again, each as a new job linked to it (as ``POST
    /jobs/<id>/retry``); with ``dry_run``, count them."""
    request_body = await _bulk_request()
    jobs, more = await _matching(request_body, allowed=TERMINAL_STATES, action="retry")
    if request_body.dry_run:
        return jsonify({"matched": len(jobs), "more": more})
    done: list[dict[str, Any]] = []
    skipped = [
        _skip(job["job_id"], "already_retried", f"Job {job['job_id']} was run again as {job['retried_by']}")
        for job in jobs
        if job.get("retried_by")
    ]
    wanted = [job["job_id"] for job in jobs if not job.get("retried_by")]
    engine = services().engine
    outcomes = await run_sync(partial(retry_jobs, engine, wanted, namespace=tenant()))() if wanted else {}
    for job_id, outcome in outcomes.items():
        if outcome is None:
            skipped.append(_skip(job_id, "job_not_retryable", "its arguments are no longer kept"))
        elif isinstance(outcome, JobError):
            skipped.append(_skip(job_id, "invalid_payload", str(outcome)))
        else:
            done.append({"job_id": job_id, "new_job_id": outcome.job_id})
    logger.info("Bulk retry: %d matched, %d run again, %d skipped", len(jobs), len(done), len(skipped))
    return jsonify({"matched": len(jobs), "done": done, "skipped": skipped, "more": more})


@blueprint.post("/bulk/cancel")
@endpoint(errors=(413, 415), summary="Cancel every unfinished job a filter matches.")
@document_request(BulkRequest)
@document_response(BulkOutcome, 200)
async def bulk_cancel() -> Response:
    """Cancel the matching jobs not finished (as ``POST /jobs/<id>/cancel``: at once if they have
    not started, else they stop); with ``dry_run``, count them."""
    request_body = await _bulk_request()
    jobs, more = await _matching(request_body, allowed=_NOT_FINISHED, action="cancel")
    if request_body.dry_run:
        return jsonify({"matched": len(jobs), "more": more})
    job_ids = [job["job_id"] for job in jobs]
    after = await run_sync(partial(_cancel_all, job_ids, tenant()))()
    done, skipped = [], []
    for job_id in job_ids:
        snapshot = after[job_id]
        if snapshot is None:
            skipped.append(_skip(job_id, "job_not_found", "it expired meanwhile"))
        elif snapshot["status"] == JobStatus.CANCELLED.value or not is_finished(snapshot):
            done.append({"job_id": job_id, "status": snapshot["status"]})
        else:
            skipped.append(_skip(job_id, "job_finished", f"it finished meanwhile: {snapshot['status']}"))
    logger.info("Bulk cancel: %d matched, %d cancelled, %d skipped", len(jobs), len(done), len(skipped))
    return jsonify({"matched": len(jobs), "done": done, "skipped": skipped, "more": more})


def _cancel_all(job_ids: list[str], namespace: str) -> dict[str, dict[str, Any] | None]:
    """``request_cancel`` each job (in an executor thread: the store is synchronous)."""
    store = services().engine.store
    return {job_id: store.request_cancel(job_id, namespace=namespace) for job_id in job_ids}


async def _bulk_request() -> BulkRequest:
    """The body as a ``BulkRequest``; 400 ``invalid_parameter`` naming what is wrong."""
    try:
        return BulkRequest.model_validate(await json_object_body())
    except pydantic.ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "body"
        raise BadRequest(f"{where}: {first['msg']}", code="invalid_parameter") from None


async def _matching(
    body: BulkRequest, *, allowed: frozenset[JobStatus], action: str
) -> tuple[list[dict[str, Any]], bool]:
    """The caller's jobs the body's filters match, in the states ``action`` takes, newest first,
    up to its ``limit``; and whether more match."""
    statuses = [status.value for status in body.status] if body.status else None
    where = job_filter(
        statuses=statuses,
        job_type=body.job_type,
        workspace=body.workspace,
        since=body.since,
        until=body.until,
        q=body.q,
    )
    if where.statuses is not None and not where.statuses <= allowed:
        names = ", ".join(sorted(status.value for status in allowed))
        raise BadRequest(f"{action} takes jobs in the states {names}", code="invalid_parameter")
    where = replace(where, statuses=where.statuses or allowed)
    reader = services().reader.within(tenant())
    # One more than asked for: whether more match is seen, not guessed.
    jobs, next_cursor = await reader.list_jobs(limit=body.limit + 1, where=where, scan_cap=BULK_SCANNED)
    return jobs[: body.limit], len(jobs) > body.limit or next_cursor is not None


def _skip(job_id: str, code: str, message: str) -> dict[str, str]:
    return {"job_id": job_id, "code": code, "message": message}
