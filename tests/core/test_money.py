"""money.py: D(), minor units, the four rounding modes of spec step 10, largest remainder."""

from __future__ import annotations

import decimal
from decimal import Decimal

import pytest

from cloudsettle.core.money import D as D_
from cloudsettle.core.money import (
    Money,
    RoundingMode,
    allocate_largest_remainder,
    format_money,
    minor_unit,
    quantum,
    round_money,
)
from tests.core.settlement.factories import line, rule, settle, version


def D(text: str) -> Decimal:  # noqa: N802 - mirrors the production name
    return D_(text)


def test_d_refuses_float_and_bool() -> None:
    with pytest.raises(TypeError):
        D_(0.1)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        D_(True)


def test_d_reads_strings_ints_and_underscores() -> None:
    assert D_(" 1_000.50 ") == Decimal("1000.50")
    assert D_(7) == Decimal(7)
    assert D_(Decimal("0.08")) == Decimal("0.08")
    assert D_() == 0


@pytest.mark.parametrize("bad", ["abc", "NaN", "Infinity", ""])
def test_d_refuses_non_numbers(bad: str) -> None:
    with pytest.raises(ValueError, match="decimal"):
        D_(bad)


@pytest.mark.parametrize(("currency", "places", "unit"), [
    ("CNY", 2, "0.01"), ("usd", 2, "0.01"), ("JPY", 0, "1"), ("KRW", 0, "1"), ("BHD", 3, "0.001"),
    ("XXX", 2, "0.01"),
])
def test_minor_units(currency: str, places: int, unit: str) -> None:
    assert minor_unit(currency) == places
    assert quantum(currency) == D(unit)


@pytest.mark.parametrize(("amount", "mode", "expected"), [
    # half_up: ties away from zero, both signs.
    ("0.125", RoundingMode.HALF_UP, "0.13"),
    ("-0.125", RoundingMode.HALF_UP, "-0.13"),
    ("0.124999", RoundingMode.HALF_UP, "0.12"),
    # half_even: ties to the even neighbour.
    ("0.125", RoundingMode.HALF_EVEN, "0.12"),
    ("0.135", RoundingMode.HALF_EVEN, "0.14"),
    ("-0.125", RoundingMode.HALF_EVEN, "-0.12"),
    ("0.1251", RoundingMode.HALF_EVEN, "0.13"),
    # down: toward zero.
    ("0.129", RoundingMode.DOWN, "0.12"),
    ("-0.129", RoundingMode.DOWN, "-0.12"),
    # up: away from zero.
    ("0.121", RoundingMode.UP, "0.13"),
    ("-0.121", RoundingMode.UP, "-0.13"),
    ("0.120", RoundingMode.UP, "0.12"),
])
def test_rounding_modes_cny(amount: str, mode: RoundingMode, expected: str) -> None:
    result = round_money(D(amount), "CNY", mode)
    assert result == D(expected)
    assert result.as_tuple().exponent == -2


@pytest.mark.parametrize(("amount", "mode", "expected"), [
    ("2.5", RoundingMode.HALF_UP, "3"), ("2.5", RoundingMode.HALF_EVEN, "2"),
    ("-2.5", RoundingMode.HALF_UP, "-3"), ("2.9", RoundingMode.DOWN, "2"),
    ("2.1", RoundingMode.UP, "3"), ("-2.1", RoundingMode.UP, "-3"),
])
def test_rounding_modes_jpy_scale_0(amount: str, mode: RoundingMode, expected: str) -> None:
    result = round_money(D(amount), "JPY", mode)
    assert result == D(expected)
    assert result.as_tuple().exponent == 0
    assert round_money(D(amount), "KRW", mode) == D(expected)


def test_round_money_default_is_half_up() -> None:
    assert round_money(D("0.005"), "CNY") == D("0.01")


def test_round_money_does_not_depend_on_the_ambient_context() -> None:
    with decimal.localcontext() as ctx:
        ctx.prec = 3
        ctx.rounding = decimal.ROUND_DOWN
        assert round_money(D("123456.785"), "CNY", RoundingMode.HALF_UP) == D("123456.79")


def test_format_money() -> None:
    assert format_money(D("1E+3"), "CNY") == "1000.00"
    assert format_money(D("-0.5"), "CNY") == "-0.50"
    assert format_money(D("12"), "JPY") == "12"


def test_money_arithmetic_and_currency_mismatch() -> None:
    a = Money(D("1.005"), "CNY")
    assert (a + Money(D("1"), "CNY")).amount == D("2.005")
    assert (a - Money(D("1"), "CNY")).amount == D("0.005")
    assert (-a).amount == D("-1.005")
    assert a.rounded().amount == D("1.01")
    assert a.rounded(RoundingMode.HALF_EVEN).amount == D("1.00")
    assert str(Money(D("3"), "CNY")) == "3.00 CNY"
    with pytest.raises(ValueError, match="mismatch"):
        _ = a + Money(D("1"), "USD")
    with pytest.raises(TypeError):
        Money(1, "CNY")  # type: ignore[arg-type]


def test_allocate_docstring_example() -> None:
    assert allocate_largest_remainder([D("0.333"), D("0.333"), D("0.334")], D("1.00"), "CNY") == [
        D("0.33"), D("0.33"), D("0.34")]


def test_allocate_ties_go_to_the_earlier_part() -> None:
    # Three equal thirds of 1.00: one unit is missing; the first part takes it.
    third = D("0.3333333333")
    assert allocate_largest_remainder([third, third, third], D("1.00"), "CNY") == [
        D("0.34"), D("0.33"), D("0.33")]
    # Two units missing: the first two parts take them.
    assert allocate_largest_remainder([D("0.005")] * 4, D("0.02"), "CNY") == [
        D("0.01"), D("0.01"), D("0.00"), D("0.00")]


def test_allocate_largest_remainder_wins_over_position() -> None:
    assert allocate_largest_remainder([D("0.001"), D("0.009")], D("0.01"), "CNY") == [
        D("0.00"), D("0.01")]


def test_allocate_negative_parts() -> None:
    # floors: -0.13, -0.13 (sum -0.26); total -0.25 needs one unit, tie -> earlier part.
    assert allocate_largest_remainder([D("-0.125"), D("-0.125")], D("-0.25"), "CNY") == [
        D("-0.12"), D("-0.13")]
    # Rounded half_up the total is -0.25 as well; down rounding of -0.249 gives -0.24.
    shares = allocate_largest_remainder([D("-0.1245"), D("-0.1245")], D("-0.24"), "CNY")
    assert sum(shares) == D("-0.24")
    assert shares == [D("-0.12"), D("-0.12")]


def test_allocate_mixed_signs_add_up() -> None:
    parts = [D("10.004"), D("-3.337"), D("0.003")]
    total = round_money(sum(parts, D("0")), "CNY")
    shares = allocate_largest_remainder(parts, total, "CNY")
    assert sum(shares) == total == D("6.67")
    assert all(abs(s - p) < D("0.01") for s, p in zip(shares, parts, strict=True))


def test_allocate_jpy() -> None:
    assert allocate_largest_remainder([D("0.5"), D("0.5"), D("0.5")], D("2"), "JPY") == [
        D("1"), D("1"), D("0")]


def test_allocate_no_parts() -> None:
    assert allocate_largest_remainder([], D("0"), "CNY") == []
    with pytest.raises(ValueError, match="no parts"):
        allocate_largest_remainder([], D("0.01"), "CNY")


@pytest.mark.parametrize("total", ["1.03", "0.99", "1.005"])
def test_allocate_refuses_totals_out_of_range(total: str) -> None:
    # floors give 1.00: between 0 and 2 more units (one per part) can be allocated, no other.
    with pytest.raises(ValueError, match="cannot be allocated"):
        allocate_largest_remainder([D("0.50"), D("0.50")], D(total), "CNY")


# Negative zero: found by the property tests. ``Decimal('-0.001')`` rounded to cents is
# ``Decimal('-0.00')``, which a statement printed as "-0.00" (and SQLite stores as text).


@pytest.mark.parametrize("mode", list(RoundingMode))
def test_round_money_never_returns_negative_zero(mode: RoundingMode) -> None:
    for amount in ("-0.001", "-0.0049", "-0", "-0.000"):
        result = round_money(D(amount), "CNY", mode)
        if result == 0:
            assert str(result) == "0.00", (amount, mode)
    assert str(round_money(D_("-0.4"), "JPY", RoundingMode.HALF_UP)) == "0"


def test_format_money_never_prints_negative_zero() -> None:
    assert format_money(D_("-0.00"), "CNY") == "0.00"
    assert format_money(D_("-0.001"), "CNY") == "0.00"
    assert format_money(D_("-0"), "JPY") == "0"
    assert format_money(D_("-0.01"), "CNY") == "-0.01"


def test_a_statement_component_rounding_to_zero_prints_as_zero() -> None:
    s = settle([line("L", "-0.01")], [version(rule("all", "0.1"))])
    assert s.components.commission == 0
    assert format_money(s.components.commission, "CNY") == "0.00"
    assert str(s.components.commission) == "0.00"
    assert [format_money(sl.shown, "CNY") for sl in s.lines] == ["0.00"]


def test_allocation_of_negative_zero_parts_prints_as_zero() -> None:
    shares = allocate_largest_remainder([D_("-0.0000")], D_("0.00"), "CNY")
    assert [format_money(x, "CNY") for x in shares] == ["0.00"]
