"""The API's description for people: ``/openapi.json`` as ``/docs`` (Redoc) shows it. Each
operation has a short whole sentence for a summary, the route's whole docstring (as Markdown) for
a description, and a tag that groups it with its kin; the page is titled with the service's
version and lays out on a phone."""

from __future__ import annotations

import re
from importlib import metadata
from typing import Any

import httpx
import pytest

from .support.api import bearer
from .support.servers import WebServer

#: The groups the docs page lists, in its order.
TAGS = ["jobs", "bulk", "streams", "workspaces", "session", "queues", "admin", "ops"]


@pytest.fixture(scope="module")
def document(web: WebServer, api_key: str) -> dict[str, Any]:
    answer = httpx.get(f"{web.base_url}/openapi.json", headers=bearer(api_key), timeout=30)
    assert answer.status_code == 200
    return answer.json()


def operations(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        f"{method.upper()} {path}": operation
        for path, item in document["paths"].items()
        for method, operation in item.items()
    }


def texts(node: Any) -> list[str]:
    """Every summary and description in the document."""
    if isinstance(node, dict):
        return [
            text
            for key, value in node.items()
            for text in (
                [value] if key in ("summary", "description") and isinstance(value, str) else texts(value)
            )
        ]
    return [text for item in node for text in texts(item)] if isinstance(node, list) else []


def test_the_title_is_the_service_with_its_version(document: dict[str, Any]) -> None:
    assert document["info"]["title"] == "Job service"
    assert document["info"]["version"] == metadata.version("jobservice")


def test_every_summary_is_a_short_whole_sentence(document: dict[str, Any]) -> None:
    for name, operation in operations(document).items():
        summary = operation["summary"]
        assert re.fullmatch(r"[A-Z][^\n]{4,70}\.", summary), f"{name}: {summary!r}"
    found = operations(document)
    assert found["POST /jobs/{job_id}/cancel"]["summary"] == "Cancel a job."
    assert found["POST /jobs/audit_contracts"]["summary"] == "Start an audit_contracts job."


def test_every_description_is_the_whole_docstring_as_markdown(document: dict[str, Any]) -> None:
    get_job = operations(document)["GET /jobs/{job_id}"]["description"]
    # Its docstring's second and third lines, which the summary used to cut off.
    assert "with `?include=arguments` also the arguments it was started with" in get_job
    assert "`?wait=N&since=S` (long-poll) once `seq` passes S" in get_job, "lines joined, code as Markdown"
    upload = operations(document)["POST /workspaces/{workspace}/documents"]["description"]
    assert upload.startswith("Upload documents: stored at once, extracted by an `extract_documents` job. ")
    assert all("``" not in text for text in texts(document)), "no reST literal left anywhere"
    quick = operations(document)["POST /jobs/quick_steps"]["description"]
    assert quick == "", "a job type without a docstring has no description (not pydantic's BaseModel's)"


def test_operations_are_grouped_by_tags(document: dict[str, Any]) -> None:
    assert [tag["name"] for tag in document["tags"]] == TAGS
    assert all(tag["description"] for tag in document["tags"])
    tagged = {name: operation["tags"] for name, operation in operations(document).items()}
    assert all(len(tags) == 1 and tags[0] in TAGS for tags in tagged.values()), tagged
    assert tagged["GET /jobs/{job_id}/events"] == ["streams"]
    assert tagged["POST /jobs/score_contracts"] == ["jobs"]
    assert tagged["DELETE /admin/tenants/{tenant}/keys/{key_id}"] == ["admin"]
    assert tagged["GET /healthz"] == ["ops"]
    assert {tags[0] for tags in tagged.values()} == set(TAGS), "every group holds something"


def test_every_status_an_operation_answers_is_listed_errors_with_the_envelope(
    document: dict[str, Any],
) -> None:
    """No catch-all ``default``: the fuzzer (test_fuzz) holds each answer's status to this list."""
    envelope = {"$ref": "#/components/schemas/ErrorBody"}
    for name, operation in operations(document).items():
        responses = operation["responses"]
        assert "default" not in responses, name
        assert any(status.startswith("2") for status in responses), name
        for status, answer in responses.items():
            if status >= "400" and name != "GET /worker/status":  # its 503 is its own body, "down"
                assert answer["content"]["application/json"]["schema"] == envelope, f"{name} {status}"
    found = operations(document)
    for deletion in (name for name in found if name.startswith("DELETE ")):
        assert "204" in found[deletion]["responses"], f"{deletion} answers 204"
    assert {"401", "403", "429"} <= set(found["GET /jobs"]["responses"])
    assert {"401", "403"}.isdisjoint(found["GET /healthz"]["responses"]), "public, and answers any Host"
    assert found["GET /metrics"]["responses"]["200"]["content"].keys() == {"text/plain"}


def test_the_docs_page_lays_out_on_a_phone(web: WebServer, api_key: str) -> None:
    page = httpx.get(f"{web.base_url}/docs", headers=bearer(api_key), timeout=30)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    html = page.text
    assert html.startswith("<!DOCTYPE html>")
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in html
    assert f"<title>Job service {metadata.version('jobservice')}</title>" in html
    assert '<redoc spec-url="/openapi.json">' in html and 'src="/static/vendor/redoc.standalone.js"' in html
