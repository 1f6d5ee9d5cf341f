"""The web side: a Quart app that enqueues jobs and reports their status by polling and SSE.

    app.py        create_app(): settings, routes, and the Redis pool and hub made at start-up
    settings.py   WebSettings, and the README's configuration tables
    context.py    Services: what the routes share
    errors.py     the HTTP error envelope, and the table that maps the engine's and the domain's errors
    routes/       the endpoints, one blueprint per module
    sse/          the hub, the event streams and the waits of long-polling and the sync path
    metrics.py    GET /metrics in Prometheus's text format
    cors.py       CORS for allow-listed frontend origins
    serve.py      python -m service.serve: Hypercorn with a clean stream shutdown on SIGTERM
    cli.py        jobctl, the command-line client (HTTP only); cli_view.py what it prints
    static/       jobs-client.js, use-async-job.js and the dashboard

Importing this package loads nothing else, so ``jobctl`` starts without building the job engine.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from quart import Quart


def create_app() -> Quart:
    """The app ``hypercorn "service:create_app()"`` serves (built by ``service.app``)."""
    from .app import create_app as build  # here: importing service.app builds the job engine

    return build()
