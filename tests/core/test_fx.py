"""fx.py: the newest direct rate on or before a day (spec: Currency)."""

from __future__ import annotations

from datetime import date

from cloudsettle.core.fx import FxRate, FxTable
from cloudsettle.core.money import D

TABLE = FxTable([
    FxRate(date(2026, 10, 1), "USD", "CNY", D("7.1000")),
    FxRate(date(2026, 10, 15), "USD", "CNY", D("7.2000")),
    FxRate(date(2026, 10, 10), "USD", "CNY", D("7.1500")),  # given out of order on purpose
    FxRate(date(2026, 10, 1), "JPY", "CNY", D("0.048")),
])


def test_newest_rate_on_or_before() -> None:
    assert TABLE.rate("USD", "CNY", date(2026, 10, 1)) == D("7.1000")
    assert TABLE.rate("USD", "CNY", date(2026, 10, 9)) == D("7.1000")
    assert TABLE.rate("USD", "CNY", date(2026, 10, 10)) == D("7.1500")
    assert TABLE.rate("USD", "CNY", date(2026, 10, 14)) == D("7.1500")
    assert TABLE.rate("USD", "CNY", date(2026, 10, 15)) == D("7.2000")
    assert TABLE.rate("USD", "CNY", date(2027, 1, 1)) == D("7.2000")


def test_no_rate_before_the_first() -> None:
    assert TABLE.rate("USD", "CNY", date(2026, 9, 30)) is None


def test_same_currency_is_one_even_without_rates() -> None:
    assert FxTable().rate("CNY", "CNY", date(2000, 1, 1)) == 1
    assert TABLE.rate("JPY", "JPY", date(2026, 1, 1)) == 1


def test_no_inverse_and_no_cross_rates() -> None:
    assert TABLE.rate("CNY", "USD", date(2026, 10, 20)) is None
    # JPY->CNY and CNY->USD exist in spirit, but JPY->USD is never derived.
    assert TABLE.rate("JPY", "USD", date(2026, 10, 20)) is None
    assert TABLE.rate("EUR", "CNY", date(2026, 10, 20)) is None


def test_a_later_entry_for_the_same_day_replaces_the_earlier() -> None:
    table = FxTable([FxRate(date(2026, 10, 1), "USD", "CNY", D("7.1")),
                     FxRate(date(2026, 10, 1), "USD", "CNY", D("7.3"))])
    assert table.rate("USD", "CNY", date(2026, 10, 2)) == D("7.3")
