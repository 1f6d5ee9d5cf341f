"""The browser side in real headless Chromium (Debian's package, driven by Playwright) against the
live stack: the console at / (its jobs list and job page), the polling fallback, cancelling, and
useAsyncJob in a React page served from another origin. Screenshots go to var/screenshots/."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import redis
from playwright.sync_api import Browser, Page, expect

from ..support.api import bearer
from ..support.jobs import gate_key
from ..support.servers import RedisServer, WebServer
from .pages import shot, upload_three_contracts

TIMEOUT_MS = 30_000

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("workers")]
expect.set_options(timeout=TIMEOUT_MS)


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1100, "height": 900})
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    # Every status each job row shows, in order, as the page shows them.
    page.add_init_script("""
        window.__statuses = {};
        new MutationObserver(() => {
          for (const row of document.querySelectorAll("#jobs li")) {
            const seen = (window.__statuses[row.dataset.job] ||= []);
            const status = row.querySelector(".job-status").textContent;
            const message = row.querySelector(".job-message").textContent;
            const last = seen[seen.length - 1];
            if (!last || last[0] !== status || last[1] !== message) seen.push([status, message]);
          }
        }).observe(document, {subtree: true, childList: true, characterData: true, attributes: true});
    """)
    yield page
    context.close()


def open_dashboard(page: Page, web: WebServer, key: str) -> None:
    """The dashboard, logged in with a login link (the key rides in the fragment)."""
    page.goto(f"{web.base_url}/#key={key}")
    expect(page.locator("#app")).to_be_visible()
    assert "key=" not in page.url, "the key left the address bar"


def test_a_job_started_from_the_page_shows_every_state_and_its_results(
    page: Page, web: WebServer, tmp_path: Path, api_key: str
) -> None:
    open_dashboard(page, web, api_key)
    expect(page.locator("#fleet")).to_contain_text("worker")
    expect(page.locator("#fleet")).to_contain_text("waiting")
    shot(page, "1-dashboard")
    upload_three_contracts(page, tmp_path, f"browser-{uuid.uuid4().hex[:6]}")
    page.fill("#criterion", "Invoices are paid within 30 days")
    page.get_by_role("button", name="Score contracts").click()
    row = page.locator("#jobs li", has_text="Score ·").first  # above the upload's extract_documents job
    expect(row).to_have_attribute("data-status", "SUCCESS")
    shot(page, "2-scored")
    statuses = page.evaluate(f"window.__statuses[{row.get_attribute('data-job')!r}]")
    order = [status for status, _ in statuses]
    assert order.index("PENDING") < order.index("STARTED") < order.index("SUCCESS"), statuses
    assert any(message.startswith("Scoring 1/3") for _, message in statuses), "progress was shown"
    assert page.locator("#jobs").get_attribute("data-transport") == "sse"  # the tenant's stream
    expect(row.get_by_role("button", name="Cancel")).to_have_count(0)  # finished: nothing to cancel
    row.locator("a.job-title").click()
    expect(page.locator("#job-view")).to_have_attribute("data-status", "SUCCESS")
    table = page.locator("#job-result table").first
    expect(table).to_contain_text("lease.txt")
    first_row = table.locator("tr").nth(1)
    expect(first_row).to_contain_text("lease.txt")  # sorted by score: the one that states it first
    expect(first_row).to_contain_text("within 30 days")


def test_with_streams_blocked_the_page_completes_by_polling(
    page: Page, web: WebServer, tmp_path: Path, api_key: str
) -> None:
    page.route("**/events*", lambda route: route.abort())  # a proxy that kills event streams
    open_dashboard(page, web, api_key)
    upload_three_contracts(page, tmp_path, f"fallback-{uuid.uuid4().hex[:6]}")
    page.get_by_role("button", name="Audit contracts").click()
    row = page.locator("#jobs li", has_text="Audit ·").first
    expect(row).to_have_attribute("data-status", "SUCCESS")
    assert page.locator("#jobs").get_attribute("data-transport") == "poll"
    row.locator("a.job-title").click()
    expect(page.locator("#job-result")).to_contain_text("items found")
    expect(page.locator("#job-result .checklist").first).to_contain_text("missing")
    shot(page, "3-polling-fallback")


def test_a_job_cancelled_from_the_page_shows_cancelled(
    page: Page, web: WebServer, redis_client: redis.Redis, api_key: str
) -> None:
    gate = f"page-{uuid.uuid4()}"
    body = {"gate": gate, "steps": 3}
    job_id = httpx.post(f"{web.base_url}/jobs/gated_steps", json=body, headers=bearer(api_key)).json()[
        "job_id"
    ]
    open_dashboard(page, web, api_key)  # the list shows the job, and follows it
    row = page.locator(f"#jobs li[data-job='{job_id}']")
    expect(row).to_have_attribute("data-status", "STARTED")
    row.get_by_role("button", name="Cancel").click()
    expect(row).to_have_attribute("data-status", "CANCELLED")
    expect(row.locator(".job-status")).to_have_text("CANCELLED")
    expect(row.get_by_role("button", name="Cancel")).to_have_count(0)  # no dead button left
    expect(row.locator("progress")).to_be_hidden()  # no bar that looks like it still runs
    shot(page, "4-cancelled")
    redis_client.rpush(gate_key(gate), 1, 1, 1)


def test_the_page_fits_a_phone(browser: Browser, web: WebServer, api_key: str) -> None:
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    page = context.new_page()
    open_dashboard(page, web, api_key)
    expect(page.locator("#fleet")).to_contain_text("worker")
    expect(page.locator("#jobs-view")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390, "no sideways scrolling"
    shot(page, "5-phone")
    context.close()


# -- useAsyncJob in a React page on another origin --------------------------------------------------


@pytest.fixture(scope="module")
def cors_web(redis_server: RedisServer, page_origin: str) -> Iterator[WebServer]:
    server = WebServer(redis_server, CORS_ORIGINS=page_origin)
    yield server
    server.stop()


def test_use_async_job_runs_a_job_in_a_react_page_across_origins(
    browser: Browser, cors_web: WebServer, page_origin: str, api_key: str
) -> None:
    page = browser.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    page.goto(f"{page_origin}/react-page.html?api={cors_web.base_url}#key={api_key}")
    page.click("#start")
    expect(page.locator("#result")).to_have_text('{"steps":3,"result":"from react"}')
    expect(page.locator("#loading")).to_have_text("false")
    seen = page.locator("#seen").text_content() or ""
    assert seen.split()[-1] == "SUCCESS" and "PENDING" in seen, seen
    page.click("#start-slow")
    expect(page.locator("#status")).to_have_text("STARTED")
    page.click("#cancel")
    expect(page.locator("#status")).to_have_text("CANCELLED")
    expect(page.locator("#error")).to_have_text("Job cancelled")
    page.close()


def test_an_origin_not_on_the_list_gets_no_cors_headers(cors_web: WebServer, page_origin: str) -> None:
    allowed = httpx.get(f"{cors_web.base_url}/worker/status", headers={"Origin": page_origin})
    assert allowed.headers["access-control-allow-origin"] == page_origin
    refused = httpx.get(f"{cors_web.base_url}/worker/status", headers={"Origin": "http://evil.example"})
    assert "access-control-allow-origin" not in refused.headers
    preflight = httpx.options(
        f"{cors_web.base_url}/jobs/quick_steps",
        headers={
            "Origin": page_origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type, idempotency-key",
        },
    )
    assert preflight.status_code == 200
    assert "POST" in preflight.headers["access-control-allow-methods"]
    assert "Idempotency-Key" in preflight.headers["access-control-allow-headers"]


def test_many_jobs_share_one_event_stream(
    page: Page, web: WebServer, redis_client: redis.Redis, api_key: str
) -> None:
    gate = f"many-{uuid.uuid4()}"
    job_ids = [
        httpx.post(
            f"{web.base_url}/jobs/gated_steps", json={"gate": gate, "steps": 1}, headers=bearer(api_key)
        ).json()["job_id"]
        for _ in range(8)
    ]
    streams: list[str] = []
    page.on("request", lambda request: "/events" in request.url and streams.append(request.url))
    open_dashboard(page, web, api_key)
    for job_id in job_ids:  # more jobs than the six connections a browser allows per origin: listed, followed
        expect(page.locator(f"#jobs li[data-job='{job_id}']")).to_have_attribute(
            "data-status", re.compile("PENDING|STARTED")
        )
    redis_client.rpush(gate_key(gate), *[1] * len(job_ids))
    for job_id in job_ids:
        expect(page.locator(f"#jobs li[data-job='{job_id}']")).to_have_attribute("data-status", "SUCCESS")
    expect(page.locator("#fleet")).to_contain_text("worker")  # the page still gets through
    # One stream for them all: the tenant's (it carries every job of the tenant), opened once.
    assert streams == [f"{web.base_url}/tenant/events"], streams


def test_the_docs_page_renders_the_api_from_this_server_alone(
    page: Page, web: WebServer, api_key: str
) -> None:
    """/docs draws /openapi.json with the Redoc shipped here, and fetches nothing from elsewhere:
    its policy makes the browser block the logo Redoc asks its maker's server for."""
    here = (web.base_url, f"blob:{web.base_url}")  # Redoc's own workers are blobs of the page
    fetched: list[str] = []
    refused: dict[str, str | None] = {}
    page.on("requestfinished", lambda request: fetched.append(request.url))
    page.on("requestfailed", lambda request: refused.setdefault(request.url, request.failure))
    open_dashboard(page, web, api_key)  # the docs, like everything, are a logged-in caller's
    page.goto(f"{web.base_url}/docs")
    # Each operation's heading in the page (the menu folds them into their tags).
    expect(page.get_by_role("heading", name="Start a score_contracts job.")).to_be_visible()
    expect(page.get_by_role("heading", name="Upload documents into a workspace.")).to_be_visible()
    assert f"{web.base_url}/openapi.json" in fetched
    assert [url for url in fetched if not url.startswith(here)] == []
    elsewhere = {url: why for url, why in refused.items() if not url.startswith(here)}
    assert all(why == "csp" for why in elsewhere.values()), elsewhere
