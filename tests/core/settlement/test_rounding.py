"""Step 10, Rounding: statement level (round once, allocate) and line level (round each)."""

from __future__ import annotations

import pytest

from cloudsettle.core.agreements import Rounding, RoundingLevel
from cloudsettle.core.money import D, RoundingMode
from cloudsettle.core.settlement.rounding import line_component, shown_amounts
from tests.core.settlement.factories import line, rule, settle, version

AMOUNTS = [D("0.125"), D("0.125"), D("0.125")]  # exact sum 0.375


@pytest.mark.parametrize(("mode", "statement_level", "line_level"), [
    (RoundingMode.HALF_UP, "0.38", "0.39"),
    (RoundingMode.HALF_EVEN, "0.38", "0.36"),
    (RoundingMode.DOWN, "0.37", "0.36"),
    (RoundingMode.UP, "0.38", "0.39"),
])
def test_line_component_by_level(mode: RoundingMode, statement_level: str, line_level: str) -> None:
    assert line_component(AMOUNTS, Rounding(mode, RoundingLevel.STATEMENT), "CNY") == D(statement_level)
    assert line_component(AMOUNTS, Rounding(mode, RoundingLevel.LINE), "CNY") == D(line_level)


def test_shown_amounts_statement_level_allocates_ties_to_the_earlier_line() -> None:
    r = Rounding(RoundingMode.HALF_UP, RoundingLevel.STATEMENT)
    assert shown_amounts(AMOUNTS, D("0.38"), r, "CNY") == [D("0.13"), D("0.13"), D("0.12")]


def test_shown_amounts_line_level_rounds_each_line() -> None:
    r = Rounding(RoundingMode.HALF_EVEN, RoundingLevel.LINE)
    shown = shown_amounts(AMOUNTS, line_component(AMOUNTS, r, "CNY"), r, "CNY")
    assert shown == [D("0.12")] * 3


def test_negative_amounts_half_up_and_down() -> None:
    neg = [D("-0.125"), D("-0.129")]
    assert line_component(neg, Rounding(RoundingMode.HALF_UP, RoundingLevel.LINE), "CNY") == D("-0.26")
    assert line_component(neg, Rounding(RoundingMode.DOWN, RoundingLevel.LINE), "CNY") == D("-0.24")
    assert line_component(neg, Rounding(RoundingMode.DOWN), "CNY") == D("-0.25")


def test_jpy_statement_scale_zero() -> None:
    v = version(rule("all", "0.05"), currency="JPY", rounding=Rounding(RoundingMode.HALF_EVEN))
    s = settle([line("A", "30", currency="JPY", start="2026-10-01"),
                line("B", "30", currency="JPY", start="2026-10-02"),
                line("C", "30", currency="JPY", start="2026-10-03")], [v])
    # 3 × 1.5 = 4.5 -> 4 (half_even); floors 1,1,1; the missing unit goes to A.
    assert s.components.commission == D("4")
    assert [sl.shown for sl in s.lines] == [D("2"), D("1"), D("1")]
    assert all(sl.shown.as_tuple().exponent == 0 for sl in s.lines)


def test_statement_level_rounds_the_sum_line_level_the_lines() -> None:
    lines = [line(f"L{i}", "1.25", start=f"2026-10-0{i}") for i in range(1, 5)]  # 4 × 0.125
    stmt = settle(lines, [version(rule("all", "0.1"), rounding=Rounding(RoundingMode.HALF_UP))])
    assert stmt.components.commission == D("0.50")
    assert [sl.shown for sl in stmt.lines] == [D("0.13"), D("0.13"), D("0.12"), D("0.12")]
    per_line = settle(lines, [version(rule("all", "0.1"),
                                      rounding=Rounding(RoundingMode.HALF_UP, RoundingLevel.LINE))])
    assert per_line.components.commission == D("0.52")
    assert [sl.shown for sl in per_line.lines] == [D("0.13")] * 4


def test_line_level_cap_uses_rounded_lines() -> None:
    lines = [line(f"L{i}", "1.25", start=f"2026-10-0{i}") for i in range(1, 5)]
    v = version(rule("all", "0.1"), cap=D("0.50"),
                rounding=Rounding(RoundingMode.HALF_UP, RoundingLevel.LINE))
    s = settle(lines, [v])
    assert (s.components.commission, s.components.cap_adjustment, s.components.payable) == (
        D("0.52"), D("-0.02"), D("0.50"))
