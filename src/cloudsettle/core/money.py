"""Exact money: ``D()``, currency minor units, the spec's four rounding modes and
largest-remainder allocation.

Floats never enter: ``D()`` refuses them, and the test suite traps
``decimal.FloatOperation`` so a float that sneaks in elsewhere fails loudly.
"""

from __future__ import annotations

import decimal
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

ZERO = Decimal(0)

#: Decimal places of each currency's minor unit (ISO 4217). Unknown codes use 2.
MINOR_UNITS: dict[str, int] = {
    "CNY": 2, "USD": 2, "EUR": 2, "HKD": 2, "SGD": 2, "GBP": 2, "AUD": 2,
    "CAD": 2, "CHF": 2, "MYR": 2, "THB": 2, "IDR": 2, "INR": 2, "TWD": 2,
    "PHP": 2, "VND": 0, "JPY": 0, "KRW": 0, "CLP": 0, "BHD": 3, "KWD": 3,
}

#: A context wide enough that no settlement product is ever rounded by accident.
EXACT = decimal.Context(prec=60, rounding=decimal.ROUND_HALF_EVEN, traps=[
    decimal.InvalidOperation, decimal.DivisionByZero, decimal.Overflow, decimal.FloatOperation,
])


class RoundingMode(StrEnum):
    """``rounding.mode`` of an agreement version (spec step 10)."""

    HALF_UP = "half_up"  # ties away from zero: 0.125 -> 0.13, -0.125 -> -0.13
    HALF_EVEN = "half_even"  # banker's: 0.125 -> 0.12
    DOWN = "down"  # toward zero: 0.129 -> 0.12
    UP = "up"  # away from zero: 0.121 -> 0.13


_DECIMAL_ROUNDING: dict[RoundingMode, str] = {
    RoundingMode.HALF_UP: decimal.ROUND_HALF_UP,
    RoundingMode.HALF_EVEN: decimal.ROUND_HALF_EVEN,
    RoundingMode.DOWN: decimal.ROUND_DOWN,
    RoundingMode.UP: decimal.ROUND_UP,
}


def D(value: str | int | Decimal = 0) -> Decimal:  # noqa: N802 - beancount's name, on purpose
    """Build an exact decimal from a string, an int or a Decimal; refuse floats.

    >>> D("0.08") * D(90000)
    Decimal('7200.00')
    """
    if isinstance(value, float):
        raise TypeError(f"money must not be a float: {value!r}")
    if isinstance(value, bool):
        raise TypeError("money must not be a bool")
    if isinstance(value, str):
        text = value.strip().replace("_", "")
        try:
            result = Decimal(text)
        except decimal.InvalidOperation as exc:
            raise ValueError(f"not a decimal number: {value!r}") from exc
    else:
        result = Decimal(value)
    if not result.is_finite():
        raise ValueError(f"not a finite decimal number: {value!r}")
    return result


def minor_unit(currency: str) -> int:
    """Decimal places of ``currency`` (CNY 2, JPY 0); 2 for a code we do not list."""
    return MINOR_UNITS.get(currency.upper(), 2)


def quantum(currency: str) -> Decimal:
    """The smallest amount of ``currency``: ``Decimal('0.01')`` for CNY, ``1`` for JPY."""
    return Decimal(1).scaleb(-minor_unit(currency))


def _unsigned_zero(amount: Decimal) -> Decimal:
    """``-0.00`` is zero: drop the sign Decimal keeps on a rounded-away negative."""
    return amount.copy_abs() if amount.is_zero() else amount


def round_money(amount: Decimal, currency: str, mode: RoundingMode = RoundingMode.HALF_UP) -> Decimal:
    """Round ``amount`` to ``currency``'s minor unit with the spec's ``mode`` (step 10).

    ``-0.001`` rounds to ``0.00``, never ``-0.00``.
    """
    return _unsigned_zero(amount.quantize(quantum(currency), rounding=_DECIMAL_ROUNDING[mode], context=EXACT))


def format_money(amount: Decimal, currency: str) -> str:
    """The JSON form of an amount: exactly the currency's decimals, never an exponent,
    never ``-0.00``."""
    return f"{_unsigned_zero(amount.quantize(quantum(currency), context=EXACT)):f}"


@dataclass(frozen=True, slots=True)
class Money:
    """An exact amount in one currency.

    Attributes:
      amount: the signed exact amount.
      currency: ISO 4217 code.
    """

    amount: Decimal
    currency: str

    def __post_init__(self) -> None:
        if not isinstance(self.amount, Decimal):
            raise TypeError(f"Money.amount must be a Decimal, not {type(self.amount).__name__}")

    def __add__(self, other: Money) -> Money:
        self._same_currency(other)
        return Money(self.amount + other.amount, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same_currency(other)
        return Money(self.amount - other.amount, self.currency)

    def __neg__(self) -> Money:
        return Money(-self.amount, self.currency)

    def rounded(self, mode: RoundingMode = RoundingMode.HALF_UP) -> Money:
        """This amount rounded to the currency's minor unit."""
        return Money(round_money(self.amount, self.currency, mode), self.currency)

    def __str__(self) -> str:
        return f"{format_money(self.amount, self.currency)} {self.currency}"

    def _same_currency(self, other: Money) -> None:
        if other.currency != self.currency:
            raise ValueError(f"currency mismatch: {self.currency} and {other.currency}")


def allocate_largest_remainder(parts: Sequence[Decimal], total: Decimal, currency: str) -> list[Decimal]:
    """Share a rounded ``total`` among exact ``parts`` so the shares add up to it exactly.

    Each part is first floored to the minor unit; the units still missing go one
    each to the parts with the largest remainders, ties to the earlier part
    (spec step 10: callers pass parts in ``(charge_start, line_id)`` order).
    Any rounding mode rounds ``sum(parts)`` to within ``[floor(sum), ceil(sum)]``,
    so the missing units are between 0 and ``len(parts)``; a total outside that
    range is a caller's bug.

    >>> allocate_largest_remainder([D("0.333"), D("0.333"), D("0.334")], D("1.00"), "CNY")
    [Decimal('0.33'), Decimal('0.33'), Decimal('0.34')]
    """
    if not parts:
        if total != 0:
            raise ValueError("cannot allocate a non-zero total to no parts")
        return []
    unit = quantum(currency)
    floors = [_unsigned_zero(p.quantize(unit, rounding=decimal.ROUND_FLOOR, context=EXACT)) for p in parts]
    missing = (total - sum(floors, ZERO)) / unit
    if missing != missing.to_integral_value() or not 0 <= missing <= len(parts):
        raise ValueError(f"total {total} cannot be allocated over parts summing to {sum(parts, ZERO)}")
    order = sorted(range(len(parts)), key=lambda i: (-(parts[i] - floors[i]), i))
    shares = list(floors)
    for i in order[: int(missing)]:
        shares[i] += unit
    return shares
