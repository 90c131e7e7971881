"""Step 6, Cap and floor on ``pre = commission + tier_uplift + clawback``."""

from __future__ import annotations

import pytest

from cloudsettle.core.money import D
from cloudsettle.core.settlement.cap import cap_adjustment
from tests.core.settlement.factories import line, rule, settle, version


@pytest.mark.parametrize(("pre", "cap", "floor", "expected"), [
    ("1500", "1000", None, "-500"),
    ("1000.01", "1000", None, "-0.01"),
    ("1000", "1000", None, "0"),  # pre == cap: not above it
    ("999.99", "1000", None, "0"),
    ("50", None, "100", "50"),
    ("100", None, "100", "0"),  # pre == floor: nothing to lift
    ("99.99", None, "100", "0.01"),
    ("0.01", None, "100", "99.99"),
    ("0", None, "100", "0"),  # a floor never lifts a statement that earned nothing
    ("-20", None, "100", "0"),
    ("-20", "1000", "100", "0"),
    ("5000", "1000", "100", "-4000"),
    ("500", "1000", "100", "0"),
    ("0", "0", None, "0"),
    ("-5", "0", None, "0"),
    ("5", "0", None, "-5"),
])
def test_cap_adjustment(pre: str, cap: str | None, floor: str | None, expected: str) -> None:
    result = cap_adjustment(D(pre), D(cap) if cap else None, D(floor) if floor else None)
    assert result == D(expected)


def test_no_cap_no_floor() -> None:
    assert cap_adjustment(D("1E+9"), None, None) == 0


def test_statement_cap_and_floor() -> None:
    capped = settle([line("L", "20000")], [version(rule("all", "0.1"), cap=D("1500"))])
    assert (capped.components.commission, capped.components.cap_adjustment) == (D("2000.00"), D("-500.00"))
    assert capped.components.payable == D("1500.00")
    floored = settle([line("L", "200")], [version(rule("all", "0.1"), floor=D("50"))])
    assert (floored.components.cap_adjustment, floored.components.payable) == (D("30.00"), D("50.00"))


def test_statement_floor_ignores_a_negative_pre() -> None:
    s = settle([line("L", "-200")], [version(rule("all", "0.1"), floor=D("50"))])
    assert s.components.cap_adjustment == 0
    assert (s.components.payable, s.components.carried_out) == (D(0), D("-20.00"))
