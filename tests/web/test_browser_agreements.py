"""Agreements in a real browser, as ``sales`` (sales_ops) on the demo: open an agreement, start a
draft, see a bad value refused beside its line, fix it, compare the version with the draft, run a
what-if on 2026-10 and check the partner's changed payable, activate.

The demo's harbor-intl-2026 (P-HARBOR, USD) has one version: compute 0.08, storage 0.06, the rest
0.05, statement-level half-up rounding, no tiers, cap, floor or fees. September is finalized,
so the draft starts on 2026-10-01 (a new version never governs a finalized period). Raising
compute to 0.10 scales every October compute commission line's exact amount by 0.10 / 0.08 =
1.25; October's clawback of a September line keeps the rate September was paid at. So the
expected payable difference is computed here from the stored October lines:
round(new commission) - stored commission.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP
from typing import Any

from sqlalchemy import select

from cloudsettle.core.money import ZERO, D
from cloudsettle.db.models import StatementLineRow, StatementRow
from tests.web.browser import Served, assert_accessible, login, screenshot

AGREEMENT = "harbor-intl-2026"
CENT = D("0.01")


def expected_payable_difference(server: Served) -> str:
    """By hand from the stored October statement: compute lines x 1.25, rounded per component."""
    with server.ws.unit_of_work() as s:
        st = s.scalars(
            select(StatementRow).where(
                StatementRow.partner_id == "P-HARBOR", StatementRow.period == "2026-10"
            )
        ).one()
        new = ZERO
        for ln in s.scalars(select(StatementLineRow).where(StatementLineRow.statement_id == st.id)):
            if ln.role == "commission":
                new += ln.amount * (D("1.25") if ln.rule_id == "compute" else 1)
        difference = new.quantize(CENT, rounding=ROUND_HALF_UP) - st.commission
    assert difference > 0
    return f"+{difference:.2f}"


def test_draft_validation_compare_what_if_activate(server: Served, page: Any) -> None:
    base = server.url
    expected = expected_payable_difference(server)
    login(page, base, "sales", "/ui/agreements")
    assert page.get_by_role("heading", name="Agreements").is_visible()
    assert_accessible(page, "agreements list")
    page.get_by_role("link", name=AGREEMENT).click()
    page.wait_for_url(f"**/ui/agreements/{AGREEMENT}")
    assert page.get_by_role("heading", name="Version 1").is_visible()
    assert page.get_by_role("table", name="Rules of version 1").locator("tr", has_text="compute").is_visible()
    assert_accessible(page, "agreement page")

    page.get_by_role("link", name="New draft").click()
    page.wait_for_url("**/drafts/new")
    editor = page.get_by_label("Version (YAML", exact=False)
    text = editor.input_value()
    assert text.startswith("version: 2\n")
    assert 'rate: "0.08"' in text
    # A bad value first: refused, shown beside its line, the text kept.
    editor.fill(text.replace('rate: "0.08"', 'rate: "8%"'))
    page.get_by_role("button", name="Save draft").click()
    alert = page.get_by_role("alert")
    assert "Not saved: 1 problem" in alert.inner_text()
    assert "rules[0].rate" in alert.inner_text()
    assert "not a plain decimal number" in alert.inner_text()
    assert editor.get_attribute("aria-invalid") == "true"
    assert 'rate: "8%"' in editor.input_value()
    assert_accessible(page, "draft editor with a problem")
    # "go to line" selects the refused line in the editor.
    page.get_by_role("button", name="go to line").click()
    selected = page.evaluate(
        "() => { const t = document.getElementById('draft-text');"
        " return t.value.slice(t.selectionStart, t.selectionEnd); }"
    )
    assert selected.strip() == 'rate: "8%"'
    # Fixed: saved.
    editor.fill(text.replace('rate: "0.08"', 'rate: "0.10"'))
    page.get_by_role("button", name="Save draft").click()
    page.wait_for_url("**/drafts/*?note=*")
    assert "saved" in page.get_by_role("status").first.inner_text()
    draft_url = page.url.split("?")[0]

    # The newest version against the draft, field by field.
    page.get_by_role("link", name="Compare").click()
    page.wait_for_url("**/compare?*")
    fields = page.get_by_role("table", name="Fields of", exact=False)
    changed = fields.locator("tr.f-changed")
    assert changed.count() == 3  # version, effective_from (after the finalized September), the rate
    start = fields.locator("tr", has=page.get_by_role("rowheader", name="effective_from", exact=True))
    assert start.locator("td").nth(1).inner_text() == "2026-10-01"
    rate = fields.locator("tr", has=page.get_by_role("rowheader", name="rules[compute].rate", exact=True))
    assert rate.locator("td").nth(0).inner_text() == "0.08"
    assert rate.locator("td").nth(1).inner_text() == "0.1"
    page.get_by_label("only changed fields").check()
    assert fields.locator("tbody tr:visible").count() == 3
    assert_accessible(page, "version comparison")
    screenshot(page, "agreement-diff")

    # What-if on October: the partner's payable changes by the expected difference.
    page.goto(draft_url)
    page.get_by_label("Period").select_option("2026-10")
    page.get_by_role("button", name="Run what-if").click()
    page.wait_for_url("**period=2026-10*")
    table = page.get_by_role("table", name=f"What-if P-HARBOR {AGREEMENT} 2026-10")
    payable = table.locator("tr[data-figure=payable] td").nth(2).inner_text()
    assert payable.split()[0] == expected
    assert page.locator("[data-payable-difference]").get_attribute("data-payable-difference") == expected
    assert "lines with another rule or rate" in page.locator("#whatif-result").inner_text()
    assert_accessible(page, "what-if")
    page.locator("#whatif-h").scroll_into_view_if_needed()
    screenshot(page, "whatif")

    page.get_by_role("button", name="Activate as version 2").click()
    page.wait_for_url(f"**/ui/agreements/{AGREEMENT}?note=*")
    assert page.get_by_role("heading", name="Version 2").is_visible()
    assert "activated as version 2" in page.get_by_role("status").inner_text()
