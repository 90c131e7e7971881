"""Where the bulk engine's SQL runs: an :class:`Executor` per run, opened by a :class:`Backend`.

The engine is one set of SQL statements written in DuckDB's dialect and kept to
constructs every backend can run (``docs/spark.md`` lists them). An executor
takes those statements as they are: DuckDB runs them directly
(:class:`DuckDBBackend`, the default); ``compute.spark.SparkBackend``
transpiles them to Spark SQL. Reference data and lines go in as Arrow tables or
Parquet; results come back as Arrow or rows, to the same Python finishing step.

The engine only ever issues ``CREATE OR REPLACE TEMP TABLE <name> AS <query>``
(:meth:`Executor.run`) and queries (:meth:`Executor.fetch_arrow`,
:meth:`Executor.rows`), so a backend needs to know nothing else about it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import duckdb
import pyarrow as pa

#: Lines from a Parquet file, a directory of Parquet files, a glob, or an object-store URI.
LineSource = Path | str


class Executor(Protocol):
    """One run's SQL session: its temporary tables live until :meth:`close`."""

    #: The SQL dialect the executor runs natively (``"duckdb"``, ``"spark"``).
    dialect: str

    def run(self, sql: str) -> None:
        """Execute ``CREATE OR REPLACE TEMP TABLE <name> AS <query>`` (DuckDB dialect)."""

    def register(self, name: str, table: pa.Table, *, materialize: bool = True) -> None:
        """Make an Arrow table queryable as ``name``; without ``materialize`` a backend may
        scan the Arrow data in place (DuckDB does, for the lines)."""

    def register_parquet(self, name: str, source: LineSource) -> None:
        """Make Parquet lines queryable as ``name`` with ``ord``, their position in the input
        (several files: by file name, then row)."""

    def fetch_arrow(self, sql: str) -> pa.Table:
        """The result of a query as an Arrow table (in the query's order)."""

    def write_parquet(self, sql: str, dest: str) -> None:
        """Write the result of ``sql`` to Parquet at ``dest`` (DuckDB: one file; Spark: a folder of
        parts), in its order, without holding it in memory."""

    def rows(self, sql: str) -> list[tuple[Any, ...]]:
        """The result of a query as tuples of Python values (Decimals for decimals)."""

    def close(self) -> None:
        """Drop the run's tables."""


class Backend(Protocol):
    """Opens an :class:`Executor` for each run of ``settle_period_bulk``."""

    def open(self) -> Executor:
        """A fresh executor with nothing registered."""


@dataclass(frozen=True, slots=True)
class BulkSettings:
    """How the DuckDB connection may use the machine.

    Attributes:
      memory_limit: DuckDB's ``memory_limit``; past it, operators spill to
        ``temp_directory`` instead of failing.
      temp_directory: where spilled data goes (DuckDB's default when None).
      threads: worker threads.
    """

    memory_limit: str = "2GB"
    temp_directory: Path | None = None
    threads: int = 2


def connect(settings: BulkSettings | None = None) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB connection with the engine's limits, times in UTC."""
    chosen = settings or BulkSettings()
    con = duckdb.connect(":memory:")  # its tables spill to temp_directory past memory_limit too
    con.execute(f"SET memory_limit = '{chosen.memory_limit}'")
    con.execute(f"SET threads = {int(chosen.threads)}")
    if chosen.temp_directory is not None:
        con.execute("SET temp_directory = ?", [str(chosen.temp_directory)])
    con.execute("SET TimeZone = 'UTC'")
    con.execute("SET enable_progress_bar = false")
    # Every query that needs an order says so (Spark keeps none either), so DuckDB need not
    # hold rows back to keep one: less memory for large tables.
    con.execute("SET preserve_insertion_order = false")
    return con


class DuckDBExecutor:
    """The engine's SQL on a DuckDB connection, as written."""

    dialect = "duckdb"

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self.con = con

    def run(self, sql: str) -> None:
        self.con.execute(sql)

    def register(self, name: str, table: pa.Table, *, materialize: bool = True) -> None:
        if not materialize:
            self.con.register(name, table)
            return
        self.con.register(f"{name}_arrow", table)
        self.con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS SELECT * FROM {name}_arrow")
        self.con.unregister(f"{name}_arrow")

    def register_parquet(self, name: str, source: LineSource) -> None:
        text = str(source)
        if single_file(source):
            self.con.execute(
                f"CREATE OR REPLACE TEMP VIEW {name} AS SELECT * EXCLUDE (file_row_number), "
                f"file_row_number AS ord FROM read_parquet('{_quote(text)}', file_row_number = true)"
            )
            return
        pattern = _quote(_glob(source))
        scan = f"read_parquet('{pattern}', filename = true, file_row_number = true)"
        self.con.execute(f"""
            CREATE OR REPLACE TEMP TABLE {name}_files AS
            SELECT filename, sum(n) OVER (ORDER BY filename) - n AS off
            FROM (SELECT filename, count(*) AS n FROM {scan} GROUP BY filename)
        """)
        self.con.execute(
            f"CREATE OR REPLACE TEMP VIEW {name} AS SELECT s.* EXCLUDE (filename, file_row_number), "
            f"(f.off + s.file_row_number)::BIGINT AS ord FROM {scan} s JOIN {name}_files f USING (filename)"
        )

    def fetch_arrow(self, sql: str) -> pa.Table:
        return self.con.sql(sql).to_arrow_table()

    def write_parquet(self, sql: str, dest: str) -> None:
        self.con.execute(f"COPY ({sql}) TO '{_quote(dest)}' (FORMAT parquet, COMPRESSION zstd)")

    def rows(self, sql: str) -> list[tuple[Any, ...]]:
        return self.con.execute(sql).fetchall()

    def close(self) -> None:
        self.con.close()


@dataclass(frozen=True, slots=True)
class DuckDBBackend:
    """The default backend: a fresh in-memory DuckDB connection per run."""

    settings: BulkSettings | None = None

    def open(self) -> DuckDBExecutor:
        return DuckDBExecutor(connect(self.settings))


def as_executor(target: Executor | duckdb.DuckDBPyConnection) -> Executor:
    """An executor for a DuckDB connection (what ``prepare``/``run_steps`` used to take)."""
    if isinstance(target, duckdb.DuckDBPyConnection):
        return DuckDBExecutor(target)
    return target


def single_file(source: LineSource) -> bool:
    """A local file, or a URI naming one ``.parquet`` object (no glob)."""
    if isinstance(source, Path):
        return source.is_file()
    if "://" in source:
        return source.endswith(".parquet") and not any(c in source for c in "*?[")
    return Path(source).is_file()


def _glob(source: LineSource) -> str:
    """Every Parquet file under a directory (recursively, as partitioned stores write them)."""
    text = str(source)
    if any(c in text for c in "*?["):
        return text
    return text.rstrip("/") + "/**/*.parquet"


def _quote(text: str) -> str:
    return text.replace("'", "''")


#: Told the name of each step as the engine starts it (``"rseg"``, ``"slshow"``, ``"results"``).
StepStarted = Callable[[str], None]


class Reporting:
    """An executor that says which step starts before running it: a progress bar's feed, and
    where a cancel (Ctrl-C) lands between steps. DuckDB also stops a running query on Ctrl-C."""

    def __init__(self, inner: Executor, step_started: StepStarted) -> None:
        self.inner = inner
        self.dialect = inner.dialect
        self.step_started = step_started

    def run(self, sql: str) -> None:
        found = re.search(r"TEMP (?:TABLE|VIEW) (\w+)", sql)
        self.step_started(found.group(1) if found else "query")
        self.inner.run(sql)

    def register(self, name: str, table: pa.Table, *, materialize: bool = True) -> None:
        self.step_started(name)
        self.inner.register(name, table, materialize=materialize)

    def register_parquet(self, name: str, source: LineSource) -> None:
        self.step_started(name)
        self.inner.register_parquet(name, source)

    def fetch_arrow(self, sql: str) -> pa.Table:
        return self.inner.fetch_arrow(sql)

    def write_parquet(self, sql: str, dest: str) -> None:
        self.step_started("results")
        self.inner.write_parquet(sql, dest)

    def rows(self, sql: str) -> list[tuple[Any, ...]]:
        return self.inner.rows(sql)

    def close(self) -> None:
        self.inner.close()
