"""Many rows into one table through the DBAPI's ``executemany``, bound as the column types bind them.

Issue 6: a first ingest writes a revision row per line, and SQLAlchemy's executemany calls a
bind processor for every money and instant value of every row (``Money``, ``UtcDateTime``
and SQLite's DATETIME formatting were a sixth of an ingest). Bills repeat their amounts,
times, dates and flags, so :class:`BulkInsert` remembers what each column's own processor
gave for a value and binds a repeat without calling it again: what reaches the database is
what the processor gives, the same text on SQLite and equal values on PostgreSQL.

Money is bound by ``types.money_bind`` (what ``Money`` binds, at a third of the cost), not
remembered. Another value is remembered only where the processor's result depends on the value
alone, as ``==`` and ``hash`` see it: a finite ``Decimal``, a ``datetime`` whose ``tzinfo`` is
UTC (equal ones are the same instant and the same wall time), a ``date`` and a ``bool``, each of
exactly that type. Any other value goes to the processor every time.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from functools import partial
from typing import Any

from sqlalchemy import Connection, Dialect, Table

from cloudsettle.db.types import Money, money_bind, money_text_bind

#: How many distinct values a column remembers before it starts afresh (bounds the memory).
MEMO_SIZE = 1 << 16

Processor = Callable[[Any], Any]


def _memoized(processor: Processor, exact: type, extra: Callable[[Any], bool] | None) -> Processor:
    """``processor`` remembering its results for values of type ``exact`` (and ``extra(value)``)."""
    memo: dict[Any, Any] = {}

    def bind(value: Any) -> Any:
        if type(value) is not exact or (extra is not None and not extra(value)):
            return processor(value)
        found = memo.get(value, memo)
        if found is memo:
            if len(memo) >= MEMO_SIZE:
                memo.clear()
            found = memo[value] = processor(value)
        return found

    return bind


def _finite(value: Decimal) -> bool:
    return value.is_finite()  # NaN never equals itself, and a signalling NaN cannot be hashed


def _utc(value: datetime) -> bool:
    return value.tzinfo is UTC  # in another zone equal wall times may be different instants (fold)


def column_binder(table: Table, column: str, dialect: Dialect, *, money_as_text: bool = False
                  ) -> Processor | None:
    """What ``table.c[column]``'s type binds a value as on ``dialect`` (None: as it is).
    ``money_as_text``: money comes spelled as ``types.money_text_bind`` takes it, not as Decimal."""
    type_ = table.c[column].type
    processor: Processor | None
    if isinstance(type_, Money) and money_as_text:
        return partial(money_text_bind, dialect_name=dialect.name)
    if isinstance(type_, Money):
        # What Money binds, by the shortcut held to it in tests/db/test_money_fast_path.py. Not
        # remembered: hashing a Decimal costs most of what binding it does (1.5 µs and 2 µs).
        return partial(money_bind, dialect_name=dialect.name)
    processor = type_.dialect_impl(dialect).bind_processor(dialect)
    if processor is None:
        return None
    python_type: type | None
    try:
        python_type = type_.python_type
    except NotImplementedError:  # pragma: no cover - every column type here names one
        python_type = None
    if python_type is Decimal:
        return _memoized(processor, Decimal, _finite)
    if python_type is datetime:
        return _memoized(processor, datetime, _utc)
    if python_type in (date, bool):
        return _memoized(processor, python_type, None)
    return processor


class BulkInsert:
    """An ``INSERT`` of many rows of ``columns`` into ``table`` on one dialect, straight to the
    DBAPI (no statement compiled per call, no parameter dict per row). With ``money_as_text``
    the money columns take canonical text (:func:`cloudsettle.db.types.money_text_bind`)."""

    def __init__(self, table: Table, columns: Sequence[str], dialect: Dialect, *,
                 money_as_text: bool = False) -> None:
        self.columns = tuple(columns)
        quote = dialect.identifier_preparer.quote
        if dialect.paramstyle == "qmark":
            mark = "?"
        elif dialect.paramstyle in ("format", "pyformat"):
            mark = "%s"
        else:  # pragma: no cover - the store runs on SQLite and PostgreSQL
            raise ValueError(f"no bulk insert for the {dialect.paramstyle} paramstyle")
        # Names from the table and placeholders only: no value is spliced in.
        self.sql = (
            f"INSERT INTO {quote(table.name)} ({', '.join(quote(c) for c in self.columns)}) "  # noqa: S608
            f"VALUES ({', '.join([mark] * len(self.columns))})"
        )
        self._binders: list[tuple[int, Processor]] = [
            (index, binder)
            for index, name in enumerate(self.columns)
            if (binder := column_binder(table, name, dialect, money_as_text=money_as_text)) is not None
        ]

    def bound(self, rows: Sequence[Sequence[Any]]) -> list[tuple[Any, ...]]:
        """The rows as the DBAPI receives them: each value as its column's type binds it.
        Column by column, so a column's values go through one tight loop."""
        if not rows:
            return []
        if not self._binders:
            return [tuple(row) for row in rows]
        values: list[Sequence[Any]] = list(zip(*rows, strict=True))
        if len(values) != len(self.columns):
            raise ValueError(f"rows of {len(values)} values for {len(self.columns)} columns")
        for index, binder in self._binders:
            values[index] = list(map(binder, values[index]))
        return list(zip(*values, strict=True))

    def execute(self, connection: Connection, rows: Sequence[Sequence[Any]]) -> None:
        """Insert ``rows`` (values in :attr:`columns` order) in one ``executemany``."""
        if rows:
            connection.exec_driver_sql(self.sql, self.bound(rows))
