"""Operations endpoints: liveness, readiness and the seed's ``/worker/status``.

``/worker/status`` keeps the seed's keys (``status``, ``redis_connected``, ``jobs_in_queue``,
``worker_thread_alive``) and adds ``workers`` (one entry per live worker process, from their
heartbeats) and ``queues`` (ready, delayed and dead-lettered messages per queue).
"""

from __future__ import annotations

from prometheus_client import CONTENT_TYPE_LATEST
from quart import Blueprint, Response, jsonify

from actors.jobs.errors import StoreUnavailable

from ..context import services
from ..errors import ServiceUnavailable
from ..metrics import render_metrics

blueprint = Blueprint("ops", __name__)


@blueprint.get("/healthz")
async def healthz() -> Response:
    return jsonify({"status": "ok"})


@blueprint.get("/readyz")
async def readyz() -> Response:
    await services().reader.ping()
    return jsonify({"status": "ready", "redis_connected": True})


@blueprint.get("/metrics")
async def metrics() -> Response:
    return Response(await render_metrics(services()), content_type=CONTENT_TYPE_LATEST)


@blueprint.get("/worker/status")
async def worker_status() -> tuple[Response, int]:
    try:
        fleet = services().fleet
        workers, queues = await fleet.workers(), await fleet.queues()
    except StoreUnavailable:
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
        return jsonify(body), error.status
    alive = bool(workers)
    body = {
        "status": "running" if alive else "degraded",
        "redis_connected": True,
        "jobs_in_queue": sum(q["ready"] + q["delayed"] for q in queues.values()),
        "worker_thread_alive": alive,
        "workers": workers,
        "queues": queues,
    }
    return jsonify(body), 200
