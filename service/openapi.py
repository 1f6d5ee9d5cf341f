"""The API described by OpenAPI 3.1, through quart-schema: ``/openapi.json`` and a docs page at ``/docs``.

quart-schema builds the document from the routes and the models they declare (``service.schemas``).
What it cannot know is added here, most of it from each route's declaration (``service.endpoints``):

- one ``POST /jobs/<type>`` operation per public job type, whose request body is the job type's own
  arguments model (read from its actor's signature by ``actors.jobs.registry``): a new job type is
  documented the moment it is declared;
- every status each operation answers: its 204, a 200 that is not JSON (an event stream,
  Prometheus' text), and each error status, with the error envelope as its body (``error_statuses``:
  those the route declares, and those its kind answers), so that a client (and the fuzzing test)
  can hold every answer to the document; no other status is ever answered (but a 500: a bug);
- who may call it: no security for a public route, a stream token where one is taken;
- for people reading ``/docs``: each operation's summary, a short whole sentence (the declared
  one, else the docstring's first clause), and its description, the route's whole docstring as
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
from quart.typing import ResponseReturnValue
from quart_schema import QuartSchema, hide
from quart_schema.openapi import APIKeySecurityScheme, HttpSecurityScheme, OpenAPIProvider
from werkzeug.routing import Rule

from actors.jobs.registry import job_spec, public_jobs

from .endpoints import Endpoint, RawAnswer, declared, endpoint
from .routes.jobs import LEGACY_ROUTES
from .schemas import ErrorBody

OPENAPI_PATH = "/openapi.json"
DOCS_PATH = "/docs"
TITLE = "Job service"
#: The distribution this service is installed as, whose version the document and the page show.
DISTRIBUTION = "jobservice"
_GENERIC_JOB_PATH = "/jobs/{job_type}"
_REF_ROOT = "#/components/schemas/"
#: What the docs page may load: this server's script and the spec, Redoc's own blobs and styles
#: (``service.headers`` sends it, with ``frame-ancestors 'none'``). Redoc draws its maker's logo
#: from the maker's server; the page loads nothing from elsewhere, so the browser blocks it.
DOCS_PAGE_POLICY = (
    "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
    "script-src 'self' blob:; worker-src blob:; connect-src 'self'"
)
#: What each error status means, for every route that answers it (the envelope says exactly what).
ERROR_STATUSES = {
    400: "A parameter, the body or the Host is not understood (`invalid_parameter`, `invalid_json`, ...)",
    401: "No credential, or one that is not valid (wrong, revoked, expired)",
    403: "This caller may not do this (the admin's route, a viewer's change, another site's page, ...)",
    404: "Nothing of this name (or not the caller's)",
    409: "Not now: the state of what it names does not allow it",
    413: "Too large: the body, a file, or the workspace's quota",
    414: "The path is too long",
    415: "A body of a type this route does not take",
    422: "Well-formed, but not valid (the arguments, the body's fields, a document)",
    429: "Too many requests, streams or failed logins: retry after `Retry-After` seconds",
    503: "Redis is unavailable",
}
_CHANGES = frozenset({"post", "put", "patch", "delete"})


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


class JobsOpenAPIProvider(OpenAPIProvider):
    def generate_rules(self) -> Iterable[Rule]:
        return (rule for rule in super().generate_rules() if declared(rule.endpoint, self._app).documented)

    def build_paths(self, rule: Rule) -> tuple[dict, dict]:
        paths, components = super().build_paths(rule)
        route = declared(rule.endpoint, self._app)
        docstring = inspect.getdoc(self._app.view_functions[rule.endpoint]) or ""
        blueprint = rule.endpoint.partition(".")[0]
        for method, operation in ((m, op) for path in paths.values() for m, op in path.items()):
            operation["summary"] = route.summary or first_clause(docstring)
            operation["description"] = as_markdown(docstring)
            operation["tags"] = [TAGS.get(blueprint, (blueprint, ""))[0]]
            if route.public:
                operation["security"] = []  # no key needed
            if route.stream_token:
                operation["security"] = [*self._extension.security, {"streamToken": []}]
            # quart-schema keys its answers by number; JSON, and this document, by text
            responses = operation["responses"] = {
                str(status): r for status, r in operation["responses"].items()
            }
            if route.raw_answer is not None:
                responses["200"] = _raw(route.raw_answer)
            if route.no_content:
                done = "Nothing left to send: stop reconnecting" if route.streams else "Done; no content"
                responses["204"] = {"description": done}
            for status in error_statuses(route, rule, method):
                responses.setdefault(str(status), _error(status))  # a model declared for it stays
            operation["responses"] = dict(sorted(responses.items()))
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
        document["tags"] = [{"name": tag, "description": text} for tag, text in TAGS.values()]
        _markdown_everywhere(document)
        return document


class JobsSchema(QuartSchema):
    """quart-schema with our docs page (``DOCS_PAGE``) in place of its own; the document and the
    page need a key, as the API they describe does."""

    @hide
    @endpoint(documented=False)
    async def openapi(self) -> ResponseReturnValue:
        return await super().openapi()

    @hide
    @endpoint(documented=False)
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
    """A summary for a route that declares none: its docstring's first clause, as a sentence."""
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


def error_statuses(route: Endpoint, rule: Rule, method: str) -> set[int]:
    """Every error status the operation ``method`` of ``rule`` answers: those its route declares,
    and those every route of its kind does (the checks before any route runs)."""
    statuses = set(route.errors)
    if not route.any_host:
        statuses.add(400)  # a Host off ALLOWED_HOSTS (and the parameters each route reads)
    if rule.arguments:
        statuses.add(414)  # a name in the path makes it longer than MAX_PATH_CHARS
    if not route.public:
        # No credential or a wrong one; another's route, a viewer's change; too many requests
        # (or failed authentications); Redis down as the credential is looked up.
        statuses |= {401, 403, 429, 503}
    if method in _CHANGES:
        statuses.add(403)  # a change from another site's page (a session's cookie, AUTH=false)
    return statuses


def _error(status: int) -> dict[str, Any]:
    envelope = {"application/json": {"schema": _ref(ErrorBody)}}
    return {"description": ERROR_STATUSES[status], "content": envelope}


def _raw(answer: RawAnswer) -> dict[str, Any]:
    return {"description": answer.description, "content": {answer.media_type: {"schema": {"type": "string"}}}}


def _component(model: Any) -> dict[str, Any]:
    """``model``'s JSON schema and those it refers to, as components."""
    schema = model.model_json_schema(ref_template=_REF_ROOT + "{model}")
    definitions = schema.pop("$defs", {})
    return {**definitions, model.__name__: schema}


def _ref(model: Any) -> dict[str, str]:
    return {"$ref": _REF_ROOT + model.__name__}


def _json_body(model: Any) -> dict[str, Any]:
    return {"required": True, "content": {"application/json": {"schema": _ref(model)}}}
