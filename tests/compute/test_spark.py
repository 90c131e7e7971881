"""The bulk engine on Apache Spark (local mode): the same statements and findings as on DuckDB.

Marked ``spark``. The translation tests need no JVM. Everything that does runs
in one test (``test_on_spark``, a subtest per case) on one local Spark session:
a JVM per module is the cost (``pytest -n`` would start one per worker for
several tests), and it is skipped, saying why, when Java is missing.

On Spark: local dates and midnights against ``zoneinfo``; exact integer
division past BIGINT; golden cases; a seeded generated month read from a
directory of two Parquet files (so ``ord`` spans files), with a carried balance
and a finalized September recomputed.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from cloudsettle.compute.arrow import lines_to_arrow
from cloudsettle.compute.backend import DuckDBBackend, DuckDBExecutor, LineSource
from cloudsettle.compute.engine import settle_period_bulk, settle_period_summary
from cloudsettle.compute.select import local_day, local_midnight
from cloudsettle.core.periods import local_date
from cloudsettle.core.periods import local_midnight as zone_midnight
from cloudsettle.core.settlement.run import RunResult
from tests.compute.equivalence import assert_same, assert_summary_same
from tests.compute.generated import seeded_month
from tests.compute.test_golden_both import CASES, final_book

pytestmark = pytest.mark.spark

#: Golden cases run on Spark, each at the last period it settles: payment basis with deferred
#: lines and a biweekly cycle, which the generated month below does not have (it has tiers,
#: refunds, clawbacks, proration, FX and step 9). All 42 cases, every period, matched DuckDB
#: on Spark when the backend was written (docs/spark.md); each costs about 15 s of Spark here,
#: so CI runs these two, and the rest run on DuckDB in ``test_golden_both``.
SPARK_CASES = ("28-basis-payment-deferred", "37-biweekly-cycle")
SEED = 12
ZONES = ("UTC", "Asia/Shanghai", "America/New_York", "Europe/Berlin", "Australia/Sydney")


class Recording(DuckDBExecutor):
    """DuckDB, keeping every statement and query the engine issues."""

    def __init__(self) -> None:
        super().__init__(DuckDBBackend().open().con)
        self.statements: list[str] = []

    def run(self, sql: str) -> None:
        self.statements.append(sql)
        super().run(sql)

    def fetch_arrow(self, sql: str) -> pa.Table:
        self.statements.append(sql)
        return super().fetch_arrow(sql)

    def rows(self, sql: str) -> list[tuple[Any, ...]]:
        self.statements.append(sql)
        return super().rows(sql)

    def write_parquet(self, sql: str, dest: str) -> None:
        self.statements.append(sql)
        super().write_parquet(sql, dest)


def test_translation_rewrites_what_spark_reads_differently() -> None:
    from cloudsettle.compute.spark import split_create, to_spark_sql

    instant = to_spark_sql(f"SELECT {local_day('v.tz', 'l.charge_start')} AS d")
    midnight = to_spark_sql(f"SELECT {local_midnight('v.tz', 'r.valid_from')} AS t")
    assert instant == "SELECT CAST(FROM_UTC_TIMESTAMP(l.charge_start, v.tz) AS DATE) AS d"
    assert midnight == "SELECT TO_UTC_TIMESTAMP(CAST(r.valid_from AS TIMESTAMP_LTZ), v.tz) AS t"
    nested = to_spark_sql(f"SELECT epoch_us({local_midnight('z', 'd')}) AS us")
    assert nested == "SELECT UNIX_MICROS(TO_UTC_TIMESTAMP(CAST(d AS TIMESTAMP_LTZ), z)) AS us"
    divided = to_spark_sql("SELECT (a::HUGEINT * 10 + epoch_us(t)) // (2 * b) AS q")
    a = "(CAST(a AS DECIMAL(38, 0)) * 10 + UNIX_MICROS(t))"
    assert divided == f"SELECT CAST((({a}) - ({a}) % ((2 * b))) / ((2 * b)) AS DECIMAL(38, 0)) AS q"
    assert split_create("CREATE OR REPLACE TEMP TABLE xy AS SELECT list_contains(a, b) AS c FROM t") == (
        "xy",
        "SELECT ARRAY_CONTAINS(a, b) AS c FROM t",
    )
    with pytest.raises(ValueError, match="only CREATE TEMP TABLE"):
        split_create("DROP TABLE xy")


@pytest.mark.parametrize("mode", ["full", "summary"])
def test_every_statement_of_a_run_is_spark_sql(mode: str, tmp_path: Path) -> None:
    """A whole DuckDB run's SQL (both modes), transpiled: no DuckDB-only construct is left for Spark
    to refuse."""
    from cloudsettle.compute.spark import split_create, to_spark_sql

    book, carried, finalized = seeded_month(SEED, lines=60)
    recorder = Recording()

    class Once:
        def open(self) -> Recording:
            return recorder

    if mode == "full":
        settle_period_bulk(book, lines_to_arrow(book.lines), "2026-10", carried_in=carried,
                           finalized=finalized, backend=Once())
    else:
        settle_period_summary(book, lines_to_arrow(book.lines), "2026-10", carried_in=carried,
                              finalized=finalized, backend=Once(), lines_out=tmp_path / "out.parquet")
        assert any("slshow" in s for s in recorder.statements)
    creates = [s for s in recorder.statements if s.lstrip().startswith("CREATE")]
    assert len(creates) >= 25
    spark_sql = [split_create(s)[1] for s in creates] + [
        to_spark_sql(s) for s in recorder.statements if s not in creates
    ]
    duckdb_only = ("ASOF", "TIMEZONE(", "EPOCH_US", "LIST_CONTAINS", "INT128", "HUGEINT", "//", "QUALIFY",
                   "LATERAL", "ARG_MAX", "ARG_MIN", "GCD(", "SIGN(", "STRING_AGG", "LIST_CONCAT", " EXCLUDE ",
                   " REPLACE (", "EXISTS")  # fmt: skip
    for sql in spark_sql:
        found = [token for token in duckdb_only if token in sql.upper()]
        assert not found, (found, sql[:300])


@pytest.fixture(scope="module")
def spark() -> Iterator[Any]:
    if shutil.which("java") is None:
        pytest.skip("Spark tests need Java 17 on PATH (java not found): the Spark backend is not checked")
    from cloudsettle.compute.spark import LocalSpark

    session = LocalSpark(cores=1).session("cloudsettle-tests")
    yield session
    session.stop()


def _both(
    book: Any, lines: pa.Table, spark_lines: pa.Table | LineSource, spark: Any, **kw: Any
) -> tuple[RunResult, RunResult]:
    from cloudsettle.compute.spark import SparkBackend

    duck = settle_period_bulk(book, lines, **kw)
    on_spark = settle_period_bulk(book, spark_lines, backend=SparkBackend(spark), **kw)
    return duck, on_spark


def test_on_spark(spark: Any, subtests: Any, tmp_path: Path) -> None:
    from cloudsettle.compute.spark import SparkBackend

    executor = SparkBackend(spark).open()
    try:
        with subtests.test("local dates and midnights agree with zoneinfo"):
            instants = [datetime(2026, 3, 8, 6, 59, tzinfo=UTC), datetime(2026, 11, 1, 5, 30, tzinfo=UTC)] + [
                datetime(2026, 1, 1, tzinfo=UTC) + timedelta(hours=7 * i) for i in range(1300)
            ]
            days = [date(2026, 1, 1) + timedelta(days=i) for i in range(400)]
            n = pa.array(range(len(instants)), pa.int64())
            executor.register("ti", pa.table({"n": n, "i": pa.array(instants, pa.timestamp("us", tz="UTC"))}))
            executor.register("td", pa.table({"d": pa.array(days, pa.date32())}))
            for zone in ZONES:
                got_days = [
                    r[0] for r in executor.rows(f"SELECT {local_day(repr(zone), 'i')} FROM ti ORDER BY n")
                ]
                assert got_days == [local_date(i, zone) for i in instants], zone
                got_us = executor.rows(
                    f"SELECT epoch_us({local_midnight(repr(zone), 'd')}) FROM td ORDER BY d"
                )
                assert [r[0] for r in got_us] == [
                    int(zone_midnight(d, zone).timestamp()) * 10**6 for d in days
                ]

        with subtests.test("integer division stays exact past BIGINT"):
            big = 123456789012345678901234567  # quotient by 3 is far past 2**63: Spark's DIV would wrap
            (row,) = executor.rows(
                f"SELECT ({big}::HUGEINT * 2 + 1) // 3 AS q, (7::HUGEINT * 10 + 6) // 7 AS r"
            )
            assert row == (Decimal((big * 2 + 1) // 3), Decimal(10))
    finally:
        executor.close()

    for name in SPARK_CASES:
        with subtests.test(f"golden {name} on Spark"):
            book, periods = final_book(CASES / name)
            lines = lines_to_arrow(book.lines)
            duck, on_spark = _both(book, lines, lines, spark, period_name=periods[-1])
            assert duck.statements, f"{name} {periods[-1]} has no statement: the comparison would be empty"
            assert_same(duck, on_spark, f"{name} {periods[-1]}")

    with subtests.test(f"seeded month {SEED} from a directory of Parquet files"):
        book, carried, finalized = seeded_month(SEED, lines=60)
        lines = lines_to_arrow(book.lines)
        half = lines.num_rows // 2
        folder = tmp_path / "lines"
        folder.mkdir()
        pq.write_table(lines.slice(0, half), folder / "part-0.parquet")
        pq.write_table(lines.slice(half), folder / "part-1.parquet")
        kw: dict[str, Any] = {"period_name": "2026-10", "carried_in": carried, "finalized": finalized}
        duck, on_spark = _both(book, lines, folder, spark, **kw)
        assert_same(duck, on_spark, f"seed {SEED}")
        assert_same(duck, settle_period_bulk(book, folder, **kw), "DuckDB from the directory")
        reasons = {r.value for s in duck.statements for sl in s.lines for r in sl.reasons}
        assert {"clawback", "prorated", "same_period_refund", "missing_fx_rate", "unlinked_refund"} <= reasons
        assert any(sl.tier_uplift for s in duck.statements for sl in s.lines)
        assert any(s.prior_period_adjustments for s in duck.statements)
        assert {f.kind.value for f in duck.findings} >= {"missing_deal", "ambiguous_deal", "no_rule"}

    with subtests.test(f"seeded month {SEED} in summary mode on Spark"):
        summary_kw: dict[str, Any] = {"carried_in": carried, "finalized": finalized}
        on_spark_summary = settle_period_summary(book, folder, "2026-10", backend=SparkBackend(spark),
                                                 lines_out=tmp_path / "spark-results", **summary_kw)
        assert_summary_same(duck, on_spark_summary, f"seed {SEED} summary mode on Spark")
