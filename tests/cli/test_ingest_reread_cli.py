"""``cloudsettle ingest`` of a file ingested before: not read again unless ``--reread``."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import Result
from typer.testing import CliRunner

from cloudsettle.cli.main import app

CASE = Path(__file__).parents[1] / "golden" / "cases" / "01-worked-example"


def _cells(stdout: str, file_name: str) -> list[str]:
    row = next(line for line in stdout.splitlines() if file_name in line and line.startswith("│"))
    return [c.strip() for c in row.strip("│ ").split("│")]


def test_a_file_ingested_before_is_not_read_again_unless_reread(tmp_path: Path, database_url: str) -> None:
    env = {"CLOUDSETTLE_DATABASE_URL": database_url, "CLOUDSETTLE_USER": "alice", "COLUMNS": "200"}

    def cli(*args: str) -> Result:
        return CliRunner().invoke(app, [*args, "--workspace", str(tmp_path / "ws")], env=env)

    lines = (CASE / "lines-2026-10.csv").read_text(encoding="utf-8").splitlines()
    header = lines[0].split(",")
    cells = lines[1].split(",")
    cells[header.index("BilledCost")] = "12x"
    bad = tmp_path / "bad-2026-10.csv"
    bad.write_text("\n".join([lines[0], ",".join(cells), *lines[2:], lines[2]]) + "\n", encoding="utf-8")

    first = cli("ingest", str(bad))
    assert first.exit_code == 1
    again = cli("ingest", str(bad))
    assert again.exit_code == 1  # a rejected row is still a problem to act on
    assert "bad-2026-10.csv: read before (batch 1), not read again" in again.stderr
    assert "bad-2026-10.csv row 2, column BilledCost" in again.stderr  # the errors, as the first time
    reread = cli("ingest", "--reread", str(bad))
    assert reread.exit_code == 1
    assert "read before" not in reread.stderr
    assert "bad-2026-10.csv row 2, column BilledCost" in reread.stderr
    unchanged = str(len(lines) - 2)  # every line but the rejected one; the repeat is a duplicate
    assert _cells(again.stdout, bad.name)[1:] == ["0", "0", unchanged, "1", "1", "focus-csv"]
    assert _cells(reread.stdout, bad.name) == _cells(again.stdout, bad.name)
    events = json.loads(cli("audit", "list", "--action", "ingest.file", "--format", "json").stdout)
    assert [e["details"].get("shortcut", False) for e in events] == [False, True, False]
    assert [e["details"]["batch"] for e in events] == [1, 2, 3]
