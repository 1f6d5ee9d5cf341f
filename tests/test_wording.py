"""Messages count in words: "1 file", "2 files", never "1 files" or "file(s)". Each message here
is one a user reads (a job's progress or error, an API error, a refusal to start) with a count
that can be one."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import httpx
import pydantic
import pytest
import redis

from actors.contracts.documents import DocumentStore
from actors.contracts.errors import QuotaExceeded, TooManyFiles
from actors.contracts.llm import LLMConfig, LLMError, LLMScorer
from actors.contracts.quotas import UploadLimits, check_quotas
from actors.contracts.settings import ContractSettings
from actors.jobs.errors import InvalidPayload
from service.settings import WebSettings

from .conftest import WORKSPACE
from .support.api import TENANT, bearer, finished, new_key, stream_to_end, upload
from .support.contracts import NDA
from .support.fake_llm import FakeLLM, Reply
from .support.servers import RedisServer, ServiceProcess, WebServer


def progress_messages(events: list) -> list[str]:
    return [event.data["message"] for event in events]


async def test_reading_one_uploaded_file_says_file(
    client: httpx.AsyncClient, workers: ServiceProcess
) -> None:
    for count, words in ((1, "Reading 1 file"), (2, "Reading 2 files")):
        files = [("file", (f"nda-{n}.txt", f"{NDA}\n{uuid.uuid4()}".encode())) for n in range(count)]
        done = await upload(client, f"words-{uuid.uuid4().hex[:8]}", files)
        assert done["status"] == "SUCCESS", done
        events = await stream_to_end(client, done["job_id"], **{"Last-Event-ID": "0"})
        assert words in progress_messages(events), progress_messages(events)


@pytest.fixture
def fake_llm() -> Iterator[FakeLLM]:
    server = FakeLLM().start()
    yield server
    server.stop()


@pytest.mark.parametrize(("retries", "words"), [(0, "failed 1 time;"), (1, "failed 2 times;")])
def test_an_llm_endpoint_that_failed_once_says_time(fake_llm: FakeLLM, retries: int, words: str) -> None:
    fake_llm.script = [Reply(status=500, body={"error": "down"})] * (retries + 1)
    config = LLMConfig(
        base_url=fake_llm.base_url,
        model="test-model",
        api_key="",
        timeout=5,
        max_retries=retries,
        retry_base=0.01,
        max_chars=1000,
    )
    with pytest.raises(LLMError) as failed:
        LLMScorer(config=config).score(criterion="Pays within 30 days", contract_text=NDA, max_score=10)
    assert str(failed.value) == f"The LLM endpoint {words} last: server error 500"


async def test_an_audit_of_one_item_says_item(
    client: httpx.AsyncClient, workers: ServiceProcess, workspace: list[dict]
) -> None:
    started = await client.post(
        "/jobs/audit_contracts", json={"workspace_name": WORKSPACE, "checklist": ["governing law"]}
    )
    assert started.status_code == 202, started.text
    done = await finished(client, started.json()["job_id"])
    summaries = [contract["summary"] for contract in done["result"]["contracts"]]
    assert summaries and all(
        summary.startswith(("0 of 1 item found", "1 of 1 item found")) for summary in summaries
    )


async def test_one_file_still_being_read_is_one_file(
    client: httpx.AsyncClient, redis_client: redis.Redis
) -> None:
    workspace = f"words-{uuid.uuid4().hex[:8]}"
    DocumentStore(client=redis_client).stage(
        TENANT, workspace, [("nda.txt", NDA.encode())]
    )  # no job reads it
    refused = await client.post("/jobs/score_contracts", json={"workspace_name": workspace, "criterion": "c"})
    assert refused.status_code == 409, refused.text
    assert (
        f"Workspace {workspace!r} has 1 uploaded file still being extracted;"
        in refused.json()["error"]["message"]
    )


def test_limits_of_one_say_one_thing() -> None:
    settings = ContractSettings(
        max_files_per_upload=1,
        max_workspaces_per_tenant=1,
        max_documents_per_tenant=1,
        max_bytes_per_tenant=1,
    )
    with pytest.raises(TooManyFiles, match=r"^An upload may hold at most 1 file: send"):
        UploadLimits(settings).check_file("second.txt", number=2)
    usage = {"mine": [{"size_bytes": 1}]}

    def quota(**changes: object) -> str:
        arguments = {
            "max_documents": 5,
            "usage": usage,
            "workspace": "mine",
            "files": 0,
            "size": 0,
            **changes,
        }
        with pytest.raises((QuotaExceeded, InvalidPayload)) as refused:
            check_quotas(settings, **arguments)  # type: ignore[arg-type]
        return str(refused.value)

    assert quota(max_documents=1, files=1) == "Workspace 'mine' would hold more than 1 document"
    assert quota(workspace="other") == "A tenant may have at most 1 workspace"
    assert quota(files=1) == "A tenant may store at most 1 document"
    assert "at most 1 byte of documents (1 is stored" in quota(size=1)


def test_an_admin_token_of_one_character_says_character() -> None:
    with pytest.raises(pydantic.ValidationError, match="ADMIN_TOKEN has 1 character; it needs at least 32"):
        WebSettings(admin_token="x")


def test_a_rate_of_one_request_a_minute_says_request(redis_server: RedisServer) -> None:
    server = WebServer(redis_server, RATE_LIMIT_PER_MINUTE="1")
    try:
        key = bearer(new_key(server))
        answers = [httpx.get(f"{server.base_url}/workspaces", headers=key, timeout=30) for _ in range(2)]
        assert [answer.status_code for answer in answers] == [200, 429]
        assert answers[1].json()["error"]["message"].startswith("This key made more than 1 request a minute;")
    finally:
        server.stop()
