"""run.py: which agreements a period applies to, findings of a run, prior periods, carry-in."""

from __future__ import annotations

from datetime import date

from cloudsettle.core.agreements import Agreement, Basis
from cloudsettle.core.findings import FindingKind
from cloudsettle.core.money import D
from cloudsettle.core.parties import Deal
from cloudsettle.core.periods import Cycle
from cloudsettle.core.settlement.book import MappedBook
from cloudsettle.core.settlement.model import ManualAdjustment
from cloudsettle.core.settlement.run import FinalizedStatement, period_for, settle_period
from tests.core.settlement.factories import book, line, rule, version

V = version(rule("all", "0.1"))
WEEKLY = version(rule("all", "0.2"), cycle=Cycle.WEEKLY, basis=Basis.CHARGE)
BIWEEKLY = version(rule("all", "0.2"), cycle=Cycle.BIWEEKLY, basis=Basis.CHARGE,
                   cycle_anchor=date(2026, 10, 5))


def test_period_for_matches_the_cycle() -> None:
    assert period_for(V, "2026-10") is not None
    assert period_for(V, "2026-W43") is None
    assert period_for(V, "2026-Q4") is None
    assert period_for(WEEKLY, "2026-W43") is not None
    assert period_for(WEEKLY, "2026-10") is None
    assert period_for(BIWEEKLY, "2026-10-19") is not None
    assert period_for(BIWEEKLY, "2026-10-12") is None  # not a fortnight from the anchor
    assert period_for(V, "nonsense") is None


def two_agreement_book() -> MappedBook:
    weekly = Agreement("weekly", "P-W", (WEEKLY,))
    deals = [Deal("D-1", "P-ACME", "tencent", "100", "acme", date(2026, 1, 1)),
             Deal("D-2", "P-W", "tencent", "200", "weekly", date(2026, 1, 1))]
    return book([line("A", "100"), line("W", "100", account="200", start="2026-10-20"),
                 line("X", "5", account="999")], [V], deals=deals, extra_agreements=[weekly])


def test_monthly_run_settles_only_monthly_agreements() -> None:
    result = settle_period(two_agreement_book(), "2026-10")
    assert [(s.agreement_id, s.components.payable) for s in result.statements] == [("acme", D("10.00"))]
    assert [f.kind for f in result.findings] == [FindingKind.MISSING_DEAL]


def test_weekly_run_settles_only_weekly_agreements() -> None:
    result = settle_period(two_agreement_book(), "2026-W43")
    assert [(s.agreement_id, s.components.payable) for s in result.statements] == [("weekly", D("20.00"))]


def test_partner_filter_and_skip() -> None:
    mapped = two_agreement_book()
    assert settle_period(mapped, "2026-10", partner_id="P-W").statements == ()
    assert settle_period(mapped, "2026-10", skip=frozenset({"acme"})).statements == ()


def test_no_agreement_version_finding_only_with_lines() -> None:
    late = version(rule("all", "0.1"), effective="2026-11-01")
    result = settle_period(book([line("A", "100")], [late]), "2026-10")
    assert result.statements == ()
    assert [f.kind for f in result.findings] == [FindingKind.NO_AGREEMENT_VERSION]
    quiet = settle_period(book([line("A", "100", month="2026-09-01")], [late]), "2026-10")
    assert quiet.findings == ()


def test_history_inputs_reach_the_statement() -> None:
    mapped = book([line("S", "1000", month="2026-09-01"), line("late", "200", month="2026-09-01"),
                   line("A", "100")], [V])
    result = settle_period(
        mapped, "2026-10", carried_in={"acme": D("-3.00")},
        finalized={"acme": [FinalizedStatement("2026-09", 1, D("100.00"))]},
        adjustments={"acme": [ManualAdjustment("m", D("1.50"), "bonus", "carol")]})
    (s,) = result.statements
    c = s.components
    assert (c.commission, c.prior_period_adjustment, c.manual_adjustment, c.carried_in) == (
        D("10.00"), D("20.00"), D("1.50"), D("-3.00"))
    assert c.payable == D("28.50")
    assert s.prior_period_adjustments[0].corrects_period == "2026-09"


def test_run_findings_are_unique() -> None:
    refund = line("R", "-5", original_line_id="nowhere")
    result = settle_period(book([line("A", "100"), refund], [V]), "2026-10")
    kinds = [f.kind for f in result.findings]
    assert kinds == [FindingKind.UNLINKED_REFUND]
