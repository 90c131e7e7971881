"""The line store: normalized lines and their revisions as immutable Parquet batches.

Layout under the base (a folder or ``s3://bucket/prefix``), Hive-partitioned::

    provider=<p>/period=<YYYY-MM>/batch=<id>/part-00000.parquet   a batch's lines
    _batches/batch=<id>.json                                      its manifest: the commit
    runs/run=<id>/part-00000.parquet                              a run's per-line results
    _runs/run=<id>.json                                           their manifest
    _staging/..., _work/...                                       in-flight, never read

A batch is written once: its part files go to ``_staging`` first, are moved
into place, and the manifest is written last. Readers see only batches whose
manifest exists, so a crash or a cancel at any point leaves no half batch
visible; :meth:`LineStore.recover` removes the leftovers. Writing a batch id
that exists is refused.

Each row carries the line's fields (:data:`STORE_SCHEMA`: ``LINE_SCHEMA``, the
provider's extras as JSON, ``revision``, ``period``, ``batch_id``, a content
hash ``row_hash``, and ``deleted``). The current lines of a provider and
period are the newest revision of each line id among that partition's
batches, computed in DuckDB; a line whose newest revision moved to another
period leaves a ``deleted`` row (a tombstone) in the old one.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from cloudsettle.compute.arrow import LINE_SCHEMA
from cloudsettle.compute.backend import BulkSettings
from cloudsettle.store.location import Location, open_location, store_connection
from cloudsettle.store.progress import Tracker, quiet, run_statement

#: A stored row: the normalized line, its extras, and where it stands among its revisions.
STORE_SCHEMA = pa.schema(
    [
        *LINE_SCHEMA,
        pa.field("extras", pa.string()),
        pa.field("revision", pa.int64()),
        pa.field("period", pa.string()),
        pa.field("batch_id", pa.string()),
        pa.field("row_hash", pa.string()),
        pa.field("deleted", pa.bool_()),
    ]
)
#: What a reader of current lines gets: the line, its extras and its provenance.
CURRENT_COLUMNS: tuple[str, ...] = (*LINE_SCHEMA.names, "extras", "revision", "batch_id")
#: The fields whose change makes a new revision (the identity ``provider, line_id`` aside).
CONTENT_COLUMNS: tuple[str, ...] = (
    *(n for n in LINE_SCHEMA.names if n not in ("provider", "line_id")),
    "extras",
)

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,127}")
_PERIOD = re.compile(r"\d{4}-(0[1-9]|1[0-2])")
#: Rows a batch builder holds in memory before it spools them to local Parquet.
SPOOL_ROWS = 500_000
#: Rows per part file (a batch of a 10M-line month is 10 files).
ROWS_PER_PART = 1_000_000
#: Rows per Parquet row group: small enough that a reader under a tight memory limit streams.
ROW_GROUP_ROWS = 16_384


class StoreError(Exception):
    """The line store refused an operation (bad name, bad input)."""


class BatchExists(StoreError):
    """The batch (or run) id is committed already, or leftovers of a crash sit at its path."""


@dataclass(frozen=True, slots=True)
class PartFile:
    """One Parquet file of a batch.

    Attributes:
      provider / period: its partition.
      path: relative to the store's base.
      rows: rows in it.
    """

    provider: str
    period: str
    path: str
    rows: int


@dataclass(frozen=True, slots=True)
class BatchManifest:
    """What one committed batch holds; its JSON file is the batch's commit.

    Attributes:
      batch_id: the batch.
      created_at: when it was staged (UTC, ISO 8601).
      rows_in: rows handed to the writer.
      written: line revisions written (new and revised lines).
      unchanged: rows equal to a stored revision of their line (not written).
      duplicates: rows repeating an earlier row of the batch (not written).
      tombstones: ``deleted`` rows left where a line's newest revision moved away.
      parts: the files.
    """

    batch_id: str
    created_at: str
    rows_in: int
    written: int
    unchanged: int
    duplicates: int
    tombstones: int
    parts: tuple[PartFile, ...]

    def to_json(self) -> str:
        """The manifest file's text."""
        document = {
            "format": 1,
            "batch_id": self.batch_id,
            "created_at": self.created_at,
            "rows_in": self.rows_in,
            "written": self.written,
            "unchanged": self.unchanged,
            "duplicates": self.duplicates,
            "tombstones": self.tombstones,
            "parts": [
                {"provider": p.provider, "period": p.period, "path": p.path, "rows": p.rows}
                for p in self.parts
            ],
        }
        return json.dumps(document, indent=1, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> BatchManifest:
        """Read a manifest file."""
        doc = json.loads(text)
        parts = tuple(PartFile(p["provider"], p["period"], p["path"], int(p["rows"])) for p in doc["parts"])
        return cls(
            doc["batch_id"],
            doc["created_at"],
            int(doc["rows_in"]),
            int(doc["written"]),
            int(doc["unchanged"]),
            int(doc["duplicates"]),
            int(doc["tombstones"]),
            parts,
        )


def check_name(kind: str, value: str) -> str:
    """``value`` when it is safe as a path segment (letters, digits, ``_.-``)."""
    if not _NAME.fullmatch(value):
        raise StoreError(f"{kind} {value!r}: use letters, digits, '_', '.', '-' (at most 128)")
    return value


def check_period(value: str) -> str:
    """``value`` when it is a ``YYYY-MM`` billing period."""
    if not _PERIOD.fullmatch(value):
        raise StoreError(f"period {value!r}: use YYYY-MM")
    return value


def quote(text: str) -> str:
    """``text`` as a SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


def parquet_list(paths: Sequence[str]) -> str:
    """A ``read_parquet`` over exactly these files (partition keys read from the files)."""
    return "read_parquet([" + ", ".join(quote(p) for p in paths) + "], hive_partitioning = false)"


class LineStore:
    """The line store at ``url`` (a folder or ``s3://bucket/prefix``).

    ``settings`` bound DuckDB's memory and threads (``compute.backend.BulkSettings``);
    its ``temp_directory`` defaults to ``<work_dir>/spill``. ``work_dir`` is a local
    folder for spooling incoming batches and spilling: ``<base>/_work`` for a local
    store, a folder per bucket and prefix under the system's temporary directory for S3.
    """

    def __init__(
        self,
        url: str | Path,
        *,
        settings: BulkSettings | None = None,
        work_dir: Path | None = None,
        storage_options: dict[str, Any] | None = None,
        rows_per_part: int = ROWS_PER_PART,
    ) -> None:
        self.location: Location = open_location(url, storage_options=storage_options)
        self.settings = settings or BulkSettings()
        if work_dir is None:
            if self.location.remote:
                digest = hashlib.sha256(self.location.url.encode("utf-8")).hexdigest()[:16]
                work_dir = Path(tempfile.gettempdir()) / "cloudsettle-linestore" / digest
            else:
                work_dir = Path(self.location.base) / "_work"
        self.work_dir = work_dir
        if rows_per_part < 1:
            raise StoreError("rows_per_part must be at least 1")
        self.rows_per_part = rows_per_part

    @classmethod
    def for_workspace(cls, root: Path, **options: Any) -> LineStore:
        """The default store of a workspace: ``<workspace>/lines``."""
        return cls(root / "lines", **options)

    @property
    def url(self) -> str:
        """The base URL."""
        return self.location.url

    def connect(self) -> duckdb.DuckDBPyConnection:
        """A DuckDB connection that can read this store, with the store's limits."""
        return store_connection(self.location, self.settings, self.work_dir / "spill")

    # ------------------------------------------------------------------ batches

    def committed_batches(self) -> set[str]:
        """The ids of the committed batches."""
        return self._committed("_batches", "batch")

    def manifest(self, batch_id: str) -> BatchManifest | None:
        """A committed batch's manifest, or None."""
        path = self.location.path("_batches", f"batch={check_name('batch id', batch_id)}.json")
        if not self.location.fs.exists(path):
            return None
        return BatchManifest.from_json(self.location.fs.cat_file(path).decode("utf-8"))

    def begin_batch(self, batch_id: str, *, tracker: Tracker | None = None) -> BatchBuilder:
        """Start writing batch ``batch_id``: add tables, then :meth:`BatchBuilder.stage`."""
        check_name("batch id", batch_id)
        if self.manifest(batch_id) is not None:
            raise BatchExists(f"batch {batch_id} is in the line store already; batches are written once")
        return BatchBuilder(self, batch_id, tracker or quiet())

    def write_batch(self, batch_id: str, lines: pa.Table, *, tracker: Tracker | None = None) -> BatchManifest:
        """Write and commit one batch (a table of ``LINE_SCHEMA``, optionally with
        ``extras`` and ``revision``; see :meth:`BatchBuilder.add`)."""
        with self.begin_batch(batch_id, tracker=tracker) as builder:
            builder.add(lines)
            staged = builder.stage()
        return staged.commit()

    def part_files(
        self, providers: str | Sequence[str] | None = None, periods: str | Sequence[str] | None = None
    ) -> list[str]:
        """The committed part files of some partitions, as DuckDB reads them (None: all)."""
        committed = self.committed_batches()
        if not committed:
            return []
        provider_globs = _globs("provider", providers)
        period_globs = _globs("period", periods)
        found: set[str] = set()
        for prov in provider_globs:
            for per in period_globs:
                pattern = self.location.path(prov, per, "batch=*", "part-*.parquet")
                for path in self.location.fs.glob(pattern):
                    batch = path.rsplit("/", 2)[-2].removeprefix("batch=")
                    if batch in committed:
                        found.add(self.location.for_duckdb(path))
        return sorted(found)

    def partitions(self) -> list[tuple[str, str]]:
        """Every ``(provider, period)`` some committed batch wrote to."""
        committed = self.committed_batches()
        seen: set[tuple[str, str]] = set()
        for path in self.location.fs.glob(self.location.path("provider=*", "period=*", "batch=*")):
            prov, per, batch = (seg.split("=", 1)[1] for seg in path.rstrip("/").rsplit("/", 3)[-3:])
            if batch in committed:
                seen.add((prov, per))
        return sorted(seen)

    def current_lines(
        self,
        con: duckdb.DuckDBPyConnection,
        providers: str | Sequence[str] | None,
        period: str,
    ) -> duckdb.DuckDBPyRelation:
        """The current lines of ``period`` (one provider, several, or all when None) on
        ``con`` (from :meth:`connect`): the newest revision of each line id, tombstones
        dropped, columns :data:`CURRENT_COLUMNS`, unordered. Nothing is read until the
        relation is."""
        return con.sql(self.current_sql(providers, period))

    def current_sql(self, providers: str | Sequence[str] | None, period: str) -> str:
        """The SQL of :meth:`current_lines` (for ``COPY`` or joins)."""
        files = self.part_files(providers, check_period(period))
        cols = ", ".join(f"s.{c}" for c in CURRENT_COLUMNS)
        if not files:
            return f"SELECT {cols} FROM ({_empty_sql()}) s WHERE false"
        # max(revision) per identity, joined back: a hash aggregate over three columns and a
        # hash join whose build side is that small result, while the wide rows stream through.
        # The files are scanned twice on purpose: a CTE would be materialized whole, and a
        # window over the wide rows needs them all in one place; both fail under a tight
        # memory_limit where this query spills or streams.
        scan = parquet_list(files)
        return f"""
            SELECT {cols} FROM {scan} s
            JOIN (SELECT provider, line_id, max(revision) AS revision FROM {scan}
                  GROUP BY provider, line_id) top
              ON s.provider = top.provider AND s.line_id = top.line_id AND s.revision = top.revision
            WHERE NOT s.deleted
        """

    def current_lines_arrow(self, providers: str | Sequence[str] | None, period: str) -> pa.Table:
        """The current lines as an Arrow table, ordered by provider and line id."""
        con = self.connect()
        try:
            table = con.sql(
                f"SELECT * FROM ({self.current_sql(providers, period)}) ORDER BY provider, line_id"
            )
            return table.to_arrow_table().cast(current_schema())
        finally:
            con.close()

    # ------------------------------------------------------------------ run results

    def committed_runs(self) -> set[str]:
        """The ids of the runs whose results are committed."""
        return self._committed("_runs", "run")

    def write_run_results(self, run_id: str, results: pa.Table, *, tracker: Tracker | None = None) -> int:
        """Write a run's per-line results under ``runs/run=<id>/`` once; returns rows written.

        Any Arrow table; it is written as it is, in parts of ``rows_per_part``.
        """
        check_name("run id", run_id)
        track = tracker or quiet()
        fs = self.location.fs
        if run_id in self.committed_runs() or fs.exists(self.location.path("runs", f"run={run_id}")):
            raise BatchExists(f"results of run {run_id} are in the line store already")
        staging = self.location.path("_staging", f"run={run_id}.{secrets.token_hex(6)}")
        try:
            track.start(f"run {run_id} results", results.num_rows)
            staged: list[tuple[str, str]] = []
            for k, start in enumerate(range(0, max(results.num_rows, 1), self.rows_per_part)):
                track.check()
                name = f"part-{k:05d}.parquet"
                self._write_parquet(f"{staging}/{name}", results.slice(start, self.rows_per_part))
                staged.append((f"{staging}/{name}", self.location.path("runs", f"run={run_id}", name)))
                track.advance(min(self.rows_per_part, results.num_rows - start))
            track.check()
            for source, target in staged:
                self._move(source, target)
            manifest = {"format": 1, "run_id": run_id, "rows": results.num_rows, "parts": len(staged)}
            self._put_text(self.location.path("_runs", f"run={run_id}.json"), json.dumps(manifest))
            return int(results.num_rows)
        finally:
            self._remove(staging)

    def run_results(self, con: duckdb.DuckDBPyConnection, run_id: str) -> duckdb.DuckDBPyRelation:
        """A committed run's results as a relation on ``con``."""
        if check_name("run id", run_id) not in self.committed_runs():
            raise StoreError(f"no committed results for run {run_id}")
        files = self.location.fs.glob(self.location.path("runs", f"run={run_id}", "part-*.parquet"))
        return con.sql(f"SELECT * FROM {parquet_list([self.location.for_duckdb(f) for f in sorted(files)])}")

    # ------------------------------------------------------------------ housekeeping

    def recover(self) -> list[str]:
        """Remove what crashed or cancelled writers left: staging folders, spools, and
        batch or run folders without a manifest. Run it when no writer is busy.
        Returns the removed paths."""
        fs, loc = self.location.fs, self.location
        removed: list[str] = []
        committed = self.committed_batches()
        for path in fs.glob(loc.path("provider=*", "period=*", "batch=*")):
            if path.rstrip("/").rsplit("/", 1)[-1].removeprefix("batch=") not in committed:
                removed.append(path)
        runs = self.committed_runs()
        for path in fs.glob(loc.path("runs", "run=*")):
            if path.rstrip("/").rsplit("/", 1)[-1].removeprefix("run=") not in runs:
                removed.append(path)
        removed.extend(fs.glob(loc.path("_staging", "*")))
        for path in removed:
            self._remove(path)
        for spool in sorted(self.work_dir.glob("spool-*")):
            shutil.rmtree(spool, ignore_errors=True)
            removed.append(str(spool))
        return removed

    def leftovers(self) -> list[str]:
        """Paths a :meth:`recover` would remove (empty after a clean write or cancel)."""
        fs, loc = self.location.fs, self.location
        found = list(fs.glob(loc.path("_staging", "*")))
        committed = self.committed_batches()
        for path in fs.glob(loc.path("provider=*", "period=*", "batch=*")):
            if path.rstrip("/").rsplit("/", 1)[-1].removeprefix("batch=") not in committed:
                found.append(path)
        found.extend(str(p) for p in self.work_dir.glob("spool-*"))
        return sorted(found)

    # ------------------------------------------------------------------ file helpers

    def _committed(self, folder: str, key: str) -> set[str]:
        names = self.location.fs.glob(self.location.path(folder, f"{key}=*.json"))
        return {n.rsplit("/", 1)[-1].removeprefix(f"{key}=").removesuffix(".json") for n in names}

    def _write_parquet(self, path: str, table: pa.Table) -> None:
        fs = self.location.fs
        if not self.location.remote:
            fs.makedirs(path.rsplit("/", 1)[0], exist_ok=True)
        with fs.open(path, "wb") as out:
            pq.write_table(table, out, row_group_size=ROW_GROUP_ROWS, compression="snappy")

    def _move(self, source: str, target: str) -> None:
        fs = self.location.fs
        if not self.location.remote:
            fs.makedirs(target.rsplit("/", 1)[0], exist_ok=True)
        fs.mv(source, target)

    def _put_text(self, path: str, text: str) -> None:
        """Write a small file so it appears whole or not at all (S3 puts are atomic;
        locally a temporary name is renamed)."""
        fs = self.location.fs
        if self.location.remote:
            fs.pipe_file(path, text.encode("utf-8"))
            return
        folder, name = path.rsplit("/", 1)
        fs.makedirs(folder, exist_ok=True)
        tmp = f"{folder}/.tmp-{secrets.token_hex(6)}-{name}"
        fs.pipe_file(tmp, text.encode("utf-8"))
        fs.mv(tmp, path)

    def _remove(self, path: str) -> None:
        fs = self.location.fs
        if fs.exists(path):
            fs.rm(path, recursive=True)


def current_schema() -> pa.Schema:
    """The schema of :meth:`LineStore.current_lines_arrow`."""
    return pa.schema([STORE_SCHEMA.field(n) for n in CURRENT_COLUMNS])


def _globs(key: str, values: str | Sequence[str] | None) -> list[str]:
    """Path segments ``key=value`` for the chosen values (checked), or ``key=*``."""
    if values is None:
        return [f"{key}=*"]
    chosen = [values] if isinstance(values, str) else list(values)
    return [f"{key}={check_period(v) if key == 'period' else check_name(key, v)}" for v in chosen]


def _digest_sql() -> str:
    """The text a row's ``row_hash`` (md5) is taken over: every content column, times as
    epoch microseconds (cheaper to print than ISO text), NULL as ``chr(0)``. md5 finds
    changes between revisions of one line id; it is not a security check (the raw
    file's sha256 is, ``ingest/raw_store.py``)."""
    instants = {f.name for f in LINE_SCHEMA if pa.types.is_timestamp(f.type)}
    return ", ".join(
        f"coalesce(CAST(epoch_us({c}) AS VARCHAR), chr(0))"
        if c in instants
        else f"coalesce(CAST({c} AS VARCHAR), chr(0))"
        for c in CONTENT_COLUMNS
    )


def _empty_sql() -> str:
    """A zero-row SELECT of :data:`STORE_SCHEMA`'s columns and DuckDB types."""
    types = {
        pa.string(): "VARCHAR",
        pa.int64(): "BIGINT",
        pa.bool_(): "BOOLEAN",
        pa.date32(): "DATE",
        pa.timestamp("us", tz="UTC"): "TIMESTAMPTZ",
        pa.decimal128(38, 12): "DECIMAL(38, 12)",
    }
    return "SELECT " + ", ".join(f"NULL::{types[f.type]} AS {f.name}" for f in STORE_SCHEMA) + " LIMIT 0"


# ---------------------------------------------------------------------- writing a batch


class BatchBuilder:
    """Collects one batch's lines (spooled to local Parquet as they come, so a batch of
    any size is never whole in memory) until :meth:`stage`.

    Use as a context manager: leaving it on an error (or Ctrl-C) removes the spool.
    """

    def __init__(self, store: LineStore, batch_id: str, tracker: Tracker) -> None:
        self.store = store
        self.batch_id = batch_id
        self.tracker = tracker
        self._spool = store.work_dir / f"spool-{batch_id}.{secrets.token_hex(6)}"
        self._rows = 0
        self._files: list[Path] = []
        self._pending: list[pa.Table] = []
        self._pending_rows = 0
        self._with_revision: bool | None = None

    def __enter__(self) -> BatchBuilder:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if exc is not None:
            self.abort()

    def add(self, lines: pa.Table) -> None:
        """Add rows: the columns of ``LINE_SCHEMA`` (cast to it), optionally ``extras``
        (a JSON object as text, ``{}`` when absent) and ``revision``.

        With ``revision`` (every added table, or none) the caller numbers revisions
        (the control store does, at ingest) and every row is written; each must be
        above the line's stored revisions. Without it the store decides: a row equal
        to a stored revision of its line, or to an earlier row of the batch, is not
        written, and the others are numbered after the line's newest revision.
        """
        self.tracker.check()
        missing = [n for n in LINE_SCHEMA.names if n not in lines.column_names]
        if missing:
            raise StoreError(f"batch {self.batch_id}: columns missing: {', '.join(missing)}")
        with_revision = "revision" in lines.column_names
        if self._with_revision is not None and with_revision != self._with_revision:
            raise StoreError(f"batch {self.batch_id}: give a revision column in every table or in none")
        self._with_revision = with_revision
        n = lines.num_rows
        arrays = [lines.column(f.name).cast(f.type) for f in LINE_SCHEMA]
        names = list(LINE_SCHEMA.names)
        if "extras" in lines.column_names:
            arrays.append(lines.column("extras").cast(pa.string()).fill_null("{}"))
        else:
            arrays.append(pa.array(["{}"] * n, pa.string()))
        names.append("extras")
        if with_revision:
            arrays.append(lines.column("revision").cast(pa.int64()))
            names.append("revision")
        arrays.append(pa.array(range(self._rows, self._rows + n), pa.int64()))
        names.append("ord")
        self._pending.append(pa.table(arrays, names=names))
        self._pending_rows += n
        self._rows += n
        if self._pending_rows >= SPOOL_ROWS:
            self._flush()

    def _flush(self) -> None:
        """Write the rows held in memory to a spool file (local Parquet)."""
        if not self._pending:
            return
        self._spool.mkdir(parents=True, exist_ok=True)
        path = self._spool / f"in-{len(self._files):05d}.parquet"
        pq.write_table(pa.concat_tables(self._pending), path, compression="lz4")
        self._files.append(path)
        self._pending, self._pending_rows = [], 0

    def abort(self) -> None:
        """Drop the spool."""
        shutil.rmtree(self._spool, ignore_errors=True)

    def stage(self) -> StagedBatch:
        """Classify and number the rows in DuckDB, write the part files to staging (not
        visible), and return the batch ready to commit. Cancel (or Ctrl-C) between part
        files removes the staged files and the spool."""
        store, loc = self.store, self.store.location
        staging = loc.path("_staging", f"batch={self.batch_id}.{secrets.token_hex(6)}")
        con = store.connect()
        try:
            counts = self._classify(con)
            parts = self._write_parts(con, staging)
            manifest = BatchManifest(
                batch_id=self.batch_id,
                created_at=datetime.now(UTC).isoformat(timespec="seconds"),
                rows_in=self._rows,
                written=counts["written"],
                unchanged=counts["unchanged"],
                duplicates=counts["duplicates"],
                tombstones=counts["tombstones"],
                parts=tuple(parts),
            )
            store._put_text(f"{staging}/manifest.json", manifest.to_json())
        except BaseException:
            store._remove(staging)
            raise
        finally:
            con.close()
            self.abort()
        return StagedBatch(store, manifest, staging)

    def _classify(self, con: duckdb.DuckDBPyConnection) -> dict[str, int]:
        """Decide in DuckDB which rows to write with which revision, and the tombstones;
        leave ``placed`` (the key of each row to write, with its part number). The decisions run on
        narrow key columns; the wide rows are read from the spool once, at the end."""
        if self._files:  # a large batch: everything to the spool, read from there
            self._flush()
            con.execute(
                f"CREATE TEMP VIEW spool AS SELECT * FROM {parquet_list([str(p) for p in self._files])}"
            )
        elif self._pending:  # a batch that fits the memory it came in: read as it is
            con.register("spool_arrow", pa.concat_tables(self._pending))
            con.execute("CREATE TEMP VIEW spool AS SELECT * FROM spool_arrow")
        else:
            line_cols = ", ".join([*LINE_SCHEMA.names, "extras"])
            con.execute(
                f"CREATE TEMP VIEW spool AS SELECT {line_cols}, 0::BIGINT AS ord FROM ({_empty_sql()})"
            )
        con.execute(f"""
            CREATE TEMP TABLE keys AS
            SELECT ord, provider, line_id, strftime(billing_period, '%Y-%m') AS period,
                   md5(concat_ws(chr(31), {_digest_sql()})) AS row_hash
                   {", revision" if self._with_revision else ""}
            FROM spool
        """)
        bad = con.execute(
            "SELECT count(*) FILTER (WHERE provider IS NULL OR line_id IS NULL OR period IS NULL), "
            "count(*) FILTER (WHERE NOT regexp_full_match(provider, '[A-Za-z0-9][A-Za-z0-9_.-]{0,127}')) "
            "FROM keys"
        ).fetchone()
        assert bad is not None
        if bad[0] or bad[1]:
            raise StoreError(
                f"batch {self.batch_id}: {bad[0]} rows without provider, line_id or billing_period, "
                f"{bad[1]} with a provider name unfit for a path"
            )
        providers = [r[0] for r in con.execute("SELECT DISTINCT provider FROM keys ORDER BY 1").fetchall()]
        history = self.store.part_files(providers) if providers else []
        hist_source = parquet_list(history) if history else f"({_empty_sql()})"
        # Only the stored revisions of the identities in this batch matter.
        con.execute(f"""
            CREATE TEMP TABLE hist AS
            SELECT h.provider, h.line_id, h.revision, h.period, h.row_hash, h.deleted
            FROM {hist_source} h
            SEMI JOIN (SELECT DISTINCT provider, line_id FROM keys) k
              ON h.provider = k.provider AND h.line_id = k.line_id
        """)
        con.execute(
            "CREATE TEMP TABLE top AS SELECT provider, line_id, max(revision) AS revision "
            "FROM hist GROUP BY provider, line_id"
        )
        if self._with_revision:
            self._check_revisions(con)
            con.execute("CREATE TEMP TABLE sel AS SELECT * FROM keys")
        else:
            # The first row of each content, unless a stored revision has that content;
            # numbered after the line's newest stored revision, in input order.
            con.execute("""
                CREATE TEMP TABLE sel AS
                WITH firsts AS (
                    SELECT provider, line_id, row_hash, min(ord) AS ord, any_value(period) AS period
                    FROM keys GROUP BY provider, line_id, row_hash
                )
                SELECT f.*,
                       coalesce(t.revision, 0)
                       + row_number() OVER (PARTITION BY f.provider, f.line_id ORDER BY f.ord) AS revision
                FROM firsts f
                ANTI JOIN (SELECT provider, line_id, row_hash FROM hist WHERE NOT deleted) h
                  ON f.provider = h.provider AND f.line_id = h.line_id AND f.row_hash = h.row_hash
                LEFT JOIN top t ON f.provider = t.provider AND f.line_id = t.line_id
            """)
        # A line whose newest revision lies in another period than an older visible one
        # (stored, or earlier in this batch) gets a tombstone there, at the newest revision.
        con.execute("""
            CREATE TEMP TABLE tomb AS
            WITH fin AS (
                SELECT provider, line_id, max(revision) AS revision, arg_max(period, revision) AS period
                FROM sel GROUP BY provider, line_id
            ), was AS (
                SELECT provider, line_id, period FROM sel
                UNION
                SELECT provider, line_id, arg_max(period, revision) FROM hist WHERE NOT deleted
                GROUP BY provider, line_id
            )
            SELECT DISTINCT fin.provider, fin.line_id, fin.revision, was.period
            FROM fin JOIN was ON fin.provider = was.provider AND fin.line_id = was.line_id
            WHERE was.period <> fin.period
        """)
        rows = (
            "SELECT ord, provider, line_id, revision, period, row_hash, false AS deleted FROM sel "
            "UNION ALL SELECT NULL, provider, line_id, revision, period, NULL, true FROM tomb"
        )
        largest = con.execute(
            f"SELECT coalesce(max(n), 0) FROM (SELECT count(*) AS n FROM ({rows}) GROUP BY provider, period)"
        ).fetchall()[0][0]
        per_part = int(self.store.rows_per_part)
        if largest <= per_part:  # one file per partition: no numbering needed
            con.execute(f"CREATE TEMP TABLE placed AS SELECT *, 0 AS part FROM ({rows})")
        else:
            con.execute(f"""
                CREATE TEMP TABLE placed AS
                SELECT *, (row_number() OVER (PARTITION BY provider, period ORDER BY line_id, revision) - 1)
                          // {per_part} AS part
                FROM ({rows})
            """)
        row = con.execute("""
            SELECT (SELECT count(*) FROM sel), (SELECT count(*) FROM tomb),
                   (SELECT count(*) FROM keys)
                   - (SELECT count(DISTINCT (provider, line_id, row_hash)) FROM keys)
        """).fetchone()
        assert row is not None
        written, tombstones, duplicates = int(row[0]), int(row[1]), int(row[2])
        if self._with_revision:
            duplicates = 0
        unchanged = self._rows - written - duplicates
        return {
            "written": written,
            "tombstones": tombstones,
            "duplicates": duplicates,
            "unchanged": unchanged,
        }

    def _check_revisions(self, con: duckdb.DuckDBPyConnection) -> None:
        row = con.execute("""
            SELECT (SELECT count(*) FROM keys WHERE revision IS NULL OR revision < 1),
                   (SELECT count(*) FROM keys i JOIN top t ON i.provider = t.provider
                        AND i.line_id = t.line_id AND i.revision <= t.revision),
                   (SELECT count(*) FROM (SELECT provider, line_id, revision FROM keys
                        GROUP BY ALL HAVING count(*) > 1))
        """).fetchone()
        assert row is not None
        if any(row):
            raise StoreError(
                f"batch {self.batch_id}: revisions must be numbered from 1, above the stored ones "
                f"and once per line ({row[0]} missing, {row[1]} not above the store, {row[2]} repeated)"
            )

    def _write_parts(self, con: duckdb.DuckDBPyConnection, staging: str) -> list[PartFile]:
        """One ``COPY`` per part file (DuckDB writes local and S3 paths alike), checking
        for cancel between files and interrupting a file's statement on cancel."""
        store, tracker = self.store, self.tracker
        parts_of = con.execute(
            "SELECT provider, period, part, count(*) FROM placed GROUP BY ALL ORDER BY provider, period, part"
        ).fetchall()
        tracker.check()
        tracker.start(f"batch {self.batch_id}", sum(int(n) for *_, n in parts_of))
        line_cols = {n: f"s.{n}" for n in (*LINE_SCHEMA.names, "extras") if n not in ("provider", "line_id")}
        picked = {**line_cols, "batch_id": f"{quote(self.batch_id)}::VARCHAR"}
        cols = ", ".join(f"{picked.get(n, 'p.' + n)} AS {n}" for n in STORE_SCHEMA.names)
        parts: list[PartFile] = []
        for provider, period, part, rows in parts_of:
            name = (
                f"provider={check_name('provider', provider)}/period={check_period(period)}/"
                f"batch={self.batch_id}/part-{int(part):05d}.parquet"
            )
            target = f"{staging}/{name}"
            if not store.location.remote:
                store.location.fs.makedirs(target.rsplit("/", 1)[0], exist_ok=True)
            tracker.check()
            # The spool is in ``ord`` order, so the join's ord range prunes its row groups.
            _copy(
                con,
                f"SELECT {cols} FROM placed p LEFT JOIN spool s ON s.ord = p.ord "
                f"WHERE p.provider = {quote(provider)} AND p.period = {quote(period)} "
                f"AND p.part = {int(part)} ORDER BY p.line_id, p.revision",
                store.location.for_duckdb(target),
                tracker,
                store,
            )
            parts.append(PartFile(provider, period, name, int(rows)))
            tracker.advance(int(rows))
        tracker.check()
        return parts


def _copy(
    con: duckdb.DuckDBPyConnection, query: str, target: str, tracker: Tracker, store: LineStore
) -> None:
    """Write ``query``'s rows to one Parquet file (small row groups: a reader under a tight
    memory limit holds a row group per thread); a cancel interrupts it and removes the file."""
    run_statement(
        con,
        f"COPY ({query}) TO {quote(target)} "
        f"(FORMAT parquet, COMPRESSION snappy, ROW_GROUP_SIZE {ROW_GROUP_ROWS})",
        tracker,
        on_abort=lambda: store._remove(target.split("://", 1)[-1] if store.location.remote else target),
    )


class StagedBatch:
    """A batch whose files are written to staging: :meth:`commit` makes it visible,
    :meth:`abort` drops it. The control store commits its own transaction in between
    (``store/ingest.py``)."""

    def __init__(self, store: LineStore, manifest: BatchManifest, staging: str) -> None:
        self.store = store
        self.manifest = manifest
        self.staging = staging
        self.state = "staged"

    def commit(self) -> BatchManifest:
        """Move the files into place and write the manifest (the commit point)."""
        if self.state != "staged":
            raise StoreError(f"batch {self.manifest.batch_id} is {self.state}")
        store, loc = self.store, self.store.location
        batch_id = self.manifest.batch_id
        if batch_id in store.committed_batches():
            self.abort()
            raise BatchExists(f"batch {batch_id} is in the line store already; batches are written once")
        folders = sorted({p.path.rsplit("/", 1)[0] for p in self.manifest.parts})
        taken = [f for f in folders if loc.fs.exists(loc.path(f))]
        if taken:
            self.abort()
            raise BatchExists(
                f"batch {batch_id}: {taken[0]} exists without a manifest (a crashed write); "
                "run LineStore.recover() first"
            )
        for part in self.manifest.parts:
            store._move(f"{self.staging}/{part.path}", loc.path(part.path))
        created = replace(self.manifest, created_at=datetime.now(UTC).isoformat(timespec="seconds"))
        store._put_text(loc.path("_batches", f"batch={batch_id}.json"), created.to_json())
        store._remove(self.staging)
        self.state = "committed"
        self.manifest = created
        return created

    def abort(self) -> None:
        """Drop the staged files; nothing of the batch becomes visible."""
        if self.state == "staged":
            self.store._remove(self.staging)
            self.state = "aborted"
