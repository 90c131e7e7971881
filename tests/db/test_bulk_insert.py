"""``BulkInsert`` binds what the column types bind (issue 6), and stores what Core's insert stores.

The bulk insert remembers each column processor's result for a repeated value; here it is
held to the processors themselves, value by value, on SQLite and PostgreSQL (awkward amounts,
times in other zones, naive ones, ``fold``, repeats spelled otherwise), and an ingest's rows are
held to the same rows inserted through SQLAlchemy Core, as each backend stores them.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any, cast
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import Dialect, Table, insert
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, sessionmaker

from cloudsettle.core.lines import BillingLine
from cloudsettle.core.revisions import content_hash
from cloudsettle.db.bulk_insert import BulkInsert
from cloudsettle.db.models import LineRevisionRow
from cloudsettle.ingest.raw_store import RawStore
from cloudsettle.ingest.readers import iter_bill_file
from cloudsettle.services.ingest_service import ingest_file
from cloudsettle.services.records import REVISION_COLUMNS, revision_values

REVISIONS = cast(Table, LineRevisionRow.__table__)
CASE = Path(__file__).parents[1] / "golden" / "cases" / "31-prior-period-revised-line"
DIALECTS: dict[str, Dialect] = {"sqlite": sqlite.dialect(), "postgresql": postgresql.psycopg.dialect()}  # type: ignore[no-untyped-call]

#: Amounts the store keeps (at most 12 places, 26 integer digits; a refused one is tested apart).
_AMOUNTS = st.builds(
    lambda digits, places: Decimal(digits).scaleb(-places), st.integers(-(10**25), 10**25), st.integers(0, 12)
) | st.sampled_from(
    [
        Decimal("0"),
        Decimal("-0"),
        Decimal("0.00"),
        Decimal("1.50"),
        Decimal("1.5"),
        Decimal("15E-1"),
        Decimal("1E+3"),
        Decimal("1000"),
        Decimal("-12.30"),
        Decimal("0.000000000001"),
        Decimal("1.500000000000"),
    ]
)
_ZONES = st.sampled_from([UTC, timezone(timedelta(hours=8)), UTC, ZoneInfo("America/New_York")])
_TIMES = st.builds(
    lambda moment, zone, fold: moment.replace(tzinfo=zone, fold=fold),
    st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2100, 1, 1)),
    _ZONES,
    st.sampled_from([0, 1]),
)
_FEW_TIMES = st.sampled_from(
    [
        datetime(2026, 11, 1, 5, 30, tzinfo=UTC),
        datetime(2026, 11, 1, 5, 30, tzinfo=UTC, fold=1),
        datetime(2026, 11, 1, 1, 30, tzinfo=ZoneInfo("America/New_York")),
        datetime(2026, 11, 1, 1, 30, tzinfo=ZoneInfo("America/New_York"), fold=1),
        datetime(2026, 11, 1, 13, 30, tzinfo=timezone(timedelta(hours=8))),
    ]
)


#: A plain revision row, by column; tests change the columns they are about.
_PLAIN: dict[str, object] = dict(zip(REVISION_COLUMNS, (
    "p", "l", 1, 1, 2, "h", "a", datetime(2026, 10, 1, tzinfo=UTC), datetime(2026, 10, 1, tzinfo=UTC),
    date(2026, 10, 1), Decimal(1), "CNY", Decimal(0), Decimal(0), Decimal(0), "s", "c", "usage", "other",
    "r", "", "", "", "", False, None, None, "{}", datetime(2026, 10, 1, tzinfo=UTC),
), strict=True))


def _row(**values: object) -> tuple[object, ...]:
    """A revision row's values in :data:`REVISION_COLUMNS` order: ``values`` over :data:`_PLAIN`."""
    unknown = set(values) - set(_PLAIN)
    assert not unknown, unknown
    return tuple(values.get(name, _PLAIN[name]) for name in REVISION_COLUMNS)


@st.composite
def _rows(draw: st.DrawFn) -> tuple[Any, ...]:
    """A revision row's values in :data:`REVISION_COLUMNS` order (amounts and times drawn from
    small pools too, so that equal values, spelled alike or not, repeat)."""
    amount = st.one_of(_AMOUNTS, st.sampled_from([Decimal("2.50"), Decimal("2.5"), Decimal("25E-1")]))
    instant = st.one_of(_TIMES, _FEW_TIMES)
    return _row(
        line_id=draw(st.text(max_size=5)), revision=draw(st.integers(1, 5)),
        charge_start=draw(instant), charge_end=draw(instant), billing_period=draw(st.dates()),
        list_amount=draw(amount), discount_amount=draw(amount), voucher_amount=draw(amount),
        tax_amount=draw(amount), is_correction=draw(st.booleans()), paid_at=draw(st.none() | instant),
        original_line_id=draw(st.none() | st.text(max_size=3)), ingested_at=draw(instant),
    )


def _by_processors(rows: Sequence[Sequence[Any]], dialect: Dialect) -> list[tuple[Any, ...]]:
    """The definition: every value through its column type's own bind processor."""
    processors = [
        REVISIONS.c[name].type.dialect_impl(dialect).bind_processor(dialect) for name in REVISION_COLUMNS
    ]
    return [tuple(v if p is None else p(v) for p, v in zip(processors, row, strict=True)) for row in rows]


def _exact(value: Any) -> Any:
    """A value with everything the DBAPI could tell apart: its type, and a Decimal's digits."""
    return (type(value), value, value.as_tuple() if isinstance(value, Decimal) else None)


@pytest.mark.parametrize("dialect_name", sorted(DIALECTS))
@settings(max_examples=150, deadline=None)
@given(rows=st.lists(_rows(), min_size=1, max_size=12))
def test_bound_rows_are_what_the_column_types_bind(dialect_name: str, rows: list[tuple[Any, ...]]) -> None:
    dialect = DIALECTS[dialect_name]
    bulk = BulkInsert(REVISIONS, REVISION_COLUMNS, dialect)
    expected = [tuple(map(_exact, row)) for row in _by_processors(rows, dialect)]
    assert [tuple(map(_exact, row)) for row in bulk.bound(rows)] == expected
    assert [tuple(map(_exact, row)) for row in bulk.bound(rows[::-1])] == expected[::-1]  # now remembered


@pytest.mark.parametrize("dialect_name", sorted(DIALECTS))
@pytest.mark.parametrize(
    ("column", "bad"),
    [
        ("list_amount", 1.5),
        ("list_amount", 2),
        ("list_amount", Decimal("NaN")),
        ("list_amount", Decimal("1E-13")),
        ("charge_start", datetime(2026, 10, 1)),
        ("charge_start", date(2026, 10, 1)),
    ],
)
def test_a_value_the_column_refuses_is_refused_alike(dialect_name: str, column: str, bad: object) -> None:
    dialect = DIALECTS[dialect_name]
    bulk = BulkInsert(REVISIONS, REVISION_COLUMNS, dialect)
    good = [_row()]
    bulk.bound(good)  # the good values are remembered first
    row: list[object] = list(good[0])
    row[REVISION_COLUMNS.index(column)] = bad
    processor = REVISIONS.c[column].type.dialect_impl(dialect).bind_processor(dialect)
    assert processor is not None
    with pytest.raises((TypeError, ValueError)) as expected:
        processor(bad)
    with pytest.raises(expected.type, match="^" + re.escape(str(expected.value)) + "$"):
        bulk.bound([tuple(row)])


def test_rows_of_the_wrong_width_are_refused() -> None:
    bulk = BulkInsert(REVISIONS, REVISION_COLUMNS, DIALECTS["sqlite"])
    with pytest.raises(ValueError, match="values for 29 columns"):
        bulk.bound([("p", "l")])


def _stored(session: Session, revision: int) -> list[tuple[Any, ...]]:
    """The rows of one revision number as the database holds them (SQLite: with each value's
    storage class), without the revision number and the insert time."""
    names = [c for c in REVISION_COLUMNS if c not in ("revision", "ingested_at")]
    typed = names + ([f"typeof({c})" for c in names] if session.get_bind().dialect.name == "sqlite" else [])
    result = session.connection().exec_driver_sql(
        f"SELECT {', '.join(typed)} FROM line_revisions WHERE revision = {revision} "
        "ORDER BY provider, line_id"
    )
    return [tuple(row) for row in result]


def test_an_ingest_stores_what_a_core_insert_of_its_lines_stores(
    session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    """The ingest's revisions (bulk) against the same lines inserted again through SQLAlchemy Core
    (every value through its type) as revision 99: the same values, on both backends."""
    path = CASE / "lines-2026-09.csv"
    with session_factory() as session, session.begin():
        report = ingest_file(
            session, raw_store=RawStore(tmp_path / "raw"), path=path, provider=None, actor="loader"
        )
    assert report.new > 0
    _, items = iter_bill_file(path)
    lines = [item for _, item in items if isinstance(item, BillingLine)]
    with session_factory() as session, session.begin():
        first = {
            (provider, line_id, digest): row
            for provider, line_id, digest, row in session.connection().exec_driver_sql(
                "SELECT provider, line_id, content_hash, source_row FROM line_revisions WHERE revision = 1"
            )
        }
        again: dict[tuple[str, str], dict[str, Any]] = {}
        for line in lines:
            key = (line.provider, line.line_id, content_hash(line))
            if key in first:
                again[key[:2]] = revision_values(
                    line, revision=99, batch_id=report.batch_id, source_row=first[key], content_hash=key[2]
                )
        session.execute(insert(REVISIONS), list(again.values()))
        bulk, core = _stored(session, 1), _stored(session, 99)
        assert len(bulk) == report.new == len(core)
        assert bulk == core
        stamps = (
            session.connection().exec_driver_sql("SELECT ingested_at FROM line_revisions").scalars().all()
        )
        kind = str if session.get_bind().dialect.name == "sqlite" else datetime
        assert all(isinstance(stamp, kind) for stamp in stamps)
