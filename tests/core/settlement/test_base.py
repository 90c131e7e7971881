"""Step 2, Base: list/net/cash, tax and credit lines, exclusions, include_tax, FX."""

from __future__ import annotations

from datetime import date

import pytest

from cloudsettle.core.agreements import Base, FxDate
from cloudsettle.core.fx import FxRate, FxTable
from cloudsettle.core.lines import ChargeCategory
from cloudsettle.core.money import D
from cloudsettle.core.periods import parse_period
from cloudsettle.core.settlement.base import counts, fx_day, line_base, raw_base
from cloudsettle.core.settlement.model import LineRole, Reason
from tests.core.settlement.factories import line, rule, settle, version

OCT = parse_period("2026-10")
LN = line("L", "100", discount_amount="20", voucher_amount="5", tax_amount="6")


@pytest.mark.parametrize(("base", "expected"), [(Base.LIST, "100"), (Base.NET, "80"), (Base.CASH, "75")])
def test_raw_base_by_kind(base: Base, expected: str) -> None:
    assert raw_base(LN, version(base=base)) == D(expected)


@pytest.mark.parametrize(("base", "expected"), [(Base.LIST, "106"), (Base.NET, "86"), (Base.CASH, "81")])
def test_include_tax_adds_the_lines_tax(base: Base, expected: str) -> None:
    assert raw_base(LN, version(base=base, include_tax=True)) == D(expected)


def test_net_is_the_default_base() -> None:
    assert raw_base(LN, version()) == D("80")


def test_tax_lines_never_count() -> None:
    tax = line("T", "6", charge_category=ChargeCategory.TAX)
    for base in Base:
        assert not counts(tax, version(base=base))
        assert not counts(tax, version(base=base, include_tax=True))


def test_credit_lines_count_only_under_cash() -> None:
    credit = line("C", "0", voucher_amount="30", charge_category=ChargeCategory.CREDIT)
    assert counts(credit, version(base=Base.CASH))
    assert not counts(credit, version(base=Base.NET))
    assert not counts(credit, version(base=Base.LIST))
    assert counts(line("U", "1"), version(base=Base.NET))


def test_excluded_service_gets_base_zero_but_is_billed() -> None:
    v = version(exclude_services=frozenset({"CVM"}))
    b = line_base(LN, v, OCT, FxTable(), D(1))
    assert (b.base, b.billed, b.reasons, b.fx_rate) == (D(0), D("80"), (Reason.EXCLUDED,), None)


def test_fraction_scales_base_and_billed() -> None:
    b = line_base(LN, version(), OCT, FxTable(), D("0.25"))
    assert (b.base, b.billed) == (D("20"), D("20"))


FX = FxTable([FxRate(date(2026, 10, 1), "USD", "CNY", D("7.1")),
              FxRate(date(2026, 10, 20), "USD", "CNY", D("7.2"))])


def test_fx_conversion_at_the_charge_date_keeps_full_precision() -> None:
    usd = line("U", "10.005", currency="USD", start="2026-10-05")
    b = line_base(usd, version(), OCT, FX, D(1))
    assert (b.base, b.billed, b.fx_rate, b.missing_fx) == (D("71.0355"), D("71.0355"), D("7.1"), False)
    assert fx_day(usd, version(), OCT) == date(2026, 10, 5)


def test_fx_at_period_end() -> None:
    v = version(fx_date=FxDate.PERIOD_END)
    usd = line("U", "10", currency="USD", start="2026-10-05")
    assert fx_day(usd, v, OCT) == date(2026, 10, 31)
    assert line_base(usd, v, OCT, FX, D(1)).base == D("72.0")


def test_missing_fx_rate_pays_nothing() -> None:
    eur = line("E", "10", currency="EUR")
    b = line_base(eur, version(), OCT, FX, D(1))
    assert (b.base, b.billed, b.missing_fx, b.reasons) == (D(0), D(0), True, (Reason.MISSING_FX_RATE,))


def test_statement_base_billed_and_ignored_lines() -> None:
    v = version(rule("all", "0.1"), base=Base.NET)
    s = settle([LN, line("T", "6", charge_category=ChargeCategory.TAX),
                line("C", "0", voucher_amount="30", charge_category=ChargeCategory.CREDIT)], [v])
    assert [sl.line.line_id for sl in s.lines] == ["L"]
    assert (s.base_total, s.billed_total, s.components.commission) == (D("80.00"), D("80.00"), D("8.00"))


def test_statement_credit_line_under_cash_reduces_commission() -> None:
    v = version(rule("all", "0.1"), base=Base.CASH)
    credit = line("C", "0", voucher_amount="30", charge_category=ChargeCategory.CREDIT)
    s = settle([LN, credit], [v])
    assert {sl.line.line_id: sl.base for sl in s.lines} == {"L": D("75"), "C": D("-30")}
    assert s.components.commission == D("4.50")
    assert all(sl.role is LineRole.COMMISSION for sl in s.lines)


def test_statement_include_tax() -> None:
    v = version(rule("all", "0.1"), include_tax=True)
    s = settle([LN, line("T", "6", charge_category=ChargeCategory.TAX)], [v])
    assert s.components.commission == D("8.60")
    assert s.billed_total == D("80.00")  # billed is list − discount regardless of include_tax
