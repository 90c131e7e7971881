"""End to end in a real browser: Playwright drives Debian's chromium against uvicorn.

The workspace is the demo's (``cloudsettle.demo.run_demo``: two settled months,
six partners, FX, clawbacks, adjustments). Logs in through the form, opens the
dashboard, a statement, drills down from a component to a line and its
explanation, and saves the screenshot shown in the README
(docs/images/ui-statement.png). Skipped when chromium is not installed
(``scripts/system-deps`` installs it).
"""

from __future__ import annotations

import io
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from rich.console import Console

from cloudsettle.api.app import create_app
from cloudsettle.config import Settings
from cloudsettle.core.money import D
from cloudsettle.demo import run_demo
from cloudsettle.services import users
from cloudsettle.services.workspace import open_workspace
from tests.web.conftest import PASSWORD

CHROMIUM = Path("/usr/bin/chromium")
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOT = Path(__file__).parents[2] / "docs" / "images" / "ui-statement.png"

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian chromium is not installed")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def server(tmp_path: Path) -> Iterator[str]:
    """The demo workspace's app served by uvicorn on a free local port, in a thread."""
    root = tmp_path / "demo"
    assert run_demo(root, Console(file=io.StringIO())) == 0
    ws = open_workspace(root)
    with ws.unit_of_work() as s:
        users.add_user(s, name="reviewer", roles=["finance"], password=PASSWORD, actor="setup")
    app = create_app(Settings(workspace=root), workspace=ws)
    port = _free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    srv = uvicorn.Server(config)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not srv.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    srv.should_exit = True
    thread.join(timeout=10)
    ws.close()


def test_login_dashboard_statement_drill_down(server: str) -> None:
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=FLAGS)
        try:
            page = browser.new_page(viewport={"width": 1360, "height": 860})
            page.goto(f"{server}/ui/")
            assert "/ui/login" in page.url
            page.get_by_label("User name").fill("reviewer")
            page.get_by_label("Password").fill(PASSWORD)
            page.get_by_role("button", name="Log in").click()
            page.wait_for_url(f"{server}/ui/")
            assert page.get_by_role("heading", name="Dashboard").is_visible()
            page.get_by_role("link", name="2026-10").first.click()
            page.wait_for_url("**/periods/2026-10/statements")
            page.get_by_role("link", name="P-HARBOR").click()
            page.wait_for_url("**/ui/statements/*")
            assert page.get_by_role("heading", name="P-HARBOR · harbor-intl-2026 · 2026-10").is_visible()
            assert page.get_by_role("table", name="Statement components").is_visible()
            page.get_by_role("link", name="commission", exact=True).click()
            page.wait_for_url("**component=commission*")
            lines = page.get_by_role("table", name="Statement lines")
            # A line converted from CNY: its explanation shows the FX rate, source file and row.
            lines.locator("tr", has_text="0.13992").get_by_role("link").first.click()
            page.wait_for_url("**line=*")
            text = page.locator("pre.explain").inner_text()
            assert "source:" in text
            assert " row " in text
            assert "fx 0.13992" in text
            assert "of version 1" in text
            # Keyboard sorting (progressive enhancement): Enter twice sorts by amount, largest first.
            header = lines.locator("th").nth(7)
            header.focus()
            page.keyboard.press("Enter")
            assert header.get_attribute("aria-sort") == "ascending"
            page.keyboard.press("Enter")
            assert header.get_attribute("aria-sort") == "descending"
            amounts = lines.locator("tbody tr td:nth-child(8)").all_inner_texts()
            values = [D(a.split()[0].replace(",", "")) for a in amounts]
            assert values == sorted(values, reverse=True)
            assert values[0] > values[-1]
            page.evaluate("document.activeElement.blur(); window.scrollTo(0, 0)")
            SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(SCREENSHOT))
        finally:
            browser.close()
    assert SCREENSHOT.stat().st_size > 10_000
