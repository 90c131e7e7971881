"""``benchmarks/settle_stages.py``: it settles a real workspace, names every stage with its time and
memory, counts the statement lines it computed, and leaves the workspace as it found it."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select

from benchmarks import bill_generator as gen
from benchmarks import settle_stages
from cloudsettle.db.models import StatementRow
from cloudsettle.services.config_service import load_config_file
from cloudsettle.services.ingest_service import ingest_file
from cloudsettle.services.runs import BULK, ENGINE, set_setting
from cloudsettle.services.workspace import open_workspace


def test_stages_are_named_and_the_run_rolled_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("CLOUDSETTLE_DATABASE_URL", raising=False)
    month = gen.write_month(tmp_path / "bills", 120, customers=30, partners=6)
    ws = open_workspace(tmp_path / "ws")
    try:
        with ws.unit_of_work() as session:
            load_config_file(session, path=month.config, actor="admin")
            set_setting(session, key=ENGINE, value=BULK, actor="admin")
        for fmt in gen.FILES:
            with ws.unit_of_work() as session:
                ingest_file(session, raw_store=ws.raw_store, path=month.files[fmt], provider=None,
                            actor="loader")
    finally:
        ws.close()
    monkeypatch.setattr(sys, "argv", ["settle_stages.py", str(tmp_path / "ws"), "--period", gen.PERIOD])
    assert settle_stages.main() == 0
    out = capsys.readouterr().out
    stages = [m.group(1) for m in re.finditer(r"MiB  peak +[\d,]+ MiB  (.+)$", out, re.MULTILINE)]
    assert stages == ["reading the store", "reading the lines", "rating", "reading the lines' results",
                      "storing statements", "checking the period", "recording the run's inputs", "done"]
    counted = re.search(r"^([\d,]+) statement lines in [\d.]+ s wall", out, re.MULTILINE)
    assert counted is not None
    assert int(counted.group(1).replace(",", "")) >= 120
    ws = open_workspace(tmp_path / "ws")
    try:
        with ws.unit_of_work() as session:
            assert session.scalar(select(func.count()).select_from(StatementRow)) == 0
    finally:
        ws.close()
