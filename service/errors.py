"""HTTP errors: every failure a client can see is JSON ``{"error": {"code", "message"}}``.

    ApiError (status, code)
    ├── BadRequest            400  invalid_json, invalid_parameter, data_sharing_not_allowed
    ├── NotFound              404  job_not_found, unknown_job_type, workspace_not_found,
    │                              document_not_found, not_found
    ├── Conflict              409  job_finished
    ├── PayloadTooLarge       413  request_entity_too_large, document_too_large
    ├── UnsupportedMediaType  415  unsupported_document
    ├── UnprocessableEntity   422  invalid_payload, workspace_empty, unreadable_document,
    │                              idempotency_key_reused
    └── ServiceUnavailable    503  redis_unavailable

``register_error_handlers`` maps the ``actors`` exception tree, Werkzeug's HTTP errors and any
unexpected exception onto that shape; an unexpected exception is logged and answered 500 with
no traceback (DESIGN invariant 7), a Redis outage is answered 503.
"""

from __future__ import annotations

import logging
from functools import partial
from typing import Any

from quart import Quart, Response, jsonify
from werkzeug.exceptions import HTTPException

from actors.errors import (
    DataSharingRefused,
    DocumentTooLarge,
    EmptyWorkspace,
    IdempotencyKeyReused,
    InvalidPayload,
    StoreUnavailable,
    UnknownDocument,
    UnknownJobType,
    UnknownWorkspace,
    UnreadableDocument,
    UnsupportedDocument,
)
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


class Conflict(ApiError):
    status = 409
    code = "job_finished"


class PayloadTooLarge(ApiError):
    status = 413
    code = "request_entity_too_large"


class UnsupportedMediaType(ApiError):
    status = 415
    code = "unsupported_document"


class UnprocessableEntity(ApiError):
    status = 422
    code = "invalid_payload"


class ServiceUnavailable(ApiError):
    status = 503
    code = "redis_unavailable"


async def _as_api_error(api_error: type[ApiError], code: str, error: Exception) -> Response:
    return api_error(str(error), code=code).to_response()


#: The actors' errors that map one-to-one onto an HTTP error and code.
_SERVICE_ERRORS: dict[type[Exception], tuple[type[ApiError], str]] = {
    UnknownWorkspace: (NotFound, "workspace_not_found"),
    UnknownDocument: (NotFound, "document_not_found"),
    EmptyWorkspace: (UnprocessableEntity, "workspace_empty"),
    UnreadableDocument: (UnprocessableEntity, "unreadable_document"),
    UnsupportedDocument: (UnsupportedMediaType, "unsupported_document"),
    DocumentTooLarge: (PayloadTooLarge, "document_too_large"),
    IdempotencyKeyReused: (UnprocessableEntity, "idempotency_key_reused"),
}


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

    @app.errorhandler(DataSharingRefused)
    async def _data_sharing_refused(error: DataSharingRefused) -> Response:
        return BadRequest(str(error), code="data_sharing_not_allowed", fields=error.problems).to_response()

    for error_class, (api_error, code) in _SERVICE_ERRORS.items():
        app.register_error_handler(error_class, partial(_as_api_error, api_error, code))

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
