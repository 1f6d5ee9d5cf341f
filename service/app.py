"""The Quart application factory: ``hypercorn "service:create_app()"`` serves what it returns.

Importing ``actors`` builds the job engine and declares every job type (reading the engine's and
the domain's settings once); the web process sends jobs on that engine's broker. The web's own
settings are read here. Redis connections are made at start-up and closed at shutdown: a pool
for reads, and the hub's own single pub/sub connection. Every request but those of the routes
declared public (``service.endpoints``) is authenticated before its route runs
(``auth.identity``) and counted against its key's rate.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import os
from pathlib import Path

from quart import Quart, Response, g, request
from quart_auth import QuartAuth
from redis.asyncio.retry import Retry as AsyncRetry
from redis.backoff import ExponentialBackoff

import actors
from actors.jobs.connections import async_redis_client
from actors.jobs.engine import RETRY_ON
from actors.jobs.errors import StoreUnavailable
from actors.jobs.fleet import Fleet
from actors.jobs.middleware import configure_logging
from actors.jobs.reader import JobReader
from actors.jobs.settings import SettingsError

from .auth.bootstrap import local_set_up
from .auth.credentials import REVOKED_CHANNEL, Credentials
from .auth.hosts import register_host_checks
from .auth.identity import Authenticator
from .auth.limits import RateLimiter
from .auth.sessions import Sessions
from .auth.throttle import FailureThrottle
from .context import EXTENSION_KEY, Services, services
from .cors import register_cors
from .endpoints import declare, declared, endpoint
from .errors import ApiError, NotFound, TooManyRequests, UriTooLong, refuse_unread, register_error_handlers
from .headers import secure_answers
from .openapi import describe_api
from .routes import register_routes
from .routes.params import BoundedRequest
from .settings import WebSettings
from .sse.admission import Admission
from .sse.handoff import StreamHandoff
from .sse.hub import EventHub

logger = logging.getLogger("jobs.api")
#: Set by ``service.serve`` to the addresses it listens on (AUTH=off needs them all loopback), and
#: to the URL the local set-up's login link starts with.
BINDS_CONFIG = "JOBS_BINDS"
LOGIN_BASE_CONFIG = "JOBS_LOGIN_BASE"
#: Longest path served: ids and names are far shorter.
MAX_PATH_CHARS = 1024
#: Retries of a web request's Redis command on a dropped connection (50, 100, 200 ms apart).
WEB_REDIS_RETRIES = 3


def create_app() -> Quart:
    engine = actors.engine
    settings = WebSettings.from_env()
    redis_timeout = engine.settings.redis_timeout
    configure_logging(engine.settings.log_format)
    app = Quart(__name__)
    app.request_class = BoundedRequest  # JSON bodies refused past 1 MiB as they arrive
    app.config["MAX_CONTENT_LENGTH"] = settings.max_upload_bytes  # the upload route's limit
    QuartAuth(
        app,
        cookie_name="jobs_session",
        cookie_secure=settings.session_cookie_secure,
        cookie_samesite="Lax",
        duration=settings.session_lifetime,
    )
    register_error_handlers(app)
    register_cors(app, origins=settings.cors_origins, credentials=settings.cors_credentials)
    register_host_checks(app, settings)  # before authentication: Host and (AUTH=false) Origin

    @app.get("/")
    @endpoint(access="public", documented=False)
    async def dashboard() -> Response:
        return await app.send_static_file("index.html")

    # The dashboard's files (those shipped only: ``_refuse_unknown_paths``).
    declare(app, "static", access="public", documented=False)

    register_routes(app)
    describe_api(app, engine.broker)  # /openapi.json and /docs
    app.json.sort_keys = False  # snapshots keep their documented field order (after quart-schema's provider)

    secure_answers(app, proxy_hops=settings.proxy_hops)  # every answer's security headers; proxies trusted
    app.asgi_app = StreamHandoff(app.asgi_app)  # type: ignore[method-assign]  # streams sent outside Quart
    static_files = _files_under(app.static_folder)

    @app.before_request
    async def _refuse_unknown_paths() -> None:
        if len(request.path) > MAX_PATH_CHARS:  # ids and names are far shorter
            raise UriTooLong(f"A path may have at most {MAX_PATH_CHARS} characters")
        # Only the files shipped are served: no request's name reaches the file system.
        if request.endpoint == "static" and (request.view_args or {}).get("filename") not in static_files:
            raise NotFound("No such file", code="not_found")

    @app.before_request
    async def _authenticate() -> None:
        route = declared(request.endpoint)
        if request.endpoint is None or route.public or request.method == "OPTIONS":
            return  # unknown routes are 404 for everyone; preflights carry no credentials
        svc = services()
        try:
            g.identity = await svc.auth.identify()
            # A key found in the cache while Redis is down meets the outage here, at its rate.
            wait = await svc.limiter.wait(g.identity.key_id) if g.identity.key_id is not None else 0
        except StoreUnavailable:
            if route.answers_when_redis_down:
                g.identity = None
                return  # it answers "down" (the seed's shape) without knowing who asks
            raise
        except ApiError as refused:  # 401, 403, 429: answered, not lost to a reset connection
            await refuse_unread(refused)
        if wait:
            await refuse_unread(
                TooManyRequests(
                    f"This key made more than {svc.limiter.per_minute} "
                    f"{'request' if svc.limiter.per_minute == 1 else 'requests'} a minute; retry in {wait} s",
                    retry_after=wait,
                )
            )

    @app.before_serving
    async def _connect() -> None:
        _check_auth_off(app, settings)
        # A bounded pool: a burst of requests waits for a connection instead of opening more.
        client = async_redis_client(
            engine.settings,
            max_connections=settings.redis_pool_size,
            timeout=redis_timeout,
            socket_connect_timeout=redis_timeout,
            socket_timeout=redis_timeout,
            client_name=f"jobs-web-{os.getpid()}",
            # A blip (a Redis restart, a failover) is retried on a new connection for about 0.35 s
            # before a request is answered 503: short enough that an outage still answers at once.
            retry=AsyncRetry(ExponentialBackoff(cap=0.2, base=0.05), WEB_REDIS_RETRIES),
            retry_on_error=RETRY_ON,
        )
        credentials = Credentials(client=client)
        local = await local_set_up(
            state_dir=settings.state_dir,
            admin_token=settings.admin_token.get_secret_value(),
            credentials=credentials,
            documents=actors.resources.documents,
        )
        secret = settings.secret_key.get_secret_value() or await credentials.signing_secret()
        app.secret_key = secret  # quart-auth signs the session cookie with it
        if local.local_key is not None:
            base = app.config.get(LOGIN_BASE_CONFIG, "http://<this server>")
            logger.warning("Log in to the dashboard: %s/#key=%s", base, local.local_key)
        # The hub's connection idles between events, so it has no read timeout; it pings instead.
        hub = EventHub(
            client=async_redis_client(
                engine.settings,
                socket_connect_timeout=redis_timeout,
                socket_keepalive=True,
                client_name=f"jobs-web-hub-{os.getpid()}",
            ),
            queue_size=settings.sse_queue_size,
            send_timeout=settings.sse_send_timeout,
            revoked_channel=REVOKED_CHANNEL,
            on_revoked=credentials.forget,
            ended_owners=credentials.ended,
        )
        await hub.start()
        engine.run_metrics.start()  # the jobs this process creates are counted once a second
        app.extensions[EXTENSION_KEY] = Services(
            settings=settings,
            engine=engine,
            redis=client,
            documents=actors.resources.documents,
            reader=JobReader(client=client, fields=engine.store.fields),
            fleet=Fleet(
                client=client,
                heartbeat_interval=engine.settings.worker_heartbeat_interval,
                queues=engine.broker.get_declared_queues(),
            ),
            hub=hub,
            admission=Admission(max_total=settings.max_streams, max_per_key=settings.max_streams_per_key),
            auth=Authenticator(
                credentials=credentials,
                sessions=Sessions(client=client, lifetime=settings.session_lifetime),
                throttle=FailureThrottle(client=client, per_minute=settings.auth_failures_per_minute),
                admin_token=local.admin_token,
                signing_secret=secret,
                stream_token_ttl=settings.stream_token_ttl,
                auth_on=settings.auth,
                trusted_origins=frozenset(
                    origin.lower() for origin in settings.cors_origins if settings.cors_credentials
                ),
            ),
            limiter=RateLimiter(client=client, per_minute=settings.rate_limit_per_minute),
        )

    @app.after_serving
    async def _disconnect() -> None:
        svc: Services = app.extensions.pop(EXTENSION_KEY)
        await asyncio.get_running_loop().run_in_executor(None, svc.engine.run_metrics.stop)
        await svc.hub.stop()
        await svc.reader.client.aclose()

    return app


def _files_under(folder: str | None) -> frozenset[str]:
    """The files below ``folder``, as the relative paths a static URL names."""
    if folder is None:
        return frozenset()
    root = Path(folder)
    return frozenset(path.relative_to(root).as_posix() for path in root.rglob("*") if path.is_file())


def _check_auth_off(app: Quart, settings: WebSettings) -> None:
    """AUTH=off only where nobody else can reach the process: every bind on a loopback address."""
    if settings.auth:
        return
    binds = app.config.get(BINDS_CONFIG)
    if not binds or not all(_is_loopback(bind) for bind in binds):
        raise SettingsError(
            "AUTH=false is allowed only when the server listens on loopback addresses alone "
            f"(python -m service.serve --bind 127.0.0.1:PORT); binds: {binds or 'unknown'}"
        )
    logger.warning("AUTH=false: NO AUTHENTICATION. Every caller acts as tenant 'local'. Loopback only.")


def _is_loopback(bind: str) -> bool:
    host = bind.rsplit(":", 1)[0].strip("[]")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


async def begin_shutdown(app: Quart, *, timeout: float) -> None:
    """Ask every open stream to close cleanly, and wait up to ``timeout`` seconds for them."""
    svc: Services | None = app.extensions.get(EXTENSION_KEY)
    if svc is not None:
        svc.hub.begin_shutdown()
        await svc.hub.drained(timeout)
