"""Step 4, Tiers: marginal and retroactive uplift, band edges, attribution to lines."""

from __future__ import annotations

import pytest

from cloudsettle.core.agreements import Band, TierMethod, Tiers
from cloudsettle.core.money import D
from cloudsettle.core.settlement.tiers import (
    attribute_uplift,
    marginal_uplift,
    retroactive_rate,
    tier_uplift,
)
from tests.core.settlement.factories import line, rule, settle, version


def bands(method: TierMethod) -> Tiers:
    return Tiers(method, (Band(D(0), D(0)), Band(D(100000), D("0.02")), Band(D(200000), D("0.03"))))


MARGINAL = bands(TierMethod.MARGINAL)
RETRO = bands(TierMethod.RETROACTIVE)


@pytest.mark.parametrize(("measure", "expected"), [
    ("0", "0"), ("99999.99", "0"), ("100000", "0"), ("100000.01", "0.0002"),
    ("115000", "300"), ("200000", "2000"), ("200001", "2000.03"), ("250000", "3500"),
    ("-5000", "0"),
])
def test_marginal(measure: str, expected: str) -> None:
    assert marginal_uplift(D(measure), MARGINAL) == D(expected)
    assert tier_uplift(D(measure), MARGINAL) == D(expected)


@pytest.mark.parametrize(("measure", "rate", "uplift"), [
    ("0", "0", "0"), ("99999.99", "0", "0"), ("100000", "0.02", "2000"), ("115000", "0.02", "2300"),
    ("199999.99", "0.02", "3999.9998"), ("200000", "0.03", "6000"), ("-5000", "0", "0"),
])
def test_retroactive_measure_exactly_at_from_reaches_the_band(measure: str, rate: str, uplift: str) -> None:
    assert retroactive_rate(D(measure), RETRO) == D(rate)
    assert tier_uplift(D(measure), RETRO) == D(uplift)


def test_retroactive_below_the_first_band_is_zero() -> None:
    tiers = Tiers(TierMethod.RETROACTIVE, (Band(D(1000), D("0.01")),))
    assert tier_uplift(D("999.99"), tiers) == 0
    assert tier_uplift(D("1000"), tiers) == D("10.00")


def test_marginal_first_band_not_at_zero() -> None:
    tiers = Tiers(TierMethod.MARGINAL, (Band(D(1000), D("0.01")),))
    assert tier_uplift(D("500"), tiers) == 0
    assert tier_uplift(D("1500"), tiers) == D("5.00")


def test_no_tiers() -> None:
    assert tier_uplift(D("1000000"), None) == 0
    assert attribute_uplift([D(1), D(2)], None) == [D(0), D(0)]


def test_marginal_attribution_telescopes_in_line_order() -> None:
    shares = attribute_uplift([D(90000), D(30000), D(-5000)], MARGINAL)
    # running 90,000 -> 0; 120,000 -> 400; 115,000 -> 300: the refund gives back 100.
    assert shares == [D(0), D(400), D(-100)]
    assert sum(shares) == tier_uplift(D(115000), MARGINAL)


def test_retroactive_attribution_is_rate_times_base() -> None:
    shares = attribute_uplift([D(90000), D(30000), D(-5000)], RETRO)
    assert shares == [D(1800), D(600), D(-100)]
    assert sum(shares) == tier_uplift(D(115000), RETRO)


def test_attribution_with_a_negative_measure() -> None:
    for tiers in (MARGINAL, RETRO):
        shares = attribute_uplift([D(150000), D(-200000)], tiers)
        assert sum(shares) == tier_uplift(D(-50000), tiers)
        assert sum(shares) == 0


def test_statement_tier_uplift_and_shown_uplift() -> None:
    v = version(rule("all", "0.01"), tiers=Tiers(TierMethod.MARGINAL, (Band(D(0), D(0)),
                                                                      Band(D(100), D("0.0333")))))
    lines = [line("A", "60", start="2026-10-01"), line("B", "60", start="2026-10-02"),
             line("C", "0.50", start="2026-10-03")]
    s = settle(lines, [v])
    # measure 120.50; uplift 0.0333 × 20.50 = 0.68265 -> 0.68.
    assert s.base_total == D("120.50")
    assert s.unrounded["tier_uplift"] == D("0.68265")
    assert s.components.tier_uplift == D("0.68")
    by_id = {sl.line.line_id: sl for sl in s.lines}
    assert (by_id["A"].tier_uplift, by_id["B"].tier_uplift, by_id["C"].tier_uplift) == (
        D(0), D("0.666"), D("0.01665"))
    # floors 0.00 + 0.66 + 0.01 = 0.67; the missing cent goes to C (remainder 0.00665 > 0.006).
    assert [by_id[k].tier_uplift_shown for k in "ABC"] == [D("0.00"), D("0.66"), D("0.02")]
