"""The dashboard in a real browser on the demo (September finalized, October approved).

Checks the status matrix, that the SVG charts plot the service's own figures (read
back from the page's marks), the partner view, axe, and saves
docs/images/ui-dashboard.png.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from cloudsettle.core.money import D
from cloudsettle.db.models_validation import ProviderFigureRow
from cloudsettle.services import dashboard_service
from tests.web.browser import Served, assert_accessible, login, screenshot


def _marks(page: Any, chart: str) -> list[tuple[str, str, Decimal]]:
    """``(series, period, value)`` of every mark the chart drew."""
    found = page.locator(f"#{chart} svg [data-value]")
    return [
        (m.get_attribute("data-series"), m.get_attribute("data-period"), D(m.get_attribute("data-value")))
        for m in found.all()
    ]


def test_dashboard_charts_and_matrix(server: Served, page: Any) -> None:
    with server.ws.unit_of_work() as s:
        figures = dashboard_service.overview(s, period=None, partner_id=None, margin=True, cases=True,
                                             operations=True, now=datetime.now(UTC))
    base = server.url
    login(page, base, "reviewer")
    assert page.get_by_role("heading", name="Dashboard").is_visible()
    matrix = page.get_by_role("table", name="Status per partner and period")
    harbor = matrix.get_by_role("row").filter(has_text="P-HARBOR")
    assert harbor.locator('[data-period="2026-09"] .stage-label').inner_text() == "Settled"
    assert harbor.locator('[data-period="2026-10"] .stage-label').inner_text() == "Approved"
    assert matrix.locator("tbody tr").count() == 6
    # The first "2026-10" link still leads to the period's statements.
    first = page.get_by_role("link", name="2026-10").first
    assert first.get_attribute("href") == "/ui/periods/2026-10/statements"
    cny = next(t for t in figures.trends if t.currency == "CNY")
    assert page.locator("#chart-cny-commission svg circle.pt").count() == 2
    assert _marks(page, "chart-cny-commission") == [
        ("Commission", p.period, p.commission) for p in cny.points]
    assert [v for _, _, v in _marks(page, "chart-cny-clawbacks")] == [p.clawback for p in cny.points]
    assert [v for _, _, v in _marks(page, "chart-cny-refunds")] == [p.refunds for p in cny.points]
    with server.ws.unit_of_work() as s:  # the demo's provider rebates (Tencent's and Huawei's, in CNY)
        rebates = {
            month: sum((r.amount for r in s.query(ProviderFigureRow).filter_by(month=month, currency="CNY")),
                       D(0))
            for month in ("2026-09", "2026-10")
        }
    assert all(r > 0 for r in rebates.values())
    for point in cny.points:
        assert point.margin == rebates[point.period] - point.partner_cost
    margin = [(name, period, v) for name, period, v in _marks(page, "chart-cny-margin") if name == "Margin"]
    assert margin == [("Margin", p.period, p.margin) for p in cny.points]
    assert page.locator("#chart-cny-margin svg > title").text_content() == "Margin (CNY)"
    assert page.locator("#chart-usd-commission svg circle.pt").count() == 2
    # The data table fallback holds the same numbers.
    page.locator("#chart-cny-commission summary").click()
    table = page.get_by_role("table", name="Commission in CNY per period")
    assert table.locator("tbody tr").count() == 2
    assert shows(table.locator("tbody tr").last.locator("td").inner_text(), cny.points[-1].commission)
    assert_accessible(page, "dashboard")
    page.locator("#chart-cny-commission summary").click()
    page.set_viewport_size({"width": 1360, "height": 1700})  # down to the CNY charts
    screenshot(page, "dashboard")

    # A partner sees its own row and figures only, and no margin.
    page.context.clear_cookies()
    login(page, base, "harbor")
    rows = page.get_by_role("table", name="Status per partner and period").locator("tbody tr")
    assert rows.count() == 1
    assert "P-HARBOR" in rows.first.inner_text()
    assert "P-YUNFAN" not in page.content()
    assert page.locator("#chart-usd-margin").count() == 0
    assert page.locator("#chart-usd-commission svg circle.pt").count() == 2
    assert_accessible(page, "partner dashboard")


def shows(text: str, amount: Decimal) -> bool:
    """The table cell shows the amount with the currency's two decimals."""
    return D(text.replace(",", "")) == amount
