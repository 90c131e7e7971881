"""A month larger than DuckDB's memory limit spills to disk instead of failing."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from cloudsettle.compute.arrow import LINE_SCHEMA
from cloudsettle.compute.backend import BulkSettings
from cloudsettle.store.feed import current_lines_parquet
from cloudsettle.store.lines import LineStore
from cloudsettle.store.progress import Tracker

ROWS = 100_000
LIMIT = "64MB"


def _month(con: duckdb.DuckDBPyConnection, rows: int, step: int, shift: int) -> pa.Table:
    """Every ``step``-th line of a generated month (long resource ids), amounts moved by ``shift`` cents
    (decimal arithmetic only: an integer ``/`` in DuckDB is a double)."""
    return con.sql(f"""
        SELECT 'L' || lpad(i::VARCHAR, 9, '0') AS line_id, 'tencent' AS provider,
               'acct-' || (i % 5000)::VARCHAR AS account_id,
               TIMESTAMPTZ '2026-10-01 00:00:00+00' + to_hours(i % 700) AS charge_start,
               TIMESTAMPTZ '2026-10-01 01:00:00+00' + to_hours(i % 700) AS charge_end,
               DATE '2026-10-01' AS billing_period,
               (((i * 37 + {shift}) % 100000)::DECIMAL(38, 0) * 0.01)::DECIMAL(38, 12) AS list_amount,
               0::DECIMAL(38, 12) AS discount_amount, 0::DECIMAL(38, 12) AS voucher_amount,
               0::DECIMAL(38, 12) AS tax_amount, 'CNY' AS currency, 'CVM' AS service,
               'Compute' AS service_category, 'usage' AS charge_category, 'pay_as_you_go' AS billing_mode,
               'ap-guangzhou' AS region, 'proj-' || (i % 97)::VARCHAR AS project,
               'ins-' || repeat(md5(i::VARCHAR), 20) AS resource_id, 'inv-1' AS invoice_id,
               'payer' AS payer_account_id,
               false AS is_correction, NULL::TIMESTAMPTZ AS paid_at, NULL::VARCHAR AS original_line_id
        FROM range(0, {rows}, {step}) r(i)
    """).to_arrow_table()


class Counting(Tracker):
    """Counts the lines the progress bar was advanced by."""

    def __init__(self) -> None:
        super().__init__()
        self.done = 0

    def advance(self, units: int) -> None:
        self.done += units


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store with a month of ROWS lines and a restatement of every third one."""
    root = tmp_path_factory.mktemp("spill") / "lines"
    store = LineStore(root)
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    store.write_batch("1", _month(con, ROWS, 1, 0))
    store.write_batch("2", _month(con, ROWS, 3, 1))
    con.close()
    return root


def test_current_lines_of_a_month_larger_than_the_memory_limit_spill(written: Path, tmp_path: Path) -> None:
    settings = BulkSettings(memory_limit=LIMIT, temp_directory=tmp_path / "spill", threads=2)
    small = LineStore(written, settings=settings)
    watch = Counting()
    path = current_lines_parquet(small, "tencent", "2026-10", tmp_path / "oct.parquet", tracker=watch)

    got = duckdb.sql(
        f"SELECT count(*), count(DISTINCT line_id), sum(list_amount), "
        f"count(*) FILTER (WHERE (list_amount * 100)::BIGINT % 100000 = "
        f"(substr(line_id, 2)::BIGINT * 37 + 1) % 100000) FROM '{path}'"
    ).fetchall()[0]
    expected = duckdb.sql(
        f"SELECT sum(CASE WHEN i % 3 = 0 THEN (i * 37 + 1) % 100000 ELSE (i * 37) % 100000 END)"
        f"::DECIMAL(38, 0) * 0.01 FROM range({ROWS}) r(i)"
    ).fetchall()[0][0]
    assert got == (ROWS, ROWS, expected, len(range(0, ROWS, 3)))
    ids = duckdb.sql(f"SELECT line_id FROM '{path}'").fetchall()
    assert ids == sorted(ids)  # in line id order, bucket after bucket
    stored = sum(pq.read_table(f, columns=LINE_SCHEMA.names).nbytes for f in small.part_files())
    assert 2 * stored > 3 * 64 * 1000 * 1000  # the revisions it reads, as Arrow, are 1.5 times the limit
    assert watch.done == ROWS  # progress counted every line


def test_the_store_connection_carries_the_limits(tmp_path: Path) -> None:
    spill = tmp_path / "spill"
    store = LineStore(
        tmp_path / "lines", settings=BulkSettings(memory_limit="64MB", temp_directory=spill, threads=1)
    )
    con = store.connect()
    try:
        limit, temp, threads = con.execute(
            "SELECT current_setting('memory_limit'), current_setting('temp_directory'), "
            "current_setting('threads')"
        ).fetchall()[0]
    finally:
        con.close()
    assert (limit, temp, threads) == ("61.0 MiB", str(spill), 1)
    # without a temp_directory in the settings, the store spills into its work folder
    default = LineStore(tmp_path / "lines2").connect()
    try:
        temp = default.execute("SELECT current_setting('temp_directory')").fetchall()[0][0]
    finally:
        default.close()
    assert temp == str(tmp_path / "lines2" / "_work" / "spill")
