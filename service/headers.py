"""What every answer carries for the browser's safety, and whom the app believes about a request's origin.

Every answer — JSON, errors, event streams, static files, the console at ``/``, ``/docs`` and
``/openapi.json`` — gets:

    Content-Security-Policy     the console's (scripts and styles from this origin only, no inline
                                script), Redoc's on ``/docs``, and ``default-src 'none'`` on the
                                API's answers; each with ``frame-ancestors 'none'``
    X-Frame-Options: DENY       the same for browsers that predate ``frame-ancestors``
    X-Content-Type-Options: nosniff
    Referrer-Policy: no-referrer
    Strict-Transport-Security   when the request came over TLS (directly, or through a trusted proxy)

The headers are added where the application sends its answer's start (an ASGI wrapper around the
Quart app), not in an ``after_request`` hook, so that no way Quart has of answering escapes them.

Behind a proxy that ends TLS, the request reaches the app over plain HTTP from the proxy's address.
``PROXY_HOPS`` says how many proxies to trust (0: none, the default, as a client can send any
header it likes): Hypercorn's ``ProxyFixMiddleware`` ("legacy" mode) then reads the client's
address and scheme from ``X-Forwarded-For`` and ``X-Forwarded-Proto``, so ``request.remote_addr``
and ``request.scheme`` are the client's as the proxy saw them (per-client limits rely on it).
"""

from __future__ import annotations

from hypercorn.middleware import ProxyFixMiddleware
from hypercorn.typing import ASGIFramework, ASGIReceiveCallable, ASGISendCallable, ASGISendEvent, Scope
from quart import Quart

from .openapi import DOCS_PAGE_POLICY, DOCS_PATH

#: The console (index.html, app.js, app.css): everything from this origin, nothing inline. Styles
#: need no 'unsafe-inline': the console sets no style attribute and no element.style (state shows
#: through classes, `hidden` and data attributes), so a strict style-src costs nothing. `data:`
#: images: the page's empty favicon (`<link rel="icon" href="data:,">`).
CONSOLE_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)
#: The docs page: what Redoc needs (``openapi.DOCS_PAGE_POLICY``: its inline styles and blob
#: workers), and never in a frame.
DOCS_POLICY = f"{DOCS_PAGE_POLICY}; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
#: JSON, errors and event streams are no page: they may load nothing and be framed nowhere.
API_POLICY = "default-src 'none'; frame-ancestors 'none'"
#: A year: browsers then refuse plain HTTP to this host, which a TLS proxy in front makes possible.
HSTS = "max-age=31536000"
_CONSOLE_PREFIX = "/static/"
_FORWARDED_HOST = b"x-forwarded-host"
_ALWAYS = (
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
)


def policy_for(path: str) -> str:
    """The Content-Security-Policy of an answer to ``path``."""
    if path == DOCS_PATH:
        return DOCS_POLICY
    # /static/index.html is the console's page too; a policy on a script or a style sheet is inert.
    if path == "/" or path.startswith(_CONSOLE_PREFIX):
        return CONSOLE_POLICY
    return API_POLICY


def security_headers(path: str, scheme: str) -> list[tuple[bytes, bytes]]:
    """Every header an answer to ``path``, asked over ``scheme``, carries."""
    headers = [*_ALWAYS, (b"content-security-policy", policy_for(path).encode())]
    if scheme == "https":
        headers.append((b"strict-transport-security", HSTS.encode()))
    return headers


class SecurityHeaders:
    """An ASGI wrapper that adds ``security_headers`` to every HTTP answer (replacing the app's own)."""

    def __init__(self, app: ASGIFramework) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: ASGIReceiveCallable, send: ASGISendCallable) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        added = security_headers(scope["path"], scope["scheme"])
        names = {name for name, _ in added}

        async def send_secured(message: ASGISendEvent) -> None:
            if message["type"] == "http.response.start":
                own = message.get("headers", ())
                message = {**message, "headers": [*(h for h in own if h[0].lower() not in names), *added]}
            await send(message)

        await self.app(scope, receive, send_secured)


class TrustedProxies:
    """Hypercorn's ``ProxyFixMiddleware`` for ``hops`` proxies, minus ``X-Forwarded-Host``.

    The proxy sets ``Host`` itself (nginx: ``proxy_set_header Host $host``) and passes on any
    ``X-Forwarded-Host`` a client sent: trusting it would let a client choose the host the app
    believes it serves (the cookie's origin check compares ``Origin`` with it)."""

    def __init__(self, app: ASGIFramework, *, hops: int) -> None:
        self.fix = ProxyFixMiddleware(app, mode="legacy", trusted_hops=hops)

    async def __call__(self, scope: Scope, receive: ASGIReceiveCallable, send: ASGISendCallable) -> None:
        if scope["type"] in ("http", "websocket"):
            headers = [(name, value) for name, value in scope["headers"] if name.lower() != _FORWARDED_HOST]
            scope = {**scope, "headers": headers}
        await self.fix(scope, receive, send)


def secure_answers(app: Quart, *, proxy_hops: int) -> None:
    """Every answer of ``app`` gets the security headers; with ``proxy_hops``, the request's
    client and scheme are read from that many trusted proxies' headers first (so HSTS follows the
    scheme the client used, and ``request.remote_addr`` is the client's)."""
    wrapped: ASGIFramework = SecurityHeaders(app.asgi_app)
    if proxy_hops:
        wrapped = TrustedProxies(wrapped, hops=proxy_hops)
    app.asgi_app = wrapped  # type: ignore[method-assign]
