"""Tier uplift in the bulk engine when the products run past 24 decimals.

Two generated months found this (``test_equivalence`` run from another checkout
path). The bulk engine declares a line's base with an upper-bound scale: line
scale 12 (one line has an amount with more than 4 decimals) + proration fraction
5 (0.75625) + FX 4 = 21 decimals. An uplift of 0.0272 takes the product to 25, past
``MAX_VALUE_SCALE``, and ``mul`` rounded its first operand, which was the uplift:
0.0272 became 0.027. Line attributions were then 0.7% short (a wrong line
``tier_uplift``), and where the shortfall crossed a cent the shown amounts could
not be allocated at all (``ValueError`` from ``allocate_largest_remainder``).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import duckdb
import pytest

from cloudsettle.compute.base import mul
from cloudsettle.core.agreements import AgreementVersion, Band, TierMethod, Tiers
from cloudsettle.core.fx import FxRate
from cloudsettle.core.lines import BillingLine
from cloudsettle.core.money import ZERO, D
from cloudsettle.core.parties import Deal
from cloudsettle.core.settlement.model import Statement
from tests.compute.equivalence import assert_same, both
from tests.core.settlement.factories import book, line, rule, version

UPLIFT = D("0.0272")


def _usd_version(method: TierMethod) -> AgreementVersion:
    """USD, list base, prorated, one tier band from 0 at 0.0272 (as in both examples)."""
    return version(
        rule("rest", "0.05"), currency="USD", prorate=True, tiers=Tiers(method, (Band(ZERO, UPLIFT),))
    )


def _scale_forcing_lines() -> list[BillingLine]:
    """A 6-decimal amount (line scale 12) and a line the deal's end cuts at 121 of 160
    hours (fraction 0.75625, 5 decimals): with FX scale 4, bases are declared at 21."""
    return [
        line("L6", "0.025525", start="2026-10-11T00:00", end="2026-10-11T05:00", currency="USD"),
        line("LS", "10.00", start="2026-10-10T23:00", end="2026-10-17T15:00", currency="USD"),
    ]


_DEAL_UNTIL_16 = [Deal("D-1", "P-ACME", "tencent", "100", "acme", date(2026, 1, 1), date(2026, 10, 16))]


def _only_statement(result_statements: tuple[Statement, ...]) -> Statement:
    assert len(result_statements) == 1
    return result_statements[0]


def test_mul_rounds_the_value_operand_and_keeps_the_uplift_exact() -> None:
    """``mul(value, 21, uplift, 4)`` drops the value's padding zeros, not the uplift's 2."""
    sql, scale = mul(
        "CAST('0.038394250000000000000' AS DECIMAL(38, 21))", 21, "CAST('0.0272' AS DECIMAL(38, 4))", 4
    )
    row = duckdb.connect().execute(f"SELECT ({sql})::VARCHAR").fetchone()
    assert row is not None
    assert scale == 24
    assert Decimal(row[0]) == D("0.038394250000000000000") * UPLIFT == D("0.0010443236")


def test_line_uplift_uses_the_whole_uplift_rate() -> None:
    """Example 1: a JPY line on a USD statement; its uplift is 0.0272 × base, not 0.027 ×."""
    jpy = line(
        "O7",
        "0.1021",
        start="2026-10-08T15:00",
        end="2026-10-10T07:00",
        currency="JPY",
        discount_amount="0.01",
        paid_at=None,
    )
    bk = book(
        [jpy, *_scale_forcing_lines()],
        [_usd_version(TierMethod.MARGINAL)],
        deals=_DEAL_UNTIL_16,
        fx=[FxRate(date(2026, 9, 1), "JPY", "USD", D("0.3425"))],
    ).book
    reference, bulk = both(bk, "2026-10")
    assert_same(reference, bulk)
    stmt = _only_statement(bulk.statements)
    o7 = next(sl for sl in stmt.lines if sl.line.line_id == "O7")
    assert o7.base == (D("0.1021") - D("0.01")) * D("0.3425") == D("0.03154425")  # net base
    assert o7.tier_uplift == D("0.03154425") * UPLIFT == D("0.0008580036")
    ls = next(sl for sl in stmt.lines if sl.line.line_id == "LS")
    assert ls.fraction == D("0.75625")
    assert ls.tier_uplift == D("7.5625") * UPLIFT


@pytest.mark.parametrize("method", list(TierMethod))
def test_attributed_uplift_adds_up_to_the_statement_uplift(method: TierMethod) -> None:
    """Example 2: CNY lines on a USD statement (FX 4.2429). The exact uplift 24.26 must be
    allocated over parts that add up to it (the failing month: 24.26 over 24.08)."""
    lines = [
        line("O1", "30.78", start="2026-10-01T00:00", end="2026-10-03T02:00"),
        line("O6", "151.17", start="2026-10-01T00:00"),
        *_scale_forcing_lines(),
    ]
    bk = book(
        lines,
        [_usd_version(method)],
        deals=_DEAL_UNTIL_16,
        fx=[FxRate(date(2026, 9, 1), "CNY", "USD", D("4.2429"))],
    ).book
    reference, bulk = both(bk, "2026-10")
    assert_same(reference, bulk)
    stmt = _only_statement(bulk.statements)
    measure = (D("30.78") + D("151.17")) * D("4.2429") + D("0.025525") + D("7.5625")
    assert stmt.unrounded["measure"] == measure == D("779.583680")
    exact = UPLIFT * measure
    assert stmt.unrounded["tier_uplift"] == exact
    assert sum((sl.tier_uplift for sl in stmt.lines), ZERO) == exact
    assert exact == D("21.2046760960")  # 0.027 × measure would be 21.0488: short by 16 cents
    assert stmt.components.tier_uplift == D("21.20")
    assert sum((sl.tier_uplift_shown for sl in stmt.lines), ZERO) == D("21.20")
