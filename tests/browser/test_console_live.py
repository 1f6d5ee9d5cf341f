"""The console is live for jobs started anywhere (issue 23): one tenant-wide stream carries new jobs
and their changes and the fleet's counts, so a job started from the API, or by the job page's
Retry, shows in the list at once, the header's counts move with it, and nothing is re-polled
while the stream is open. In headless Chromium against the live stack."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import Browser, Page, Request, expect

from ..support.api import bearer, finished_now, new_key
from ..support.servers import WebServer

TIMEOUT_MS = 30_000

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("workers")]
expect.set_options(timeout=TIMEOUT_MS)

#: When each row of the jobs list first showed (performance.now() and the page's clock).
RECORD_ARRIVALS = """
    window.__arrived = {};
    new MutationObserver(() => {
      for (const row of document.querySelectorAll("#jobs li")) {
        window.__arrived[row.dataset.job] ||= Date.now();
      }
    }).observe(document, {subtree: true, childList: true});
"""


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1366, "height": 900})
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    page.add_init_script(RECORD_ARRIVALS)
    yield page
    context.close()


def test_jobs_started_from_the_api_show_at_once_and_nothing_is_polled_while_the_stream_is_open(
    page: Page, web: WebServer
) -> None:
    key = new_key(web, f"live-{uuid.uuid4().hex[:6]}")
    polls: list[str] = []

    def count_polls(request: Request) -> None:
        path = request.url.split(web.base_url, 1)[-1]
        if request.method == "GET" and re.match(r"^/(jobs\?|worker/status)", path):
            polls.append(path)

    page.goto(f"{web.base_url}/#key={key}")
    expect(page.locator("#app")).to_be_visible()
    expect(page.locator("#jobs")).to_have_attribute("data-transport", "sse")
    expect(page.locator("#fleet")).to_contain_text("0 running")
    page.on("request", count_polls)

    # Started from the API (not this page): the row comes by the tenant's stream.
    latencies = []
    for _ in range(3):
        sent = time.time() * 1000
        response = httpx.post(f"{web.base_url}/jobs/quick_steps", json={"steps": 2}, headers=bearer(key))
        job_id = response.json()["job_id"]
        row = page.locator(f"#jobs li[data-job='{job_id}']")
        expect(row).to_be_visible()
        expect(row).to_have_attribute("data-status", "SUCCESS")
        latencies.append(page.evaluate(f"window.__arrived[{job_id!r}]") - sent)
        assert finished_now(web.base_url, job_id, bearer(key))["status"] == "SUCCESS"
    print(f"API job to console row: {', '.join(f'{ms:.0f} ms' for ms in latencies)}")

    # A job that waits: the header's counts move without a poll.
    slow = httpx.post(f"{web.base_url}/jobs/busy", json={"seconds": 30}, headers=bearer(key)).json()["job_id"]
    expect(page.locator(f"#jobs li[data-job='{slow}']")).to_have_attribute("data-status", "STARTED")
    expect(page.locator("#fleet")).to_contain_text("1 running")
    httpx.post(f"{web.base_url}/jobs/{slow}/cancel", headers=bearer(key))
    expect(page.locator(f"#jobs li[data-job='{slow}']")).to_have_attribute("data-status", "CANCELLED")
    expect(page.locator("#fleet")).to_contain_text("0 running")
    assert polls == [], f"nothing is re-polled while the stream is open: {polls}"


def test_the_job_pages_retry_and_jobs_started_meanwhile_are_in_the_list_on_coming_back(
    page: Page, web: WebServer
) -> None:
    key = new_key(web, f"back-{uuid.uuid4().hex[:6]}")
    failed = httpx.post(
        f"{web.base_url}/jobs/always_fails", json={"reason": "no"}, headers=bearer(key)
    ).json()
    assert finished_now(web.base_url, failed["job_id"], bearer(key))["status"] == "FAILURE"
    page.goto(f"{web.base_url}/#key={key}&job={failed['job_id']}")
    expect(page.locator("#job-view")).to_have_attribute("data-status", "FAILURE")
    # While the job's page is open, a job starts from the API.
    other = httpx.post(f"{web.base_url}/jobs/quick_steps", json={"steps": 1}, headers=bearer(key)).json()[
        "job_id"
    ]
    page.get_by_role("button", name="Retry").click()
    expect(page.locator("#job-fields a.retry-of")).to_have_text(failed["job_id"])
    retry_id = page.locator("#job-view").get_attribute("data-job")
    page.locator("#back").click()
    for job_id in (other, retry_id, failed["job_id"]):
        expect(page.locator(f"#jobs li[data-job='{job_id}']")).to_be_visible()
