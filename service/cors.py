"""Cross-origin access for a frontend served from another origin (``CORS_ORIGINS``).

Only the exact origins on the allow-list get CORS headers (``*``: any origin, but then never with
credentials, which the settings refuse to start with); the ``null`` origin of sandboxed pages and
files is never allowed. With ``CORS_CREDENTIALS=true`` the listed origins may send cookies. A
frontend on another origin normally sends ``Authorization: Bearer <key>`` and opens its streams
with stream tokens instead. Preflight requests are answered by Quart's automatic OPTIONS
responses, to which the headers below are added.
"""

from __future__ import annotations

from quart import Quart, Response, request

ALLOWED_METHODS = "GET, POST, DELETE, OPTIONS"
ALLOWED_HEADERS = "Authorization, Content-Type, Idempotency-Key, Last-Event-ID"
EXPOSED_HEADERS = "Location, Retry-After, WWW-Authenticate"
PREFLIGHT_MAX_AGE = "600"


def register_cors(app: Quart, *, origins: tuple[str, ...], credentials: bool) -> None:
    allowed = frozenset(origin.lower() for origin in origins)
    any_origin = "*" in allowed

    @app.after_request
    async def _cors(response: Response) -> Response:
        origin = request.headers.get("Origin")
        response.vary.add("Origin")
        if origin is None or origin == "null" or not (any_origin or origin.lower() in allowed):
            return response
        response.headers["Access-Control-Allow-Origin"] = "*" if any_origin else origin
        response.headers["Access-Control-Expose-Headers"] = EXPOSED_HEADERS
        if credentials:
            response.headers["Access-Control-Allow-Credentials"] = "true"
        if request.method == "OPTIONS":
            response.headers["Access-Control-Allow-Methods"] = ALLOWED_METHODS
            response.headers["Access-Control-Allow-Headers"] = ALLOWED_HEADERS
            response.headers["Access-Control-Max-Age"] = PREFLIGHT_MAX_AGE
        return response
