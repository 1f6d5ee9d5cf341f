"""The web baseline of ``bench_throughput``: bare Quart on Hypercorn, answering ``POST /jobs`` with no work.

    python -m tests.perf.bare_web --bind 127.0.0.1:8000

``POST /jobs/<job_type>`` reads the JSON body and answers 202 ``{"job_id": <uuid4>}``: no
authentication, no validation, no Redis. It is served the way ``service/serve.py`` serves the
project (one process, ``hypercorn.asyncio.serve`` on ``asyncio.run``, the same backlog, no access
log, the graceful timeout the tests' ``WebServer`` passes), so that the two POST rates differ by
the project's request path alone. ``GET /healthz`` tells the benchmark it is up.
"""

from __future__ import annotations

import argparse
import asyncio
import uuid

from hypercorn.asyncio import serve
from hypercorn.config import Config
from quart import Quart, Response, jsonify, request

#: As ``service.serve.DEFAULT_BACKLOG`` and the ``--graceful-timeout`` of ``tests.support.servers.WebServer``
#: (not imported: this process loads none of the project).
BACKLOG = 2048
GRACEFUL_TIMEOUT = 5.0

app = Quart(__name__)


@app.post("/jobs/<job_type>")
async def create_job(job_type: str) -> tuple[Response, int]:
    await request.get_json()
    return jsonify({"job_id": str(uuid.uuid4())}), 202


@app.get("/healthz")
async def healthz() -> str:
    return "ok"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m tests.perf.bare_web", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--bind", required=True, help="HOST:PORT to listen on")
    args = parser.parse_args(argv)
    config = Config()
    config.bind = [args.bind]
    config.graceful_timeout = GRACEFUL_TIMEOUT
    config.backlog = BACKLOG
    config.accesslog = None
    asyncio.run(serve(app, config))


if __name__ == "__main__":
    main()
