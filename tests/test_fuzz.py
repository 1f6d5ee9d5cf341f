"""The API fuzzed from its own OpenAPI document: schemathesis generates requests for every operation
(valid, boundary and invalid ones) against a live stack (real Redis, web server and worker) and
fails on any 5xx, any answer that is not what the document says (its status among the operation's
documented ones, its type and body as documented for that status: errors are the envelope), or a
stack that is unwell afterwards."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from .support.api import bearer, new_key
from .support.servers import ADMIN_TOKEN, RedisServer, ServiceProcess, WebServer, start_workers

#: Generated requests per operation and phase; with ~25 operations this makes well over 1,000.
EXAMPLES_PER_OPERATION = 30
#: Every answer's status is one its operation documents; its type and body are as documented.
CHECKS = "not_a_server_error,status_code_conformance,response_schema_conformance,content_type_conformance"
#: A long-poll waits as long as it is asked to (up to 60 s); the fuzzer asks for one second.
CONFIG = """
[parameters]
"query.wait" = 1
"""

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def stack(redis_server: RedisServer) -> Iterator[tuple[WebServer, ServiceProcess]]:
    worker = start_workers(redis_server)
    # No rate limit: the fuzzer is one key sending as fast as it can.
    web = WebServer(redis_server, RATE_LIMIT_PER_MINUTE="0", SYNC_WAIT_LIMIT="2")
    yield web, worker
    web.stop()
    worker.stop()


@pytest.mark.parametrize(
    "caller,operations",
    [
        ("a tenant's key", ()),  # every operation
        ("the admin", ("--include-path-regex", "^/(admin|metrics|events/stats)")),  # the admin's own
    ],
)
def test_no_generated_request_gets_a_5xx_or_an_answer_off_its_schema(
    stack: tuple[WebServer, ServiceProcess], caller: str, operations: tuple[str, ...], tmp_path: Path
) -> None:
    web, worker = stack
    credential = ADMIN_TOKEN if caller == "the admin" else new_key(web, "fuzz")
    document = httpx.get(f"{web.base_url}/openapi.json", headers=bearer(credential), timeout=30).json()
    config = tmp_path / "schemathesis.toml"
    config.write_text(CONFIG)
    command = [
        *(sys.executable, "-m", "schemathesis.cli", "--config-file", str(config), "--no-color", "run"),
        f"{web.base_url}/openapi.json",
        *("--checks", CHECKS),
        *("--header", f"Authorization: Bearer {credential}"),
        *("--max-examples", str(EXAMPLES_PER_OPERATION)),
        *("--exclude-path-regex", streaming_paths(document), *operations),
        *("--phases", "examples,coverage,fuzzing"),
        *("--seed", "20261130", "--workers", "2", "--request-timeout", "20", "--no-shrink"),
        *("--suppress-health-check", "all", "--warnings", "off"),
    ]
    # Run where its crash cache goes with the test's other files, not into the checkout.
    run = subprocess.run(command, capture_output=True, text=True, timeout=600, cwd=tmp_path)
    output = run.stdout[-6000:] + run.stderr[-2000:]
    assert run.returncode == 0, output
    generated = re.search(r"(\d+) generated", run.stdout)
    assert generated is not None, output
    if not operations:
        assert int(generated[1]) >= 1000, f"only {generated[1]} requests were generated\n{output}"

    worker.check_alive()
    assert httpx.get(f"{web.base_url}/readyz", timeout=10).status_code == 200
    status = httpx.get(f"{web.base_url}/worker/status", headers=bearer(credential), timeout=10).json()
    assert status["status"] == "running", status


def streaming_paths(document: dict[str, Any]) -> str:
    """The paths whose answer is an event stream, as the document says (their routes declare it):
    a stream stays open while it has news; their parameters are tested in test_hostile_input."""
    streams = [
        path
        for path, item in document["paths"].items()
        for operation in item.values()
        if "text/event-stream" in operation["responses"].get("200", {}).get("content", {})
    ]
    assert streams, "the document lists the event streams"
    return f"^({'|'.join(map(re.escape, streams))})$"
