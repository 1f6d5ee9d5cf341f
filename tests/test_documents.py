"""Documents one by one, through the API with a real worker: a file already in the workspace (read,
or still being read, or earlier in the same upload) is not stored again, and a document is read
back with its metadata and its extracted text, the text that evidence offsets index into."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
import redis

from actors.contracts.documents import DocumentStore
from actors.contracts.extract import extract_text, limits_from
from actors.contracts.settings import ContractSettings

from .conftest import WORKSPACE, WORKSPACE_FILES
from .support.api import TENANT, bearer, finished, new_key, upload
from .support.contracts import LEASE, NDA, SUPPLY
from .support.servers import WebServer

pytestmark = pytest.mark.usefixtures("workers", "workspace")


def new_workspace() -> str:
    return f"docs-{uuid.uuid4().hex[:8]}"


@pytest.fixture
async def stranger(web: WebServer) -> AsyncIterator[httpx.AsyncClient]:
    """A client of another tenant."""
    key = await asyncio.to_thread(new_key, web, f"stranger-{uuid.uuid4().hex[:8]}")
    async with httpx.AsyncClient(base_url=web.base_url, timeout=30, headers=bearer(key)) as client:
        yield client


async def jobs_of(client: httpx.AsyncClient, workspace: str) -> list[str]:
    return [
        job["job_id"] for job in (await client.get("/jobs", params={"workspace": workspace})).json()["jobs"]
    ]


# -- duplicates -----------------------------------------------------------------------------------


async def test_the_same_file_sent_again_is_answered_200_as_the_document_already_there(
    client: httpx.AsyncClient,
) -> None:
    workspace = new_workspace()
    first = await upload(client, workspace, {"file": ("nda.txt", NDA.encode())})
    [document] = first["result"]["documents"]
    again = await client.post(
        f"/workspaces/{workspace}/documents", files={"file": ("copy.txt", NDA.encode())}
    )
    assert again.status_code == 200, again.text
    body = again.json()
    assert body["job_id"] is None and "Location" not in again.headers
    [duplicate] = body["documents"]
    assert duplicate["duplicate"] is True and duplicate["extracting"] is False
    assert duplicate["doc_id"] == document["doc_id"] and duplicate["sha256"] == document["sha256"]
    assert (duplicate["filename"], duplicate["uploaded_as"]) == ("nda.txt", "copy.txt")
    listed = (await client.get(f"/workspaces/{workspace}/documents")).json()
    assert [d["doc_id"] for d in listed["documents"]] == [document["doc_id"]] and listed["extracting"] == []
    assert await jobs_of(client, workspace) == [first["job_id"]], "no job was queued for it"


async def test_a_mixed_upload_stores_its_new_files_once_and_lists_the_duplicates(
    client: httpx.AsyncClient,
) -> None:
    workspace = new_workspace()
    [nda] = (await upload(client, workspace, {"file": ("nda.txt", NDA.encode())}))["result"]["documents"]
    files = [
        ("file", ("nda-again.txt", NDA.encode())),  # read already
        ("file", ("lease.txt", LEASE.encode())),
        ("file", ("lease-copy.txt", LEASE.encode())),  # the same bytes as the file before it
        ("file", ("supply.txt", SUPPLY.encode())),
    ]
    response = await client.post(f"/workspaces/{workspace}/documents", files=files)
    assert response.status_code == 202, response.text
    job_id = response.json()["job_id"]
    sent = response.json()["documents"]
    assert [(d["duplicate"], d["extracting"]) for d in sent] == [
        (True, False),
        (False, True),
        (True, True),
        (False, True),
    ]
    assert sent[0]["doc_id"] == nda["doc_id"] and sent[0]["uploaded_as"] == "nda-again.txt"
    assert sent[2]["doc_id"] == sent[1]["doc_id"] and sent[2]["uploaded_as"] == "lease-copy.txt"
    assert {d["job_id"] for d in sent[1:]} == {job_id}, "the new files and their copy say who reads them"
    extraction = await finished(client, job_id)
    assert [d["filename"] for d in extraction["result"]["documents"]] == ["lease.txt", "supply.txt"]
    listed = (await client.get(f"/workspaces/{workspace}/documents")).json()["documents"]
    assert [d["filename"] for d in listed] == ["nda.txt", "lease.txt", "supply.txt"]


async def test_a_duplicate_of_a_file_still_being_read_points_to_it_and_its_job(
    client: httpx.AsyncClient, redis_client: redis.Redis
) -> None:
    workspace = new_workspace()
    store = DocumentStore(client=redis_client)
    # Staged as an upload would be, by a job that has not run (nor will: it was never queued).
    staged = store.stage(TENANT, workspace, [("lease.txt", LEASE.encode())], job_id="reader-job")
    [pending] = staged.staged
    response = await client.post(
        f"/workspaces/{workspace}/documents", files={"file": ("lease (1).txt", LEASE.encode())}
    )
    assert response.status_code == 200, response.text
    [duplicate] = response.json()["documents"]
    assert duplicate["duplicate"] is True and duplicate["extracting"] is True
    assert duplicate["doc_id"] == pending["doc_id"] and duplicate["job_id"] == "reader-job"
    listed = (await client.get(f"/workspaces/{workspace}/documents")).json()
    assert [d["doc_id"] for d in listed["extracting"]] == [pending["doc_id"]]
    assert listed["extracting"][0]["sha256"] == duplicate["sha256"]
    unread = await client.get(f"/workspaces/{workspace}/documents/{pending['doc_id']}")
    assert unread.status_code == 409 and unread.json()["error"]["code"] == "extraction_pending"
    assert "reader-job" in unread.json()["error"]["message"]


async def test_identical_uploads_at_once_store_the_file_once(client: httpx.AsyncClient) -> None:
    workspace = new_workspace()
    url = f"/workspaces/{workspace}/documents"
    answers = await asyncio.gather(
        *(client.post(url, files={"file": ("nda.txt", NDA.encode())}) for _ in range(4))
    )
    assert sorted(answer.status_code for answer in answers) == [200, 200, 200, 202], [a.text for a in answers]
    [queued] = [answer.json() for answer in answers if answer.status_code == 202]
    doc_ids = {answer.json()["documents"][0]["doc_id"] for answer in answers}
    assert doc_ids == {queued["documents"][0]["doc_id"]}, "every copy points to the one stored"
    await finished(client, queued["job_id"])
    assert len((await client.get(url)).json()["documents"]) == 1


# -- reading a document ---------------------------------------------------------------------------


async def test_a_document_is_read_back_with_its_metadata_and_extracted_text(
    client: httpx.AsyncClient,
) -> None:
    listed = (await client.get(f"/workspaces/{WORKSPACE}/documents")).json()["documents"]
    limits = limits_from(ContractSettings.defaults())
    for filename, data in WORKSPACE_FILES:  # a PDF, a DOCX, a text file
        [meta] = [d for d in listed if d["filename"] == filename]
        response = await client.get(f"/workspaces/{WORKSPACE}/documents/{meta['doc_id']}")
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["workspace"] == WORKSPACE and body["document"] == meta
        assert body["text"] == extract_text(filename, data, limits=limits).text
        assert len(body["text"]) == meta["characters"]


async def test_offsets_into_the_text_count_code_points(client: httpx.AsyncClient) -> None:
    """The text comes back as stored: a Python index into it is a JavaScript code-point index."""
    workspace = new_workspace()
    text = "Clause \N{MUSICAL SYMBOL G CLEF} the Café pays €30 within 30 days. 契約"
    extraction = await upload(client, workspace, {"file": ("intl.txt", text.encode())})
    [document] = extraction["result"]["documents"]
    body = (await client.get(f"/workspaces/{workspace}/documents/{document['doc_id']}")).json()
    assert body["text"] == text and body["document"]["characters"] == len(text)
    start = text.index("within")
    assert body["text"][start : start + len("within 30 days")] == "within 30 days"


async def test_a_missing_deleted_or_another_tenants_document_is_404(
    client: httpx.AsyncClient, stranger: httpx.AsyncClient
) -> None:
    workspace = new_workspace()
    [document] = (await upload(client, workspace, {"file": ("nda.txt", NDA.encode())}))["result"]["documents"]
    path = f"/workspaces/{workspace}/documents/{document['doc_id']}"
    missing = await client.get(f"/workspaces/{workspace}/documents/{uuid.uuid4().hex}")
    theirs = await stranger.get(path)
    for refused in (missing, theirs):
        assert refused.status_code == 404 and refused.json()["error"]["code"] == "document_not_found"
    said = f"No document {document['doc_id']!r} in workspace {workspace!r}"
    assert theirs.json()["error"]["message"] == said, "word for word what a missing one gets"
    assert (await client.get(path)).status_code == 200, "the owner still reads it"
    assert (await client.delete(path)).status_code == 204
    gone = await client.get(path)
    assert gone.status_code == 404 and gone.json()["error"]["code"] == "document_not_found"
    nowhere = await client.get(f"/workspaces/{new_workspace()}/documents/{document['doc_id']}")
    assert nowhere.status_code == 404 and nowhere.json()["error"]["code"] == "document_not_found"
