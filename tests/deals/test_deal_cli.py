"""``cloudsettle deals``: import, status, suggestions, confirm."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from cloudsettle.cli.main import app
from cloudsettle.db import session as db_session
from cloudsettle.services import deal_service
from tests.cases.world import CONFIG


def test_deal_commands(tmp_path: Path, database_url: str) -> None:
    env = {"CLOUDSETTLE_DATABASE_URL": database_url, "CLOUDSETTLE_USER": "sales", "COLUMNS": "200"}
    ws = ["--workspace", str(tmp_path / "ws")]
    (tmp_path / "config.yaml").write_text(CONFIG, encoding="utf-8")
    (tmp_path / "crm.csv").write_text(
        "deal_id,partner_id,provider,account_id,agreement_id,valid_from,valid_to,status\n"
        "D-30,P-ACME,tencent,C30,acme,2026-01-01,,registered\n", encoding="utf-8")
    runner = CliRunner()

    def cli(*args: str) -> tuple[int, str]:
        result = runner.invoke(app, [*args, *ws], env=env)
        return result.exit_code, result.output

    assert cli("config", "load", str(tmp_path / "config.yaml"))[0] == 0
    assert cli("deals", "import", str(tmp_path / "crm.csv")) == (0, "created 1, updated 0, unchanged 0\n")
    assert cli("deals", "status", "D-30", "--to", "active")[0] == 0
    code, text = cli("deals", "status", "D-30", "--to", "registered")
    assert code == 1
    assert "cannot become registered" in text
    assert cli("deals", "status", "D-30", "--to", "terminated", "--valid-to", "bad")[0] == 2
    engine = db_session.make_engine(database_url)
    with db_session.session_factory(engine)() as session, session.begin():
        deal_service.sync_customers(session, customers=[("tencent", "C40", "New", {"SalesName": "P-BETA"})],
                                    actor="sync")
    engine.dispose()
    code, text = cli("deals", "suggestions")
    assert code == 0
    assert "tencent:C40" in text
    assert "P-BETA" in text
    assert cli("deals", "confirm", "1", "--deal-id", "D-40", "--valid-from", "2026-10-01")[0] == 0
    assert "tencent:C40" not in cli("deals", "suggestions")[1]
