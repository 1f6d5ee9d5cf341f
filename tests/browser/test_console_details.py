"""The console's first hour, each rough edge a newcomer met (issue 23), in headless Chromium against
the live stack: Score says it started and the new job is in sight, a long workspace does not push
the jobs below the fold, on a phone the jobs come first and a job page opens at its top, finished
rows carry no bar, the file input's label is whole, an upload's words belong to its workspace,
the login card keeps off the screen's edges, and the console links to the API's docs."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from ..support.api import new_key
from ..support.contracts import LEASE, NDA
from ..support.servers import WebServer

TIMEOUT_MS = 30_000
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1366, "height": 900}

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("workers")]
expect.set_options(timeout=TIMEOUT_MS)


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    context = browser.new_context(viewport=DESKTOP)
    context.set_default_timeout(TIMEOUT_MS)
    yield context
    context.close()


def logged_in(context: BrowserContext, web: WebServer) -> Page:
    """A tab on the console of a new tenant of its own."""
    page = context.new_page()
    page.goto(f"{web.base_url}/#key={new_key(web, f'first-{uuid.uuid4().hex[:6]}')}")
    expect(page.locator("#app")).to_be_visible()
    return page


def upload(page: Page, tmp_path: Path, workspace: str, files: dict[str, str]) -> None:
    paths = []
    for name, text in files.items():
        (tmp_path / name).write_text(text)
        paths.append(str(tmp_path / name))
    page.fill("#workspace", workspace)
    page.locator("#workspace").dispatch_event("change")
    page.set_input_files("#files", paths)
    page.get_by_role("button", name="Upload", exact=True).click()
    expect(page.locator("#upload-status")).to_have_text(
        f"Added {len(files)} document{'s' * (len(files) > 1)}."
    )


def top_of(page: Page, selector: str) -> float:
    return page.locator(selector).evaluate("node => node.getBoundingClientRect().top + window.scrollY")


def test_score_says_it_started_and_the_new_job_is_in_sight_above_a_long_workspace(
    context: BrowserContext, web: WebServer, tmp_path: Path
) -> None:
    page = logged_in(context, web)
    upload(page, tmp_path, "many", {f"contract-{n:02}.txt": f"{LEASE}\nSchedule {n}." for n in range(40)})
    documents = page.locator("#documents li")
    expect(documents).to_have_count(9)  # eight, then "Show all 40 documents"
    page.get_by_role("button", name="Show all 40 documents").click()
    expect(documents).to_have_count(40)
    page.get_by_role("button", name="Score contracts").click()
    status = page.locator("#start-status")
    expect(status).to_contain_text("Score job")
    expect(status).to_contain_text("started")
    newest = page.locator("#jobs li").first
    expect(newest).to_contain_text("Score ·")
    expect(newest).to_be_in_viewport()

    # On a phone the jobs come first, and a job's page opens at its top, not mid-timeline.
    page.set_viewport_size(PHONE)
    page.evaluate("window.scrollTo(0, 0)")
    assert top_of(page, "#jobs") < PHONE["height"], "the jobs list starts on the first screen"
    page.evaluate("window.scrollTo(0, document.body.scrollHeight)")
    page.locator("#jobs li a.job-title").last.click()
    expect(page.locator("#job-view")).to_be_visible()
    expect(page.locator("#job-title")).to_be_in_viewport()
    assert page.evaluate("window.scrollY") == 0


def test_finished_rows_have_no_bar_and_an_upload_says_its_words_in_its_own_workspace(
    context: BrowserContext, web: WebServer, tmp_path: Path
) -> None:
    page = logged_in(context, web)
    # The file input is wide enough for its own words ("No file chosen"), on a desk and a phone.
    for viewport in (DESKTOP, PHONE):
        page.set_viewport_size(viewport)
        assert page.locator("#files").evaluate("node => node.getBoundingClientRect().width") >= 200
    page.set_viewport_size(DESKTOP)
    upload(page, tmp_path, "one", {"nda.txt": NDA})
    extract = page.locator("#jobs li", has_text="Extract ·").first
    expect(extract).to_have_attribute("data-status", "SUCCESS")
    expect(extract.locator("progress")).to_be_hidden()
    # Another workspace: what the upload said was the first one's.
    page.fill("#workspace", "two")
    page.locator("#workspace").dispatch_event("change")
    expect(page.locator("#upload-status")).to_have_text("")
    expect(page.locator("#documents")).to_contain_text("No documents yet")


def test_the_login_card_keeps_off_the_edges_and_the_console_links_to_the_docs(
    context: BrowserContext, web: WebServer
) -> None:
    page = context.new_page()
    page.set_viewport_size(PHONE)
    page.goto(web.base_url)
    card = page.locator("#login")
    expect(card).to_be_visible()
    box = card.bounding_box()
    assert box and box["x"] >= 8 and box["x"] + box["width"] <= PHONE["width"] - 8
    page.close()
    console = logged_in(context, web)
    docs = console.get_by_role("link", name="API docs")
    expect(docs).to_have_attribute("href", "/docs")
    docs.click()
    expect(console).to_have_url(f"{web.base_url}/docs")
