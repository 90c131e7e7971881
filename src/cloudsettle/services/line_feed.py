"""The bulk engine's input straight from the control store: the book's lines as one Parquet file.

The reference engine reads every line of the book as a Python ``BillingLine`` (about 7 KiB of
peak memory a line at 1M lines, issue 6). The bulk engine needs none of them: this module
streams the newest revision of each line ingested before the grace cutoff from the control
store into a Parquet file of ``compute.arrow.LINE_SCHEMA``, a batch of rows at a time, in the
order ``load_book_as_of`` walks them (provider, line id: the store's own order), so both
engines see the same lines in the same order.

What the settle needs of the lines besides the engine's results is read back from that file
in DuckDB: the few lines the period checks could flag (:func:`check_candidates`, a superset
the core's checks then decide on) and the provider and account of the lines findings name
(:func:`owners_of`).
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from sqlalchemy import Text, cast, func, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from cloudsettle.compute.arrow import AMOUNT, INSTANT, LINE_SCHEMA, line_from_row
from cloudsettle.core.checks.completeness import DEFAULT_REQUIRED
from cloudsettle.core.lines import BillingLine
from cloudsettle.core.periods import Period
from cloudsettle.core.settlement.book import LineKey
from cloudsettle.db.models import LineRevisionRow
from cloudsettle.services.runs import as_of

#: Rows per Arrow batch (and Parquet row group): bounded memory whatever the month's size. A batch
#: is held as Python tuples before it becomes Arrow (about 1.7 KB a row: 28 MB at this size).
BATCH_ROWS = 16_384
_AMOUNTS = frozenset(n for n in LINE_SCHEMA.names if LINE_SCHEMA.field(n).type == AMOUNT)
_INSTANTS = frozenset(n for n in LINE_SCHEMA.names if LINE_SCHEMA.field(n).type == INSTANT)
#: Every field some completeness rule can require: a line with none of them empty passes.
#: provider, line id, revision and batch come before the line's columns in a fed row.
_KEY_COLUMNS = 4
_REQUIRABLE = tuple(dict.fromkeys(name for names in DEFAULT_REQUIRED.values() for name in names))


@dataclass(frozen=True)
class LineFeed:
    """The book's lines written for the bulk engine, for each line the revision it holds (as
    ``LoadedBook`` keeps them), and the batches those revisions came from (all a run records
    of their sources: a dict of a million batch and row numbers is not kept for it)."""

    path: Path
    lines: int
    revisions: dict[LineKey, int]
    batches: frozenset[int]


def write_line_feed(session: Session, cutoff: datetime | None, dest: Path) -> LineFeed:
    """Write the newest revision of every line ingested before ``cutoff`` (every current line
    without one) to ``dest``, in ``load_book_as_of``'s order, without a Python object a line."""
    table = LineRevisionRow.__table__
    dialect = session.get_bind().dialect.name
    columns = [_as_text(table.c[name], name, dialect) for name in LINE_SCHEMA.names]
    query = as_of(select(table.c.provider, table.c.line_id, table.c.revision, table.c.batch_id, *columns),
                  cutoff)
    revisions: dict[LineKey, int] = {}
    batches: set[int] = set()
    written = 0
    # Core, not the ORM: its row loading costs a third of reading the rows (issue 6).
    result = session.connection().execute(query.execution_options(yield_per=BATCH_ROWS))
    with pq.ParquetWriter(dest, LINE_SCHEMA) as writer:
        for rows in _newest(result.partitions(), revisions, batches):
            writer.write_batch(_batch(rows))
            written += len(rows)
    return LineFeed(dest, written, revisions, frozenset(batches))


def _as_text(column: ColumnElement[Any], name: str, dialect: str) -> ColumnElement[Any]:
    """A money, instant or date column as the text Arrow parses, not the ORM's Python value:
    loading a Decimal or datetime per value is most of what reading lines costs."""
    if name in _INSTANTS and dialect == "postgresql":
        # The UTC wall time, as SQLite stores it, whatever the session's time zone.
        return func.to_char(func.timezone("UTC", column), "YYYY-MM-DD HH24:MI:SS.US")
    if name in _AMOUNTS or name in _INSTANTS or name == "billing_period":
        return cast(column, Text)
    return column


def _newest(
    partitions: Iterator[Sequence[tuple[Any, ...]]],
    revisions: dict[LineKey, int],
    batches: set[int],
) -> Iterator[list[tuple[Any, ...]]]:
    """Batches of each key's last row (the rows come by key, then revision), recording its
    revision and batch; a key's revisions may straddle two partitions."""
    pending: tuple[Any, ...] | None = None
    out: list[tuple[Any, ...]] = []
    for part in partitions:
        for row in part:
            if pending is not None and (row[0] != pending[0] or row[1] != pending[1]):
                out.append(pending)
            pending = row
        if len(out) >= BATCH_ROWS:
            yield _recorded(out, revisions, batches)
            out = []
    if pending is not None:
        out.append(pending)
    if out:
        yield _recorded(out, revisions, batches)


def _recorded(rows: list[tuple[Any, ...]], revisions: dict[LineKey, int], batches: set[int]
              ) -> list[tuple[Any, ...]]:
    for provider, line_id, revision, batch_id, *_ in rows:
        revisions[(provider, line_id)] = revision
        batches.add(batch_id)
    return rows


def _batch(rows: list[tuple[Any, ...]]) -> pa.RecordBatch:
    """One batch of :data:`LINE_SCHEMA` from rows of (key, revision, batch, columns)."""
    columns = list(zip(*rows, strict=True))[_KEY_COLUMNS:]
    arrays = [_array(name, list(values)) for name, values in zip(LINE_SCHEMA.names, columns, strict=True)]
    return pa.RecordBatch.from_arrays(arrays, schema=LINE_SCHEMA)


def _array(name: str, values: list[Any]) -> pa.Array:
    target = LINE_SCHEMA.field(name).type
    if name in _AMOUNTS:
        # Exact: the stored text as decimal128(38, 12), refused if it needed rounding.
        return pc.cast(pa.array(values, pa.string()), target)
    if name in _INSTANTS:
        wall = pc.cast(pa.array(values, pa.string()), pa.timestamp("us"))
        return pc.cast(wall, target)  # the stored wall time is UTC's
    if name == "billing_period":
        return pc.cast(pa.array(values, pa.string()), target)
    if target == pa.bool_():
        return pa.array([bool(v) for v in values], target)
    return pa.array(values, target)


# --- what the settle reads back --------------------------------------------------------------


def check_candidates(path: Path, period: Period) -> list[BillingLine]:
    """The lines billed in ``period`` that the completeness or time-window check could flag,
    in feed order: every line some required field of leaves empty, and every non-correction
    line whose charge is not safely inside its bill month in any time zone (a day's margin
    covers every UTC offset, -12 h to +14 h). The core's checks decide on these; the rest
    pass both (``tests/services/test_line_feed.py`` holds the two to the same findings)."""
    empty = " OR ".join(
        f"{n} IS NULL" + ("" if LINE_SCHEMA.field(n).type == pa.date32() else f" OR {n} = ''")
        for n in _REQUIRABLE)
    month = "date_trunc('month', billing_period)"
    inside = (f"charge_end > charge_start AND charge_start < {month} + INTERVAL 1 MONTH - INTERVAL 1 DAY "
              f"AND charge_end > {month} + INTERVAL 1 DAY")
    # Column names from the schema, values bound: nothing of the input is spliced in.
    sql = (f"SELECT * FROM read_parquet(?) WHERE billing_period BETWEEN ? AND ? "  # noqa: S608
           f"AND (({empty}) OR (NOT is_correction AND NOT ({inside}))) ORDER BY file_row_number")
    return [line_from_row(r) for r in _query(sql, [str(path), period.start, period.end])]


def owners_of(path: Path, line_ids: Collection[str]) -> dict[str, list[tuple[str, str]]]:
    """line id -> [(provider, account)] of the feed's lines with those ids, in feed order."""
    if not line_ids:
        return {}
    import duckdb  # loaded only by a bulk settle

    out: dict[str, list[tuple[str, str]]] = {}
    with duckdb.connect() as con:
        con.register("wanted", pa.table({"line_id": pa.array(sorted(set(line_ids)), pa.string())}))
        rows = con.execute(
            "SELECT f.line_id, f.provider, f.account_id FROM read_parquet(?, file_row_number = true) f "
            "SEMI JOIN wanted w ON f.line_id = w.line_id ORDER BY f.file_row_number", [str(path)],
        ).fetchall()
    for line_id, provider, account in rows:
        out.setdefault(line_id, []).append((provider, account))
    return out


def owners_in(lines: Sequence[BillingLine], line_ids: Collection[str]) -> dict[str, list[tuple[str, str]]]:
    """:func:`owners_of` over lines in memory (the reference engine's book)."""
    wanted = set(line_ids)
    out: dict[str, list[tuple[str, str]]] = {}
    for line in lines:
        if line.line_id in wanted:
            out.setdefault(line.line_id, []).append((line.provider, line.account_id))
    return out


def _query(sql: str, params: list[Any]) -> list[dict[str, Any]]:
    import duckdb  # loaded only by a bulk settle

    with duckdb.connect() as con:
        con.execute("SET TimeZone = 'UTC'")
        scan = sql.replace("read_parquet(?)", "read_parquet(?, file_row_number = true)")
        found: pa.Table = con.sql(scan, params=params).to_arrow_table()
    rows: list[dict[str, Any]] = found.drop_columns(["file_row_number"]).to_pylist()
    return rows
