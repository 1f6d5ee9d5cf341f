"""Event-stream endpoints: one job, several jobs on one connection, a workspace, and the streams'
own figures.

GET /jobs/<job_id>/events        one job's stream; resume with Last-Event-ID or ?since=<seq>
GET /events?job=<id>&job=<id>    several jobs on one EventSource (browsers allow six
                                 connections per origin on HTTP/1.1); the id is the seqs
                                 joined by dots, in the order of the job parameters
GET /workspaces/<name>/events    every job of a workspace (the engine's group of that name),
                                 new ones included; the id is the event's position in its log
GET /tenant/events               every job of the caller's tenant, new ones included, framed as
                                 the workspace stream (the id: the position in the tenant's log),
                                 and ``fleet`` events: /worker/status's body, live (a key or a
                                 session; the admin, who has no tenant, gets 403, and a stream
                                 token, which names jobs or a workspace, is not taken here)
GET /events/stats                open streams, watched jobs and workspaces, drops, hub connection
                                 (the admin's)

Every stream reads within the caller's tenant, and counts against the caller's key's streams and
the process's, with the long-polls and waits (429 with ``Retry-After`` past either:
``jobs-client.js`` then polls instead). A stream ends when the key or session it was opened with
does.
"""

from __future__ import annotations

import asyncio
from typing import Any

from quart import Blueprint, Response, jsonify, request
from quart_schema import document_querystring, document_response

from actors.jobs.states import is_finished

from ..auth.identity import check_stream_scope, identity, tenant
from ..context import services
from ..endpoints import EVENT_STREAM, RawAnswer, endpoint
from ..errors import BadRequest, NotFound, TooManyRequests
from ..schemas import MAX_JOBS_PER_STREAM, MultiplexQuery, StreamQuery, StreamStats, TenantStreamQuery
from ..sse.admission import LimitReached, Slot
from ..sse.group_stream import GroupStream, parse_entry_id
from ..sse.handoff import hand_off
from ..sse.streams import EventStream, JobStream
from ..sse.tenant_stream import TenantStream
from .ops import worker_status_body
from .params import client_position, count

blueprint = Blueprint("events", __name__)

MAX_WORKSPACE_NAME = 200
#: Seconds a client refused for too many streams is asked to wait (it polls meanwhile).
STREAMS_RETRY_AFTER_S = 30
#: What the job and workspace streams send.
JOB_EVENTS = RawAnswer(
    EVENT_STREAM, "Server-Sent Events: `status` and `progress` events, each a job snapshot as JSON"
)
#: What the tenant's stream sends.
TENANT_EVENTS = RawAnswer(
    EVENT_STREAM,
    "Server-Sent Events: a `snapshot` per job, then `status` and `progress` events (each a job"
    " snapshot as JSON, with an `id` to resume from), and `fleet` events (the body of"
    " `GET /worker/status`, without an `id`)",
)


@blueprint.get("/jobs/<job_id>/events")
@endpoint(
    stream_token=True,
    raw_answer=JOB_EVENTS,
    no_content=True,  # the client is told to stop reconnecting: nothing is left to send
    errors=(404,),
    summary="Follow one job's events.",
)
@document_querystring(StreamQuery)
async def job_events(job_id: str) -> Response:
    """One job's events (text/event-stream); resume with `Last-Event-ID` or `?since=`."""
    check_stream_scope(jobs=[job_id])
    return await _job_stream([job_id])


@blueprint.get("/events")
@endpoint(
    stream_token=True,
    raw_answer=JOB_EVENTS,
    no_content=True,
    errors=(404,),
    summary="Follow several jobs' events on one stream.",
)
@document_querystring(MultiplexQuery)
async def multiplexed_events() -> Response:
    """Several jobs' events on one stream (text/event-stream)."""
    job_ids = list(dict.fromkeys(request.args.getlist("job")))  # unique, in the order given
    if not job_ids:
        raise BadRequest("Name at least one job: /events?job=<id>&job=<id>", code="invalid_parameter")
    if len(job_ids) > MAX_JOBS_PER_STREAM:
        raise BadRequest(f"At most {MAX_JOBS_PER_STREAM} jobs per stream", code="invalid_parameter")
    check_stream_scope(jobs=job_ids)
    return await _job_stream(job_ids)


@blueprint.get("/workspaces/<workspace>/events")
@endpoint(stream_token=True, raw_answer=JOB_EVENTS, summary="Follow every job of a workspace.")
@document_querystring(StreamQuery)
async def workspace_events(workspace: str) -> Response:
    """Every job of a workspace, new ones included (text/event-stream)."""
    if not 0 < len(workspace) <= MAX_WORKSPACE_NAME:
        raise BadRequest(
            f"A workspace name has 1 to {MAX_WORKSPACE_NAME} characters", code="invalid_parameter"
        )
    check_stream_scope(workspace=workspace)
    return event_stream_response(GroupStream(group=workspace, since=_entry_position(), **_common()))


@blueprint.get("/tenant/events")
@endpoint(
    raw_answer=TENANT_EVENTS, summary="Follow every job of the caller's tenant, and the fleet's counts."
)
@document_querystring(TenantStreamQuery)
async def tenant_events() -> Response:
    """Every job of the caller's tenant, new ones included, and the live worker status (`fleet`
    events) (text/event-stream)."""
    since = _entry_position()
    fleet = services().fleet

    async def fleet_status() -> dict[str, Any]:
        body, _ = await worker_status_body(fleet, as_admin=False)
        return body

    return event_stream_response(TenantStream(since=since, fleet_status=fleet_status, **_common()))


@blueprint.get("/events/stats")
@endpoint(access="admin", summary="Count this process's open streams.")
@document_response(StreamStats)
async def stream_stats() -> Response:
    """Open streams (subscriptions), watched jobs and workspaces, drops, the process's task count."""
    stats = services().hub.stats()
    stats["watched_workspaces"] = stats.pop("watched_groups")  # a workspace is a group of jobs
    return jsonify({**stats, "asyncio_tasks": len(asyncio.all_tasks())})


def event_stream_response(stream: EventStream) -> Response:
    """The answer that opens ``stream``: its headers, never buffered or compressed; the stream
    itself is sent after it, outside Quart (``sse.handoff``)."""
    hand_off(stream)
    return Response(
        [],  # no body of Quart's (and so no Content-Length): the stream's chunks follow
        status=200,
        content_type="text/event-stream; charset=utf-8",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


async def _job_stream(job_ids: list[str]) -> Response:
    since = _seq_positions(job_ids)
    snapshots = await services().reader.within(tenant()).snapshots(job_ids)
    missing = [job_id for job_id, snapshot in snapshots.items() if snapshot is None]
    if missing:
        raise NotFound(
            f"No job with id {', '.join(map(repr, missing))} (it may have expired)",
            code="job_not_found",
            missing=missing,
        )
    found: dict[str, dict[str, Any]] = {job_id: s for job_id, s in snapshots.items() if s is not None}
    if since is not None and all(since[j] >= s["seq"] and is_finished(s) for j, s in found.items()):
        # Nothing left to send, ever: 204 tells EventSource to stop reconnecting.
        return Response("", status=204, content_type="text/event-stream")
    return event_stream_response(JobStream(job_ids=job_ids, snapshots=found, since=since, **_common()))


def admit() -> Slot:
    """A place among what this process and the caller's key hold open (streams, long-polls and
    waits alike), or 429 past ``MAX_STREAMS`` or ``MAX_STREAMS_PER_KEY``. Taken and counted in
    one step: concurrent requests are never admitted past a limit."""
    try:
        return services().admission.admit(identity().key_id)
    except LimitReached as full:
        raise TooManyRequests(
            f"Too many open streams and waits: {full.whose} holds {full.held}; poll GET /jobs/<id> meanwhile",
            code="too_many_streams",
            retry_after=STREAMS_RETRY_AFTER_S,
        ) from None


def _common() -> dict[str, Any]:
    """What every stream of this caller is made with, its place among the open streams with it
    (429 past the limits). Called just before the stream is made: nothing awaits in between."""
    svc, who = services(), identity()
    settings = svc.settings
    return {
        "reader": svc.reader.within(tenant()),
        "hub": svc.hub,
        "heartbeat": settings.sse_heartbeat_interval,
        "retry_ms": settings.sse_retry_ms,
        "max_life": settings.sse_max_life,
        "owners": who.owners,
        "ends_at": who.expires_at,
        "slot": admit(),
    }


def _entry_position() -> str | None:
    """The client's position in a workspace's or tenant's log (``Last-Event-ID``, else ``?since=``)."""
    since = client_position()
    if since is not None and parse_entry_id(since) is None:
        raise BadRequest(
            f"Last-Event-ID/since must be an event id like 1732845-0, not {since!r}",
            code="invalid_parameter",
        )
    return since


def _seq_positions(job_ids: list[str]) -> dict[str, int] | None:
    """The client's position (``Last-Event-ID``, else ``?since=``): a seq per job, or None."""
    raw = client_position()
    if raw is None:
        return None
    seqs = [count(part) for part in raw.split(".")]
    if len(seqs) != len(job_ids) or None in seqs:
        shape = "a non-negative integer" if len(job_ids) == 1 else f"{len(job_ids)} integers joined by dots"
        raise BadRequest(f"Last-Event-ID/since must be {shape}, not {raw!r}", code="invalid_parameter")
    return {job_id: seq for job_id, seq in zip(job_ids, seqs, strict=True) if seq is not None}
