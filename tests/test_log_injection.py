"""No input can forge a log line: a request's path, an upload's file name and an exception's message
reach the web's access log and the workers' log with their control characters escaped, in the
text format and in JSON, and a traceback's lines are indented under the record they belong to."""

from __future__ import annotations

import io
import json
import logging
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest

from actors.jobs.middleware.logs import CONTINUATION, JsonFormatter, TextFormatter, escape_controls

from .support.api import finished, start_job
from .support.servers import RedisServer, ServiceProcess, WebServer, eventually

#: A line that reads like the workers' own (dramatiq's format), to be smuggled in after a newline.
FORGED = "[2030-01-01 00:00:00,000] [PID 1] [MainThread] [jobs] [INFO] Job FORGED succeeded"
#: Every kind of line break a log reader might honour: LF, CR, VT, FF, NEL, LS, PS.
BREAKS = ("\n", "\r", "\x0b", "\x0c", "\x85", "\u2028", "\u2029")


@pytest.fixture(scope="module")
def web(redis_server: RedisServer) -> Iterator[WebServer]:
    """The module's web server (the ``client`` fixture's) writes an access log."""
    server = WebServer(redis_server, args=("--access-log",))
    yield server
    server.stop()


def forged_lines(log: ServiceProcess) -> list[str]:
    """The log's lines that start with the forged text, as a reader taking lines would see them."""
    return [line for line in log.log_path.read_text().splitlines() if line.startswith(FORGED[:12])]


async def logged(log: ServiceProcess, text: str) -> str:
    """The first line of ``log`` holding ``text``, once it has been written."""

    def line() -> str | None:
        return next((line for line in log.log_path.read_text().splitlines() if text in line), None)

    await eventually(lambda: line() is not None, timeout=30, what=f"{text!r} in the {log.name}'s log")
    return line() or ""


def test_text_lines_escape_every_control_character_and_indent_tracebacks() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(TextFormatter("%(levelname)s %(name)s: %(message)s"))
    log = logging.getLogger(f"test.injection.{uuid.uuid4().hex}")
    log.addHandler(handler)
    log.propagate = False
    try:
        log.warning("file %s", "a" + "".join(f"{b}{FORGED}" for b in BREAKS) + "\x1b[2J\x7f\u202e\t.pdf")
        try:
            raise ValueError(f"bad name x\n{FORGED}")
        except ValueError:
            log.exception("Upload failed")
    finally:
        log.removeHandler(handler)
    lines = stream.getvalue().splitlines()  # splits at every break above too
    assert lines[0].startswith("WARNING ") and lines[1].startswith("ERROR ")
    assert all(line.startswith(CONTINUATION) for line in lines[2:]), lines
    assert "\\n[2030" in lines[0] and "\\u2028[2030" in lines[0] and "\\x85[2030" in lines[0]
    assert "\\x1b[2J\\x7f\\u202e\\t.pdf" in lines[0]
    assert any(line == f"{CONTINUATION}ValueError: bad name x" for line in lines)
    assert any(line == f"{CONTINUATION}{FORGED}" for line in lines), "the rest of the message, indented"


def test_json_lines_escape_every_control_character() -> None:
    message = "a" + "".join(f"{b}{FORGED}" for b in BREAKS) + "\x1b\x7f"
    record = logging.LogRecord("jobs", logging.INFO, __file__, 1, "%s", (message,), None)
    line = JsonFormatter().format(record)
    assert len(line.splitlines()) == 1 and line.isascii() and line.isprintable()
    assert json.loads(line)["message"] == message
    assert escape_controls(line) == line


async def test_a_path_cannot_forge_an_access_log_line(web: WebServer) -> None:
    path = f"/healthz%0A{quote(FORGED)}%0D%E2%80%A8{uuid.uuid4().hex}"
    async with httpx.AsyncClient(base_url=web.base_url, timeout=30) as http:
        assert (await http.get(path)).status_code == 404
    line = await logged(web, "GET /healthz\\n[2030-01-01")
    assert "hypercorn.access" in line and f"Job FORGED succeeded\\r\\u2028{path[-32:]}" in line
    assert forged_lines(web) == []


async def test_a_path_cannot_forge_a_json_access_log_line(redis_server: RedisServer) -> None:
    server = WebServer(redis_server, args=("--access-log",), LOG_FORMAT="json")
    try:
        marker = uuid.uuid4().hex
        async with httpx.AsyncClient(base_url=server.base_url, timeout=30) as http:
            assert (await http.get(f"/healthz%0A{quote(FORGED)}%0A{marker}")).status_code == 404
        await logged(server, marker)
    finally:
        server.stop()
    entries = [json.loads(line) for line in server.log_path.read_text().splitlines() if line.strip()]
    [access] = [entry for entry in entries if marker in entry["message"]]
    # Escaped once, by JSON: the decoded message holds the path as it came.
    assert access["logger"] == "hypercorn.access" and f"/healthz\n{FORGED}\n{marker}" in access["message"]
    assert forged_lines(server) == []


async def test_a_path_cannot_forge_a_line_of_plain_hypercorn_s_access_log(redis_server: RedisServer) -> None:
    # ``hypercorn "service:create_app()"`` writes through handlers and a format of its own.
    server = WebServer(redis_server, plain_hypercorn=True, args=("--access-logfile", "-"))
    try:
        marker = uuid.uuid4().hex
        async with httpx.AsyncClient(base_url=server.base_url, timeout=30) as http:
            assert (await http.get(f"/healthz%0A{quote(FORGED)}%0A{marker}")).status_code == 404
        assert f"GET /healthz\\n{FORGED}\\n{marker}" in await logged(server, marker)
    finally:
        server.stop()
    assert forged_lines(server) == []


def multipart(filename: str, data: bytes) -> tuple[bytes, str]:
    """A form upload of one file whose name goes raw, in UTF-8, as browsers send one: every line
    break but CR and LF (which would end the part's header) reaches the server whole."""
    boundary = uuid.uuid4().hex
    body = (
        f"--{boundary}\r\n".encode()
        + f'Content-Disposition: form-data; name="file"; filename="{filename}"\r\n'.encode()
        + b"Content-Type: application/pdf\r\n\r\n"
        + data
        + f"\r\n--{boundary}--\r\n".encode()
    )
    return body, f"multipart/form-data; boundary={boundary}"


@pytest.mark.usefixtures("workers")
async def test_an_upload_s_name_cannot_forge_a_worker_log_line(
    client: httpx.AsyncClient, workers: ServiceProcess
) -> None:
    # Not a PDF: reading it fails, and the job's failure line names the file.
    name = f"lease\x0b{FORGED}\u2028{FORGED}.pdf"  # CR and LF cannot be sent: they end the header
    body, content_type = multipart(name, f"not a pdf {uuid.uuid4()}".encode())
    response = await client.post(
        f"/workspaces/logs-{uuid.uuid4().hex[:8]}/documents",
        content=body,
        headers={"Content-Type": content_type},
    )
    assert response.status_code == 202, response.text
    job_id = response.json()["job_id"]
    snapshot = await finished(client, job_id)
    assert snapshot["status"] == "FAILURE" and name in snapshot["error"]["message"]
    line = await logged(workers, f"Job {job_id} failed")
    assert f"lease\\x0b{FORGED}\\u2028{FORGED}.pdf: this is not a PDF file" in line
    assert forged_lines(workers) == []


@pytest.mark.usefixtures("workers")
async def test_an_exception_s_message_cannot_forge_a_worker_log_line(
    client: httpx.AsyncClient, workers: ServiceProcess
) -> None:
    job_id = await start_job(client, "always_fails", reason=f"no\n{FORGED}")
    assert (await finished(client, job_id))["status"] == "FAILURE"
    await logged(workers, f"Job {job_id} failed")
    # Dramatiq logs the failure with its traceback: the message's second line comes indented.
    assert f"{CONTINUATION}{FORGED}" in Path(workers.log_path).read_text().splitlines()
    assert forged_lines(workers) == []
