"""Cross-origin access for a frontend served from another origin (``CORS_ORIGINS``).

Only origins on the allow-list get CORS headers; with ``CORS_CREDENTIALS=true`` they may send
cookies (and ``EventSource`` may use ``withCredentials``). Preflight requests are answered by
Quart's automatic OPTIONS responses, to which the headers below are added.
"""

from __future__ import annotations

from quart import Quart, Response, request

ALLOWED_METHODS = "GET, POST, DELETE, OPTIONS"
ALLOWED_HEADERS = "Content-Type, Idempotency-Key, Last-Event-ID"
EXPOSED_HEADERS = "Location"
PREFLIGHT_MAX_AGE = "600"


def register_cors(app: Quart, *, origins: tuple[str, ...], credentials: bool) -> None:
    allowed = frozenset(origins)

    @app.after_request
    async def _cors(response: Response) -> Response:
        origin = request.headers.get("Origin")
        response.vary.add("Origin")
        if origin is None or ("*" not in allowed and origin not in allowed):
            return response
        response.headers["Access-Control-Allow-Origin"] = origin
        response.headers["Access-Control-Expose-Headers"] = EXPOSED_HEADERS
        if credentials:
            response.headers["Access-Control-Allow-Credentials"] = "true"
        if request.method == "OPTIONS":
            response.headers["Access-Control-Allow-Methods"] = ALLOWED_METHODS
            response.headers["Access-Control-Allow-Headers"] = ALLOWED_HEADERS
            response.headers["Access-Control-Max-Age"] = PREFLIGHT_MAX_AGE
        return response
