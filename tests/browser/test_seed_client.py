"""The polling guide's own client code, in Chromium, against the stack: it must survive what a
real deployment does to it. Here Redis restarts (3 s down) while the page polls, on a stack of its
own (a persistent Redis, so the job outlives the restart, as a production Redis's would)."""

from __future__ import annotations

import time
import uuid

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from ..support.api import bearer
from ..support.contracts import LEASE, NDA
from ..support.fixtures import StackOptions
from ..support.servers import RedisServer, ServiceProcess, WebServer, start_workers

pytestmark = pytest.mark.browser
TIMEOUT_MS = 60_000
expect.set_options(timeout=TIMEOUT_MS)
#: How long Redis stays down: the fault, not a wait for anything.
REDIS_DOWN_S = 3.0


@pytest.fixture(scope="module")
def stack_options(page_origin: str) -> StackOptions:
    """A persistent Redis (the job outlives the restart), and the pages' origin allowed (CORS)."""
    return StackOptions(persistent_redis=True, settings={"CORS_ORIGINS": page_origin})


def workspace_with_contracts(web: WebServer, redis_server: RedisServer, key: str) -> str:
    """A workspace of two contracts, read by a worker that then stops."""
    workspace = f"seed-{uuid.uuid4().hex[:8]}"
    worker = start_workers(redis_server, threads=1)
    try:
        with httpx.Client(base_url=web.base_url, headers=bearer(key), timeout=60) as client:
            files = [("file", ("lease.txt", LEASE.encode())), ("file", ("nda.txt", NDA.encode()))]
            sent = client.post(f"/workspaces/{workspace}/documents", files=files)
            assert sent.status_code == 202, sent.text
            job = client.get(f"/jobs/{sent.json()['job_id']}").json()
            while job["status"] not in ("SUCCESS", "FAILURE"):  # long-polls: each answers on a change
                job = client.get(f"/jobs/{job['job_id']}", params={"wait": 30, "since": job["seq"]}).json()
            assert job["status"] == "SUCCESS", job
    finally:
        worker.stop()
    return workspace


def open_seed_page(browser: Browser, web: WebServer, page_origin: str, key: str, workspace: str) -> Page:
    """The guide's page, polling every 250 ms (240 times) for jobs of ``workspace``."""
    page = browser.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    query = f"api={web.base_url}&workspace={workspace}&interval=250&attempts=240"
    page.goto(f"{page_origin}/seed-page.html?{query}#key={key}")
    return page


def test_the_guides_score_then_poll_succeeds_across_a_redis_restart(
    browser: Browser, redis_server: RedisServer, web: WebServer, api_key: str, page_origin: str
) -> None:
    page = open_seed_page(
        browser, web, page_origin, api_key, workspace_with_contracts(web, redis_server, api_key)
    )
    page.click("#score")
    expect(page.locator("#seen")).to_have_text("PENDING")  # no worker runs: it waits
    assert "/jobs/" in (page.locator("#location").text_content() or ""), "headers['location'], as axios gives"

    redis_server.stop()
    time.sleep(REDIS_DOWN_S)  # the outage itself; every poll meanwhile fails (503 or no answer)
    redis_server.start()
    worker: ServiceProcess = start_workers(redis_server, threads=1)
    try:
        expect(page.locator("#result")).to_have_text("2 contract(s) scored")
    finally:
        worker.stop()
    assert page.locator("#error").text_content() == "", "a failed poll is not the job's failure"
    assert (page.locator("#seen").text_content() or "").split() in (
        ["PENDING", "STARTED", "SUCCESS"],
        ["PENDING", "SUCCESS"],  # the run fell between two polls
    )
    page.close()


def test_a_cancelled_job_reaches_the_guides_on_error_as_job_cancelled(
    browser: Browser, redis_server: RedisServer, web: WebServer, api_key: str, page_origin: str
) -> None:
    page = open_seed_page(
        browser, web, page_origin, api_key, workspace_with_contracts(web, redis_server, api_key)
    )
    page.click("#score")  # no worker runs: the job waits, and is cancelled while it does
    expect(page.locator("#location")).to_contain_text("/jobs/")
    job_path = page.locator("#location").text_content() or ""
    job_url = job_path if job_path.startswith("http") else f"{web.base_url}{job_path}"
    cancelled = httpx.post(f"{job_url}/cancel", headers=bearer(api_key), timeout=30)
    assert cancelled.status_code == 200, cancelled.text
    expect(page.locator("#error")).to_have_text("Job cancelled")
    assert page.locator("#result").text_content() == ""
    page.close()
