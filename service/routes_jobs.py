"""Job endpoints: create, read, stream, and the seed's ``/score`` and ``/audit`` routes.

POST /jobs/<job_type>           202 {job_id, status, status_url, events_url} + Location
GET  /jobs/<job_id>             the snapshot
GET  /jobs/<job_id>/events      text/event-stream (resume with Last-Event-ID or ?since=)
POST /score, POST /audit        ?async_mode=true -> as POST /jobs; false (default) -> wait
"""

from __future__ import annotations

import json
import logging
from functools import partial
from typing import Any

from quart import Blueprint, Response, jsonify, request, url_for
from quart.utils import run_sync

from actors.states import JobStatus
from actors.submit import submit_job

from .context import services
from .errors import BadRequest, NotFound
from .streams import JobStream, wait_for_terminal

logger = logging.getLogger("jobs.api")

blueprint = Blueprint("jobs", __name__)

_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off", ""}


@blueprint.post("/jobs/<job_type>")
async def create_job(job_type: str) -> tuple[Response, int, dict[str, str]]:
    job_id = await _submit(job_type, await _json_object_body())
    return _accepted(job_id)


@blueprint.get("/jobs/<job_id>")
async def get_job(job_id: str) -> Response:
    return jsonify(await _snapshot_or_404(job_id))


@blueprint.get("/jobs/<job_id>/events")
async def job_events(job_id: str) -> Response:
    svc = services()
    since = _since()
    snapshot = await _snapshot_or_404(job_id)
    if since is not None and since >= snapshot["seq"] and JobStatus(snapshot["status"]).is_terminal:
        # Nothing left to send, ever: 204 tells EventSource to stop reconnecting.
        return Response("", status=204, content_type="text/event-stream")
    stream = JobStream(
        reader=svc.reader,
        hub=svc.hub,
        job_id=job_id,
        heartbeat=svc.settings.sse_heartbeat,
        retry_ms=svc.settings.sse_retry_ms,
    )
    response = Response(
        stream.events(snapshot, since),
        status=200,
        content_type="text/event-stream; charset=utf-8",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
    response.timeout = None  # this response only: a stream lives as long as its job
    return response


@blueprint.post("/score")
async def score() -> tuple[Response, int] | tuple[Response, int, dict[str, str]]:
    return await _legacy_job("score_contracts")


@blueprint.post("/audit")
async def audit() -> tuple[Response, int] | tuple[Response, int, dict[str, str]]:
    return await _legacy_job("audit_contracts")


async def _legacy_job(job_type: str) -> tuple[Response, int] | tuple[Response, int, dict[str, str]]:
    async_mode = _bool_arg("async_mode", default=False)
    job_id = await _submit(job_type, await _json_object_body())
    logger.info(
        "[/%s] %s mode: job %s queued", request.path.strip("/"), "Async" if async_mode else "Sync", job_id
    )
    if async_mode:
        return _accepted(job_id)
    svc = services()
    finished = await wait_for_terminal(
        reader=svc.reader, hub=svc.hub, job_id=job_id, timeout=svc.settings.sync_wait_limit
    )
    if finished is None:
        return _accepted(job_id)
    return jsonify(finished), 200


async def _submit(job_type: str, payload: dict[str, Any]) -> str:
    """Validate and enqueue, in an executor thread: Dramatiq's send is synchronous."""
    return await run_sync(partial(submit_job, services().broker, job_type, payload))()


def _accepted(job_id: str) -> tuple[Response, int, dict[str, str]]:
    status_url = url_for("jobs.get_job", job_id=job_id)
    body = {
        "job_id": job_id,
        "status": JobStatus.PENDING.value,
        "message": JobStatus.PENDING.default_message,
        "status_url": status_url,
        "events_url": url_for("jobs.job_events", job_id=job_id),
    }
    return jsonify(body), 202, {"Location": status_url}


async def _snapshot_or_404(job_id: str) -> dict[str, Any]:
    snapshot = await services().reader.snapshot(job_id)
    if snapshot is None:
        raise NotFound(f"No job with id {job_id!r} (it may have expired)", code="job_not_found")
    return snapshot


async def _json_object_body() -> dict[str, Any]:
    raw = await request.get_data(as_text=False)
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadRequest(f"Request body is not valid JSON: {exc}", code="invalid_json") from None
    if not isinstance(body, dict):
        raise BadRequest("Request body must be a JSON object", code="invalid_json")
    return body


def _since() -> int | None:
    """The last seq the client has: ``Last-Event-ID`` header, else ``?since=``; None if neither."""
    raw = request.headers.get("Last-Event-ID") or request.args.get("since")
    if raw is None or raw.strip() == "":
        return None
    try:
        since = int(raw)
    except ValueError:
        since = -1
    if since < 0:
        raise BadRequest(
            f"Last-Event-ID/since must be a non-negative integer, not {raw!r}", code="invalid_parameter"
        )
    return since


def _bool_arg(name: str, *, default: bool) -> bool:
    raw = request.args.get(name)
    if raw is None:
        return default
    if raw.lower() in _TRUE:
        return True
    if raw.lower() in _FALSE:
        return False
    raise BadRequest(f"{name} must be true or false, not {raw!r}", code="invalid_parameter")
