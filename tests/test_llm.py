"""The optional LLM scorer against a local OpenAI-compatible stand-in: what is sent, what is not
(the privacy promise), rate limits, timeouts and nonsense replies. This module runs its own Redis,
web server and worker, configured with the stand-in's address."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from actors.contracts.documents import DocumentStore

from .support.api import TENANT, bearer, new_key, stream_to_end
from .support.contracts import LEASE, NDA, make_pdf
from .support.fake_llm import FakeLLM, Reply, completion
from .support.servers import RedisServer, WebServer, start_workers

WORKSPACE = "llm-ws"
LLM_ENV = {
    "LLM_MODEL": "test-model",
    "LLM_API_KEY": "test-key",
    "LLM_TIMEOUT": "1",
    "LLM_MAX_RETRIES": "1",
    "LLM_RETRY_BASE": "0.05",
}
CONSENTED = {
    "criterion": "Invoices are paid within 30 days",
    "workspace_name": WORKSPACE,
    "max_score": 10,
    "compare_chatgpt": True,
    "share_data_with_chatgpt": True,
}


@pytest.fixture(scope="module")
def fake_llm() -> Iterator[FakeLLM]:
    server = FakeLLM(default_score=7).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def llm_web(fake_llm: FakeLLM) -> Iterator[WebServer]:
    redis_server = RedisServer()
    redis_server.start()
    env = {**LLM_ENV, "LLM_BASE_URL": fake_llm.base_url}
    worker = start_workers(redis_server, **env)
    web = WebServer(redis_server, **env)
    files = [("lease.pdf", make_pdf(LEASE)), ("nda.txt", NDA.encode())]
    DocumentStore(client=redis_server.client()).add(TENANT, WORKSPACE, files)
    yield web
    web.stop()
    worker.stop()
    redis_server.stop()


@pytest.fixture
async def http(llm_web: WebServer, fake_llm: FakeLLM) -> AsyncIterator[httpx.AsyncClient]:
    fake_llm.requests.clear()
    fake_llm.script.clear()
    async with httpx.AsyncClient(
        base_url=llm_web.base_url, timeout=60, headers=bearer(new_key(llm_web))
    ) as client:
        yield client


async def test_each_contract_is_also_scored_by_the_llm_with_the_difference(
    http: httpx.AsyncClient, fake_llm: FakeLLM
) -> None:
    job = (await http.post("/score", json=CONSENTED)).json()
    assert job["status"] == "SUCCESS", job
    for contract in job["result"]["contracts"]:
        assert contract["llm"] == {"score": 7.0, "reason": "looks fine", "model": "test-model"}
        assert contract["difference"] == round(7.0 - contract["score"], 1)
    assert job["result"]["compared_with_llm"] is True
    assert len(fake_llm.requests) == 2
    request = fake_llm.requests[0]
    assert request["path"] == "/v1/chat/completions"
    assert request["headers"]["Authorization"] == "Bearer test-key"
    assert request["json"]["model"] == "test-model"
    system, user = request["json"]["messages"]
    assert system["role"] == "system" and "JSON" in system["content"]
    assert (
        "Invoices are paid within 30 days" in user["content"]
        and "within 30 days of the invoice" in user["content"]
    )


@pytest.mark.parametrize("compare,share", [(False, False), (False, True)])
async def test_without_a_comparison_no_text_leaves_the_machine(
    http: httpx.AsyncClient, fake_llm: FakeLLM, compare: bool, share: bool
) -> None:
    body = {**CONSENTED, "compare_chatgpt": compare, "share_data_with_chatgpt": share}
    job = (await http.post("/score", json=body)).json()
    assert job["status"] == "SUCCESS" and job["result"]["compared_with_llm"] is False
    assert "llm" not in job["result"]["contracts"][0]
    assert fake_llm.requests == [], "the LLM endpoint received nothing"


async def test_no_consent_is_refused_before_anything_is_sent(
    http: httpx.AsyncClient, fake_llm: FakeLLM
) -> None:
    response = await http.post("/score", json={**CONSENTED, "share_data_with_chatgpt": False})
    assert response.status_code == 400
    assert fake_llm.requests == []


async def test_a_rate_limit_is_retried_and_shown_in_the_job_message(
    http: httpx.AsyncClient, fake_llm: FakeLLM
) -> None:
    fake_llm.script = [Reply(status=429, body={"error": "slow down"}, headers={"Retry-After": "0.2"})]
    job = (await http.post("/score", json=CONSENTED)).json()
    assert job["status"] == "SUCCESS", job
    events = await stream_to_end(http, job["job_id"], **{"Last-Event-ID": "0"})
    notes = [e.data["message"] for e in events if e.event == "progress" and "LLM" in e.data["message"]]
    assert notes == ["Scoring 1/2: lease.pdf: LLM retrying in 0.2 s: rate limited"]
    assert len(fake_llm.requests) == 3


@pytest.mark.slow
async def test_a_timeout_past_the_retries_fails_the_job_with_a_clear_message(
    http: httpx.AsyncClient, fake_llm: FakeLLM
) -> None:
    fake_llm.script = [Reply(delay=1.5), Reply(delay=1.5)]
    job = (await http.post("/score", json=CONSENTED)).json()
    assert job["status"] == "FAILURE", job
    assert job["error"]["type"] == "LLMError"
    assert job["error"]["message"] == "The LLM endpoint failed 2 times; last: no answer within 1 s"
    assert job["attempt"] == 1, "the client retried; the job itself is not retried"


@pytest.mark.parametrize(
    "reply",
    [
        Reply(body=completion("I think it is quite good.")),
        Reply(body=completion('{"score": 99}')),
        Reply(body={"unexpected": True}),
        Reply(body="not json at all"),
    ],
)
async def test_a_malformed_reply_fails_the_job_saying_so(
    http: httpx.AsyncClient, fake_llm: FakeLLM, reply: Reply
) -> None:
    fake_llm.script = [reply]
    job = (await http.post("/score", json=CONSENTED)).json()
    assert job["status"] == "FAILURE", job
    assert job["error"]["type"] == "LLMError"
    assert "LLM" in job["error"]["message"] and (
        "score" in job["error"]["message"] or "JSON" in job["error"]["message"]
    )


async def test_an_upstream_refusal_is_told_without_the_endpoints_words(
    http: httpx.AsyncClient, fake_llm: FakeLLM
) -> None:
    """The endpoint's 401 body quotes the key; the job's public error must not."""
    body = {"error": {"message": "Incorrect API key provided: sk-proj-****abcd", "code": "invalid_api_key"}}
    fake_llm.script = [Reply(status=401, body=body)]
    job = (await http.post("/score", json=CONSENTED)).json()
    assert job["status"] == "FAILURE", job
    assert job["error"]["type"] == "LLMError"
    assert job["error"]["message"] == "Authentication failed at the LLM endpoint (401)"
    assert "sk-proj" not in json.dumps(job)
