"""Feeding the bulk engine: a period's current lines as one ordered Parquet file.

``compute.engine.settle_period_bulk(book, path, period)`` reads a Parquet file of
``LINE_SCHEMA`` whose row order is the reference engine's walk order;
:func:`current_lines_parquet` writes it from the line store, in bounded memory
(``docs/line-store.md``, "Feeding the bulk engine").
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from cloudsettle.compute.arrow import LINE_SCHEMA
from cloudsettle.store.lines import LineStore, StoreError, check_period, parquet_list, quote
from cloudsettle.store.progress import Tracker, quiet, run_statement

#: DuckDB memory per byte of stored row when sorting a bucket of current lines: the sort
#: and the Parquet scans feeding it need room beyond the rows. Measured with 1 KB rows and
#: two threads: the scans take about 50 MB whatever the bucket; 5,000 rows then sort under
#: 56 MB, 10,000 under 64 MB, 20,000 not under 64 MB. 12 leaves that margin at 64 MB.
SORT_FACTOR = 12
#: Rows per record batch (and row group) when current lines are written bucket by bucket.
BATCH_ROWS = 65_536
_UNITS = {
    "": 1,
    "B": 1,
    "KB": 10**3,
    "MB": 10**6,
    "GB": 10**9,
    "TB": 10**12,
    "KIB": 2**10,
    "MIB": 2**20,
    "GIB": 2**30,
    "TIB": 2**40,
}


def current_lines_parquet(
    store: LineStore,
    providers: str | Sequence[str] | None,
    period: str,
    dest: Path,
    *,
    tracker: Tracker | None = None,
    rows_per_bucket: int | None = None,
) -> Path:
    """Materialize the current lines of ``period`` as one local Parquet file of
    ``compute.arrow.LINE_SCHEMA``, ordered by provider and line id, for
    ``compute.engine.settle_period_bulk(book, path, ...)`` (whose walk order is the
    file's order, so the order must not depend on threads).

    Memory stays bounded for any month: the newest revision of each line is found on
    narrow keys (a hash aggregate, which spills), and the wide rows are sorted in
    buckets of ``rows_per_bucket`` consecutive line ids (by default what the store's
    ``memory_limit`` holds for rows of the stored width: :func:`bucket_rows`), each
    read (the part files are sorted by line id, so Parquet statistics skip the rest),
    sorted and appended to the file in turn. One global ``ORDER BY`` over the wide rows
    fails under a tight ``memory_limit`` even with spilling. A month that fits one
    bucket is written by a single DuckDB ``COPY``. Cancel is checked between record
    batches (and interrupts the ``COPY``); the file is written under a temporary name
    and renamed, so a cancel or failure leaves no file.
    """
    track = tracker or quiet()
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".tmp-{secrets.token_hex(6)}-{dest.name}")
    files = store.part_files(providers, check_period(period))
    con = store.connect()
    try:
        if files:
            _write_current(con, files, tmp, track, period, store.settings.memory_limit, rows_per_bucket)
        else:
            pq.write_table(LINE_SCHEMA.empty_table(), tmp)
        track.check()
        tmp.replace(dest)
    finally:
        con.close()
        tmp.unlink(missing_ok=True)
    return dest


def bucket_rows(memory_limit: str, row_bytes: int = 1024) -> int:
    """Lines to sort at once under DuckDB's ``memory_limit`` (``'2GB'``, ``'64MiB'``) when
    a stored row takes ``row_bytes`` uncompressed: ``limit / (SORT_FACTOR * row_bytes)``
    (rows of at least 128 bytes), at least 1,000. Rows of 1 KB: 2 GB gives 162,760, 64 MB
    5,208; rows of 200 bytes under 2 GB: 833,333."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([A-Za-z]*)\s*", memory_limit)
    if match is None or match.group(2).upper() not in _UNITS:
        raise StoreError(f"memory_limit {memory_limit!r}: use a size such as '2GB' or '512MiB'")
    limit = Decimal(match.group(1)) * _UNITS[match.group(2).upper()]
    return max(1_000, int(limit // (SORT_FACTOR * max(row_bytes, 128))))


def _write_current(
    con: duckdb.DuckDBPyConnection,
    files: Sequence[str],
    target: Path,
    tracker: Tracker,
    period: str,
    memory_limit: str,
    rows_per_bucket: int | None,
) -> None:
    scan = parquet_list(files)
    listed = "[" + ", ".join(quote(f) for f in files) + "]"
    stored_bytes, stored_rows = con.execute(
        f"SELECT (SELECT sum(total_uncompressed_size) FROM parquet_metadata({listed})), "
        f"(SELECT sum(num_rows) FROM parquet_file_metadata({listed}))"
    ).fetchall()[0]
    size = rows_per_bucket or bucket_rows(
        memory_limit, int(stored_bytes or 0) // max(int(stored_rows or 0), 1)
    )
    con.execute(f"""
        CREATE TEMP TABLE top AS
        SELECT provider, line_id, max(revision) AS revision FROM {scan}
        GROUP BY provider, line_id
        HAVING NOT arg_max(deleted, revision)
    """)
    buckets = con.execute(f"""
        SELECT provider, min(line_id), max(line_id), count(*) FROM (
            SELECT provider, line_id,
                   (row_number() OVER (PARTITION BY provider ORDER BY line_id) - 1) // {int(size)} AS b
            FROM top)
        GROUP BY provider, b ORDER BY provider, b
    """).fetchall()
    tracker.check()
    cols = ", ".join(f"s.{c}" for c in LINE_SCHEMA.names)
    join = f"""
        SELECT {cols} FROM {scan} s
        JOIN (SELECT * FROM top WHERE {{where}}) t
          ON s.provider = t.provider AND s.line_id = t.line_id AND s.revision = t.revision
        WHERE {{scan_where}}
    """
    if len(buckets) <= 1:  # the month fits one sort: DuckDB writes the file itself
        query = join.format(where="true", scan_where="true") + " ORDER BY s.provider, s.line_id"
        run_statement(
            con,
            f"COPY ({query}) TO {quote(str(target))} (FORMAT parquet, COMPRESSION snappy)",
            tracker,
            on_abort=lambda: target.unlink(missing_ok=True),
            description=f"current lines {period}",
        )
        return
    tracker.start(f"current lines {period}", sum(int(n) for *_, n in buckets))
    with pq.ParquetWriter(target, LINE_SCHEMA, compression="snappy") as writer:
        for provider, low, high, _ in buckets:
            tracker.check()
            where = f"provider = {quote(provider)} AND line_id BETWEEN {quote(low)} AND {quote(high)}"
            scan_where = (
                f"s.provider = {quote(provider)} AND s.line_id BETWEEN {quote(low)} AND {quote(high)}"
            )
            query = join.format(where=where, scan_where=scan_where) + " ORDER BY s.line_id"
            for batch in con.sql(query).to_arrow_reader(BATCH_ROWS):
                tracker.check()
                writer.write_table(
                    pa.Table.from_batches([batch]).cast(LINE_SCHEMA), row_group_size=BATCH_ROWS
                )
                tracker.advance(batch.num_rows)
