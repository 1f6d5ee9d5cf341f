"""The Quart application factory: ``hypercorn "service:create_app()"`` serves what it returns.

Redis connections are made at start-up and closed at shutdown: a pool for reads, and the hub's
own single pub/sub connection. Importing ``actors`` configures the Dramatiq broker (and reads the
settings once); the web process uses that broker to enqueue jobs.
"""

from __future__ import annotations

import os

import redis.asyncio as aioredis
from quart import Quart, Response

from actors.logs import configure_logging

from .context import EXTENSION_KEY, Services
from .cors import register_cors
from .errors import register_error_handlers
from .hub import EventHub
from .jobs_reader import JobReader
from .routes_events import blueprint as events_blueprint
from .routes_jobs import blueprint as jobs_blueprint
from .routes_ops import blueprint as ops_blueprint
from .routes_workspaces import blueprint as workspaces_blueprint


def create_app() -> Quart:
    import actors  # configures the broker and registers every job type, from actors.settings

    settings = actors.settings
    configure_logging(settings.log_format)
    app = Quart(__name__)
    app.config["MAX_CONTENT_LENGTH"] = settings.max_upload_bytes  # JSON bodies have their own limit
    app.json.sort_keys = False  # snapshots keep their documented field order
    register_error_handlers(app)
    register_cors(app, origins=settings.cors_origins, credentials=settings.cors_credentials)

    @app.get("/")
    async def dashboard() -> Response:
        return await app.send_static_file("index.html")

    app.register_blueprint(jobs_blueprint)
    app.register_blueprint(events_blueprint)
    app.register_blueprint(ops_blueprint)
    app.register_blueprint(workspaces_blueprint)

    @app.before_serving
    async def _connect() -> None:
        # A bounded pool: a burst of requests waits for a connection instead of opening more.
        pool = aioredis.BlockingConnectionPool.from_url(
            settings.redis_url,
            max_connections=settings.redis_pool_size,
            timeout=settings.redis_timeout,
            socket_connect_timeout=settings.redis_timeout,
            socket_timeout=settings.redis_timeout,
            client_name=f"jobs-web-{os.getpid()}",
        )
        reader = JobReader(client=aioredis.Redis(connection_pool=pool))
        # The hub's connection idles between events, so it has no read timeout; it pings instead.
        hub = EventHub(
            client=aioredis.Redis.from_url(
                settings.redis_url,
                socket_connect_timeout=settings.redis_timeout,
                socket_keepalive=True,
                client_name=f"jobs-web-hub-{os.getpid()}",
            ),
            queue_size=settings.sse_queue_size,
            send_timeout=settings.sse_send_timeout,
        )
        await hub.start()
        app.extensions[EXTENSION_KEY] = Services(
            settings=settings,
            broker=actors.broker,
            reader=reader,
            hub=hub,
            documents=actors.documents,
            store=actors.job_store,
        )

    @app.after_serving
    async def _disconnect() -> None:
        svc: Services = app.extensions.pop(EXTENSION_KEY)
        await svc.hub.stop()
        await svc.reader.client.aclose()

    return app


async def begin_shutdown(app: Quart, *, timeout: float) -> None:
    """Ask every open stream to close cleanly, and wait up to ``timeout`` seconds for them."""
    svc: Services | None = app.extensions.get(EXTENSION_KEY)
    if svc is not None:
        svc.hub.begin_shutdown()
        await svc.hub.drained(timeout)
