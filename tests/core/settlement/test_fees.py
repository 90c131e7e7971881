"""Step 7, Fees: percent and fixed deductions from ``capped``, only when it is positive."""

from __future__ import annotations

from cloudsettle.core.agreements import Fee
from cloudsettle.core.money import D
from cloudsettle.core.settlement.fees import fee_amount, fees_total
from tests.core.settlement.factories import line, rule, settle, version

PCT = Fee("platform", percent=D("0.01"))
FIXED = Fee("bank", fixed=D("15"))


def test_percent_fee() -> None:
    assert fee_amount(PCT, D("8600")) == D("-86.00")


def test_fixed_fee() -> None:
    assert fee_amount(FIXED, D("8600")) == D("-15")
    assert fee_amount(FIXED, D("1")) == D("-15")  # fixed fees may exceed what was earned


def test_fees_apply_only_when_capped_is_positive() -> None:
    for capped in (D(0), D("-0.01"), D("-500")):
        assert fee_amount(PCT, capped) == 0
        assert fee_amount(FIXED, capped) == 0
        assert fees_total((PCT, FIXED), capped) == 0
    assert fees_total((PCT, FIXED), D("0.01")) == D("-15.0001")


def test_fees_total_sums_entries() -> None:
    assert fees_total((PCT, FIXED, Fee("extra", percent=D("0.005"))), D("1000")) == D("-30.000")
    assert fees_total((), D("1000")) == 0


def test_statement_fees_use_the_capped_amount_and_round_once() -> None:
    v = version(rule("all", "0.1"), cap=D("1000"), fees=(Fee("p", percent=D("0.0125")), FIXED))
    s = settle([line("L", "20000")], [v])
    # capped = 1000; fees = −12.5 − 15 = −27.50
    assert s.components.fees == D("-27.50")
    assert s.components.payable == D("972.50")
    small = settle([line("L", "1.23")], [version(rule("all", "0.1"), fees=(Fee("p", percent=D("0.05")),))])
    # capped 0.123; fee −0.00615 -> −0.01 (half_up)
    assert (small.components.commission, small.components.fees) == (D("0.12"), D("-0.01"))


def test_statement_without_positive_capped_has_no_fees() -> None:
    v = version(rule("all", "0.1"), fees=(PCT, FIXED))
    s = settle([line("L", "-100")], [v])
    assert s.components.fees == 0
