"""Step 8, Manual adjustments: summed, kept across settles, and who may not approve."""

from __future__ import annotations

from cloudsettle.core.money import D
from cloudsettle.core.periods import parse_period
from cloudsettle.core.settlement.adjustments import adjusters, manual_total
from cloudsettle.core.settlement.model import ManualAdjustment
from cloudsettle.core.settlement.statement import settle_statement
from tests.core.settlement.factories import book, line, rule, version

ADJ = (ManualAdjustment("a1", D("100.00"), "bonus", "carol"),
       ManualAdjustment("a2", D("-30.5"), "correction", "dave"),
       ManualAdjustment("a3", D("0.004"), "odd", "carol"))


def test_manual_total_and_adjusters() -> None:
    assert manual_total(ADJ) == D("69.504")
    assert manual_total(()) == 0
    assert adjusters(ADJ) == frozenset({"carol", "dave"})


def test_statement_rounds_the_manual_component_once() -> None:
    mapped = book([line("L", "1000")], [version(rule("all", "0.1"))])
    s = settle_statement(mapped, agreement_id="acme", period=parse_period("2026-10"), adjustments=ADJ)
    assert s is not None
    assert s.components.manual_adjustment == D("69.50")
    assert s.components.payable == D("169.50")
    assert s.manual_adjustments == ADJ


def test_an_adjustment_alone_makes_a_statement_exist() -> None:
    mapped = book([], [version(rule("all", "0.1"))])
    period = parse_period("2026-10")
    assert settle_statement(mapped, agreement_id="acme", period=period) is None
    s = settle_statement(mapped, agreement_id="acme", period=period, adjustments=ADJ[:1])
    assert s is not None
    assert (s.components.commission, s.components.payable) == (D(0), D("100.00"))
