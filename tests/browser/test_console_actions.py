"""What Flower and Temporal users ask of a console (issue 23), in headless Chromium against the live
stack: search with the filters, bulk retry and cancel by filter after a confirmation that says how
many, Retry offered only where it can work, and a viewer key's console that offers no action."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import Browser, Dialog, Page, expect

from ..support.api import ADMIN, bearer, finished_now, new_key
from ..support.servers import WebServer

TIMEOUT_MS = 30_000

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("workers")]
expect.set_options(timeout=TIMEOUT_MS)


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1366, "height": 900})
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    yield page
    context.close()


def start(web: WebServer, key: str, job_type: str, **payload: object) -> str:
    response = httpx.post(f"{web.base_url}/jobs/{job_type}", json=payload, headers=bearer(key))
    assert response.status_code == 202, response.text
    return response.json()["job_id"]


def finished(web: WebServer, key: str, job_id: str) -> str:
    return finished_now(web.base_url, job_id, bearer(key))["status"]


def test_search_with_a_filter_then_retry_every_failed_job_after_a_confirmation(
    page: Page, web: WebServer
) -> None:
    key = new_key(web, f"bulk-{uuid.uuid4().hex[:6]}")
    failed = [start(web, key, "always_fails", reason=f"walrus {n}") for n in range(2)]
    other = start(web, key, "always_fails", reason="penguin")
    done = start(web, key, "quick_steps", steps=1, result="walrus too")
    assert [finished(web, key, job_id) for job_id in [*failed, other, done]] == ["FAILURE"] * 3 + ["SUCCESS"]
    page.goto(f"{web.base_url}/#key={key}")
    expect(page.locator("#jobs li")).to_have_count(4)

    # Search: the error text and the result match; the status filter narrows it to the failures.
    page.fill("#search", "walrus")
    page.press("#search", "Enter")
    expect(page.locator("#jobs li")).to_have_count(3)
    page.locator("#filter-status").get_by_label("FAILURE").check()
    expect(page.locator("#jobs li")).to_have_count(2)
    for job_id in failed:
        expect(page.locator(f"#jobs li[data-job='{job_id}']")).to_be_visible()

    # Retry them all: the confirmation counts them first; the new jobs show in the list.
    asked: list[str] = []

    def accept(dialog: Dialog) -> None:
        asked.append(dialog.message)
        dialog.accept()

    page.once("dialog", accept)
    page.get_by_role("button", name="Retry matching…").click()
    expect(page.locator("#bulk-note")).to_have_text("2 jobs retried.")
    assert asked and "Retry 2 jobs" in asked[0], asked
    for job_id in failed:
        snapshot = httpx.get(f"{web.base_url}/jobs/{job_id}", headers=bearer(key)).json()
        assert snapshot["retried_by"], "each failed job was run again"
    penguin = httpx.get(f"{web.base_url}/jobs/{other}", headers=bearer(key)).json()
    assert not penguin.get("retried_by"), "what the search left out is left alone"


def test_cancel_matching_says_how_many_and_stops_them(page: Page, web: WebServer) -> None:
    key = new_key(web, f"cancel-{uuid.uuid4().hex[:6]}")
    busy = [start(web, key, "busy", seconds=60) for _ in range(2)]
    page.goto(f"{web.base_url}/#key={key}")
    for job_id in busy:
        expect(page.locator(f"#jobs li[data-job='{job_id}']")).to_be_visible()
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Cancel matching…").click()
    expect(page.locator("#bulk-note")).to_have_text("2 jobs cancelled.")
    for job_id in busy:
        assert finished(web, key, job_id) == "CANCELLED"
        expect(page.locator(f"#jobs li[data-job='{job_id}']")).to_have_attribute("data-status", "CANCELLED")


def test_retry_is_offered_only_where_it_can_work_and_a_viewer_is_offered_no_action(
    page: Page, web: WebServer
) -> None:
    tenant = f"viewer-{uuid.uuid4().hex[:6]}"
    key = new_key(web, tenant)
    # An upload's reading job cannot run again (its files are not kept as arguments).
    upload = httpx.post(
        f"{web.base_url}/workspaces/ws/documents",
        files={"file": ("nda.txt", b"This Agreement is governed by the laws of New York.")},
        headers=bearer(key),
    )
    extract = upload.json()["job_id"]
    assert finished(web, key, extract) == "SUCCESS"
    page.goto(f"{web.base_url}/#key={key}&job={extract}")
    expect(page.locator("#job-view")).to_have_attribute("data-status", "SUCCESS")
    expect(page.locator("#job-actions")).to_contain_text("cannot run again")
    expect(page.get_by_role("button", name="Retry")).to_have_count(0)
    page.get_by_role("button", name="Log out").click()
    expect(page.locator("#login")).to_be_visible()

    # A viewer key: everything shows, nothing can be changed from the console.
    failed = start(web, key, "always_fails")
    assert finished(web, key, failed) == "FAILURE"
    response = httpx.post(
        f"{web.base_url}/admin/tenants/{tenant}/keys", json={"role": "viewer"}, headers=ADMIN
    )
    viewer = response.json()["key"]
    page.goto(f"{web.base_url}/#key={viewer}")
    expect(page.locator("#tenant")).to_have_text(f"Tenant {tenant} (read only)")
    expect(page.locator(f"#jobs li[data-job='{failed}']")).to_be_visible()
    for hidden in ("#upload-form", "#score-form", "#bulk-retry", "#bulk-cancel"):
        expect(page.locator(hidden)).to_be_hidden()
    page.locator(f"#jobs li[data-job='{failed}'] a.job-title").click()
    expect(page.locator("#job-view")).to_have_attribute("data-status", "FAILURE")
    expect(page.get_by_role("button", name="Retry")).to_have_count(0)
