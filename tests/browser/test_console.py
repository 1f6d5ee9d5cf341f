"""The operations console at / walked end to end in headless Chromium against the live stack: log in
with a link, upload contracts, start jobs and watch them in the jobs list, read a job's page (its
timeline and result), cancel a running job, retry a failed one, filter, and reload into the same
view. Screenshots go to var/screenshots/ (the best are copied to docs/console-*.png)."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from ..support.api import ADMIN, bearer, finished_now
from ..support.contracts import NDA
from ..support.servers import WebServer
from .pages import shot, upload_three_contracts

TIMEOUT_MS = 30_000

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("workers")]
expect.set_options(timeout=TIMEOUT_MS)

#: Every status and message each row of the jobs list shows, in order.
RECORD_ROWS = """
    window.__rows = {};
    new MutationObserver(() => {
      for (const row of document.querySelectorAll("#jobs li")) {
        const seen = (window.__rows[row.dataset.job] ||= []);
        const entry = [row.dataset.status, row.querySelector(".job-message").textContent,
                       row.querySelector("progress").value];
        const last = seen[seen.length - 1];
        if (!last || last[0] !== entry[0] || last[1] !== entry[1]) seen.push(entry);
      }
    }).observe(document, {subtree: true, childList: true, characterData: true, attributes: true});
"""


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    page.add_init_script(RECORD_ROWS)
    yield page
    context.close()


def row_of(page: Page, job_id: str):
    return page.locator(f"#jobs li[data-job='{job_id}']")


def login(page: Page, web: WebServer, key: str) -> None:
    page.goto(f"{web.base_url}/#key={key}")
    expect(page.locator("#app")).to_be_visible()
    assert "key=" not in page.url


def test_the_console_walks_through_jobs_workers_and_workspaces(
    page: Page, web: WebServer, tmp_path: Path, api_key: str
) -> None:
    base = web.base_url
    # Log in with the link; the key leaves the address bar at once.
    page.goto(f"{base}/#key={api_key}")
    expect(page.locator("#app")).to_be_visible()
    assert "key=" not in page.url
    fleet = page.locator("#fleet")
    expect(fleet).to_have_text(re.compile(r"^\d+ workers? · \d+ threads? · \d+ running · \d+ waiting"))
    expect(page.locator("#workers li").first).to_contain_text("threads")
    expect(page.locator("#workers li").first).to_contain_text("heartbeat")

    # Upload three contracts: a new workspace, read by an extract_documents job the list shows.
    workspace = f"console-{uuid.uuid4().hex[:6]}"
    upload_three_contracts(page, tmp_path, workspace)
    expect(page.locator("#workspaces").get_by_role("button", name=f"{workspace} (3)")).to_be_visible()
    extract = page.locator("#jobs li", has_text="Extract ·").first
    expect(extract).to_have_attribute("data-status", "SUCCESS")

    # Start a score and an audit job; the list follows both live.
    page.get_by_role("button", name="Score contracts").click()
    score = page.locator("#jobs li", has_text="Score ·").first
    expect(score).to_be_visible()
    page.get_by_role("button", name="Audit contracts").click()
    audit = page.locator("#jobs li", has_text="Audit ·").first
    expect(audit).to_be_visible()
    expect(score).to_have_attribute("data-status", "SUCCESS")
    expect(audit).to_have_attribute("data-status", "SUCCESS")
    score_id = score.get_attribute("data-job")
    audit_id = audit.get_attribute("data-job")
    seen = page.evaluate(f"window.__rows[{score_id!r}]")
    statuses = [status for status, _, _ in seen]
    assert statuses.index("PENDING") < statuses.index("STARTED") < statuses.index("SUCCESS"), seen
    assert any(message.startswith("Scoring 2/3") for _, message, _ in seen), "progress was shown live"
    expect(score.locator("progress")).to_be_hidden()  # a finished row has no bar: its badge says how it ended
    expect(score.get_by_role("button", name="Cancel")).to_have_count(0)
    expect(score).to_contain_text(workspace)
    expect(score.locator(".job-duration")).to_have_attribute("title", re.compile(r"^took \d"))

    # The score job's page: its arguments, its timeline from the first event, its ranked result.
    score.locator("a.job-title").click()
    expect(page).to_have_url(re.compile(f"job={score_id}"))
    view = page.locator("#job-view")
    expect(view).to_have_attribute("data-status", "SUCCESS")
    expect(page.locator("#job-arguments")).to_contain_text("Invoices are paid within 30 days")
    timeline = page.locator("#timeline li")
    expect(timeline.first).to_contain_text("PENDING")
    expect(page.locator("#timeline li[data-kind='status']", has_text="STARTED")).to_have_count(1)
    expect(page.locator("#timeline li", has_text="Scoring 1/3")).to_have_count(1)
    expect(timeline.last).to_contain_text("SUCCESS")
    times = page.locator("#timeline li time").all_text_contents()
    assert times and "·" not in times, "every event, replayed or live, shows when it happened"
    first_ranked = page.locator("#job-result table tbody tr").first
    expect(first_ranked).to_contain_text("lease.txt")
    expect(first_ranked).to_contain_text("within 30 days")
    expect(page.locator("#job-fields")).to_contain_text("Worker")
    expect(page.get_by_role("button", name="Retry")).to_be_visible()
    shot(page, "console-2-job")

    # The audit job's page, opened by its id from the search box: per contract, items found and missing.
    page.locator("#back").click()
    page.fill("#watch-id", audit_id)
    page.get_by_role("button", name="Open", exact=True).click()
    expect(view).to_have_attribute("data-job", audit_id)
    expect(page.locator("#job-result .audit", has_text="lease.txt")).to_contain_text("items found")
    expect(page.locator("#job-result .checklist li[data-found='no']").first).to_contain_text("missing")

    # A long job, cancelled from its page while it runs: it then offers a retry, not a cancel.
    busy_id = httpx.post(f"{base}/jobs/busy", json={"seconds": 60}, headers=bearer(api_key)).json()["job_id"]
    page.goto(f"{base}/#job={busy_id}")
    expect(view).to_have_attribute("data-job", busy_id)
    expect(view).to_have_attribute("data-status", "STARTED")
    expect(page.locator("#job-fields")).to_contain_text("running for")
    page.get_by_role("button", name="Cancel").click()
    expect(view).to_have_attribute("data-status", "CANCELLED")
    expect(page.get_by_role("button", name="Cancel")).to_have_count(0)
    expect(page.get_by_role("button", name="Retry")).to_be_visible()
    expect(page.locator("#job-progress")).to_be_hidden()
    expect(page.locator("#timeline li").last).to_contain_text("CANCELLED")

    # A job that fails (twice: it has a retry of its own); the list shows its error as an error.
    failed = httpx.post(
        f"{base}/jobs/always_fails", json={"reason": "no such clause"}, headers=bearer(api_key)
    )
    failed_id = failed.json()["job_id"]
    assert finished_now(base, failed_id, bearer(api_key))["status"] == "FAILURE"
    page.locator("#back").click()
    page.get_by_role("button", name="Refresh").click()
    failed_row = row_of(page, failed_id)
    expect(failed_row).to_have_attribute("data-status", "FAILURE")
    expect(failed_row.locator(".job-error")).to_have_text("✖ Error — ValueError: no such clause")
    expect(failed_row.locator(".job-meta")).to_contain_text("attempt 2")
    expect(failed_row.locator("progress")).to_be_hidden()
    expect(failed_row.get_by_role("button", name="Cancel")).to_have_count(0)
    cancelled_row = row_of(page, busy_id)
    expect(cancelled_row).to_have_attribute("data-status", "CANCELLED")
    expect(cancelled_row.locator("progress")).to_be_hidden()
    expect(cancelled_row.get_by_role("button", name="Cancel")).to_have_count(0)
    shot(page, "console-1-jobs")

    # Retry it from its page: the new job opens, linked both ways.
    failed_row.locator("a.job-title").click()
    expect(page.locator("#job-error")).to_have_text("✖ Failed — ValueError: no such clause")
    expect(page.locator("#job-error")).to_have_attribute("role", "alert")
    page.get_by_role("button", name="Retry").click()
    expect(view).not_to_have_attribute("data-job", failed_id)
    retry_id = view.get_attribute("data-job")
    assert retry_id and f"job={retry_id}" in page.url
    expect(page.locator("#job-fields a.retry-of")).to_have_text(failed_id)
    expect(view).to_have_attribute("data-status", "FAILURE")
    page.locator("#job-fields a.retry-of").click()
    expect(view).to_have_attribute("data-job", failed_id)
    expect(page.locator("#job-fields a.retried-by")).to_have_text(retry_id)

    # Filters live in the address bar: failed jobs only, one of them open; a reload restores both.
    page.locator("#back").click()
    page.locator("#filter-status").get_by_label("FAILURE").check()
    expect(page).to_have_url(re.compile("status=FAILURE"))
    expect(row_of(page, retry_id)).to_be_visible()
    expect(row_of(page, score_id)).to_have_count(0)
    expect(page.locator("#jobs li:not([data-status='FAILURE'])")).to_have_count(0)
    row_of(page, retry_id).locator("a.job-title").click()
    expect(view).to_have_attribute("data-job", retry_id)
    page.reload()
    expect(view).to_have_attribute("data-job", retry_id)
    expect(view).to_have_attribute("data-status", "FAILURE")
    expect(page.locator("#job-fields a.retry-of")).to_have_text(failed_id)
    expect(page.locator("#filter-status").get_by_label("FAILURE")).to_be_checked()
    expect(page.locator("#workspace")).to_have_value(workspace)  # the chosen workspace is remembered
    page.locator("#back").click()
    expect(row_of(page, failed_id)).to_be_visible()
    expect(page.locator("#jobs li:not([data-status='FAILURE'])")).to_have_count(0)

    # The workspace's jobs: its link filters the list by workspace (and the other filter goes).
    page.locator("#filter-status").get_by_label("FAILURE").uncheck()
    page.get_by_role("link", name="This workspace's jobs").click()
    expect(page).to_have_url(re.compile(f"workspace={workspace}"))
    expect(page.locator("#filter-workspace")).to_have_value(workspace)
    expect(page.locator("#jobs li")).to_have_count(3)  # extract, score, audit
    expect(row_of(page, busy_id)).to_have_count(0)

    # At phone width nothing scrolls sideways.
    page.set_viewport_size({"width": 390, "height": 844})
    page.get_by_role("link", name="This workspace's jobs").click()
    expect(page.locator("#jobs li")).to_have_count(3)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390, "no sideways scrolling"
    shot(page, "console-3-phone")


def test_the_admin_runs_again_and_forgets_dead_letters_and_the_chart_counts_endings(
    page: Page, web: WebServer, api_key: str
) -> None:
    base = web.base_url
    # Two jobs that fail for good (after their one retry): two dead letters; and one that succeeds.
    failed_ids = []
    for reason in ("first letter", "second letter"):
        response = httpx.post(f"{base}/jobs/always_fails", json={"reason": reason}, headers=bearer(api_key))
        failed_ids.append(response.json()["job_id"])
    quick = httpx.post(f"{base}/jobs/quick_steps", json={"steps": 1}, headers=bearer(api_key))
    assert finished_now(base, quick.json()["job_id"], bearer(api_key))["status"] == "SUCCESS"
    for job_id in failed_ids:
        assert finished_now(base, job_id, bearer(api_key))["status"] == "FAILURE"
    run_again_id, forget_id = failed_ids

    login(page, web, api_key)
    chart = page.get_by_role("img", name=re.compile("Jobs ended per minute"))
    expect(chart).to_be_visible()
    expect(page.locator("#ended-summary")).to_contain_text("Last hour:")

    # The admin's disclosure: a wrong token is an error; the admin token shows the queues.
    admin = page.locator("#admin")
    admin.locator("summary").click()
    token = page.get_by_label("Admin token")
    expect(token).to_have_attribute("type", "password")
    token.fill("not-the-admin-token")
    page.get_by_role("button", name="Show queues").click()
    expect(page.locator("#admin-error")).to_contain_text("401")
    expect(page.locator("#admin-error")).to_have_attribute("role", "alert")
    admin_token = ADMIN["Authorization"].removeprefix("Bearer ")
    token.fill(admin_token)
    page.get_by_role("button", name="Show queues").click()
    expect(page.locator("#admin-error")).to_be_empty()
    expect(admin.locator(".worker-jobs li").first).to_contain_text("runs")  # each worker's jobs
    default = admin.locator(".queue[data-queue='default']")
    expect(default.locator(".queue-counts")).to_contain_text("dead letters")
    run_again = default.locator(f"li[data-job='{run_again_id}']")
    forget = default.locator(f"li[data-job='{forget_id}']")
    expect(run_again).to_contain_text("always_fails")
    expect(forget).to_be_visible()
    assert admin_token not in page.url
    assert admin_token not in page.evaluate("JSON.stringify(localStorage) + JSON.stringify(sessionStorage)")

    # Run one again: a new job (this tenant's, so the list shows it), and the letter is gone.
    run_again.get_by_role("button", name="Run again").click()
    expect(run_again).to_contain_text("Started ")
    new_id = run_again.locator("a.started").text_content()
    assert new_id and new_id != run_again_id
    expect(page.locator("#admin-note")).to_contain_text(f"Started {new_id}")
    assert httpx.get(f"{base}/jobs/{new_id}", headers=bearer(api_key)).json()["retry_of"] == run_again_id
    expect(row_of(page, new_id)).to_be_visible()

    # Forget the other: it leaves the page and the queue.
    forget.get_by_role("button", name="Forget").click()
    expect(forget).to_have_count(0)
    expect(page.locator("#admin-note")).to_contain_text(f"Forgot the dead letter of job {forget_id}")
    letters = httpx.get(f"{base}/queues/default/dead-letters", headers=ADMIN).json()["dead_letters"]
    assert {run_again_id, forget_id}.isdisjoint(letter["job_id"] for letter in letters)

    # The chart counts what ended: the quick job's success, the failures.
    summary = page.locator("#ended-summary")
    expect(summary).to_contain_text(re.compile(r"Last hour: [1-9]\d* succeeded, [1-9]\d* failed"))
    expect(chart).to_have_attribute("aria-label", re.compile(r"[1-9]\d* failed"))
    expect(page.locator("#ended-chart .bar.failed").first).to_be_attached()
    expect(page.locator("#ended-chart .bar.succeeded").first).to_be_attached()
    shot(page, "console-4-admin")

    # At phone width the chart and the admin's list fit.
    page.set_viewport_size({"width": 390, "height": 844})
    expect(chart).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390, "no sideways scrolling"
    shot(page, "console-5-admin-phone")


def test_a_workspace_is_deleted_from_the_console(page: Page, web: WebServer, api_key: str) -> None:
    workspace = f"doomed-{uuid.uuid4().hex[:6]}"
    sent = httpx.post(
        f"{web.base_url}/workspaces/{workspace}/documents",
        files=[("file", ("nda.txt", NDA.encode()))],
        headers=bearer(api_key),
        timeout=30,
    )
    assert finished_now(web.base_url, sent.json()["job_id"], bearer(api_key))["status"] == "SUCCESS"
    login(page, web, api_key)
    chip = page.locator(f"#workspaces button[data-workspace='{workspace}']")
    chip.click()
    expect(page.locator("#documents")).to_contain_text("nda.txt")
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Delete workspace").click()
    expect(chip).to_have_count(0)
    expect(page.locator("#workspace-error")).to_have_text("")
    listed = httpx.get(f"{web.base_url}/workspaces", headers=bearer(api_key), timeout=30).json()
    assert workspace not in {w["name"] for w in listed["workspaces"]}


def test_evidence_opens_its_document_at_the_quoted_passage_and_a_resent_upload_adds_nothing(
    page: Page, web: WebServer, tmp_path: Path, api_key: str
) -> None:
    base = web.base_url
    login(page, web, api_key)
    workspace = f"evidence-{uuid.uuid4().hex[:6]}"
    upload_three_contracts(page, tmp_path, workspace)
    # The same files again (a resent request, say): nothing is stored twice.
    page.get_by_role("button", name="Upload", exact=True).click()
    expect(page.locator("#upload-status")).to_have_text(
        "Nothing new. Already in the workspace: lease.txt, supply.txt, nda.txt."
    )
    expect(page.locator("#documents li")).to_have_count(3)

    body = {"criterion": "Invoices are paid within 30 days", "workspace_name": workspace, "max_score": 10}
    score = httpx.post(f"{base}/score", json=body, headers=bearer(api_key), timeout=60).json()
    assert score["status"] == "SUCCESS", score
    [lease] = [c for c in score["result"]["contracts"] if c["filename"] == "lease.txt"]
    best = lease["evidence"][0]
    path = f"{base}/workspaces/{workspace}/documents/{lease['doc_id']}"
    text = httpx.get(path, headers=bearer(api_key), timeout=30).json()["text"]

    # The best evidence is a link to its place in the document: highlighted, scrolled to, focused.
    page.goto(f"{base}/#job={score['job_id']}")
    first_row = page.locator("#job-result table tbody tr").first
    expect(first_row.locator("td.reason")).to_have_text(lease["reason"])  # why, in words
    evidence = first_row.get_by_role("link")
    expect(evidence).to_contain_text("within 30 days")
    evidence.click()
    expect(page).to_have_url(re.compile(f"doc={lease['doc_id']}&span={best['start']}-{best['end']}"))
    expect(page.locator("#job-view")).to_be_hidden()
    expect(page.locator("#document-title")).to_have_text("lease.txt")
    expect(page.locator("#document-fields")).to_contain_text(lease["doc_id"])
    mark = page.locator("#document-text mark")
    expect(mark).to_have_text(text[best["start"] : best["end"]])
    expect(mark).to_contain_text("within 30 days")
    expect(mark).to_be_in_viewport()
    expect(mark).to_be_focused()
    assert page.locator("#document-text").text_content() == text, "the text as read, nothing added"
    shot(page, "console-6-document")
    page.reload()  # the address holds the view
    expect(mark).to_have_text(text[best["start"] : best["end"]])
    page.get_by_role("link", name="← Back to the job").click()
    expect(page.locator("#job-view")).to_have_attribute("data-job", score["job_id"])

    # An audit's evidence too: the first item it found in the lease (the items show in order).
    body = {"workspace_name": workspace}
    audit = httpx.post(f"{base}/audit", json=body, headers=bearer(api_key), timeout=60)
    assert audit.json()["status"] == "SUCCESS", audit.text
    [audited] = [c for c in audit.json()["result"]["contracts"] if c["filename"] == "lease.txt"]
    at, found = next((at, item) for at, item in enumerate(audited["items"]) if item["found"])
    page.goto(f"{base}/#job={audit.json()['job_id']}")
    checklist = page.locator("#job-result .audit", has_text="lease.txt").locator(".checklist li")
    checklist.nth(at).get_by_role("link").click()
    expect(page).to_have_url(re.compile(f"span={found['start']}-{found['end']}"))
    expect(mark).to_have_text(text[found["start"] : found["end"]])

    # From the workspace's documents list: the document's page, nothing highlighted.
    page.locator("#documents").get_by_role("link", name="nda.txt").click()
    expect(page.locator("#document-title")).to_have_text("nda.txt")
    expect(page.locator("#document-text")).to_contain_text("MUTUAL NON-DISCLOSURE AGREEMENT")
    expect(page.locator("#document-text mark")).to_have_count(0)


def test_a_workspace_named_while_the_console_loads_is_kept(page: Page, web: WebServer, api_key: str) -> None:
    """The form is there before the workspaces are listed: a name typed meanwhile (here, before the
    page's script has asked for them) is not replaced by a default, so an upload goes where it was
    meant to. Once this raced, and the browser tests' uploads sometimes landed in another workspace."""
    typed = f"typed-{uuid.uuid4().hex[:6]}"
    type_early = f"document.querySelector('#workspace').value = {typed!r};"
    page.add_init_script(f"document.addEventListener('DOMContentLoaded', () => {{ {type_early} }});")
    login(page, web, api_key)
    expect(page.locator("#documents")).to_contain_text("No documents yet")  # chosen: the typed name
    expect(page.locator("#workspace")).to_have_value(typed)
    expect(page).to_have_url(re.compile(f"ws={typed}"))
