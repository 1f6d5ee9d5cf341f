"""Uploads are read as they arrive: a file past its size, the file past the count, a bad name or type
is refused the moment it shows, before the rest of the body is sent; a body that is not multipart,
or breaks off, is a 400; quotas hold however many uploads race for their last share; a workspace
name with surrounding spaces is refused. A body decodes as it was sent however the network cuts it
(werkzeug's decoder, behind Quart's ``request.files``, does not)."""

from __future__ import annotations

import os
import socket
import threading
import uuid
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from actors.contracts.documents import DocumentStore
from actors.contracts.errors import QuotaExceeded
from actors.contracts.quotas import UploadLimits
from actors.contracts.settings import ContractSettings
from service.errors import ApiError
from service.uploads import received_files

from .support.api import bearer, new_key
from .support.servers import RedisServer, WebServer

BOUNDARY = "----test-boundary-7MA4YWxkTrZu0gW"
#: The web server's limits here: small, so that an upload past them is cheap to send.
MAX_DOCUMENT_BYTES = 1024 * 1024
MAX_FILES = 3


def part(name: str, data: bytes, *, filename: str | None = None) -> bytes:
    disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename is not None else "")
    return f"--{BOUNDARY}\r\nContent-Disposition: {disposition}\r\n\r\n".encode() + data + b"\r\n"


def form(*parts: bytes) -> bytes:
    return b"".join(parts) + f"--{BOUNDARY}--\r\n".encode()


def sliced(body: bytes, size: int) -> list[bytes]:
    return [body[at : at + size] for at in range(0, len(body), size)]


async def receive(pieces: list[bytes]) -> list[tuple[str, bytes]]:
    """The files ``received_files`` makes of a body arriving as ``pieces``."""

    async def body() -> AsyncIterator[bytes]:
        for piece in pieces:
            yield piece

    checks = UploadLimits(ContractSettings.defaults())
    total = sum(map(len, pieces))
    params = {"boundary": BOUNDARY}
    async with received_files(
        body(), "multipart/form-data", params, field="file", checks=checks, max_bytes=total
    ) as files:
        received = [(name, file.read()) for name, file in files]
    assert all(file.closed for _, file in files), "the files are closed once the block ends"
    return received


@pytest.mark.parametrize(
    ("size", "large"),
    [
        (1, 20_000),
        (7, 20_000),
        (4096, 3 * 1024 * 1024),
        (300 * 1024, 3 * 1024 * 1024),
        (10 * 1024 * 1024, 3 * 1024 * 1024),
    ],
)
async def test_each_file_part_arrives_as_sent_however_the_body_is_sliced(size: int, large: int) -> None:
    data = os.urandom(large)  # past the spool (1 MiB): written to disk
    boundary_like = f"\r\n--{BOUNDARY[:-1]}".encode() * 3  # almost a boundary, inside the data
    body = form(
        part("note", b"not a file"),
        part("file", b"first contract", filename="a.txt"),
        part("other", b"a file of another field", filename="x.txt"),
        part("file", data + boundary_like, filename="b.pdf"),
        part("file", b"", filename="empty.md"),
    )
    files = await receive(sliced(body, size))
    assert files == [("a.txt", b"first contract"), ("b.pdf", data + boundary_like), ("empty.md", b"")]


async def test_a_body_cut_anywhere_decodes_as_sent() -> None:
    """Cut between the CR and LF before a boundary, werkzeug's decoder adds a stray CR to the file."""
    body = form(part("file", b"ab", filename="a.txt"), part("file", b"", filename="b.md"))
    for cut in range(1, len(body)):
        files = await receive([body[:cut], body[cut:]])
        assert files == [("a.txt", b"ab"), ("b.md", b"")], f"cut at {cut}"


@pytest.mark.parametrize(
    "body",
    [
        form(part("file", b"no end")).removesuffix(f"--{BOUNDARY}--\r\n".encode()),  # broken off
        f"--{BOUNDARY}\r\nContent-Type: text/plain\r\n\r\nno disposition\r\n--{BOUNDARY}--\r\n".encode(),
        b"no boundary at all",
    ],
    ids=["broken-off", "no-disposition", "no-boundary"],
)
async def test_a_malformed_body_is_a_400_not_an_upload(body: bytes) -> None:
    with pytest.raises(ApiError) as refused:
        await receive(sliced(body, 1000))
    assert refused.value.status == 400 and refused.value.code == "invalid_multipart"


@pytest.fixture(scope="module")
def web(redis_server: RedisServer) -> Iterator[WebServer]:
    server = WebServer(
        redis_server, MAX_DOCUMENT_BYTES=str(MAX_DOCUMENT_BYTES), MAX_FILES_PER_UPLOAD=str(MAX_FILES)
    )
    yield server
    server.stop()


def answer_to_a_partial_upload(web: WebServer, start: bytes, *, announced: int) -> tuple[int, str]:
    """Send an upload's headers (``Content-Length: announced``) and ``start`` of its body, never
    the rest; return the status and body of the answer, which must come while the rest is due."""
    key = new_key(web, f"uploads-{uuid.uuid4().hex[:8]}")
    head = (
        f"POST /workspaces/w/documents HTTP/1.1\r\nHost: 127.0.0.1:{web.port}\r\n"
        f"Authorization: Bearer {key}\r\nContent-Type: multipart/form-data; boundary={BOUNDARY}\r\n"
        f"Content-Length: {announced}\r\n\r\n"
    ).encode()
    with socket.create_connection(("127.0.0.1", web.port), timeout=60) as connection:
        connection.sendall(head + start)
        answer = b""
        while b"\r\n\r\n" not in answer or not answer.rstrip().endswith(b"}"):
            chunk = connection.recv(65536)  # a server waiting for the rest times out here
            if not chunk:
                break
            answer += chunk
    status_line, _, rest = answer.partition(b"\r\n")
    return int(status_line.split()[1]), rest.partition(b"\r\n\r\n")[2].decode()


def test_a_file_past_its_size_is_refused_before_the_rest_of_the_upload_is_sent(web: WebServer) -> None:
    start = f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="big.txt"\r\n\r\n'
    status, body = answer_to_a_partial_upload(
        web, start.encode() + b"x" * (MAX_DOCUMENT_BYTES + 1), announced=40 * 1024 * 1024
    )
    assert status == 413 and '"document_too_large"' in body


def test_the_file_past_the_count_is_refused_as_its_headers_arrive(web: WebServer) -> None:
    start = b"".join(
        part("file", f"contract {n}".encode(), filename=f"{n}.txt") for n in range(MAX_FILES + 1)
    )
    status, body = answer_to_a_partial_upload(web, start, announced=len(start) + 1024 * 1024)
    assert status == 413 and '"too_many_files"' in body


def test_a_file_of_an_unread_type_is_refused_as_its_headers_arrive(web: WebServer) -> None:
    start = part("file", b"MZ", filename="setup.exe")
    status, body = answer_to_a_partial_upload(web, start, announced=len(start) + 1024 * 1024)
    assert status == 415 and '"unsupported_document"' in body


@pytest.mark.parametrize("name", ["acme%20", "%20acme", "acme%09"])
def test_a_workspace_name_with_surrounding_space_is_refused(web: WebServer, name: str) -> None:
    key = new_key(web, f"uploads-{uuid.uuid4().hex[:8]}")
    refused = httpx.post(
        f"{web.base_url}/workspaces/{name}/documents",
        files={"file": ("nda.txt", b"a contract")},
        headers=bearer(key),
    )
    assert refused.status_code == 422 and refused.json()["error"]["code"] == "invalid_payload"
    listed = httpx.get(f"{web.base_url}/workspaces", headers=bearer(key)).json()
    assert listed["workspaces"] == []


def test_a_non_multipart_upload_is_a_400(web: WebServer) -> None:
    key = new_key(web, f"uploads-{uuid.uuid4().hex[:8]}")
    refused = httpx.post(f"{web.base_url}/workspaces/w/documents", content=b"just bytes", headers=bearer(key))
    assert refused.status_code == 400 and refused.json()["error"]["code"] == "invalid_multipart"


@pytest.mark.parametrize(
    ("limit", "workspace_of"),
    [({"max_workspaces_per_tenant": 3}, lambda n: f"w{n}"), ({"max_documents_per_tenant": 3}, lambda n: "w")],
    ids=["workspaces", "documents"],
)
def test_quotas_hold_when_uploads_race_for_their_last_share(
    redis_server: RedisServer, limit: dict[str, int], workspace_of
) -> None:
    store = DocumentStore(client=redis_server.client(), settings=ContractSettings(**limit))
    tenant, racers = f"race-{uuid.uuid4().hex[:8]}", 24
    start = threading.Barrier(racers)

    def upload(n: int) -> bool:
        start.wait()
        try:
            store.stage(tenant, workspace_of(n), [(f"{n}.txt", f"contract {n} ".encode() * 20_000)])
        except QuotaExceeded:
            return False
        return True

    with ThreadPoolExecutor(racers) as pool:
        stored = sum(pool.map(upload, range(racers)))
    workspaces = [workspace["name"] for workspace in store.workspaces(tenant)]
    assert stored == 3, f"{stored} uploads passed a quota of 3"
    assert sum(len(store.staged(tenant, name)) for name in workspaces) == 3 and len(workspaces) <= 3
