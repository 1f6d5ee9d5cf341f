"""The API described by OpenAPI 3.1, through quart-schema: ``/openapi.json`` and a docs page at ``/docs``.

quart-schema builds the document from the routes and the models they declare (``service.schemas``).
Two things it cannot know are added here:

- one ``POST /jobs/<type>`` operation per public job type, whose request body is the job type's own
  arguments model (read from its actor's signature by ``actors.jobs.registry``): a new job type is
  documented the moment it is declared;
- a ``default`` answer on every operation, the error envelope, so that a client (and the fuzzing
  test) can hold every error to one shape.

The docs page is Redoc, served from ``static/vendor`` (the page works without the internet).
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from typing import Any

from quart import Quart
from quart_schema import QuartSchema
from quart_schema.openapi import APIKeySecurityScheme, HttpSecurityScheme, OpenAPIProvider
from werkzeug.routing import Rule

from actors.jobs.registry import job_spec, public_jobs

from .auth.identity import PUBLIC_ENDPOINTS, STREAM_ENDPOINTS
from .routes.jobs import LEGACY_ROUTES
from .schemas import ErrorBody

OPENAPI_PATH = "/openapi.json"
DOCS_PATH = "/docs"
_GENERIC_JOB_PATH = "/jobs/{job_type}"
_REF_ROOT = "#/components/schemas/"
#: Pages for people, not API.
_UNDOCUMENTED = frozenset({"dashboard"})
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
        for operation in (op for path in paths.values() for op in path.values()):
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
            operation.update(
                operationId=f"start_{name}",
                summary=f"Start a {name} job",
                description=(spec.arguments.__doc__ or "").strip(),
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
        return document


def describe_api(app: Quart, broker: Any) -> QuartSchema:
    """Serve ``/openapi.json`` and ``/docs`` for ``app``, whose job types are ``broker``'s."""
    app.extensions["jobs.broker"] = broker
    app.config["QUART_SCHEMA_REDOC_JS_URL"] = "/static/vendor/redoc.standalone.js"
    return QuartSchema(
        app,
        openapi_path=OPENAPI_PATH,
        redoc_ui_path=DOCS_PATH,
        swagger_ui_path=None,
        scalar_ui_path=None,
        info={
            "title": "Job service",
            "version": "1",
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
