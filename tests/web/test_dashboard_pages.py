"""The dashboard page on golden case 38 (``site``): what internal readers and partners see."""

from __future__ import annotations

import re

from cloudsettle.core.money import D
from cloudsettle.services import users
from cloudsettle.services.reconcile_service import Figure, import_figures
from tests.web.conftest import PASSWORD, Site


def _cells(html: str) -> dict[tuple[str, str], str]:
    """``(partner, period) -> stage`` from the status matrix."""
    found = re.findall(r'data-partner="([^"]+)" data-period="([^"]+)" data-stage="([^"]*)"', html)
    return {(p, q): s for p, q, s in found}


def _values(html: str, chart_id: str) -> list[str]:
    """The ``data-value`` of every mark of one chart."""
    start = html.index(f'id="{chart_id}"')
    end = html.index("</figure>", start)
    return re.findall(r'data-value="([^"]+)"', html[start:end])


def test_internal_reader_sees_every_partner_and_the_margin(site: Site) -> None:
    with site.ws.unit_of_work() as s:
        import_figures(
            s,
            provider="tencent",
            month="2026-10",
            source="file",
            actor="t",
            figures=[Figure("2026-10", "*", D("100.00"), "CNY")],
        )
    page = site.client("finance").get("/ui/")
    assert page.status_code == 200
    html = page.text
    assert _cells(html) == {("P-A", "2026-10"): "calculated", ("P-B", "2026-10"): "calculated"}
    assert 'aria-label="Status per partner and period"' in html
    # Totals: the lines by provider and category, the statements by partner.
    assert re.search(
        r"<td>tencent</td><td class=\"num\">2</td>\s*<td[^>]*>1200.00 <span class=\"cur\">CNY", html
    )
    assert re.search(r"<td>Storage</td><td class=\"num\">1</td>\s*<td[^>]*>200.00 <span", html)
    assert "Total CNY" in html
    # Charts: one point per period; the margin is 100.00 − 80.00.
    assert _values(html, "chart-cny-commission") == ["80"]
    assert _values(html, "chart-cny-margin") == ["100", "80", "20"]
    assert html.count("<svg") == 4
    assert html.count("<desc id=") == 4
    assert "Data table: margin (CNY)" in html
    assert 'id="open-findings"' in html
    assert 'id="freshness"' in html
    assert 'href="/ui/cases?status=open"' in html


def test_partner_sees_only_its_own_partner_and_no_margin(site: Site) -> None:
    html = site.client("partner").get("/ui/").text
    assert "P-B" not in html
    assert _cells(html) == {("P-A", "2026-10"): "calculated"}
    assert _values(html, "chart-cny-commission") == ["32"]
    assert "chart-cny-margin" not in html
    assert "Provider rebate" not in html
    assert 'id="freshness"' not in html
    assert 'id="source-rates"' not in html
    assert 'id="open-findings"' not in html
    # Its 40% of the 1000.00 Compute line, not the whole line.
    assert re.search(r"<td>Compute</td><td class=\"num\">1</td>\s*<td[^>]*>400.00 <span", html)
    assert "1200.00" not in html


def test_auditor_sees_everything(site: Site) -> None:
    with site.ws.unit_of_work() as s:
        users.add_user(s, name="auditor", roles=["auditor"], password=PASSWORD, actor="setup")
    html = site.client("auditor").get("/ui/?period=2026-10").text
    assert set(_cells(html)) == {("P-A", "2026-10"), ("P-B", "2026-10")}
    assert "chart-cny-margin" in html
    assert 'id="batch-rates"' in html


def test_period_choice(site: Site) -> None:
    client = site.client("finance")
    empty = client.get("/ui/?period=2026-09")
    assert empty.status_code == 200
    assert 'id="dash-chosen">2026-09<' in empty.text
    assert "No statements yet." in empty.text
    assert client.get("/ui/?period=October").status_code == 409  # a bad period name is refused
    assert client.get("/ui/?period=").status_code == 200  # empty: the newest
