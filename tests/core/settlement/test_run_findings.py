"""A run reports the deal findings of its own period's lines only."""

from __future__ import annotations

from datetime import date

from cloudsettle.core.findings import FindingKind
from cloudsettle.core.parties import Deal
from cloudsettle.core.settlement.run import settle_period
from tests.core.settlement.factories import book, line, rule, version


def test_missing_deal_findings_belong_to_the_period_of_their_line() -> None:
    lines = [
        line("sep-orphan", "10", start="2026-09-10", month="2026-09-01", account="999"),
        line("oct-orphan", "10", start="2026-10-10", account="999"),
        line("oct-mapped", "100", start="2026-10-11"),
    ]
    deals = [Deal("D-1", "P-ACME", "tencent", "100", "acme", date(2026, 1, 1))]
    mapped = book(lines, [version(rule("all", "0.1"))], deals=deals)
    october = settle_period(mapped, "2026-10")
    september = settle_period(mapped, "2026-09")
    assert [(f.kind, f.line_id) for f in october.findings] == [(FindingKind.MISSING_DEAL, "oct-orphan")]
    assert [(f.kind, f.line_id) for f in september.findings] == [(FindingKind.MISSING_DEAL, "sep-orphan")]
    assert [s.components.commission for s in october.statements] == [line("x", "10.00").list_amount]
