"""HTTP errors: every failure a client can see is JSON ``{"error": {"code", "message"}}``.

    ApiError (status, code)
    ├── BadRequest            400  invalid_json, invalid_parameter
    ├── NotFound              404  job_not_found, unknown_job_type, not_found
    ├── UnprocessableEntity   422  invalid_payload
    └── ServiceUnavailable    503  redis_unavailable

``register_error_handlers`` maps the ``actors`` exception tree, Werkzeug's HTTP errors and any
unexpected exception onto that shape; an unexpected exception is logged and answered 500 with
no traceback (DESIGN invariant 7), a Redis outage is answered 503.
"""

from __future__ import annotations

import logging
from typing import Any

from quart import Quart, Response, jsonify
from werkzeug.exceptions import HTTPException

from actors.errors import InvalidPayload, StoreUnavailable, UnknownJobType
from actors.records import REDIS_UNAVAILABLE_ERRORS

logger = logging.getLogger("jobs.api")


class ApiError(Exception):
    status = 500
    code = "internal_error"

    def __init__(self, message: str, *, code: str | None = None, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.code = code or self.code
        self.details = details

    def to_response(self) -> Response:
        response = jsonify({"error": {"code": self.code, "message": self.message, **self.details}})
        response.status_code = self.status
        return response


class BadRequest(ApiError):
    status = 400
    code = "bad_request"


class NotFound(ApiError):
    status = 404
    code = "not_found"


class UnprocessableEntity(ApiError):
    status = 422
    code = "invalid_payload"


class ServiceUnavailable(ApiError):
    status = 503
    code = "redis_unavailable"


def register_error_handlers(app: Quart) -> None:
    @app.errorhandler(ApiError)
    async def _api_error(error: ApiError) -> Response:
        return error.to_response()

    async def _store_unavailable(error: Exception) -> Response:
        logger.warning("Answering 503: %s", error)
        return ServiceUnavailable("Redis is unavailable; try again shortly").to_response()

    for unavailable in (StoreUnavailable, *REDIS_UNAVAILABLE_ERRORS):
        app.register_error_handler(unavailable, _store_unavailable)

    @app.errorhandler(UnknownJobType)
    async def _unknown_job_type(error: UnknownJobType) -> Response:
        return NotFound(str(error), code="unknown_job_type", valid_job_types=error.valid).to_response()

    @app.errorhandler(InvalidPayload)
    async def _invalid_payload(error: InvalidPayload) -> Response:
        return UnprocessableEntity(str(error), fields=error.problems).to_response()

    @app.errorhandler(HTTPException)
    async def _http_error(error: HTTPException) -> Response:
        code = (error.name or "error").lower().replace(" ", "_")
        response = ApiError(error.description or error.name, code=code).to_response()
        response.status_code = error.code or 500
        return response

    @app.errorhandler(Exception)
    async def _unexpected(error: Exception) -> Response:
        logger.exception("Unexpected error")
        return ApiError("Internal error; it has been logged").to_response()
