"""Money and UtcDateTime: exact and aware on SQLite and PostgreSQL alike."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, select, text
from sqlalchemy.exc import StatementError
from sqlalchemy.orm import Session, sessionmaker

from cloudsettle.core.money import D
from cloudsettle.db.models import ManualAdjustmentRow
from cloudsettle.db.session import unit_of_work
from cloudsettle.db.types import canonical_decimal, check_money

AT = datetime(2026, 11, 3, 9, 30, tzinfo=UTC)


def _store(factory: sessionmaker[Session], amount: Decimal, *, created_at: datetime = AT) -> int:
    with unit_of_work(factory) as session:
        row = ManualAdjustmentRow(partner_id="p1", agreement_id="a1", period="2026-10",
                                  amount=amount, reason="test", evidence=None,
                                  created_by="alice", created_at=created_at)
        session.add(row)
        session.flush()
        return row.id


def _load(factory: sessionmaker[Session], row_id: int) -> ManualAdjustmentRow:
    with factory() as session:
        row = session.get(ManualAdjustmentRow, row_id)
        assert row is not None
        return row


@pytest.mark.parametrize(
    ("value", "canonical"),
    [
        ("8514.00", "8514"),
        ("8514.000000000000", "8514"),
        ("1E+3", "1000"),
        ("-0.00", "0"),
        ("0.10", "0.1"),
        ("-12345678901234567890.123456789012", "-12345678901234567890.123456789012"),
    ],
)
def test_canonical_decimal_changes_spelling_not_value(value: str, canonical: str) -> None:
    result = canonical_decimal(D(value))
    assert result == D(value)
    assert format(result, "f") == canonical
    assert str(result) == canonical


@pytest.mark.parametrize(
    "value",
    [D("0.0000000000001"), D("100000000000000000000000000"), D("1E+26")],
)
def test_check_money_refuses_what_numeric_38_12_would_round(value: Decimal) -> None:
    with pytest.raises(ValueError, match="money has"):
        check_money(value)


def test_check_money_takes_the_widest_values() -> None:
    widest = D("-99999999999999999999999999.999999999999")
    assert check_money(widest) == widest


@pytest.mark.parametrize("value", [0.1, 3, True, "0.1"])
def test_check_money_refuses_everything_but_decimal(value: object) -> None:
    with pytest.raises(TypeError, match=r"decimal\.Decimal only"):
        check_money(value)


@pytest.mark.parametrize(
    "value",
    [D("0.1"), D("-12345678901234567890.123456789012"), D("8514.00"), D("0"),
     D("99999999999999999999999999.999999999999"), D("0.000000000001"), D("-7187.5")],
)
def test_money_round_trips_exactly(session_factory: sessionmaker[Session], value: Decimal) -> None:
    loaded = _load(session_factory, _store(session_factory, value)).amount
    assert isinstance(loaded, Decimal)
    assert loaded == value
    assert loaded.as_tuple() == canonical_decimal(value).as_tuple()


def _money_values() -> st.SearchStrategy[Decimal]:
    """Decimals with up to 26 integer and exactly ``places`` (0..12) fractional digits."""
    def with_places(places: int) -> st.SearchStrategy[Decimal]:
        bound = 10 ** (26 + places) - 1
        return st.integers(-bound, bound).map(lambda n: Decimal(f"{n}E-{places}"))
    return st.integers(0, 12).flatmap(with_places)


@settings(max_examples=60, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(value=_money_values())
def test_money_round_trips_exactly_for_any_fitting_value(
    session_factory: sessionmaker[Session], value: Decimal
) -> None:
    loaded = _load(session_factory, _store(session_factory, value)).amount
    assert loaded == value
    assert format(loaded, "f") == format(canonical_decimal(value), "f")


def test_money_refuses_a_float(session_factory: sessionmaker[Session]) -> None:
    with pytest.raises(StatementError, match=r"decimal\.Decimal only") as raised:
        _store(session_factory, 0.1)  # type: ignore[arg-type]
    assert isinstance(raised.value.orig, TypeError)
    with session_factory() as session:
        assert session.scalars(select(ManualAdjustmentRow)).all() == []


def test_money_equality_query_matches_any_spelling(session_factory: sessionmaker[Session]) -> None:
    # Canonical storage makes WHERE amount = ? exact on SQLite's TEXT column too.
    row_id = _store(session_factory, D("8514.00"))
    with session_factory() as session:
        found = session.scalars(
            select(ManualAdjustmentRow.id).where(ManualAdjustmentRow.amount == D("8514.0"))
        ).all()
    assert found == [row_id]


def test_sqlite_stores_money_as_exact_text(db_engine: Engine,
                                           session_factory: sessionmaker[Session]) -> None:
    if db_engine.dialect.name != "sqlite":
        pytest.skip("SQLite storage detail")
    row_id = _store(session_factory, D("0.1"))
    with db_engine.connect() as connection:
        kind, stored = connection.execute(
            text("SELECT typeof(amount), amount FROM manual_adjustments WHERE id = :id"),
            {"id": row_id},
        ).one()
    assert (kind, stored) == ("text", "0.1")


def test_postgres_stores_money_as_numeric_38_12(db_engine: Engine) -> None:
    if db_engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL storage detail")
    with db_engine.connect() as connection:
        precision, scale = connection.execute(text(
            "SELECT numeric_precision, numeric_scale FROM information_schema.columns "
            "WHERE table_name = 'manual_adjustments' AND column_name = 'amount'"
        )).one()
    assert (precision, scale) == (38, 12)


def test_aware_datetimes_come_back_aware_utc(session_factory: sessionmaker[Session]) -> None:
    shanghai = timezone(timedelta(hours=8))
    given_at = datetime(2026, 11, 1, 0, 30, 15, 123456, tzinfo=shanghai)
    loaded = _load(session_factory, _store(session_factory, D("1"), created_at=given_at))
    assert loaded.created_at == given_at
    assert loaded.created_at.tzinfo is UTC
    assert loaded.created_at == datetime(2026, 10, 31, 16, 30, 15, 123456, tzinfo=UTC)


def test_naive_datetimes_are_refused(session_factory: sessionmaker[Session]) -> None:
    with pytest.raises(StatementError, match="naive datetime"):
        _store(session_factory, D("1"), created_at=datetime(2026, 11, 1, 0, 30))
