"""The API described by OpenAPI 3.1, through quart-schema: ``/openapi.json`` and a docs page at ``/docs``.

quart-schema builds the document from the routes and the models they declare (``service.schemas``).
Two things it cannot know are added here:

- one ``POST /jobs/<type>`` operation per public job type, whose request body is the job type's own
  arguments model (read from its actor's signature by ``actors.jobs.registry``): a new job type is
  documented the moment it is declared;
- a ``default`` answer on every operation, the error envelope, so that a client (and the fuzzing
  test) can hold every error to one shape;
- for people reading ``/docs``: each operation's summary, a short whole sentence (``SUMMARIES``,
  else the docstring's first clause), and its description, the route's whole docstring as
  Markdown (reST's double backquotes made single, lines joined into paragraphs); a tag per
  blueprint (``TAGS``: jobs, streams, workspaces, session, queues, admin, ops), so a route added to
  a blueprint is grouped with its kin without being named here.

The docs page is Redoc, served from ``static/vendor`` (the page works without the internet), in a
page of our own: titled with the service's version, and with a viewport, so that a phone lays it
out as a phone's page rather than a shrunk desktop one.
"""

from __future__ import annotations

import copy
import inspect
import re
from collections.abc import Iterable
from importlib import metadata
from typing import Any

from quart import Quart, current_app, render_template_string
from quart_schema import QuartSchema, hide
from quart_schema.openapi import APIKeySecurityScheme, HttpSecurityScheme, OpenAPIProvider
from werkzeug.routing import Rule

from actors.jobs.registry import job_spec, public_jobs

from .auth.identity import PUBLIC_ENDPOINTS, STREAM_ENDPOINTS
from .routes.jobs import LEGACY_ROUTES
from .schemas import ErrorBody

OPENAPI_PATH = "/openapi.json"
DOCS_PATH = "/docs"
TITLE = "Job service"
#: The distribution this service is installed as, whose version the document and the page show.
DISTRIBUTION = "jobservice"
_GENERIC_JOB_PATH = "/jobs/{job_type}"
_REF_ROOT = "#/components/schemas/"
#: Pages for people, not API.
_UNDOCUMENTED = frozenset({"dashboard", "redoc_ui"})
#: What the docs page may load: this server's script and the spec, Redoc's own blobs and styles
#: (``service.headers`` sends it, with ``frame-ancestors 'none'``). Redoc draws its maker's logo
#: from the maker's server; the page loads nothing from elsewhere, so the browser blocks it.
DOCS_PAGE_POLICY = (
    "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
    "script-src 'self' blob:; worker-src blob:; connect-src 'self'"
)
_PROMETHEUS_TEXT = {
    "description": "Prometheus' text format",
    "content": {"text/plain": {"schema": {"type": "string"}}},
}
#: The routes that answer 204 when they succeed.
_NO_CONTENT = frozenset({"session.logout", "workspaces.delete_document", "admin.revoke_key"})
_EVENT_STREAM = {
    "description": "Server-Sent Events: `status` and `progress` events, each a job snapshot as JSON",
    "content": {"text/event-stream": {"schema": {"type": "string"}}},
}


#: The tags, in the order the docs page lists them: blueprint -> (tag, what it groups).
TAGS = {
    "jobs": ("jobs", "Start jobs, read them (and long-poll), list, cancel and retry them."),
    "bulk": ("bulk", "Retry or cancel every job a filter matches, up to 1,000 per request."),
    "events": ("streams", "Server-Sent Events: one job's, several jobs', a workspace's, the tenant's."),
    "workspaces": ("workspaces", "Upload contract documents into workspaces; read and delete them."),
    "session": ("session", "Browser sessions, who the caller is, and stream tokens."),
    "queues": ("queues", "The queues' dead letters (the admin's)."),
    "admin": ("admin", "Tenants and their API keys (the admin's)."),
    "ops": ("ops", "Health, readiness, workers, metrics and counts of ended jobs."),
}
#: Each route's summary: a whole short sentence (a route not named here gets its docstring's
#: first clause). The description under it is the route's whole docstring.
SUMMARIES = {
    "jobs.list_jobs": "List jobs, newest first.",
    "jobs.get_job": "Read a job's snapshot, or wait for its next change.",
    "jobs.cancel_job": "Cancel a job.",
    "jobs.retry_job_route": "Run a finished job again, as a new job.",
    "jobs.score": "Score contracts (the seed's route).",
    "jobs.audit": "Audit contracts (the seed's route).",
    "bulk.bulk_retry": "Retry every finished job a filter matches.",
    "bulk.bulk_cancel": "Cancel every unfinished job a filter matches.",
    "events.job_events": "Follow one job's events.",
    "events.multiplexed_events": "Follow several jobs' events on one stream.",
    "events.workspace_events": "Follow every job of a workspace.",
    "events.tenant_events": "Follow every job of the caller's tenant, and the fleet's counts.",
    "events.stream_stats": "Count this process's open streams.",
    "workspaces.upload_documents": "Upload documents into a workspace.",
    "workspaces.list_documents": "List a workspace's documents.",
    "workspaces.get_document": "Read a document and its text.",
    "workspaces.delete_document": "Delete a document.",
    "workspaces.delete_workspace": "Delete a workspace.",
    "workspaces.list_workspaces": "List the caller's workspaces.",
    "session.login": "Log in with a key.",
    "session.who_am_i": "Say who the caller is.",
    "session.logout": "Log out.",
    "session.stream_token": "Make a stream token.",
    "queues.list_dead_letters": "List a queue's dead letters.",
    "queues.retry_dead_letter": "Run a dead letter's job again.",
    "queues.drop_dead_letter": "Forget a dead letter.",
    "admin.list_tenants": "List every tenant.",
    "admin.create_key": "Make a key for a tenant.",
    "admin.list_keys": "List a tenant's keys.",
    "admin.revoke_key": "Revoke a key.",
    "ops.healthz": "Check that the process answers.",
    "ops.readyz": "Check that the process and Redis answer.",
    "ops.ended_per_minute": "Count the jobs that ended, minute by minute.",
    "ops.metrics": "Read the Prometheus metrics.",
    "ops.worker_status": "Read the workers' status.",
}
#: The docs page: Redoc in a page with a language, a character set and a viewport.
DOCS_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>{{ title }}</title>
  <style>body { margin: 0; padding: 0; }</style>
</head>
<body>
  <redoc spec-url="{{ spec_url }}"></redoc>
  <script src="{{ redoc_js_url }}"></script>
  <noscript>This page needs JavaScript; the API's description is at {{ spec_url }}.</noscript>
</body>
</html>
"""
#: A summary longer than this is cut at its first phrase.
MAX_SUMMARY_CHARS = 60
_REST_LITERAL = re.compile(r"``(.+?)``", re.S)
_FIRST_CLAUSE = re.compile(r"^(.+?)(?:[.;:](?:\s|$)|$)", re.S)
#: The tenant's stream: Server-Sent Events too, for a key or a session (no stream token).
_TENANT_STREAM = "events.tenant_events"
_TENANT_EVENT_STREAM = {
    "description": (
        "Server-Sent Events: a `snapshot` per job, then `status` and `progress` events (each a job"
        " snapshot as JSON, with an `id` to resume from), and `fleet` events (the body of"
        " `GET /worker/status`, without an `id`)"
    ),
    "content": {"text/event-stream": {"schema": {"type": "string"}}},
}


class JobsOpenAPIProvider(OpenAPIProvider):
    def generate_rules(self) -> Iterable[Rule]:
        return (rule for rule in super().generate_rules() if rule.endpoint not in _UNDOCUMENTED)

    def build_paths(self, rule: Rule) -> tuple[dict, dict]:
        paths, components = super().build_paths(rule)
        docstring = inspect.getdoc(self._app.view_functions[rule.endpoint]) or ""
        blueprint = rule.endpoint.partition(".")[0]
        for operation in (op for path in paths.values() for op in path.values()):
            operation["summary"] = SUMMARIES.get(rule.endpoint) or first_clause(docstring)
            operation["description"] = as_markdown(docstring)
            operation["tags"] = [TAGS.get(blueprint, (blueprint, ""))[0]]
            if rule.endpoint in PUBLIC_ENDPOINTS:
                operation["security"] = []  # no key needed
            if rule.endpoint == "ops.metrics":
                operation["responses"]["200"] = _PROMETHEUS_TEXT
            if rule.endpoint in _NO_CONTENT:
                operation["responses"]["204"] = {"description": "Done; no content"}
            if rule.endpoint in STREAM_ENDPOINTS:
                operation["security"] = [*self._extension.security, {"streamToken": []}]
                operation["responses"]["200"] = _EVENT_STREAM
                operation["responses"]["204"] = {"description": "Nothing left to send: stop reconnecting"}
            if rule.endpoint == _TENANT_STREAM:
                operation["responses"]["200"] = _TENANT_EVENT_STREAM
        return paths, components

    def schema(self) -> dict[str, Any]:
        document = super().schema()
        schemas = document["components"]["schemas"]
        schemas.update(_component(ErrorBody))
        broker = self._app.extensions["jobs.broker"]
        for path, job_type in LEGACY_ROUTES.items():
            spec = job_spec(broker, job_type)
            assert spec is not None
            schemas.update(_component(spec.arguments))
            document["paths"][path]["post"]["requestBody"] = _json_body(spec.arguments)
        generic = document["paths"].pop(_GENERIC_JOB_PATH, {}).get("post", {})
        for name in public_jobs(broker):
            spec = job_spec(broker, name)
            assert spec is not None
            schemas.update(_component(spec.arguments))
            operation = copy.deepcopy(generic)
            article = "an" if name[0] in "aeiou" else "a"
            operation.update(
                operationId=f"start_{name}",
                summary=f"Start {article} {name} job.",
                description=as_markdown(
                    inspect.cleandoc(spec.arguments.__doc__ or "")
                ),  # its own, not BaseModel's
                tags=[TAGS["jobs"][0]],
                parameters=[p for p in operation.get("parameters", []) if p.get("name") != "job_type"],
                requestBody=_json_body(spec.arguments),
            )
            document["paths"][f"/jobs/{name}"] = {"post": operation}
        for path in document["paths"].values():
            for operation in path.values():
                operation["responses"].setdefault(
                    "default",
                    {
                        "description": "An error: the envelope, with a code and a message",
                        "content": {"application/json": {"schema": _ref(ErrorBody)}},
                    },
                )
        document["tags"] = [{"name": tag, "description": text} for tag, text in TAGS.values()]
        _markdown_everywhere(document)
        return document


class JobsSchema(QuartSchema):
    """quart-schema with our docs page (``DOCS_PAGE``) in place of its own."""

    @hide
    async def redoc_ui(self) -> str:
        return await render_template_string(
            DOCS_PAGE,
            title=f"{self.info.title} {self.info.version}",
            spec_url=OPENAPI_PATH,
            redoc_js_url=current_app.config["QUART_SCHEMA_REDOC_JS_URL"],
        )


def as_markdown(docstring: str) -> str:
    """A docstring as Markdown: its lines joined into paragraphs, its ``literals`` as `code`."""
    paragraphs = (" ".join(part.split()) for part in re.split(r"\n\s*\n", docstring.strip()))
    return _REST_LITERAL.sub(r"`\1`", "\n\n".join(p for p in paragraphs if p))


def first_clause(docstring: str) -> str:
    """A summary for a route ``SUMMARIES`` does not name: its docstring's first clause, as a
    sentence."""
    found = _FIRST_CLAUSE.match(as_markdown(docstring))
    clause = found.group(1).strip() if found else ""
    if len(clause) > MAX_SUMMARY_CHARS:  # still long: its first phrase
        clause = re.split(r",\s|\s\(", clause, maxsplit=1)[0]
    return f"{clause[:1].upper()}{clause[1:]}." if clause else ""


def _markdown_everywhere(node: Any) -> None:
    """Every description in the document (the models' and fields' too) with Markdown's code."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "description" and isinstance(value, str):
                node[key] = _REST_LITERAL.sub(r"`\1`", value)
            else:
                _markdown_everywhere(value)
    elif isinstance(node, list):
        for item in node:
            _markdown_everywhere(item)


def version() -> str:
    """The installed service's version (the one its package metadata gives)."""
    try:
        return metadata.version(DISTRIBUTION)
    except metadata.PackageNotFoundError:  # run from a checkout that was never installed
        return "unreleased"


def describe_api(app: Quart, broker: Any) -> QuartSchema:
    """Serve ``/openapi.json`` and ``/docs`` for ``app``, whose job types are ``broker``'s."""
    app.extensions["jobs.broker"] = broker
    app.config["QUART_SCHEMA_REDOC_JS_URL"] = "/static/vendor/redoc.standalone.js"
    return JobsSchema(
        app,
        openapi_path=OPENAPI_PATH,
        redoc_ui_path=DOCS_PATH,
        swagger_ui_path=None,
        scalar_ui_path=None,
        info={
            "title": TITLE,
            "version": version(),
            "description": "Long-running jobs with status over Server-Sent Events and polling.",
        },
        security_schemes={
            "key": HttpSecurityScheme(scheme="bearer"),
            "session": APIKeySecurityScheme(name="jobs_session", in_="cookie"),
            "streamToken": APIKeySecurityScheme(name="token", in_="query"),
        },
        security=[{"key": []}, {"session": []}],
        conversion_preference="pydantic",
        openapi_provider_class=JobsOpenAPIProvider,
    )


def _component(model: Any) -> dict[str, Any]:
    """``model``'s JSON schema and those it refers to, as components."""
    schema = model.model_json_schema(ref_template=_REF_ROOT + "{model}")
    definitions = schema.pop("$defs", {})
    return {**definitions, model.__name__: schema}


def _ref(model: Any) -> dict[str, str]:
    return {"$ref": _REF_ROOT + model.__name__}


def _json_body(model: Any) -> dict[str, Any]:
    return {"required": True, "content": {"application/json": {"schema": _ref(model)}}}
