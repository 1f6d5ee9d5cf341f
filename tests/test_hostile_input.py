"""Hostile input against the live stack: every document bomb ends as a clear per-file failure read
in a worker's sandboxed child (the web process never parses a document), the worker keeps beating,
and requests that once answered 500 answer 4xx with the error envelope."""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from actors.contracts.documents import DocumentStore
from actors.contracts.settings import ContractSettings

from .support.api import TENANT, finished, start_job
from .support.contracts import LEASE, NDA
from .support.hostile_documents import CORPUS_LIMITS, corpus
from .support.servers import RedisServer, ServiceProcess, WebServer, start_workers

#: The corpus's reasons are written against these limits; the workers read documents under them.
LIMITS_ENV = {
    "MAX_DOCUMENT_PAGES": str(CORPUS_LIMITS.max_pages),
    "MAX_DOCUMENT_CHARS": str(CORPUS_LIMITS.max_chars),
}
#: The documents refused at the door (a type not read); the rest are read, and fail, in a worker.
REFUSED_AT_UPLOAD = {document.filename for document in corpus() if document.filename.endswith(".exe")}
MIB = 1024 * 1024


@pytest.fixture(scope="module")
def workers(redis_server: RedisServer) -> Iterator[ServiceProcess]:
    worker = start_workers(redis_server, **LIMITS_ENV)
    yield worker
    worker.stop()


def reset_peak_rss(pid: int) -> None:
    """Start counting ``pid``'s (and its children's) peak resident memory afresh (Linux's
    ``clear_refs``), so the peak read after an action is the action's."""
    for process in (pid, *_children(pid)):
        Path(f"/proc/{process}/clear_refs").write_text("5")


def peak_rss(pid: int) -> int:
    """The peak resident memory of ``pid`` and of its children since the last reset."""
    return _status_bytes(pid, "VmHWM") + sum(peak_rss(child) for child in _children(pid))


def rss_bytes(pid: int) -> int:
    """The resident memory of ``pid`` and of its children now."""
    return _status_bytes(pid, "VmRSS") + sum(rss_bytes(child) for child in _children(pid))


def _status_bytes(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) * 1024
    return 0


def _children(pid: int) -> list[int]:
    children: list[int] = []
    for tasks in Path(f"/proc/{pid}/task").iterdir():
        children += [int(child) for child in (tasks / "children").read_text().split()]
    return children


def repeated(files: list[tuple[str, tuple[str, bytes]]]) -> set[str]:
    """The names of the files whose bytes an earlier file of the list has."""
    seen: set[str] = set()
    names = set()
    for _, (name, data) in files:
        digest = hashlib.sha256(data).hexdigest()
        names.update([name] if digest in seen else [])
        seen.add(digest)
    return names


@pytest.mark.usefixtures("workers")
async def test_every_bomb_fails_alone_in_a_worker_and_costs_the_web_nothing(
    client: httpx.AsyncClient, web: WebServer
) -> None:
    before = rss_bytes(web.process.pid)
    reset_peak_rss(web.process.pid)
    hostile = [document for document in corpus() if document.filename not in REFUSED_AT_UPLOAD]
    files = [("file", ("good.txt", NDA.encode()))]
    files += [("file", (f"{position}-{d.filename}", d.data)) for position, d in enumerate(hostile)]
    response = await client.post("/workspaces/bombs/documents", files=files)
    assert response.status_code == 202, response.text
    # Files of the same bytes (the empty ones) are stored once: the first is read, the rest are copies.
    copies = {file["uploaded_as"] for file in response.json()["documents"] if file["duplicate"]}
    assert copies == repeated(files), copies
    # An unrelated job sent while the bombs are read still runs: no thread of the worker is held.
    unrelated = await start_job(client, "quick_steps", steps=2)

    assert (await finished(client, unrelated))["status"] == "SUCCESS"
    extraction = await finished(client, response.json()["job_id"])
    assert extraction["status"] == "SUCCESS", extraction
    result = extraction["result"]
    assert [d["filename"] for d in result["documents"]] == ["good.txt"]
    failures = {failure["filename"]: failure for failure in result["failed"]}
    for position, document in enumerate(hostile):
        if f"{position}-{document.filename}" in copies:
            continue
        failure = failures[f"{position}-{document.filename}"]
        assert failure["code"] == "unreadable_document", failure
        assert document.reason in failure["reason"], (document.name, failure["reason"])

    status = (await client.get("/worker/status")).json()
    assert status["status"] == "running" and len(status["workers"]) == 1, status
    assert status["workers"][0]["seconds_since_heartbeat"] < 3, "the worker never stopped beating"
    grown = peak_rss(web.process.pid) - before
    # Not their size (144 MB): measured 33-62 MiB on a loaded two-core machine, as Quart's
    # handle_messages still queues some of each body ahead of the reader (docs/benchmarks.md).
    assert grown < 80 * MIB, f"the web process grew by {grown / MIB:.0f} MiB at its peak"


@pytest.mark.usefixtures("workers")
async def test_large_uploads_at_once_cost_the_web_a_chunk_each_not_their_size(
    client: httpx.AsyncClient, web: WebServer
) -> None:
    """Four uploads of four 9 MB files at once (144 MB): each file goes to Redis a chunk at a time."""
    before = rss_bytes(web.process.pid)
    reset_peak_rss(web.process.pid)
    files = [("file", (f"{n}.txt", b"A clause of the contract. " * 360_000 + bytes([n]))) for n in range(4)]
    answers = await asyncio.gather(
        *(client.post(f"/workspaces/large-{n}/documents", files=files) for n in range(4))
    )
    assert [answer.status_code for answer in answers] == [202] * 4, answers[0].text
    grown = peak_rss(web.process.pid) - before
    for answer in answers:
        await finished(client, answer.json()["job_id"])
    # Not their size (144 MB): measured 33-62 MiB on a loaded two-core machine, as Quart's
    # handle_messages still queues some of each body ahead of the reader (docs/benchmarks.md).
    assert grown < 80 * MIB, f"the web process grew by {grown / MIB:.0f} MiB at its peak"


async def test_a_type_not_read_is_refused_at_the_door(client: httpx.AsyncClient) -> None:
    response = await client.post("/workspaces/door/documents", files={"file": ("setup.exe", b"MZ\x90\x00")})
    assert response.status_code == 415 and response.json()["error"]["code"] == "unsupported_document"


async def test_scoring_a_workspace_with_files_still_being_read_is_409(
    client: httpx.AsyncClient, redis_server: RedisServer
) -> None:
    store = DocumentStore(client=redis_server.client(), settings=ContractSettings.defaults())
    store.add(TENANT, "pending", [("nda.txt", NDA.encode())])
    store.stage(TENANT, "pending", [("late.txt", LEASE.encode())])  # uploaded; its job not yet run
    for path, body in (
        ("/score", {"criterion": "c", "workspace_name": "pending"}),
        ("/jobs/audit_contracts", {"workspace_name": "pending"}),
    ):
        response = await client.post(path, json=body)
        assert response.status_code == 409, response.text
        assert response.json()["error"]["code"] == "extraction_pending"
    listed = (await client.get("/workspaces/pending/documents")).json()
    assert [d["filename"] for d in listed["extracting"]] == ["late.txt"]
    await client.delete(f"/workspaces/pending/documents/{listed['extracting'][0]['doc_id']}")
    assert (await client.post("/jobs/audit_contracts", json={"workspace_name": "pending"})).status_code == 202


async def test_an_internal_job_type_cannot_be_started_by_name(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/jobs/extract_documents", json={"workspace_name": "w", "upload_id": "0" * 32}
    )
    assert response.status_code == 404 and response.json()["error"]["code"] == "unknown_job_type"
    assert "extract_documents" not in response.json()["error"]["valid_job_types"]


async def test_an_upload_is_read_by_a_worker_not_the_web(client: httpx.AsyncClient) -> None:
    """The upload is answered before any parsing: 202 with the files as staged (hashed, to find
    duplicates, but not read: no text yet); the worker's job then reads them."""
    response = await client.post("/workspaces/staged/documents", files={"file": ("nda.txt", NDA.encode())})
    assert response.status_code == 202
    [staged] = response.json()["documents"]
    assert "characters" not in staged and "pages" not in staged, "nothing was parsed at the door"
    assert staged["sha256"] == hashlib.sha256(NDA.encode()).hexdigest()
    extraction = await finished(client, response.json()["job_id"])
    [document] = extraction["result"]["documents"]
    assert document["doc_id"] == staged["doc_id"] and document["characters"] > 100


DEEP_JSON = b"[" * 100_000 + b"]" * 100_000
INVALID = "invalid_parameter"


@pytest.mark.parametrize(
    "method,path,kwargs,status,code",
    [
        ("POST", "/jobs/quick_steps", {"content": DEEP_JSON}, 400, "invalid_json"),
        ("GET", "/jobs", {"params": {"cursor": "²"}}, 400, "invalid_parameter"),
        ("GET", "/jobs", {"params": {"cursor": "٣"}}, 400, "invalid_parameter"),
        ("GET", "/jobs", {"params": {"cursor": "9" * 5000}}, 400, "invalid_parameter"),
        ("GET", "/jobs", {"params": {"limit": "1e400"}}, 400, "invalid_parameter"),
        ("GET", "/jobs", {"params": {"status": "²"}}, 400, "invalid_parameter"),
        ("GET", "/static/" + "a" * 8000, {}, 414, "uri_too_long"),
        ("GET", "/static/" + "a" * 300, {}, 404, "not_found"),
        ("GET", "/static/..%2f..%2fpyproject.toml", {}, 404, "not_found"),
        ("GET", "/workspaces/w/events", {"headers": {"Last-Event-ID": "²-0".encode()}}, 400, INVALID),
        ("GET", "/workspaces/w/events", {"params": {"since": "9" * 30 + "-0"}}, 400, "invalid_parameter"),
        (
            "GET",
            "/workspaces/w/events",
            {"params": {"since": "18446744073709551616-0"}},
            400,
            "invalid_parameter",
        ),
        (
            "POST",
            "/audit",
            {"json": {"workspace_name": "w", "checklist": [{"item": "x"}]}},
            422,
            "invalid_payload",
        ),
        ("POST", "/score", {"json": {"criterion": "c", "workspace_name": "../etc"}}, 422, "invalid_payload"),
        ("POST", "/session", {"json": {"key": ["not", "a", "string"]}}, 422, "invalid_payload"),
        ("POST", "/stream-tokens", {"json": {"jobs": ["a"], "workspace": "w"}}, 422, "invalid_payload"),
    ],
)
async def test_input_that_once_answered_500_is_a_4xx_with_the_envelope(
    client: httpx.AsyncClient, method: str, path: str, kwargs: dict, status: int, code: str
) -> None:
    headers = {"Content-Type": "application/json"} if "content" in kwargs else {}
    response = await client.request(method, path, headers={**headers, **kwargs.pop("headers", {})}, **kwargs)
    assert response.status_code == status, response.text[:500]
    error = response.json()["error"]
    assert error["code"] == code and error["message"], json.dumps(error)[:500]


@pytest.mark.parametrize(
    "since", ["18446744073709551615-18446744073709551615", "0-0", "1-18446744073709551615"]
)
async def test_any_well_formed_workspace_position_streams(client: httpx.AsyncClient, since: str) -> None:
    """Positions Redis would refuse in its exclusive ranges are answered as positions, not 500s."""
    async with client.stream("GET", "/workspaces/w/events", params={"since": since}) as response:
        assert response.status_code == 200
        lines = response.aiter_lines()
        async for line in lines:
            if line.startswith(":"):  # the first heartbeat: the stream is alive past its opening
                break
        else:
            pytest.fail("the stream ended before its first heartbeat")
