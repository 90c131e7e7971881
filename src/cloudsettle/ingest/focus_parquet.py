"""FOCUS Parquet files in, normalized billing lines out.

A Parquet file is read one record batch at a time
(:meth:`pyarrow.parquet.ParquetFile.iter_batches`), so memory stays bounded by
the batch size, never by the file. Each cell is turned into the text form the
CSV reader produces and handed to the same
:class:`~cloudsettle.ingest.focus.FocusRowMapper`, so a FOCUS row means the
same thing whether it came as CSV or as Parquet, including its ``line_id`` and
its :class:`~cloudsettle.ingest.errors.RowError`.

Cells become text exactly:

- strings as written, with ``""`` and ``"NULL"`` as nulls (as in CSV);
- ``decimal128``/``decimal256`` as the exact text of their decimal value,
  written by Arrow (``90000.000000000000``, ``1E-12``);
- ``double`` through its shortest round-trip ``repr`` (the one place a
  provider's float enters, see :func:`_float_text`); narrower floats through
  Arrow's own shortest text for their width;
- timestamps as ISO 8601 text, with their zone when the column has one
  (``Z``, ``+0800``); a naive timestamp stays naive text, which the mapper
  reads in the provider's home zone (spec: "Dates and time zones"); the
  parser drops digits beyond microseconds;
- dates as ``YYYY-MM-DD`` (the mapper reads a date as local midnight);
- integers and booleans as their text, nested values (``Tags`` as a map) as
  JSON.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from cloudsettle.core.lines import BillingLine
from cloudsettle.ingest.errors import RowError
from cloudsettle.ingest.focus import FocusRowMapper

#: Rows per record batch: small enough that a batch's Python text stays a few MiB.
BATCH_ROWS = 4096

#: Cells that mean null, as in the CSV reader.
_NULLS = frozenset({"", "NULL"})


def iter_focus_parquet(
    path: Path, *, source_name: str | None = None, batch_rows: int = BATCH_ROWS
) -> Iterator[tuple[int, BillingLine | RowError]]:
    """Stream a FOCUS Parquet file as ``(row_number, line or RowError)``.

    Parquet has no header row, so row numbers are 1-based data row numbers:
    the first row of the file is row 1 (the CSV reader's first data row is
    row 2, after its header). A bad cell yields a RowError naming the column
    and reading goes on. Raises
    :class:`~cloudsettle.ingest.errors.UnknownFormatError` on the first
    ``next()`` if the columns are not FOCUS.
    """
    file_name = source_name or path.name
    parquet = pq.ParquetFile(path)
    try:
        headers = list(parquet.schema_arrow.names)
        mapper = FocusRowMapper(headers, file_name)
        row_number = 0
        for batch in parquet.iter_batches(batch_size=batch_rows):
            columns = [_column_text(batch.column(i)) for i in range(batch.num_columns)]
            names = [name.strip() for name in batch.schema.names]
            for cells in zip(*columns, strict=True):
                row_number += 1
                row = dict(zip(names, cells, strict=True))
                yield row_number, mapper.map_row(row, row_number)
    finally:
        parquet.close()


def _column_text(column: pa.Array) -> list[str | None]:
    """One column of a batch as the mapper's cells: text, or ``None`` for null.

    Decimals, timestamps, dates, integers and booleans are turned into text by
    Arrow itself, in C, without a Python object per cell: a decimal's text is
    its exact value (``-5000.000000000000``, ``1E-12``), a timestamp's is
    ``2024-12-31 16:00:00.000123Z`` (or ``+0800``, or no zone when naive).
    """
    kind = column.type
    if pa.types.is_dictionary(kind):
        column = column.dictionary_decode()
        kind = column.type
    if pa.types.is_string(kind) or pa.types.is_large_string(kind) or pa.types.is_string_view(kind):
        return [None if v is None else _null(v) for v in column.to_pylist()]
    if pa.types.is_binary(kind) or pa.types.is_large_binary(kind):
        return [None if v is None else _null(v.decode("utf-8", "replace")) for v in column.to_pylist()]
    if pa.types.is_float64(kind):
        return [None if v is None else _float_text(v) for v in column.to_pylist()]
    if (
        pa.types.is_floating(kind)  # float16/32: Arrow's shortest text at that width (0.1f -> "0.1")
        or pa.types.is_decimal(kind)
        or pa.types.is_timestamp(kind)
        or pa.types.is_date(kind)
        or pa.types.is_integer(kind)
        or pa.types.is_boolean(kind)
    ):
        return list(pc.cast(column, pa.string()).to_pylist())
    if pa.types.is_map(kind):
        return [None if v is None else _json_text(dict(v)) for v in column.to_pylist()]
    return [None if v is None else _json_text(v) for v in column.to_pylist()]


def _null(text: str) -> str | None:
    stripped = text.strip()
    return None if stripped in _NULLS else stripped


def _float_text(value: float) -> str:  # noqa: float-ok - the one place a provider's double enters
    """A provider's double as the shortest text that reads back as the same double.

    This is the one boundary where a float enters cloudsettle: some providers
    write FOCUS costs as ``double``. The shortest round-trip ``repr`` is the
    text the provider's own writer most likely started from (``0.1``, not
    ``0.1000000000000000055511151231257827``); the mapper then reads it with
    ``parse_amount`` into an exact ``Decimal``. ``nan`` and ``inf`` are
    refused there as bad cells.
    """
    return repr(value)  # noqa: float-ok - the documented float boundary


def _json_text(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)

