"""``/docs`` on a phone: Redoc in a page with a viewport, so the phone lays it out at its own width
(without one, a mobile browser draws a 980-pixel desktop page, shrunk)."""

from __future__ import annotations

from importlib import metadata

from playwright.sync_api import Browser, expect

from ..support.api import bearer
from ..support.servers import WebServer

PHONE = {"width": 390, "height": 844}


def test_the_docs_page_lays_out_at_a_phones_width(browser: Browser, web: WebServer, api_key: str) -> None:
    context = browser.new_context(
        viewport=PHONE,
        is_mobile=True,
        has_touch=True,
        device_scale_factor=3,
        extra_http_headers=bearer(api_key),
    )
    try:
        page = context.new_page()
        page.goto(f"{web.base_url}/docs")
        expect(
            page.get_by_role("heading", name=f"Job service ({metadata.version('jobservice')})")
        ).to_be_visible(timeout=30_000)
        widths = page.evaluate("[window.innerWidth, document.documentElement.scrollWidth]")
        assert widths[0] == PHONE["width"], f"laid out {widths[0]} px wide on a {PHONE['width']} px phone"
        assert widths[1] <= PHONE["width"], f"the page scrolls sideways: {widths[1]} px"
        expect(page.get_by_text("Cancel a job.", exact=True).first).to_be_attached()
    finally:
        context.close()
