"""``cloudsettle lines`` and ingest with ``CLOUDSETTLE_LINE_STORE`` turned on."""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq
from typer.testing import CliRunner

from cloudsettle.cli.main import app
from cloudsettle.compute.arrow import LINE_SCHEMA

CASE = Path(__file__).parents[1] / "golden" / "cases" / "31-prior-period-revised-line"


def test_ingest_fills_the_store_and_lines_current_reads_it(tmp_path: Path, database_url: str) -> None:
    ws = tmp_path / "ws"
    env = {"CLOUDSETTLE_DATABASE_URL": database_url, "CLOUDSETTLE_USER": "alice", "COLUMNS": "200"}

    def cli(*args: str, store: bool = True):
        extra = {"CLOUDSETTLE_LINE_STORE": "local"} if store else {"CLOUDSETTLE_LINE_STORE": ""}
        return CliRunner().invoke(app, [*args, "--workspace", str(ws)], env={**env, **extra})

    assert cli("ingest", str(CASE / "lines-2026-09.csv"), store=False).exit_code == 0
    status = cli("lines", "status")
    assert status.exit_code == 1, status.output  # the first batch is missing from the store
    assert "missing: 1" in status.output
    assert cli("lines", "backfill").exit_code == 0
    assert cli("ingest", str(CASE / "revision-2026-09.csv")).exit_code == 0
    status = cli("lines", "status")
    assert status.exit_code == 0, status.output
    assert "missing: -" in status.output
    assert (ws / "lines" / "_batches" / "batch=2.json").is_file()

    out = tmp_path / "sep.parquet"
    result = cli("lines", "current", "--period", "2026-09", "--out", str(out))
    assert result.exit_code == 0, result.output
    got = pq.read_table(out)
    assert got.schema.equals(LINE_SCHEMA)
    assert got.num_rows == 2
    assert cli("lines", "current", "--period", "2026-13", "--out", str(out)).exit_code == 2

    off = CliRunner().invoke(app, ["lines", "status", "--workspace", str(ws)], env=env)
    assert off.exit_code != 0
    assert "no line store" in off.output
