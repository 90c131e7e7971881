"""The fast money checks give exactly what the digit-by-digit definition gives (issue 6).

``canonical_decimal`` and ``check_money`` take C decimal shortcuts; here they are held
to the definition spelled out on the digit tuple, for values of every size and
exponent, fitting or not: the same canonical digits, and a refused value refused with
the same error and message.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from decimal import Decimal
from typing import Any, cast

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import Table
from sqlalchemy.orm import Session, sessionmaker

from cloudsettle.core.money import D
from cloudsettle.db.bulk_insert import BulkInsert
from cloudsettle.db.models import StatementLineRow
from cloudsettle.db.types import Money, canonical_decimal, check_money, money_bind, money_text_bind


def by_digits(value: Decimal) -> Decimal:
    """The definition: drop trailing fractional zeros, spell a positive exponent out, 0 for any zero."""
    if not value.is_finite():
        raise ValueError(f"money must be finite, not {value}")
    if value.is_zero():
        return Decimal(0)
    sign, digits, exponent = value.as_tuple()
    assert isinstance(exponent, int)
    kept = list(digits)
    while exponent < 0 and kept[-1] == 0:
        kept.pop()
        exponent += 1
    kept.extend([0] * max(exponent, 0))
    return Decimal((sign, tuple(kept), min(exponent, 0)))


def check_by_digits(value: Decimal) -> Decimal:
    """The definition of what ``NUMERIC(38, 12)`` keeps, with the store's messages."""
    result = by_digits(value)
    _, digits, exponent = result.as_tuple()
    assert isinstance(exponent, int)
    if -exponent > 12:
        raise ValueError(f"money has {-exponent} decimal places, the store keeps 12: {value}")
    if len(digits) + exponent > 26:
        raise ValueError(f"money has more than 26 integer digits: {value}")
    return result


def outcome(check: Callable[[Decimal], Decimal], value: Decimal) -> tuple[str, object]:
    """What a check does with ``value``: the canonical digit tuple, or the error it raises."""
    try:
        result = check(value)
    except (TypeError, ValueError) as exc:
        return type(exc).__name__, str(exc)
    return "ok", result.as_tuple()


def decimals() -> st.SearchStrategy[Decimal]:
    """Any finite decimal of up to 45 digits (often with trailing zeros) at exponents -40..40:
    most fit NUMERIC(38, 12), many have too many places or integer digits."""
    digits = st.lists(st.integers(0, 9), min_size=1, max_size=45)
    zeros = st.integers(0, 15)
    return st.builds(
        lambda sign, ds, z, exponent: Decimal((sign, (*ds, *([0] * z)), exponent)),
        st.integers(0, 1), digits, zeros, st.integers(-40, 40),
    )


@settings(max_examples=3000, deadline=None, derandomize=True)
@given(value=decimals())
def test_fast_checks_equal_the_definition(value: Decimal) -> None:
    assert outcome(canonical_decimal, value) == outcome(by_digits, value)
    assert outcome(check_money, value) == outcome(check_by_digits, value)


@pytest.mark.parametrize(
    "text",
    ["0", "-0", "-0E+7", "0E-30", "8514.000000000000", "1E+3", "1E+25", "9.99E+25", "1E+26",
     "-99999999999999999999999999.999999999999", "100000000000000000000000000.0",
     "0.000000000001", "0.0000000000010", "0.0000000000001", "1.0000000000000000000000000000000000000",
     "12345678901234567890123456789012345678901234567890E-30", "1E+999999", "1E-999999",
     "NaN", "-Infinity", "sNaN"],
)
def test_edge_values_equal_the_definition(text: str) -> None:
    value = Decimal(text)
    assert outcome(canonical_decimal, value) == outcome(by_digits, value)
    assert outcome(check_money, value) == outcome(check_by_digits, value)


def bound(dialect: str, value: object) -> tuple[str, object]:
    """What ``Money`` binds on a dialect (or the error it raises), against :func:`money_bind`."""
    from sqlalchemy.dialects.postgresql.psycopg import PGDialect_psycopg
    from sqlalchemy.dialects.sqlite.pysqlite import SQLiteDialect_pysqlite

    engine = SQLiteDialect_pysqlite() if dialect == "sqlite" else PGDialect_psycopg()  # type: ignore[no-untyped-call]

    def by_type(v: Any) -> Any:
        return Money().process_bind_param(v, engine)

    def direct(v: Any) -> Any:
        return money_bind(v, dialect)

    outcomes: list[tuple[str, object]] = []
    for bind in (by_type, direct):
        try:
            got = bind(value)
        except (TypeError, ValueError) as exc:
            outcomes.append((type(exc).__name__, str(exc)))
            continue
        # SQLite: the very text; PostgreSQL: the very Decimal, digits and exponent.
        exact = got if dialect == "sqlite" or got is None else got.as_tuple()
        outcomes.append(("ok", exact))
    assert outcomes[0] == outcomes[1], (value, outcomes)
    return outcomes[0]


@settings(max_examples=1500, deadline=None, derandomize=True)
@given(value=decimals())
def test_the_direct_bind_binds_what_the_column_type_binds(value: Decimal) -> None:
    sqlite_text = bound("sqlite", value)
    bound("postgresql", value)
    if sqlite_text[0] == "ok":
        assert sqlite_text[1] == format(check_money(value), "f")


@pytest.mark.parametrize(
    "value",
    [Decimal(t) for t in ("0", "-0", "-0E+7", "0E-30", "8514.000000000000", "1E+3", "9.99E+25", "1E+26",
                          "-99999999999999999999999999.999999999999", "0.0000000000010", "0.0000000000001",
                          "NaN", "-Infinity")] + [0.5, 1, "1.5", None],
)
def test_the_direct_bind_on_edge_values(value: object) -> None:
    """Zeros, limits, specials, and what is not a Decimal at all (refused alike)."""
    for dialect in ("sqlite", "postgresql"):
        bound(dialect, value)


@pytest.mark.parametrize("value", [D("0.0000000000001"), D("1E+26"), D("-123456789012345678901234567")])
def test_the_bulk_insert_of_statement_lines_still_refuses_what_the_store_cannot_keep(
    session_factory: sessionmaker[Session], value: Decimal
) -> None:
    """A settle writes its lines through the DBAPI (``db.bulk_insert``, money as text bound by
    ``money_text_bind``): the same refusal as any write."""
    from cloudsettle.services.line_results import LineResult, texts_of
    from cloudsettle.services.settlement_service import _LINE_COLUMNS, _line_values

    table = cast(Table, StatementLineRow.__table__)
    assert set(_LINE_COLUMNS) == {c.name for c in table.columns}
    line = LineResult("p", "l", "commission", D("1"), "d", D("10"), None, None, D("0.05"), value, D("0.50"),
                      D("0"), D("0"), (), None)
    with session_factory() as session:
        dialect = session.get_bind().dialect
        writer = BulkInsert(table, _LINE_COLUMNS, dialect, money_as_text=True)
        with pytest.raises(ValueError, match="money has"):
            writer.bound(list(_line_values(1, texts_of([line]), {})))
        ok = writer.bound(list(_line_values(1, texts_of([replace(line, amount=D("0.5"))]), {})))[0]
    assert ok[_LINE_COLUMNS.index("amount")] == (D("0.5") if dialect.name == "postgresql" else "0.5")
    assert ok[_LINE_COLUMNS.index("revision")] == 0


def test_a_float_is_refused_before_any_shortcut() -> None:
    # 0.5 == Decimal("0.5") in Python: the type check must come first.
    with pytest.raises(TypeError, match=r"decimal\.Decimal only"):
        check_money(0.5)
    with pytest.raises(TypeError, match=r"decimal\.Decimal only"):
        check_money(1)


@settings(max_examples=1500, deadline=None, derandomize=True)
@given(value=decimals())
def test_the_text_bind_binds_what_the_column_type_binds(value: Decimal) -> None:
    """Statement lines go to the store as text (``LineTexts``): ``money_text_bind`` of a value's
    ``number_text`` binds what ``Money`` binds for the value, and refuses what it refuses."""
    from cloudsettle.services.line_results import number_text

    for dialect in ("sqlite", "postgresql"):
        expected = bound(dialect, value)
        try:
            got = money_text_bind(number_text(value), dialect)
        except ValueError:
            assert expected[0] == "ValueError", (value, dialect, expected)
            continue
        assert ("ok", got if dialect == "sqlite" else got.as_tuple()) == expected, (value, dialect)
    assert money_text_bind(None, "sqlite") is None
