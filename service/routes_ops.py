"""Operations endpoints: liveness, readiness and the seed's ``/worker/status``.

``/worker/status`` keeps the seed's keys (``status``, ``redis_connected``, ``jobs_in_queue``,
``worker_thread_alive``) and adds ``workers`` (one entry per live worker process, from
``actors.heartbeat``) and ``queues`` (ready, delayed and dead-lettered messages per queue).
"""

from __future__ import annotations

import time
from typing import Any

from quart import Blueprint, Response, jsonify

from actors import keys
from actors.errors import StoreUnavailable
from actors.heartbeat import MISSED_BEATS_ALLOWED
from actors.records import redis_errors_as_unavailable

from .context import services
from .errors import ServiceUnavailable

blueprint = Blueprint("ops", __name__)


@blueprint.get("/healthz")
async def healthz() -> Response:
    return jsonify({"status": "ok"})


@blueprint.get("/readyz")
async def readyz() -> Response:
    await services().reader.ping()
    return jsonify({"status": "ready", "redis_connected": True})


@blueprint.get("/worker/status")
async def worker_status() -> tuple[Response, int]:
    try:
        workers, queues = await _read_workers(), await _read_queues()
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


async def _read_workers() -> list[dict[str, Any]]:
    svc = services()
    client = svc.reader.client
    fresh_after = time.time() - svc.settings.worker_heartbeat * MISSED_BEATS_ALLOWED
    with redis_errors_as_unavailable():
        worker_ids = await client.zrangebyscore(keys.WORKERS, fresh_after, "+inf")
        async with client.pipeline(transaction=False) as pipe:
            for worker_id in worker_ids:
                pipe.hgetall(keys.worker(worker_id.decode()))
            infos = await pipe.execute()
    workers = []
    for info in infos:
        if not info:
            continue  # expired between the two reads
        fields = {k.decode(): v.decode() for k, v in info.items()}
        workers.append(
            {
                "id": fields["id"],
                "host": fields["host"],
                "pid": int(fields["pid"]),
                "queues": [q for q in fields["queues"].split(",") if q],
                "started_at": fields["started_at"],
                "last_heartbeat": float(fields["last_heartbeat"]),
                "seconds_since_heartbeat": round(max(0.0, time.time() - float(fields["last_heartbeat"])), 3),
            }
        )
    return workers


async def _read_queues() -> dict[str, dict[str, int]]:
    svc = services()
    names = sorted(svc.broker.get_declared_queues())
    with redis_errors_as_unavailable():
        async with svc.reader.client.pipeline(transaction=False) as pipe:
            for name in names:
                pipe.llen(keys.queue(name))
                pipe.llen(keys.delay_queue(name))
                pipe.zcard(keys.dead_letters(name))
            counts = await pipe.execute()
    return {
        name: {"ready": counts[3 * i], "delayed": counts[3 * i + 1], "dead_letters": counts[3 * i + 2]}
        for i, name in enumerate(names)
    }
