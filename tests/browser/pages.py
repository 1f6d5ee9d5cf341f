"""What the browser tests do on the console's page alike: keep a screenshot, upload three contracts.

Screenshots go to ``var/screenshots/`` (the README's come from there)."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Page, expect

from ..support.contracts import LEASE, NDA, SUPPLY
from ..support.servers import REPO_ROOT

SCREENSHOTS = REPO_ROOT / "var" / "screenshots"


def shot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def upload_three_contracts(page: Page, tmp_path: Path, workspace: str) -> None:
    """Upload the lease, supply and NDA contracts to ``workspace`` from the page, until read."""
    files = []
    for name, text in (("lease.txt", LEASE), ("supply.txt", SUPPLY), ("nda.txt", NDA)):
        path = tmp_path / name
        path.write_text(text)
        files.append(str(path))
    page.fill("#workspace", workspace)
    page.set_input_files("#files", files)
    page.get_by_role("button", name="Upload", exact=True).click()
    expect(page.locator("#upload-status")).to_have_text("Added 3 documents.")
    expect(page.locator("#documents li")).to_have_count(3)
