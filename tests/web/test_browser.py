"""End to end in a real browser: Playwright drives Debian's chromium against uvicorn.

The workspace is the demo's (``cloudsettle.demo.run_demo``: two settled months,
six partners, FX, clawbacks, adjustments), served by :mod:`tests.web.browser`.
Logs in through the form, opens the dashboard, a statement, drills down from a
component to a line and its explanation, checks the pages with axe, and saves the
screenshot shown in the README (docs/images/ui-statement.png).
"""

from __future__ import annotations

from typing import Any

from cloudsettle.core.money import D
from tests.web.browser import Served, assert_accessible, screenshot
from tests.web.conftest import PASSWORD


def test_login_dashboard_statement_drill_down(server: Served, page: Any) -> None:
    base = server.url
    page.goto(f"{base}/ui/")
    assert "/ui/login" in page.url
    assert_accessible(page, "login page")
    page.get_by_label("User name").fill("reviewer")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{base}/ui/")
    assert page.get_by_role("heading", name="Dashboard").is_visible()
    assert_accessible(page, "dashboard")
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
    assert_accessible(page, "statement page")
    screenshot(page, "statement")
