"""HTTP errors: every failure a client can see is JSON ``{"error": {"code", "message", ...}}``.

    ApiError (status, code)        raised by the web side itself
    ├── BadRequest            400  invalid_json, invalid_parameter, host_not_allowed (auth/hosts.py)
    ├── Unauthenticated       401  unauthenticated, token_expired    (auth/identity.py)
    ├── Forbidden             403  forbidden, cross_site_request     (auth/identity.py, auth/hosts.py)
    ├── NotFound              404  job_not_found, not_found, key_not_found, queue_not_found,
    │                              dead_letter_not_found
    ├── Conflict              409  job_finished, job_not_finished, job_not_retryable,
    │                              workspace_busy, session_conflict
    ├── PayloadTooLarge       413  request_entity_too_large
    ├── UriTooLong            414  uri_too_long
    ├── UnsupportedMediaType  415  unsupported_media_type            (routes/params.py)
    ├── TooManyRequests       429  rate_limited, too_many_streams (with Retry-After)
    └── ServiceUnavailable    503  redis_unavailable

The engine's and the domain's own errors (``actors.jobs.errors``, ``actors.contracts.errors``)
are answered from one table, ``ERROR_TABLE``: each class's status and code, the most specific
class winning. Werkzeug's HTTP errors keep their status; an unexpected exception is logged and
answered 500 with no traceback (docs/design.md, invariant 7); a Redis outage is answered 503.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any, NoReturn

from quart import Quart, Response, jsonify, request
from werkzeug.exceptions import HTTPException

from actors.contracts.errors import (
    ContractError,
    DataSharingRefused,
    DocumentTooLarge,
    EmptyWorkspace,
    ExtractionPending,
    FilenameTooLong,
    QuotaExceeded,
    TooManyFiles,
    UnknownDocument,
    UnknownWorkspace,
    UnreadableDocument,
    UnsupportedDocument,
)
from actors.jobs.errors import (
    REDIS_UNAVAILABLE_ERRORS,
    IdempotencyKeyReused,
    InvalidPayload,
    JobError,
    StoreUnavailable,
    UnknownJobType,
)

logger = logging.getLogger("jobs.api")


class ApiError(Exception):
    status = 500
    code = "internal_error"

    def __init__(
        self, message: str, *, code: str | None = None, headers: dict[str, str] | None = None, **details: Any
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code or self.code
        self.headers = headers or {}
        self.details = details

    def to_response(self) -> Response:
        response = jsonify({"error": {"code": self.code, "message": self.message, **self.details}})
        response.status_code = self.status
        response.headers.update(self.headers)
        return response


class BadRequest(ApiError):
    status = 400
    code = "bad_request"


class NotFound(ApiError):
    status = 404
    code = "not_found"


class Conflict(ApiError):
    status = 409
    code = "job_finished"


class PayloadTooLarge(ApiError):
    status = 413
    code = "request_entity_too_large"


class UriTooLong(ApiError):
    status = 414
    code = "uri_too_long"


class TooManyRequests(ApiError):
    status = 429
    code = "rate_limited"

    def __init__(self, message: str, *, retry_after: int, code: str | None = None) -> None:
        super().__init__(message, code=code, headers={"Retry-After": str(max(1, retry_after))})


class ServiceUnavailable(ApiError):
    status = 503
    code = "redis_unavailable"


def _fields(error: Any) -> dict[str, Any]:
    return {"fields": error.problems}


#: The engine's and the domain's errors as clients see them: status, code, and extra details.
ERROR_TABLE: dict[type[Exception], tuple[int, str, Callable[[Any], dict[str, Any]] | None]] = {
    StoreUnavailable: (503, "redis_unavailable", None),
    UnknownJobType: (404, "unknown_job_type", lambda error: {"valid_job_types": error.valid}),
    InvalidPayload: (422, "invalid_payload", _fields),
    IdempotencyKeyReused: (422, "idempotency_key_reused", None),
    DataSharingRefused: (400, "data_sharing_not_allowed", _fields),
    UnknownWorkspace: (404, "workspace_not_found", None),
    UnknownDocument: (404, "document_not_found", None),
    EmptyWorkspace: (422, "workspace_empty", None),
    ExtractionPending: (409, "extraction_pending", None),
    UnreadableDocument: (422, "unreadable_document", None),
    UnsupportedDocument: (415, "unsupported_document", None),
    DocumentTooLarge: (413, "document_too_large", None),
    FilenameTooLong: (413, "filename_too_long", None),
    TooManyFiles: (413, "too_many_files", None),
    QuotaExceeded: (413, "quota_exceeded", None),
}


def as_api_error(error: Exception) -> ApiError | None:
    """The answer ``ERROR_TABLE`` gives for ``error`` (its most specific listed class), if any."""
    entry = next((ERROR_TABLE[kind] for kind in type(error).__mro__ if kind in ERROR_TABLE), None)
    if entry is None:
        return None
    status, code, details = entry
    api_error = ApiError(str(error), code=code, **(details(error) if details else {}))
    api_error.status = status
    return api_error


#: How much of a refused request's body is read, and for how long, before it is answered: a
#: connection closed with data unread is reset, and its client sees a network error, not the 4xx.
DRAIN_BYTES = 1024 * 1024
DRAIN_SECONDS = 5.0


async def refuse_unread(error: ApiError) -> NoReturn:
    """Raise ``error`` for a request refused before its route read its body, once that body has
    been read (up to ``DRAIN_BYTES``, within ``DRAIN_SECONDS``), so its client gets the answer."""
    read = 0
    try:
        async with asyncio.timeout(DRAIN_SECONDS):
            async for chunk in request.body:
                read += len(chunk)
                if read > DRAIN_BYTES:
                    break  # a large body: the connection closes (and may be reset) after the answer
    except (TimeoutError, HTTPException):  # too slow, or over the route's limit: the same
        pass
    raise error


def register_error_handlers(app: Quart) -> None:
    @app.errorhandler(ApiError)
    async def _api_error(error: ApiError) -> Response:
        return error.to_response()

    async def _layer_error(error: Exception) -> Response:
        api_error = as_api_error(error)
        if api_error is None:
            return await _unexpected(error)
        if api_error.status == ServiceUnavailable.status:
            logger.warning("Answering 503: %s", error)
            api_error.message = "Redis is unavailable; try again shortly"
        return api_error.to_response()

    for layer in (JobError, ContractError):
        app.register_error_handler(layer, _layer_error)

    async def _redis_unavailable(error: Exception) -> Response:
        return await _layer_error(StoreUnavailable(str(error)))

    for unavailable in REDIS_UNAVAILABLE_ERRORS:
        app.register_error_handler(unavailable, _redis_unavailable)

    @app.errorhandler(HTTPException)
    async def _http_error(error: HTTPException) -> Response:
        code = (error.name or "error").lower().replace(" ", "_")
        api_error = ApiError(error.description or error.name, code=code)
        api_error.status = error.code or 500
        return api_error.to_response()

    @app.errorhandler(Exception)
    async def _unexpected(error: Exception) -> Response:
        logger.exception("Unexpected error", exc_info=error)
        return ApiError("Internal error; it has been logged").to_response()
