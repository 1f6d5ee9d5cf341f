"""The console's own defences, in headless Chromium against the live stack: a login link never
replaces a live session of another tenant without asking (opened in a new tab, or pasted into an
open one), its key leaves the address bar and the tab's history before anything else, and a switch
starts the console clean for the new tenant, in every tab; the console and the docs run under their
Content-Security-Policy without a violation; and a page of another origin cannot frame it."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from ..support.api import new_key
from ..support.servers import WebServer
from .pages import upload_three_contracts

TIMEOUT_MS = 30_000

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("workers")]
expect.set_options(timeout=TIMEOUT_MS)

#: Every CSP violation a document reports, kept in the page (to wait on) and sent to the test.
RECORD_VIOLATIONS = """
    window.__violations = [];
    document.addEventListener("securitypolicyviolation", (event) => {
      const seen = {page: location.pathname, directive: event.effectiveDirective,
                    blocked: event.blockedURI, sample: event.sample};
      window.__violations.push(seen);
      window.reportViolation(seen);
    });
"""
#: Where Redoc asks for its maker's logo: the docs page's policy blocks it, by design.
REDOC_LOGO = "https://cdn.redoc.ly/"


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    """A browser profile of its own: its own cookies and localStorage, shared by its tabs."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(TIMEOUT_MS)
    yield context
    context.close()


def tenant_key(web: WebServer, prefix: str) -> tuple[str, str]:
    """A new tenant and a key of it."""
    tenant = f"{prefix}-{uuid.uuid4().hex[:6]}"
    return tenant, new_key(web, tenant)


def logged_in(context: BrowserContext, web: WebServer, key: str, tenant: str) -> Page:
    """A tab of ``context`` on the console, logged in with a login link."""
    page = context.new_page()
    page.goto(f"{web.base_url}/#key={key}")
    expect(page.locator("#app")).to_be_visible()
    expect(page.locator("#tenant")).to_have_text(f"Tenant {tenant}")
    return page


def history_urls(page: Page) -> list[str]:
    """The address of every entry of the tab's history, back and forward, as Chromium keeps them
    (what Back goes to). Each entry also notes the address the tab was first told to open, typed or
    clicked, which the browser keeps to itself: no page can change it, and none can read it."""
    session = page.context.new_cdp_session(page)
    try:
        history = session.send("Page.getNavigationHistory")
    finally:
        session.detach()
    return [entry["url"] for entry in history["entries"]]


def assert_key_gone(page: Page, key: str) -> None:
    assert key not in page.url, "the key left the address bar"
    assert not [url for url in history_urls(page) if key in url], "and every history entry"


def session_tenant(page: Page) -> str:
    """The tenant of the session the tab's cookie names now (asked from the page, as it would)."""
    return page.evaluate("fetch('/session').then((answer) => answer.json()).then((who) => who.tenant)")


def test_a_login_link_of_another_tenant_asks_first_and_a_switch_starts_clean(
    context: BrowserContext, web: WebServer
) -> None:
    tenant_a, key_a = tenant_key(web, "a")
    tenant_b, key_b = tenant_key(web, "b")
    first = logged_in(context, web, key_a, tenant_a)
    remembered = f"a-private-{uuid.uuid4().hex[:6]}"  # A's workspace, remembered by the console
    first.fill("#workspace", remembered)
    first.locator("#workspace").dispatch_event("change")
    expect(first).to_have_url(re.compile(f"ws={remembered}"))

    # B's login link, opened in a new tab of the same browser (from an email, a chat).
    tab = context.new_page()
    tab.goto(f"{web.base_url}/#key={key_b}")
    prompt = tab.locator("#link-prompt")
    expect(prompt).to_be_visible()
    expect(prompt).to_contain_text(f"This link logs you in as tenant {tenant_b}.")
    expect(prompt).to_contain_text(f"You are logged in as tenant {tenant_a}.")
    assert_key_gone(tab, key_b)
    assert session_tenant(tab) == tenant_a, "nothing changes until the user says so"
    expect(first.locator("#tenant")).to_have_text(f"Tenant {tenant_a}")

    tab.get_by_role("button", name=f"Switch to {tenant_b}").click()
    expect(tab.locator("#tenant")).to_have_text(f"Tenant {tenant_b}")
    expect(prompt).to_be_hidden()
    expect(tab.locator("#app")).to_be_visible()
    expect(tab.locator("#documents")).to_contain_text("No documents yet")
    expect(tab.locator("#workspace")).to_have_value("contracts")  # nothing of A's: the new tenant's default
    assert remembered not in tab.url
    assert session_tenant(tab) == tenant_b
    assert_key_gone(tab, key_b)
    # The tab that showed A's console starts over as B, with nothing of A's either.
    expect(first.locator("#tenant")).to_have_text(f"Tenant {tenant_b}")
    expect(first.locator("#documents")).to_contain_text("No documents yet")
    expect(first.locator("#workspace")).to_have_value("contracts")
    assert remembered not in first.url


def test_a_login_link_pasted_into_an_open_console_asks_too(context: BrowserContext, web: WebServer) -> None:
    tenant_a, key_a = tenant_key(web, "a")
    tenant_b, key_b = tenant_key(web, "b")
    page = logged_in(context, web, key_a, tenant_a)
    expect(page.locator("#fleet")).to_contain_text("worker")
    page.evaluate("window.__sameDocument = true")  # gone if the page were loaded again

    page.goto(f"{web.base_url}/#key={key_b}")  # pasted into the address bar: only the fragment changes
    prompt = page.locator("#link-prompt")
    expect(prompt).to_be_visible()
    expect(prompt).to_contain_text(f"This link logs you in as tenant {tenant_b}.")
    expect(prompt).to_contain_text(f"You are logged in as tenant {tenant_a}.")
    assert page.evaluate("window.__sameDocument") is True
    assert_key_gone(page, key_b)

    page.get_by_role("button", name=f"Stay as {tenant_a}").click()
    expect(prompt).to_be_hidden()
    expect(page.locator("#tenant")).to_have_text(f"Tenant {tenant_a}")
    assert session_tenant(page) == tenant_a
    assert page.evaluate("window.__sameDocument") is True

    # A link whose key is not valid: said so, and the session stays.
    page.goto(f"{web.base_url}/#key=jk_not_a_key")
    expect(page.locator("#link-error")).to_contain_text("That login link did not work")
    expect(page.locator("#tenant")).to_have_text(f"Tenant {tenant_a}")
    assert "jk_not_a_key" not in page.url

    # The same link again, and this time a switch: the console starts clean as B.
    page.goto(f"{web.base_url}/#key={key_b}")
    page.get_by_role("button", name=f"Switch to {tenant_b}").click()
    expect(page.locator("#tenant")).to_have_text(f"Tenant {tenant_b}")
    assert session_tenant(page) == tenant_b
    assert_key_gone(page, key_b)


def test_a_login_link_pasted_into_the_login_page_logs_in_at_once(
    context: BrowserContext, web: WebServer
) -> None:
    """The first-run case: no session, so nothing to ask; the header then names the tenant."""
    tenant, key = tenant_key(web, "first")
    page = context.new_page()
    page.goto(f"{web.base_url}/")
    expect(page.locator("#login")).to_be_visible()
    page.goto(f"{web.base_url}/#key={key}")
    expect(page.locator("#app")).to_be_visible()
    expect(page.locator("#tenant")).to_have_text(f"Tenant {tenant}")
    expect(page.locator("#fleet")).to_contain_text("worker")
    expect(page.locator("#link-prompt")).to_be_hidden()
    assert_key_gone(page, key)


def test_the_console_and_the_docs_run_under_their_policy(
    context: BrowserContext, web: WebServer, tmp_path: Path
) -> None:
    tenant, key = tenant_key(web, "csp")
    reported: list[dict] = []
    page = context.new_page()
    page.expose_function("reportViolation", lambda seen: reported.append(seen))
    page.add_init_script(RECORD_VIOLATIONS)
    refused: list[str] = []  # Chromium also says so on the console
    page.on("console", lambda said: "Content Security Policy" in said.text and refused.append(said.text))

    console = page.goto(f"{web.base_url}/#key={key}")
    assert console is not None
    policy = console.headers["content-security-policy"]
    assert "script-src 'self';" in policy and "frame-ancestors 'none'" in policy
    expect(page.locator("#tenant")).to_have_text(f"Tenant {tenant}")
    expect(page.get_by_role("img", name=re.compile("Jobs ended per minute"))).to_be_visible()
    upload_three_contracts(page, tmp_path, f"csp-{uuid.uuid4().hex[:6]}")
    page.get_by_role("button", name="Score contracts").click()
    score = page.locator("#jobs li", has_text="Score ·").first
    expect(score).to_have_attribute("data-status", "SUCCESS")
    score.locator("a.job-title").click()
    best = page.locator("#job-result table tbody tr").first
    expect(best).to_contain_text("lease.txt")
    best.get_by_role("link").click()  # the evidence, highlighted in its document
    expect(page.locator("#document-text mark")).to_be_visible()
    assert page.evaluate("window.__violations") == []

    docs = page.goto(f"{web.base_url}/docs")
    assert docs is not None and "frame-ancestors 'none'" in docs.headers["content-security-policy"]
    expect(page.get_by_role("heading", name="Start a score_contracts job.")).to_be_visible()
    # Redoc asks its maker's server for a logo once it has drawn the page: the one thing refused.
    page.wait_for_function(f"window.__violations.some((seen) => seen.blocked.startsWith({REDOC_LOGO!r}))")
    others = [seen for seen in reported if not seen["blocked"].startswith(REDOC_LOGO)]
    assert others == [], others
    assert all(REDOC_LOGO in message for message in refused), refused


def test_a_page_of_another_origin_cannot_frame_the_console(
    context: BrowserContext, web: WebServer, page_origin: str
) -> None:
    tenant, key = tenant_key(web, "framed")
    page = logged_in(context, web, key, tenant)  # the framed console would be this tenant's, logged in
    page.goto(f"{page_origin}/frame-page.html?console={quote(web.base_url + '/')}")
    expect(page.locator("body")).to_have_attribute("data-loaded", "yes")
    framed = page.frame_locator("#console")
    expect(framed.locator("body")).to_be_attached()  # the browser's own page: "127.0.0.1 is blocked"
    expect(framed.locator("#app, #login")).to_have_count(0)
    expect(framed.locator("body")).not_to_contain_text("Contract jobs")
    assert not [frame.url for frame in page.frames if frame.url.startswith(web.base_url)]


def test_while_a_login_link_waits_for_an_answer_the_console_behind_it_is_live(
    context: BrowserContext, web: WebServer
) -> None:
    """The question does not hold the console up: behind it, the current tenant's console is up
    (its header counts the workers, not "Checking workers…" for as long as nobody answers)."""
    tenant_a, key_a = tenant_key(web, "a")
    _, key_b = tenant_key(web, "b")
    logged_in(context, web, key_a, tenant_a)
    tab = context.new_page()
    tab.goto(f"{web.base_url}/#key={key_b}")
    expect(tab.locator("#link-prompt")).to_be_visible()
    expect(tab.locator("#tenant")).to_have_text(f"Tenant {tenant_a}")
    expect(tab.locator("#fleet")).to_have_text(re.compile(r"^\d+ workers? · "))
    assert_key_gone(tab, key_b)
    tab.get_by_role("button", name=f"Stay as {tenant_a}").click()
    expect(tab.locator("#link-prompt")).to_be_hidden()
    expect(tab.locator("#app")).to_be_visible()
