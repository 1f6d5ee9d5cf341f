"""Reading a request's parameters: each parser answers 4xx with a clear message, never raises past
the route, and hands the route a value of the right type.

Bodies are bounded as they arrive (``BoundedRequest``): a JSON body over 1 MiB is refused before
it is read whole, whatever its ``Content-Length`` says; only the upload route takes more (up to
``MAX_UPLOAD_BYTES``).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any, TypeVar

import pydantic
from quart import Request, request

from actors.jobs.registry import invalid_payload
from actors.jobs.search import JobFilter
from actors.jobs.states import JobStatus

from ..errors import ApiError, BadRequest, PayloadTooLarge

#: Largest JSON body accepted, in bytes (job arguments are small; documents have their own route).
MAX_JSON_BODY_BYTES = 1024 * 1024
#: The one route whose body may be larger: a multipart upload of documents.
_UPLOAD_PATH = re.compile(r"/workspaces/[^/]+/documents")


class UnsupportedMediaType(ApiError):
    status = 415
    code = "unsupported_media_type"


class BoundedRequest(Request):
    """A request whose body is refused (413) as soon as it passes its route's limit."""

    def __init__(self, method: str, scheme: str, path: str, *args: Any, **kwargs: Any) -> None:
        if not (method == "POST" and _UPLOAD_PATH.fullmatch(path)):
            kwargs["max_content_length"] = MAX_JSON_BODY_BYTES
        super().__init__(method, scheme, path, *args, **kwargs)


#: A non-negative integer as clients write one (ASCII digits; no sign, no other numerals).
_COUNT = re.compile(r"[0-9]{1,18}")

_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off", ""}


async def json_object_body() -> dict[str, Any]:
    """The request's body as a JSON object (``{}`` when empty); a body must say it is JSON."""
    raw = await request.get_data(as_text=False)
    if len(raw) > MAX_JSON_BODY_BYTES:
        raise PayloadTooLarge(f"A JSON body may have at most {MAX_JSON_BODY_BYTES} bytes")
    if not raw.strip():
        return {}
    if request.mimetype != "application/json":
        raise UnsupportedMediaType(
            f"Send the body as application/json, not {request.mimetype or 'an unnamed type'}"
        )
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise BadRequest(f"Request body is not valid JSON: {exc}", code="invalid_json") from None
    if not isinstance(body, dict):
        raise BadRequest("Request body must be a JSON object", code="invalid_json")
    return body


_Model = TypeVar("_Model", bound=pydantic.BaseModel)


async def body_as(model: type[_Model]) -> _Model:
    """The request's JSON body as ``model`` (strictly: JSON's types, no unknown field), or 422."""
    try:
        return model.model_validate(await json_object_body(), strict=True)
    except pydantic.ValidationError as exc:
        raise invalid_payload(exc, "Invalid request body") from None


def number_arg(name: str, *, default: float = 0, maximum: float | None = None) -> float:
    """``?name=`` as a non-negative number up to ``maximum``; ``default`` when absent or empty."""
    raw = request.args.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        value = -1
    if not 0 <= value < float("inf") or (maximum is not None and value > maximum):
        limit = f" up to {maximum:g}" if maximum is not None else ""
        raise BadRequest(
            f"{name} must be a non-negative number{limit}, not {raw!r}", code="invalid_parameter"
        )
    return value


def bool_arg(name: str, *, default: bool) -> bool:
    raw = request.args.get(name)
    if raw is None:
        return default
    if raw.lower() in _TRUE:
        return True
    if raw.lower() in _FALSE:
        return False
    raise BadRequest(f"{name} must be true or false, not {raw!r}", code="invalid_parameter")


def count(raw: str) -> int | None:
    """``raw`` as a non-negative integer, or None when it is not one."""
    return int(raw) if _COUNT.fullmatch(raw) else None


#: Longest search text (``q``): a search is a needle, not a document.
MAX_SEARCH_CHARS = 200
#: Longest job type or workspace name a filter may name (longer ones name nothing there is).
MAX_NAME_CHARS = 200


def job_filter(
    *,
    statuses: Iterable[str] | None,
    job_type: Any = None,
    workspace: Any = None,
    since: Any = None,
    until: Any = None,
    q: Any = None,
) -> JobFilter:
    """A listing's filters from what a client sent (query parameters or a JSON body), each checked:
    400 ``invalid_parameter`` naming the first that is not right."""
    wanted = None
    if statuses is not None:
        names = [name.strip() for name in statuses]
        unknown = [name for name in names if name not in JobStatus.__members__]
        if unknown or not names:
            raise _invalid(f"status must name states among {', '.join(JobStatus.__members__)}, not {unknown}")
        wanted = frozenset(JobStatus(name) for name in names)
    created_from, created_to = _moment("since", since), _moment("until", until)
    if created_from is not None and created_to is not None and created_from > created_to:
        raise _invalid("since must not be after until")
    return JobFilter(
        statuses=wanted,
        job_type=_text("job_type", job_type, MAX_NAME_CHARS),
        group=_text("workspace", workspace, MAX_NAME_CHARS),  # a workspace is a group of jobs
        created_from=created_from,
        created_to=created_to,
        text=_text("q", q, MAX_SEARCH_CHARS),
    )


def _text(name: str, value: Any, longest: int) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str) or len(value) > longest or not value.isprintable():
        raise _invalid(f"{name} must be printable text of at most {longest} characters")
    return value


def _moment(name: str, value: Any) -> int | None:
    """A creation-time bound as unix µs: ISO 8601 (UTC unless it says otherwise) or unix seconds."""
    if value is None or value == "":
        return None
    seconds: float | None = None
    if isinstance(value, int | float) and not isinstance(value, bool):
        seconds = float(value)
    elif isinstance(value, str) and len(value) <= 40:
        try:
            seconds = float(value)
        except ValueError:
            try:
                moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00").replace("z", "+00:00"))
            except ValueError:
                seconds = None
            else:
                seconds = (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()
    if seconds is None or not math.isfinite(seconds) or not 0 <= seconds < 2**33:
        raise _invalid(f"{name} must be an ISO 8601 time or unix seconds, not {str(value)[:40]!r}")
    return int(seconds * 1_000_000)


def _invalid(message: str) -> BadRequest:
    return BadRequest(message, code="invalid_parameter")


def client_position() -> str | None:
    """What the client says it has seen: ``Last-Event-ID`` (EventSource), else ``?since=``."""
    raw = (request.headers.get("Last-Event-ID") or request.args.get("since") or "").strip()
    return raw or None
