"""Column types that behave identically on SQLite and PostgreSQL.

``Money`` is exact on both: ``NUMERIC(38, 12)`` on PostgreSQL, canonical text
on SQLite (SQLite's ``NUMERIC`` affinity converts through a double, so
``0.1`` would come back as ``0.1000000000000000055...`` or be rounded).
``UtcDateTime`` stores aware instants and always returns aware UTC ones
(SQLite has no time zone, so without it the ``tzinfo`` is silently lost).
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import (
    MAX_EMAX,
    MAX_PREC,
    MIN_EMIN,
    Clamped,
    Context,
    Decimal,
    DecimalException,
    DivisionByZero,
    Inexact,
    InvalidOperation,
    Overflow,
    Rounded,
    Subnormal,
    Underflow,
)
from typing import Any

from sqlalchemy import DateTime, Dialect, Text
from sqlalchemy.dialects.postgresql import NUMERIC
from sqlalchemy.types import TypeDecorator, TypeEngine

#: ``NUMERIC(38, 12)``: 26 integer digits and 12 decimal places.
MONEY_PRECISION = 38
MONEY_SCALE = 12
MONEY_INTEGER_DIGITS = MONEY_PRECISION - MONEY_SCALE


#: A context in which every operation the fast paths use is exact: no stored value has
#: that many digits or that exponent, and any rounding, clamping or overflow raises
#: (the fast path then gives way to the digit-by-digit one) instead of changing a value.
_EXACT = Context(prec=MAX_PREC, Emax=MAX_EMAX, Emin=MIN_EMIN,
                 traps=[InvalidOperation, DivisionByZero, Overflow, Underflow, Subnormal, Clamped,
                        Inexact, Rounded])
_ONE = Decimal(1)
#: One unit in the last place the store keeps (``1E-12``).
_SCALE_UNIT = Decimal(1).scaleb(-MONEY_SCALE)


def canonical_decimal(value: Decimal) -> Decimal:
    """The same number with no trailing fractional zeros and no exponent.

    ``8514.000000000000`` (how PostgreSQL returns ``NUMERIC(38, 12)``) and
    ``8514.00`` both become ``8514``; ``1E+3`` becomes ``1000``; ``-0`` is ``0``.
    The value never changes, only its spelling, so both backends return the
    same ``Decimal`` and SQLite's text compares equal in ``WHERE amount = ?``.

    Every money value written or read goes through here (issue 6: half a million
    calls in a large settle), so it uses the C decimal operations in an exact
    context; :func:`_canonical_by_digits` is the same function spelled digit by digit,
    used when the exact context signals anything.
    """
    if not value.is_finite():
        raise ValueError(f"money must be finite, not {value}")
    if value.is_zero():
        return Decimal(0)
    try:
        result = value.normalize(_EXACT)  # no trailing zeros: 8514.00 -> 8514, 1000 -> 1E+3
        if result.adjusted() >= 0 and result == result.to_integral_value(context=_EXACT):
            result = result.quantize(_ONE, context=_EXACT)  # a whole number at exponent 0: 1E+3 -> 1000
    except DecimalException:
        return _canonical_by_digits(value)
    return result


def _canonical_by_digits(value: Decimal) -> Decimal:
    """:func:`canonical_decimal` on the digit tuple (``value`` is finite and not zero)."""
    sign, digits, exponent = value.as_tuple()
    assert isinstance(exponent, int)  # finite, checked by the caller
    kept = list(digits)
    while exponent < 0 and kept[-1] == 0:
        kept.pop()
        exponent += 1
    if exponent > 0:
        kept.extend([0] * exponent)
        exponent = 0
    return Decimal((sign, tuple(kept), exponent))


def _fits(canonical: Decimal) -> bool:
    """Whether a canonical value surely fits ``NUMERIC(38, 12)``: its leading digit is at
    most 10^25 (26 integer digits) and quantizing it to 12 places is exact. False sends
    the value to the full check, which names what is wrong."""
    if canonical.adjusted() >= MONEY_INTEGER_DIGITS:
        return False
    try:
        return canonical.quantize(_SCALE_UNIT, context=_EXACT) == canonical
    except DecimalException:
        return False


def check_money(value: object) -> Decimal:
    """``value`` in canonical form if it is a Decimal that fits ``NUMERIC(38, 12)``.

    Raises TypeError for anything but a Decimal (a float is never money; an
    int is refused too so a float-derived number cannot slip in as ``int(x)``),
    and ValueError for a value PostgreSQL would round or refuse: more than 12
    decimal places or more than 26 integer digits. Refusing on SQLite as well
    keeps the two backends identical.
    """
    if not isinstance(value, Decimal):
        raise TypeError(f"money columns take decimal.Decimal only, not {type(value).__name__}: "
                        f"{value!r}")
    result = canonical_decimal(value)
    if _fits(result):  # the common case, without taking the digits apart
        return result
    _, digits, exponent = result.as_tuple()
    assert isinstance(exponent, int)
    places = -exponent
    if places > MONEY_SCALE:
        raise ValueError(f"money has {places} decimal places, the store keeps {MONEY_SCALE}: "
                         f"{value}")
    if len(digits) - places > MONEY_INTEGER_DIGITS:
        raise ValueError(f"money has more than {MONEY_INTEGER_DIGITS} integer digits: {value}")
    return result


#: A canonical text this short has at most 12 places or 13 integer digits: it always fits.
_SURELY_FITS = 13


def money_bind(value: Decimal | None, dialect_name: str) -> Any:
    """What :class:`Money` binds for ``value`` on a dialect, for code that writes many rows
    through the DBAPI directly (``db/bulk_insert.py``, issue 6): the same text on SQLite, the
    same canonical Decimal on PostgreSQL, the same error for a value that does not fit. Positional
    notation with its trailing zeros stripped is the canonical text, at a third of the cost
    of :func:`check_money`; anything unusual takes :func:`check_money`'s path."""
    if value is None:
        return None
    if type(value) is Decimal and value.is_finite():
        text = format(value, "f")
        point = text.find(".")
        if point >= 0:
            text = text.rstrip("0").rstrip(".")
        if text == "-0":
            text = "0"
        bound = _bound_if_it_fits(text, dialect_name)
        if bound is not None:
            return bound
    exact = check_money(value)
    return exact if dialect_name == "postgresql" else format(exact, "f")


def money_text_bind(text: str | None, dialect_name: str) -> Any:
    """What :class:`Money` binds for the amount spelled ``text`` in canonical positional notation
    (``services.line_results.number_text``: ``-12.5``, ``0``, never ``1E-7`` or ``2.50``), for
    writers that have the text already and no ``Decimal`` (the bulk engine's results, issue 6).
    A text that does not fit ``NUMERIC(38, 12)`` takes :func:`money_bind`'s path, and its error."""
    if text is None:
        return None
    bound = _bound_if_it_fits(text, dialect_name)
    return bound if bound is not None else money_bind(Decimal(text), dialect_name)


def _bound_if_it_fits(text: str, dialect_name: str) -> Any:
    """What ``Money`` binds for a canonical positional ``text`` that fits ``NUMERIC(38, 12)``
    (the text on SQLite, its Decimal on PostgreSQL), or None when it may not fit."""
    if len(text) > _SURELY_FITS:
        point = text.find(".")
        whole = (point if point >= 0 else len(text)) - (1 if text.startswith("-") else 0)
        places = len(text) - point - 1 if point >= 0 else 0
        if places > MONEY_SCALE or whole > MONEY_INTEGER_DIGITS:
            return None
    return Decimal(text) if dialect_name == "postgresql" else text


class Money(TypeDecorator[Decimal]):
    """An exact signed amount: ``NUMERIC(38, 12)`` on PostgreSQL, canonical TEXT on SQLite.

    Values come back canonical (see :func:`canonical_decimal`), equal to what
    was stored. On SQLite the column is text: never ``ORDER BY``, compare with
    ``<``, or ``SUM`` a money column in SQL; load rows and do the arithmetic
    with ``Decimal`` (or in the DuckDB line store, which is exact).
    """

    impl = Text
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "postgresql":
            return dialect.type_descriptor(NUMERIC(MONEY_PRECISION, MONEY_SCALE, asdecimal=True))
        return dialect.type_descriptor(Text())

    def process_bind_param(self, value: Decimal | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        exact = check_money(value)
        if dialect.name == "postgresql":
            return exact
        return format(exact, "f")

    def process_literal_param(self, value: Decimal | None, dialect: Dialect) -> str:
        if value is None:
            return "NULL"
        text = format(check_money(value), "f")
        return text if dialect.name == "postgresql" else f"'{text}'"

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        if isinstance(value, Decimal):
            return canonical_decimal(value)
        if isinstance(value, str):
            return canonical_decimal(Decimal(value))
        # A number written into the TEXT column behind the ORM's back (raw SQL) is
        # not trustworthy: it may already have gone through a double.
        raise TypeError(f"money column holds a {type(value).__name__}, not exact text: {value!r}")

    @property
    def python_type(self) -> type[Decimal]:
        return Decimal


class UtcDateTime(TypeDecorator[datetime]):
    """An instant: takes aware datetimes only, returns aware UTC datetimes on both backends.

    PostgreSQL stores ``TIMESTAMP WITH TIME ZONE``; SQLite stores the UTC wall
    time as text (which also sorts correctly) and UTC is attached on the way out.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if not isinstance(value, datetime):
            raise TypeError(f"instant columns take datetime, not {type(value).__name__}: {value!r}")
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value.isoformat()}: times are stored as aware UTC")
        utc = value.astimezone(UTC)
        if dialect.name == "postgresql":
            return utc
        return utc.replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)

    @property
    def python_type(self) -> type[datetime]:
        return datetime
