"""The Quart application factory: ``hypercorn "service:create_app()"`` serves what it returns.

Importing ``actors`` builds the job engine and declares every job type (reading the engine's and
the domain's settings once); the web process sends jobs on that engine's broker. The web's own
settings are read here. Redis connections are made at start-up and closed at shutdown: a pool
for reads, and the hub's own single pub/sub connection.
"""

from __future__ import annotations

import os

import redis.asyncio as aioredis
from quart import Quart, Response

import actors
from actors.jobs.fleet import Fleet
from actors.jobs.middleware import configure_logging
from actors.jobs.reader import JobReader

from .context import EXTENSION_KEY, Services
from .cors import register_cors
from .errors import register_error_handlers
from .routes import register_routes
from .settings import WebSettings
from .sse.hub import EventHub


def create_app() -> Quart:
    engine = actors.engine
    settings = WebSettings.from_env()
    redis_url, redis_timeout = engine.settings.redis_url, engine.settings.redis_timeout
    configure_logging(engine.settings.log_format)
    app = Quart(__name__)
    app.config["MAX_CONTENT_LENGTH"] = settings.max_upload_bytes  # JSON bodies have their own limit
    app.json.sort_keys = False  # snapshots keep their documented field order
    register_error_handlers(app)
    register_cors(app, origins=settings.cors_origins, credentials=settings.cors_credentials)

    @app.get("/")
    async def dashboard() -> Response:
        return await app.send_static_file("index.html")

    register_routes(app)

    @app.before_serving
    async def _connect() -> None:
        # A bounded pool: a burst of requests waits for a connection instead of opening more.
        pool = aioredis.BlockingConnectionPool.from_url(
            redis_url,
            max_connections=settings.redis_pool_size,
            timeout=redis_timeout,
            socket_connect_timeout=redis_timeout,
            socket_timeout=redis_timeout,
            client_name=f"jobs-web-{os.getpid()}",
        )
        client = aioredis.Redis(connection_pool=pool)
        # The hub's connection idles between events, so it has no read timeout; it pings instead.
        hub = EventHub(
            client=aioredis.Redis.from_url(
                redis_url,
                socket_connect_timeout=redis_timeout,
                socket_keepalive=True,
                client_name=f"jobs-web-hub-{os.getpid()}",
            ),
            queue_size=settings.sse_queue_size,
            send_timeout=settings.sse_send_timeout,
        )
        await hub.start()
        app.extensions[EXTENSION_KEY] = Services(
            settings=settings,
            engine=engine,
            documents=actors.resources.documents,
            reader=JobReader(client=client, fields=engine.store.fields),
            fleet=Fleet(
                client=client,
                heartbeat_interval=engine.settings.worker_heartbeat_interval,
                queues=engine.broker.get_declared_queues(),
            ),
            hub=hub,
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
