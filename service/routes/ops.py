"""Operations endpoints: liveness, readiness, the seed's ``/worker/status``, and the tenant's
jobs ended per minute (``/stats/ended``, the console's chart).

``/worker/status`` keeps the seed's keys (``status``, ``redis_connected``, ``jobs_in_queue``,
``worker_thread_alive``) and adds ``workers`` (one entry per live worker process, from their
heartbeats). The admin also sees each worker's id, host and pid, and ``queues`` (ready, delayed
and dead-lettered messages per queue); ``/metrics`` is the admin's alone.
"""

from __future__ import annotations

from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST
from quart import Blueprint, Response, g, jsonify, request
from quart_schema import document_querystring, document_response

from actors.jobs.errors import StoreUnavailable
from actors.jobs.fleet import Fleet

from ..auth.identity import identity, tenant
from ..context import services
from ..endpoints import RawAnswer, endpoint
from ..errors import BadRequest, ServiceUnavailable
from ..metrics import render_metrics
from ..schemas import EndedPerMinute, EndedQuery, Health, WorkerStatus
from .params import number_arg

blueprint = Blueprint("ops", __name__)
#: What ``/metrics`` answers.
PROMETHEUS_TEXT = RawAnswer("text/plain", "Prometheus' text format")


@blueprint.get("/healthz")
@endpoint(access="public", any_host=True, summary="Check that the process answers.")
@document_response(Health)
async def healthz() -> Response:
    """Liveness: the process answers (public)."""
    return jsonify({"status": "ok"})


@blueprint.get("/readyz")
@endpoint(access="public", any_host=True, errors=(503,), summary="Check that the process and Redis answer.")
@document_response(Health)
async def readyz() -> Response:
    """Readiness: Redis answers too (public; 503 when it does not)."""
    await services().reader.ping()
    return jsonify({"status": "ready", "redis_connected": True})


@blueprint.get("/stats/ended")
@endpoint(summary="Count the jobs that ended, minute by minute.")
@document_querystring(EndedQuery)
@document_response(EndedPerMinute)
async def ended_per_minute() -> Response:
    """The caller's jobs that ended in each of the last ``minutes`` minutes (60 by default, at most
    120), oldest first: succeeded, failed, cancelled, as the workers count them. The admin names
    a tenant (``?tenant=``)."""
    minutes = int(number_arg("minutes", default=60, maximum=120)) or 60
    if identity().is_admin:
        namespace = request.args.get("tenant")
        if not namespace:
            raise BadRequest("Name the tenant: ?tenant=<name>", code="invalid_parameter")
    else:
        namespace = tenant()
    return jsonify({"minutes": await services().fleet.ended_per_minute(namespace, minutes=minutes)})


@blueprint.get("/metrics")
@endpoint(access="admin", raw_answer=PROMETHEUS_TEXT, summary="Read the Prometheus metrics.")
async def metrics() -> Response:
    """Prometheus metrics (the admin's)."""
    return Response(await render_metrics(services()), content_type=CONTENT_TYPE_LATEST)


@blueprint.get("/worker/status")
# While Redis is down this route answers "down" to anyone: nobody can be told apart then, and
# the answer holds nothing of anybody's.
@endpoint(answers_when_redis_down=True, summary="Read the workers' status.")
@document_response(WorkerStatus)
@document_response(WorkerStatus, 503)
async def worker_status() -> tuple[Response, int]:
    """The seed's worker status: live worker processes and queued jobs."""
    if g.get("identity") is None:  # Redis was down when the caller was to be identified
        body, status = _down_body()
    else:
        body, status = await worker_status_body(services().fleet, as_admin=identity().is_admin)
    return jsonify(body), status


async def worker_status_body(fleet: Fleet, *, as_admin: bool) -> tuple[dict[str, Any], int]:
    """``/worker/status``'s body and HTTP status, as the admin (``as_admin``) or a tenant sees
    it; the tenant stream's ``fleet`` events send the same body."""
    try:
        workers, queues, waiting = await fleet.workers(), await fleet.queues(), await fleet.waiting()
    except StoreUnavailable:
        return _down_body()
    alive = bool(workers)
    taking_jobs = any(worker["state"] == "running" for worker in workers)
    body: dict[str, Any] = {
        # draining: the workers left are finishing their jobs after a SIGTERM, taking no new ones
        "status": "running" if taking_jobs else "draining" if alive else "degraded",
        "redis_connected": True,
        # Every job not started yet: those waiting for their first start (wherever their message
        # is: a queue, or a worker's prefetch) and the retries waiting for their time.
        "jobs_in_queue": waiting + sum(q["delayed"] for q in queues.values()),
        "worker_thread_alive": alive,
        "workers": workers,
        "queues": queues,
    }
    if not as_admin:  # a tenant sees how the fleet is, not where it runs
        body["workers"] = [{name: w[name] for name in _TENANT_WORKER_FIELDS} for w in workers]
        del body["queues"]
    return body, 200


def _down_body() -> tuple[dict[str, Any], int]:
    error = ServiceUnavailable("Redis is unavailable; worker status cannot be read")
    body = {
        "status": "down",
        "redis_connected": False,
        "jobs_in_queue": None,
        "worker_thread_alive": False,
        "workers": [],
        "queues": {},
        "error": {"code": error.code, "message": error.message},
    }
    return body, error.status


#: What a tenant sees of each worker process.
_TENANT_WORKER_FIELDS = ("threads", "running", "queues", "state", "seconds_since_heartbeat")
