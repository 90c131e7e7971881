"""Step 9, Prior-period adjustments: the difference not yet adjusted, to the next statement."""

from __future__ import annotations

from cloudsettle.core.money import D
from cloudsettle.core.periods import parse_period
from cloudsettle.core.settlement.model import History
from cloudsettle.core.settlement.prior_period import prior_period_adjustment
from cloudsettle.core.settlement.run import FinalizedStatement, prior_period_adjustments
from cloudsettle.core.settlement.statement import settle_statement
from tests.core.settlement.factories import book, line, rule, version


def test_difference_less_already_adjusted() -> None:
    ppa = prior_period_adjustment("2026-09", earned_finalized=D("100.00"), earned_recomputed=D("130.00"),
                                  already_adjusted=D("10.00"))
    assert ppa is not None
    assert (ppa.corrects_period, ppa.amount) == ("2026-09", D("20.00"))
    assert (ppa.earned_finalized, ppa.earned_recomputed, ppa.already_adjusted) == (
        D("100.00"), D("130.00"), D("10.00"))


def test_negative_difference() -> None:
    ppa = prior_period_adjustment("2026-09", earned_finalized=D("100.00"), earned_recomputed=D("60.00"),
                                  already_adjusted=D(0))
    assert ppa is not None
    assert ppa.amount == D("-40.00")


def test_nothing_owed_is_none() -> None:
    assert prior_period_adjustment("2026-09", earned_finalized=D("100"), earned_recomputed=D("100"),
                                   already_adjusted=D(0)) is None
    assert prior_period_adjustment("2026-09", earned_finalized=D("100"), earned_recomputed=D("130"),
                                   already_adjusted=D("30")) is None


def test_recompute_with_the_version_that_governed_it() -> None:
    v1 = version(rule("all", "0.1"), number=1, effective="2026-01-01")
    v2 = version(rule("all", "0.5"), number=2, effective="2026-10-01")
    # September now has a late line: 1000 + 500; finalized earned was 100.00 under v1.
    mapped = book([line("s1", "1000", month="2026-09-01", start="2026-09-03"),
                   line("late", "500", month="2026-09-01", start="2026-09-20"),
                   line("o1", "10", start="2026-10-02")], [v1, v2])
    (ppa,) = prior_period_adjustments(mapped, "acme", [FinalizedStatement("2026-09", 1, D("100.00"))])
    assert (ppa.corrects_period, ppa.earned_recomputed, ppa.amount) == ("2026-09", D("150.00"), D("50.00"))
    s = settle_statement(mapped, agreement_id="acme", period=parse_period("2026-10"),
                         history=History(prior_period_adjustments=(ppa,)))
    assert s is not None
    assert s.components.commission == D("5.00")  # October under v2
    assert s.components.prior_period_adjustment == D("50.00")
    assert s.components.payable == D("55.00")
    assert s.prior_period_adjustments == (ppa,)


def test_unchanged_finalized_period_gives_nothing() -> None:
    mapped = book([line("s1", "1000", month="2026-09-01")], [version(rule("all", "0.1"))])
    assert prior_period_adjustments(mapped, "acme", [FinalizedStatement("2026-09", 1, D("100.00"))]) == ()
