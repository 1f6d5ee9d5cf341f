"""Browser sessions and stream tokens.

POST   /session         {"key": "<api key>"} -> a session cookie (secure, HttpOnly, SameSite;
                        quart-auth signs it), so the dashboard and EventSource need no secret
GET    /session         who the caller is: {tenant, key_id, via}
DELETE /session         log out
POST   /stream-tokens   {"jobs": [ids]} or {"workspace": name} -> a signed token, valid for
                        ``STREAM_TOKEN_TTL`` seconds, that the event streams accept as
                        ``?token=`` (for an EventSource on another origin, which cannot send a key)
"""

from __future__ import annotations

from quart import Blueprint, Response, jsonify
from quart_auth import AuthUser, login_user, logout_user

from ..auth.identity import Forbidden, Unauthenticated, identity, tenant
from ..context import services
from ..errors import BadRequest, NotFound
from .events import MAX_JOBS_PER_STREAM
from .params import json_object_body

blueprint = Blueprint("session", __name__)


@blueprint.post("/session")
async def login() -> Response:
    body = await json_object_body()
    presented = body.get("key")
    if not isinstance(presented, str) or not presented:
        raise BadRequest('Send {"key": "<your API key>"}', code="invalid_parameter")
    key = await services().auth.credentials.verify(presented)
    if key is None:
        raise Unauthenticated("This key is not valid (wrong, or revoked)")
    login_user(AuthUser(key.key_id), remember=True)
    return jsonify({"tenant": key.tenant, "key_id": key.key_id})


@blueprint.get("/session")
async def who_am_i() -> Response:
    who = identity()
    return jsonify({"tenant": who.tenant, "key_id": who.key_id, "via": who.via})


@blueprint.delete("/session")
async def logout() -> Response:
    logout_user()
    return Response("", status=204)


@blueprint.post("/stream-tokens")
async def stream_token() -> Response:
    svc, who = services(), identity()
    if who.key_id is None or who.via == "token":
        raise Forbidden("A stream token is made with a key or a session")
    body = await json_object_body()
    jobs, workspace = body.get("jobs"), body.get("workspace")
    if jobs is not None and workspace is None:
        if not (
            isinstance(jobs, list)
            and 0 < len(jobs) <= MAX_JOBS_PER_STREAM
            and all(isinstance(j, str) for j in jobs)
        ):
            raise BadRequest(f"jobs must list 1 to {MAX_JOBS_PER_STREAM} job ids", code="invalid_parameter")
        found = await svc.reader.within(tenant()).snapshots(jobs)
        missing = [job_id for job_id, snapshot in found.items() if snapshot is None]
        if missing:
            raise NotFound(
                f"No job with id {', '.join(map(repr, missing))}", code="job_not_found", missing=missing
            )
    elif not (workspace is not None and jobs is None and isinstance(workspace, str) and workspace):
        raise BadRequest('Send {"jobs": [<job ids>]} or {"workspace": "<name>"}', code="invalid_parameter")
    # The key was looked up as this request was authenticated: a revoked one never gets here.
    token = svc.auth.stream_token(who.key_id, jobs=jobs, workspace=workspace)
    return jsonify({"token": token, "expires_in": svc.auth.stream_token_ttl})
