"""The bulk engine on Apache Spark: the same SQL, transpiled from DuckDB's dialect by SQLGlot.

``settle_period_bulk(book, lines, period, backend=SparkBackend(spark))`` runs
every statement of the engine on a Spark session instead of DuckDB and gives
the same statements and findings (``tests/compute/test_spark.py``). Needs the
``spark`` extra (``pyspark``, ``sqlglot``) and Java 17.

The engine's SQL is written once, in DuckDB's dialect, with constructs both
engines run (``docs/spark.md``); SQLGlot writes it as Spark SQL, and
:func:`to_spark_sql` rewrites the few things SQLGlot cannot know:

- ``timezone(z, x)``: DuckDB reads an instant as the wall time in ``z`` and a
  wall time (``day::TIMESTAMP``) as the instant it names in ``z``. The engine
  writes zones only through ``select.local_day`` and ``select.local_midnight``,
  so the shape tells them apart: ``from_utc_timestamp(x, z)`` for the first,
  ``to_utc_timestamp(CAST(day AS TIMESTAMP), z)`` for the second (session time
  zone UTC).
- ``a // b`` (integer division, used to round fractions half up exactly):
  Spark's ``div`` returns a BIGINT and silently wraps past it, so it becomes
  ``CAST((a - a % b) / b AS DECIMAL(38, 0))``, an exact decimal division of a
  multiple. ``HUGEINT`` becomes ``DECIMAL(38, 0)``; ``epoch_us`` is ``unix_micros``.

Decimals stay exact because every session runs with
``spark.sql.decimalOperations.allowPrecisionLoss=false`` (then Spark types
``DECIMAL(38, a) × DECIMAL(38, b)`` as ``DECIMAL(38, a + b)`` and sums keep
their scale, as DuckDB does) and ANSI mode (an overflow raises instead of
giving NULL). Each ``CREATE TEMP TABLE`` is a DataFrame made eager with
``localCheckpoint``, registered as a temporary view of a session of its own
(``SparkSession.newSession``), so runs never see each other's tables.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import pyarrow as pa
import sqlglot
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F  # noqa: N812 (the PySpark convention)
from sqlglot import exp
from sqlglot.errors import ErrorLevel

from cloudsettle.compute.backend import LineSource, single_file

#: What every run's session must say, whatever the cluster's defaults.
SESSION_CONF: Mapping[str, str] = {
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.decimalOperations.allowPrecisionLoss": "false",
    "spark.sql.ansi.enabled": "true",
    # Instants written to Parquet as UTC microseconds (isAdjustedToUTC), as DuckDB writes them,
    # not Spark's default INT96, which readers see as naive times.
    "spark.sql.parquet.outputTimestampType": "TIMESTAMP_MICROS",
}

#: Spark's widest exact integer (DuckDB's HUGEINT holds more, the engine never needs it).
_INTEGER = "DECIMAL(38, 0)"
#: For a local session on small data (tests, a laptop): a job here is milliseconds of work
#: behind seconds of Spark overhead, so no code generation (compiling it costs more than it
#: saves), no adaptive re-planning, one shuffle partition, no broadcasts (each is a job of
#: its own), and the JVM's quick C1 compiler only. A cluster on a real month wants none of these.
SMALL_DATA_CONF: Mapping[str, str] = {
    "spark.sql.codegen.wholeStage": "false",
    "spark.sql.codegen.factoryMode": "NO_CODEGEN",
    "spark.sql.adaptive.enabled": "false",
    "spark.sql.shuffle.partitions": "1",
    "spark.sql.autoBroadcastJoinThreshold": "-1",
    "spark.driver.extraJavaOptions": "-XX:+UseSerialGC -XX:TieredStopAtLevel=1",
}

_WALL_TIME = (exp.DataType.Type.TIMESTAMP, exp.DataType.Type.TIMESTAMPNTZ)


def _rewrite(node: exp.Expression) -> exp.Expression:
    """One node of the DuckDB-dialect tree in the form Spark needs (see the module doc)."""
    # A replaced node's children are not visited again: each case rewrites them itself.
    if isinstance(node, exp.Anonymous):
        name = str(node.this).lower()
        args = [arg.transform(_rewrite) for arg in node.expressions]
        if name == "timezone" and len(args) == 2:
            zone, value = args
            if isinstance(value, exp.Cast) and value.to.this in _WALL_TIME:
                instant = exp.Cast(this=value.this, to=exp.DataType.build("TIMESTAMPLTZ"))
                return exp.Anonymous(this="to_utc_timestamp", expressions=[instant, zone])
            return exp.Anonymous(this="from_utc_timestamp", expressions=[value, zone])
        if name == "epoch_us" and len(args) == 1:
            return exp.Anonymous(this="unix_micros", expressions=args)
    if isinstance(node, exp.IntDiv):
        a = exp.Paren(this=node.this.transform(_rewrite))
        b = exp.Paren(this=node.expression.transform(_rewrite))
        multiple = exp.Paren(this=exp.Sub(this=a, expression=exp.Mod(this=a.copy(), expression=b)))
        return exp.Cast(this=exp.Div(this=multiple, expression=b.copy()), to=exp.DataType.build(_INTEGER))
    if isinstance(node, exp.DataType) and node.this == exp.DataType.Type.INT128:
        return exp.DataType.build(_INTEGER)
    return node


@lru_cache(maxsize=512)
def to_spark_sql(sql: str) -> str:
    """A query of the engine (DuckDB dialect) as Spark SQL."""
    tree = sqlglot.parse_one(sql, read="duckdb").transform(_rewrite)
    return _spark(tree)


@lru_cache(maxsize=512)
def split_create(sql: str) -> tuple[str, str]:
    """``CREATE OR REPLACE TEMP TABLE name AS query`` as ``(name, query)``, the query in Spark SQL."""
    tree = sqlglot.parse_one(sql, read="duckdb")
    if not isinstance(tree, exp.Create) or not isinstance(tree.expression, exp.Query):
        raise ValueError(f"the Spark backend runs only CREATE TEMP TABLE … AS query, not: {sql[:80]}")
    table = tree.find(exp.Table)
    assert table is not None
    return table.name, _spark(tree.expression.transform(_rewrite))


def _spark(tree: exp.Expression) -> str:
    """Spark SQL for ``tree``; a construct SQLGlot cannot write for Spark raises (never a
    silently different query)."""
    return tree.sql(dialect="spark", unsupported_level=ErrorLevel.RAISE)


class SparkExecutor:
    """One run of the engine on a Spark session of its own."""

    dialect = "spark"

    def __init__(self, session: SparkSession, *, checkpoint: bool = True) -> None:
        self.session = session.newSession()
        for key, value in SESSION_CONF.items():
            self.session.conf.set(key, value)
        self.checkpoint = checkpoint
        self._frames: dict[str, DataFrame] = {}

    def _keep(self, name: str, frame: DataFrame) -> None:
        frame.createOrReplaceTempView(name)
        self._frames[name] = frame

    def run(self, sql: str) -> None:
        name, query = split_create(sql)
        frame = self.session.sql(query)
        # Eager and cut from its lineage: later statements read it as a table, and the
        # plans stay as small as the statement that made them.
        self._keep(name, frame.localCheckpoint(eager=True) if self.checkpoint else frame.cache())

    def register(self, name: str, table: pa.Table, *, materialize: bool = True) -> None:
        self._keep(name, self.session.createDataFrame(table))

    def register_parquet(self, name: str, source: LineSource) -> None:
        frame = self.session.read.parquet(str(source)).select(
            "*", F.col("_metadata.file_path").alias("_file"), F.col("_metadata.row_index").alias("_row")
        )
        if single_file(source):
            ordered = frame.withColumn("ord", F.col("_row"))
        else:
            counts = sorted((str(r[0]), int(r[1])) for r in frame.groupBy("_file").count().collect())
            offsets, total = [], 0
            for path, n in counts:
                offsets.append((path, total))
                total += n
            table = pa.table(
                {"_file": [p for p, _ in offsets], "_off": pa.array([o for _, o in offsets], pa.int64())}
            )
            files = F.broadcast(self.session.createDataFrame(table))
            ordered = frame.join(files, "_file").withColumn("ord", F.col("_off") + F.col("_row"))
        self._keep(name, ordered.drop("_file", "_row", "_off"))

    def fetch_arrow(self, sql: str) -> pa.Table:
        return self.session.sql(to_spark_sql(sql)).toArrow()

    def write_parquet(self, sql: str, dest: str) -> None:
        self.session.sql(to_spark_sql(sql)).write.mode("errorifexists").parquet(dest)

    def rows(self, sql: str) -> list[tuple[Any, ...]]:
        # Through Arrow, not ``collect()``: Rows turn instants into naive local datetimes.
        table = self.fetch_arrow(sql)
        return list(zip(*(column.to_pylist() for column in table.columns), strict=True))

    def close(self) -> None:
        for name, frame in self._frames.items():
            self.session.catalog.dropTempView(name)
            frame.unpersist()
        self._frames.clear()


@dataclass(frozen=True, slots=True)
class SparkBackend:
    """Runs the bulk engine on ``session`` (local, or a cluster's: ``docs/spark.md``).

    Attributes:
      session: any SparkSession; each run works in ``session.newSession()`` with
        :data:`SESSION_CONF` set.
      checkpoint: make each statement's table with ``localCheckpoint`` (executor
        storage, lineage cut; the default) rather than ``cache`` (lineage kept, so a
        lost executor recomputes it).
    """

    session: SparkSession
    checkpoint: bool = True

    def open(self) -> SparkExecutor:
        return SparkExecutor(self.session, checkpoint=self.checkpoint)


@dataclass(frozen=True, slots=True)
class LocalSpark:
    """A local Spark session for tests and single-machine use: no UI, no network.

    Attributes:
      cores: ``local[cores]``.
      small_data: apply :data:`SMALL_DATA_CONF` (fast on test-sized months).
      driver_memory: the JVM's heap (driver and executor are one JVM locally).
      extra: any other Spark settings, applied last.
    """

    cores: int = 1
    small_data: bool = True
    driver_memory: str = "1g"
    extra: Mapping[str, str] = field(default_factory=dict)

    def session(self, app_name: str = "cloudsettle") -> SparkSession:
        """The process's Spark session (``getOrCreate``: settings of the JVM apply only if
        this starts it)."""
        conf = {
            "spark.ui.enabled": "false",
            "spark.ui.showConsoleProgress": "false",
            "spark.driver.host": "127.0.0.1",
            "spark.driver.bindAddress": "127.0.0.1",
            "spark.driver.memory": self.driver_memory,
            "spark.default.parallelism": str(self.cores),
            **SESSION_CONF,
            **(SMALL_DATA_CONF if self.small_data else {}),
            **self.extra,
        }
        builder = SparkSession.builder.master(f"local[{self.cores}]").appName(app_name)
        for key, value in conf.items():
            builder = builder.config(key, value)
        spark = builder.getOrCreate()
        spark.sparkContext.setLogLevel("ERROR")
        return spark
