"""Step 11, Carry-forward: negative or too-small nets wait; net == minimum pays."""

from __future__ import annotations

import pytest

from cloudsettle.core.money import D
from cloudsettle.core.periods import parse_period
from cloudsettle.core.settlement.carry_forward import carry_forward
from cloudsettle.core.settlement.model import History
from cloudsettle.core.settlement.statement import settle_statement
from tests.core.settlement.factories import book, line, rule, settle, version


@pytest.mark.parametrize(("net", "minimum", "payable", "carried_out"), [
    ("100.00", "0", "100.00", "0"),
    ("0", "0", "0", "0"),
    ("-0.01", "0", "0", "-0.01"),
    ("99.99", "100", "0", "99.99"),
    ("100.00", "100", "100.00", "0"),  # net == minimum pays
    ("100.01", "100", "100.01", "0"),
    ("-50", "100", "0", "-50"),
])
def test_carry_forward(net: str, minimum: str, payable: str, carried_out: str) -> None:
    assert carry_forward(D(net), D(minimum)) == (D(payable), D(carried_out))


def test_statement_below_minimum_carries_and_next_pays() -> None:
    v = version(rule("all", "0.1"))
    s = settle([line("L", "999.90")], [v], minimum_payout=D("100"))
    assert (s.components.payable, s.components.carried_out) == (D(0), D("99.99"))
    mapped = book([line("N", "0.10", month="2026-11-01", start="2026-11-02")], [v],
                  minimum_payout=D("100"))
    nov = settle_statement(mapped, agreement_id="acme", period=parse_period("2026-11"),
                           history=History(carried_in=s.components.carried_out))
    assert nov is not None
    assert (nov.components.carried_in, nov.components.commission) == (D("99.99"), D("0.01"))
    assert (nov.components.payable, nov.components.carried_out) == (D("100.00"), D(0))


def test_a_carried_balance_alone_makes_a_statement_exist() -> None:
    mapped = book([], [version(rule("all", "0.1"))])
    s = settle_statement(mapped, agreement_id="acme", period=parse_period("2026-10"),
                         history=History(carried_in=D("-40.00")))
    assert s is not None
    assert (s.components.carried_in, s.components.payable, s.components.carried_out) == (
        D("-40.00"), D(0), D("-40.00"))
