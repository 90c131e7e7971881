"""``cloudsettle export focus``: what was ingested comes back out as valid FOCUS 1.2."""

from __future__ import annotations

import os
import subprocess
from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cloudsettle.cli.main import app
from cloudsettle.ingest.errors import RowError
from cloudsettle.ingest.focus import iter_focus_csv
from cloudsettle.ingest.focus_parquet import iter_focus_parquet

ROOT = Path(__file__).parents[2]
NATIVE = ROOT / "tests" / "ingest" / "data" / "native"
GOLDEN = ROOT / "tests" / "golden" / "cases" / "01-worked-example"


def _cli(tmp: Path, db: str, *args: str):
    return CliRunner().invoke(
        app, [*args, "--workspace", str(tmp / "ws")], env={"CLOUDSETTLE_DATABASE_URL": db, "COLUMNS": "200"}
    )


@pytest.fixture
def exported(tmp_path: Path, database_url: str) -> tuple[Path, Path]:
    assert _cli(tmp_path, database_url, "ingest", str(GOLDEN / "lines-2026-10.csv")).exit_code == 0
    csv_out, parquet_out = tmp_path / "oct.csv", tmp_path / "oct.parquet"
    result = _cli(tmp_path, database_url, "export", "focus", "--period", "2026-10", "--output", str(csv_out))
    assert result.exit_code == 0, result.stderr
    assert "wrote 3 lines" in result.stdout
    result = _cli(
        tmp_path,
        database_url,
        "export",
        "focus",
        "--period",
        "2026-10",
        "--output",
        str(parquet_out),
        "--format",
        "parquet",
    )
    assert result.exit_code == 0, result.stderr
    return csv_out, parquet_out


def test_export_round_trips_the_ingested_lines(exported: tuple[Path, Path]) -> None:
    csv_out, parquet_out = exported
    source = {
        i.line_id: i for _, i in iter_focus_csv(GOLDEN / "lines-2026-10.csv") if not isinstance(i, RowError)
    }
    for items in (iter_focus_csv(csv_out), iter_focus_parquet(parquet_out)):
        back = {i.line_id: i for _, i in items if not isinstance(i, RowError)}
        assert set(back) == set(source)
        for line_id, line in back.items():
            assert line.list_amount == source[line_id].list_amount
            assert line.billed_amount == source[line_id].billed_amount
            assert line.original_line_id == source[line_id].original_line_id
            assert line.charge_start == source[line_id].charge_start
    assert sum(i.billed_amount for _, i in iter_focus_csv(csv_out) if not isinstance(i, RowError)) == Decimal(
        "115000.00"
    )


def test_export_needs_a_month(tmp_path: Path, database_url: str) -> None:
    bad = _cli(
        tmp_path, database_url, "export", "focus", "--period", "2026-Q4", "--output", str(tmp_path / "x")
    )
    assert bad.exit_code == 2


@pytest.mark.slow
@pytest.mark.skipif(os.environ.get("CLOUDSETTLE_SKIP_FOCUS_VALIDATOR") == "1", reason="validator skipped")
def test_exported_native_lines_pass_the_focus_validator(tmp_path: Path, database_url: str) -> None:
    for fixture in ("tencent_console_cn.csv", "huawei_detail_cn.csv"):
        _cli(tmp_path, database_url, "ingest", str(NATIVE / fixture))
    months = ("2024-04", "2024-05", "2024-06", "2024-07")
    outputs = []
    for month in months:
        target = tmp_path / f"focus-{month}.csv"
        result = _cli(tmp_path, database_url, "export", "focus", "--period", month, "--output", str(target))
        if "wrote 0 lines" not in result.stdout:
            outputs.append(target)
    assert outputs
    done = subprocess.run(
        [str(ROOT / "scripts" / "focus-validate"), *map(str, outputs)],
        capture_output=True,
        text=True,
        timeout=1500,
        check=False,
        env={**os.environ, "FOCUS_JUNIT_DIR": str(tmp_path / "junit")},
    )
    assert done.returncode == 0, done.stdout + done.stderr
