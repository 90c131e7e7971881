"""``cloudsettle check totals``: a provider summary file against the lines."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from cloudsettle.cli.main import app

CASE = Path(__file__).parents[1] / "golden" / "cases" / "01-worked-example"


def test_summary_file_matching_and_mismatching(tmp_path: Path, database_url: str) -> None:
    env = {"CLOUDSETTLE_DATABASE_URL": database_url, "COLUMNS": "200"}

    def cli(*args: str):
        return CliRunner().invoke(app, [*args, "--workspace", str(tmp_path / "ws")], env=env)

    assert cli("ingest", str(CASE / "lines-2026-10.csv")).exit_code == 0
    good = tmp_path / "good.csv"
    good.write_text("month,account_id,service,currency,amount\n2026-10,,,CNY,115000.00\n", encoding="utf-8")
    ok = cli("check", "totals", str(good), "--provider", "tencent")
    assert ok.exit_code == 0, ok.stdout + ok.stderr
    assert "0 differences" in ok.stdout
    bad = tmp_path / "bad.csv"
    bad.write_text("month,account_id,service,currency,amount\n2026-10,,,CNY,115012.34\n", encoding="utf-8")
    off = cli("check", "totals", str(bad), "--provider", "tencent")
    assert off.exit_code == 1
    assert "totals_mismatch" in off.stdout
    assert "12.34" in off.stdout
    broken = tmp_path / "broken.csv"
    broken.write_text("a,b\n1,2\n", encoding="utf-8")
    assert cli("check", "totals", str(broken), "--provider", "tencent").exit_code == 2
