"""Workspaces, scoring and auditing end to end: real documents, the API, a real worker."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import httpx
import pytest

from actors.jobs.ref import JobRef
from actors.jobs.store import JobStore

from .conftest import WORKSPACE
from .support.api import bearer, finished, stream_to_end, upload
from .support.contracts import LEASE, NDA, SUPPLY, make_docx, make_pdf
from .support.servers import RedisServer, WebServer

pytestmark = pytest.mark.usefixtures("workers", "workspace")


def new_workspace() -> str:
    return f"ws-{uuid.uuid4().hex[:8]}"


def by_filename(result: dict) -> dict[str, dict]:
    return {contract["filename"]: contract for contract in result["contracts"]}


# -- documents ------------------------------------------------------------------------------------


async def test_upload_list_and_delete_documents(client: httpx.AsyncClient) -> None:
    workspace = new_workspace()
    files = [
        ("file", ("lease.pdf", make_pdf(LEASE), "application/pdf")),
        ("file", ("supply.docx", make_docx(SUPPLY), "application/octet-stream")),
        ("file", ("nda.md", NDA.encode(), "text/markdown")),
    ]
    response = await client.post(f"/workspaces/{workspace}/documents", files=files)
    assert response.status_code == 202, response.text
    staged = response.json()["documents"]
    assert [d["filename"] for d in staged] == ["lease.pdf", "supply.docx", "nda.md"]
    extraction = await finished(client, response.json()["job_id"])
    assert extraction["status"] == "SUCCESS" and extraction["result"]["failed"] == []
    events = await stream_to_end(client, extraction["job_id"], **{"Last-Event-ID": "0"})
    reads = [e.data["message"] for e in events if e.data["message"].startswith("Read ")]
    assert [read.split(":")[0] for read in reads] == ["Read 1/3", "Read 2/3", "Read 3/3"], reads
    assert sorted(read.split(": ")[1] for read in reads) == ["lease.pdf", "nda.md", "supply.docx"]
    uploaded = extraction["result"]["documents"]
    assert [d["doc_id"] for d in uploaded] == [d["doc_id"] for d in staged]
    assert uploaded[0]["pages"] == 1 and uploaded[0]["content_type"] == "application/pdf"
    assert all(d["characters"] > 100 and len(d["sha256"]) == 64 for d in uploaded)

    listed = (await client.get(f"/workspaces/{workspace}/documents")).json()["documents"]
    assert {d["doc_id"] for d in listed} == {d["doc_id"] for d in uploaded}
    workspaces = (await client.get("/workspaces")).json()["workspaces"]
    assert {"name": workspace, "documents": 3} in workspaces

    gone = uploaded[1]["doc_id"]
    assert (await client.delete(f"/workspaces/{workspace}/documents/{gone}")).status_code == 204
    listed = (await client.get(f"/workspaces/{workspace}/documents")).json()["documents"]
    assert gone not in {d["doc_id"] for d in listed} and len(listed) == 2
    again = await client.delete(f"/workspaces/{workspace}/documents/{gone}")
    assert again.status_code == 404 and again.json()["error"]["code"] == "document_not_found"


async def test_a_workspace_is_deleted_with_its_documents_unless_a_job_of_it_runs(
    client: httpx.AsyncClient, job_store: JobStore
) -> None:
    workspace = new_workspace()
    await upload(
        client, workspace, [("file", ("nda.txt", NDA.encode())), ("file", ("lease.txt", LEASE.encode()))]
    )
    waiting = str(uuid.uuid4())
    job_store.create(JobRef(waiting, group=workspace), "score_contracts")  # never queued: it waits
    busy = await client.delete(f"/workspaces/{workspace}")
    assert busy.status_code == 409 and busy.json()["error"]["code"] == "workspace_busy"
    assert waiting in busy.json()["error"]["message"]
    assert (await client.post(f"/jobs/{waiting}/cancel")).status_code == 200
    assert (await client.delete(f"/workspaces/{workspace}")).status_code == 204
    gone = await client.get(f"/workspaces/{workspace}/documents")
    assert gone.status_code == 404 and gone.json()["error"]["code"] == "workspace_not_found"
    assert workspace not in {w["name"] for w in (await client.get("/workspaces")).json()["workspaces"]}
    assert (await client.delete(f"/workspaces/{workspace}")).status_code == 404
    assert (await client.get(f"/jobs/{waiting}")).json()["status"] == "CANCELLED", "its jobs stay, as history"


@pytest.mark.parametrize("filename", ["photo.png", "contract"])
async def test_a_file_type_we_do_not_read_is_refused_and_nothing_is_stored(
    client: httpx.AsyncClient, filename: str
) -> None:
    workspace = new_workspace()
    files = [("file", ("good.txt", NDA.encode())), ("file", (filename, b"\x89PNG\r\n\x1a\n"))]
    response = await client.post(f"/workspaces/{workspace}/documents", files=files)
    assert response.status_code == 415, response.text
    error = response.json()["error"]
    assert error["code"] == "unsupported_document" and filename in error["message"]
    listed = await client.get(f"/workspaces/{workspace}/documents")
    assert listed.status_code == 404, "the good file of a refused upload was not stored either"


@pytest.mark.parametrize(
    "filename,data,reason",
    [
        ("broken.pdf", b"%PDF-1.4 this is not really a pdf", "PDF"),
        ("fake.pdf", b"plain text pretending", "not a PDF"),
        ("broken.docx", b"PK\x03\x04 not a real zip", "zip"),
        ("blank.pdf", make_pdf(""), "no text"),
        ("binary.txt", b"\x00\x01\x02\x03", "binary"),
    ],
)
async def test_an_unreadable_file_fails_alone_with_its_reason(
    client: httpx.AsyncClient, filename: str, data: bytes, reason: str
) -> None:
    workspace = new_workspace()
    files = [("file", ("good.txt", NDA.encode())), ("file", (filename, data))]
    job = await upload(client, workspace, files)
    assert job["status"] == "SUCCESS", job
    [failure] = job["result"]["failed"]
    assert failure["filename"] == filename and failure["code"] == "unreadable_document"
    assert reason.lower() in failure["reason"].lower(), failure
    listed = (await client.get(f"/workspaces/{workspace}/documents")).json()
    assert [d["filename"] for d in listed["documents"]] == ["good.txt"] and listed["extracting"] == []


async def test_an_upload_of_only_unreadable_files_fails_its_job(client: httpx.AsyncClient) -> None:
    job = await upload(client, new_workspace(), {"file": ("binary.txt", b"\x00\x01")})
    assert job["status"] == "FAILURE" and job["error"]["type"] == "UnreadableDocument"
    assert "binary.txt" in job["error"]["message"]


async def test_upload_without_a_file_and_bad_workspace_names(client: httpx.AsyncClient) -> None:
    empty = await client.post(f"/workspaces/{new_workspace()}/documents", files={"other": ("x.txt", b"x")})
    assert empty.status_code == 422 and empty.json()["error"]["fields"] == {"file": "required"}
    bad_name = await client.post("/workspaces/..hidden/documents", files={"file": ("x.txt", b"text")})
    assert bad_name.status_code == 422
    unknown = await client.get(f"/workspaces/{new_workspace()}/documents")
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "workspace_not_found"


# -- scoring --------------------------------------------------------------------------------------


async def test_scoring_ranks_the_contract_that_states_the_criterion_first(client: httpx.AsyncClient) -> None:
    body = {"criterion": "Invoices are paid within 30 days", "workspace_name": WORKSPACE, "max_score": 10}
    response = await client.post("/score", json=body)
    assert response.status_code == 200, response.text
    job = response.json()
    assert job["status"] == "SUCCESS", job
    result = job["result"]
    scores = {name: c["score"] for name, c in by_filename(result).items()}
    assert scores["lease.pdf"] > scores["supply.docx"] and scores["lease.pdf"] > scores["nda.txt"]
    assert min(scores.values()) >= 0 and max(scores.values()) <= 10
    lease = by_filename(result)["lease.pdf"]
    assert lease["verdict"] == "meets" and lease["reason"].startswith("Meets: ")
    evidence = lease["evidence"][0]
    assert "within 30 days" in evidence["text"] and evidence["verdict"] == "meets"
    assert result["ranking"][0] == lease["doc_id"]
    assert result["scorer"] == "clauses" and result["compared_with_llm"] is False
    assert by_filename(result)["nda.txt"]["verdict"] == "not_mentioned"
    # The evidence's place in the document: the span of the text a reviewer opens.
    document = (await client.get(f"/workspaces/{WORKSPACE}/documents/{lease['doc_id']}")).json()
    assert "within 30 days" in document["text"][evidence["start"] : evidence["end"]]

    events = await stream_to_end(client, job["job_id"], **{"Last-Event-ID": "0"})
    progress = [(e.data["progress"], e.data["message"]) for e in events if e.event == "progress"]
    # From its first moment, then once per contract in upload order, then done.
    assert progress == [
        (0, "Loading the workspace's contracts"),
        (0, "Scoring 1/3: lease.pdf"),
        (33.33, "Scoring 2/3: supply.docx"),
        (66.67, "Scoring 3/3: nda.txt"),
        (100, "Scored 3 contracts"),
    ]


async def test_a_contract_scores_the_same_whatever_workspace_holds_it(client: httpx.AsyncClient) -> None:
    alone = new_workspace()
    await upload(client, alone, [("file", ("lease.pdf", make_pdf(LEASE)))])
    criterion = "Either party may terminate on 60 days written notice"
    scores = []
    for workspace in (alone, WORKSPACE):  # alone, and beside two other contracts
        body = {"criterion": criterion, "workspace_name": workspace}
        result = (await client.post("/score", json=body)).json()["result"]
        scores.append(by_filename(result)["lease.pdf"]["score"])
    assert scores[0] == scores[1] > 0


async def test_one_contract_is_counted_as_one(client: httpx.AsyncClient) -> None:
    workspace = new_workspace()
    await upload(client, workspace, [("file", ("nda.txt", NDA.encode()))])
    audited = (await client.post("/audit", json={"workspace_name": workspace})).json()
    events = await stream_to_end(client, audited["job_id"], **{"Last-Event-ID": "0"})
    assert [e.data["message"] for e in events if e.event == "progress"][-1] == "Audited 1 contract"


async def test_scoring_is_deterministic(client: httpx.AsyncClient) -> None:
    body = {"criterion": "confidential information is protected", "workspace_name": WORKSPACE}
    first = (await client.post("/score", json=body)).json()["result"]["contracts"]
    second = (await client.post("/score", json=body)).json()["result"]["contracts"]
    assert first == second


async def test_unknown_and_empty_workspaces_are_refused_before_queueing(client: httpx.AsyncClient) -> None:
    unknown = await client.post("/score", json={"criterion": "c", "workspace_name": new_workspace()})
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "workspace_not_found"
    workspace = new_workspace()
    uploaded = await client.post(
        f"/workspaces/{workspace}/documents", files={"file": ("n.txt", NDA.encode())}
    )
    doc_id = uploaded.json()["documents"][0]["doc_id"]
    await client.delete(f"/workspaces/{workspace}/documents/{doc_id}")  # extracted or not yet: gone
    empty = await client.post("/audit", json={"workspace_name": workspace})
    assert empty.status_code == 422 and empty.json()["error"]["code"] == "workspace_empty"


@pytest.mark.parametrize(
    "changes,field",
    [({"max_score": 0}, "max_score"), ({"max_score": 5000}, "max_score"), ({"criterion": "  "}, "criterion")],
)
async def test_out_of_range_scoring_arguments_are_422(
    client: httpx.AsyncClient, changes: dict, field: str
) -> None:
    body = {"criterion": "c", "workspace_name": WORKSPACE, **changes}
    response = await client.post("/jobs/score_contracts", json=body)
    assert response.status_code == 422 and field in response.json()["error"]["fields"]


async def test_comparing_with_the_llm_without_consent_is_400(client: httpx.AsyncClient) -> None:
    body = {
        "criterion": "c",
        "workspace_name": WORKSPACE,
        "compare_chatgpt": True,
        "share_data_with_chatgpt": False,
    }
    response = await client.post("/score", params={"async_mode": "true"}, json=body)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "data_sharing_not_allowed" and "share_data_with_chatgpt" in error["message"]


# -- auditing -------------------------------------------------------------------------------------


async def test_audit_finds_present_clauses_reports_missing_ones_and_flags_risks(
    client: httpx.AsyncClient,
) -> None:
    response = await client.post("/audit", json={"workspace_name": WORKSPACE})
    job = response.json()
    assert job["status"] == "SUCCESS", job
    contracts = by_filename(job["result"])
    lease = {item["item"]: item for item in contracts["lease.pdf"]["items"]}
    law = lease["governing law and venue"]
    assert law["found"] and "laws of England" in law["evidence"] and law["reason"] == 'It says "governed by"'
    assert lease["payment terms"]["found"] and lease["limitation of liability"]["found"]
    majeure = lease["force majeure"]
    assert not majeure["found"] and majeure["evidence"] is None
    assert majeure["reason"] == "No force majeure clause"
    assert "force majeure" in contracts["lease.pdf"]["missing"]
    [renewal] = contracts["lease.pdf"]["risk_flags"]
    assert renewal["item"] == "automatic renewal" and "renews automatically" in renewal["reason"]
    supply = {item["item"]: item for item in contracts["supply.docx"]["items"]}
    assert supply["force majeure"]["found"] and not supply["governing law and venue"]["found"]
    nda = contracts["nda.txt"]
    assert [item["item"] for item in nda["items"] if item["found"]] == [
        "governing law and venue",  # "arbitration in London": where disputes are heard
        "confidentiality",
        "dispute resolution",
        "data protection",
    ]
    assert nda["summary"].startswith("4 of 10 items found; missing: termination, limitation of liability")
    assert nda["summary"].endswith("; no risk flags")


async def test_audit_with_a_custom_checklist(client: httpx.AsyncClient) -> None:
    checklist = [
        "governing law",
        {"item": "interest on late payment", "phrases": ["INTEREST   at"]},
        "warehouse",
    ]
    job = (await client.post("/audit", json={"workspace_name": WORKSPACE, "checklist": checklist})).json()
    assert job["result"]["checklist"] == ["governing law", "interest on late payment", "warehouse"]
    lease = by_filename(job["result"])["lease.pdf"]
    supply = by_filename(job["result"])["supply.docx"]
    assert [i["found"] for i in lease["items"]] == [True, True, False]
    assert [i["found"] for i in supply["items"]] == [False, False, True]


async def test_checklist_phrases_are_literal_text_so_a_catastrophic_pattern_costs_nothing(
    client: httpx.AsyncClient,
) -> None:
    """Compiled as a regular expression, ``(a+)+$`` on this document would hold the worker for
    hours; as text it is simply not there, and ``a{99999999999}`` is no error either."""
    workspace = new_workspace()
    extraction = await upload(client, workspace, {"file": ("evil.txt", b"a" * 60 + b"!")})
    assert extraction["status"] == "SUCCESS", extraction
    checklist = [{"item": "evil", "phrases": ["(a+)+$", "a{99999999999}"]}, "(a+)+$"]
    job = (await client.post("/audit", json={"workspace_name": workspace, "checklist": checklist})).json()
    assert job["status"] == "SUCCESS", job
    assert [i["found"] for i in job["result"]["contracts"][0]["items"]] == [False, False]


async def test_a_malformed_checklist_is_422(client: httpx.AsyncClient) -> None:
    too_many_phrases = {"item": "x", "phrases": ["fee"] * 21}
    for checklist in ([], [42], [{"item": "x", "phrases": ["("]}], ["a" * 201], [too_many_phrases]):
        response = await client.post(
            "/jobs/audit_contracts", json={"workspace_name": WORKSPACE, "checklist": checklist}
        )
        assert response.status_code == 422, (checklist, response.text)


@pytest.fixture
def small_limit_web(redis_server: RedisServer) -> Iterator[WebServer]:
    server = WebServer(redis_server, MAX_DOCUMENT_BYTES="5000")
    yield server
    server.stop()


def test_a_document_over_the_size_limit_is_413_and_nothing_is_stored(
    small_limit_web: WebServer, api_key: str
) -> None:
    workspace = new_workspace()
    files = [("file", ("small.txt", NDA.encode())), ("file", ("big.txt", b"clause. " * 1000))]
    url = f"{small_limit_web.base_url}/workspaces/{workspace}/documents"
    response = httpx.post(url, files=files, headers=bearer(api_key))
    assert response.status_code == 413
    error = response.json()["error"]
    assert (
        error["code"] == "document_too_large" and "big.txt" in error["message"] and "5000" in error["message"]
    )
    assert httpx.get(url, headers=bearer(api_key)).status_code == 404
