"""``cloudsettle cases ...`` as the issue lists them: list, show, assign, comment, attach,
resolve, waive; exit codes 0, 1 (refused, not found) and 2 (bad input)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cloudsettle.cli.main import app
from cloudsettle.db import session as db_session
from cloudsettle.services.users import add_user
from tests.cases.world import CONFIG, HEADER, OCTOBER


class Cli:
    def __init__(self, workspace: Path, database_url: str) -> None:
        self.workspace = workspace
        self.env = {"CLOUDSETTLE_DATABASE_URL": database_url, "CLOUDSETTLE_USER": "alice", "COLUMNS": "200"}

    def __call__(self, *args: str):  # type: ignore[no-untyped-def]
        return CliRunner().invoke(app, [*args, "--workspace", str(self.workspace)], env=self.env)


@pytest.fixture
def cli(tmp_path: Path, database_url: str) -> Cli:
    c = Cli(tmp_path / "ws", database_url)
    (tmp_path / "config.yaml").write_text(CONFIG, encoding="utf-8")
    (tmp_path / "october.csv").write_text(HEADER + "\n" + "\n".join(OCTOBER) + "\n", encoding="utf-8")
    assert c("config", "load", str(tmp_path / "config.yaml")).exit_code == 0
    assert c("ingest", str(tmp_path / "october.csv")).exit_code == 0
    assert c("settle", "--period", "2026-10").exit_code == 1  # statements held in exception
    engine = db_session.make_engine(database_url)
    with db_session.session_factory(engine)() as session, session.begin():
        add_user(session, name="olga", roles=["operator"], password=None, actor="admin")
    engine.dispose()
    return c


def _ids(cli: Cli, *filters: str) -> dict[str, int]:
    result = cli("cases", "list", *filters, "--format", "json")
    assert result.exit_code == 0, result.output
    return {c["kind"]: c["id"] for c in json.loads(result.stdout)}


def test_list_filters_and_table(cli: Cli) -> None:
    assert set(_ids(cli)) == {"missing_deal", "unlinked_refund", "missing_fx_rate"}
    assert set(_ids(cli, "--kind", "missing_fx_rate")) == {"missing_fx_rate"}
    assert _ids(cli, "--status", "resolved") == {}
    table = cli("cases", "list", "--status", "open")
    assert table.exit_code == 0
    assert "3 case(s)" in table.stdout
    assert "unlinked_refund" in table.stdout
    assert cli("cases", "list", "--status", "bogus").exit_code == 2
    assert cli("cases", "list", "--format", "xml").exit_code == 2


def test_assign_comment_attach_resolve_waive(cli: Cli, tmp_path: Path) -> None:
    ids = _ids(cli)
    refund = str(ids["unlinked_refund"])
    assert cli("cases", "assign", refund, "--to", "olga").exit_code == 0
    unknown = cli("cases", "assign", refund, "--to", "mallory")
    assert unknown.exit_code == 2
    assert "mallory" in unknown.stderr
    assert cli("cases", "comment", refund, "--text", "asked Tencent").exit_code == 0
    letter = tmp_path / "letter.pdf"
    letter.write_bytes(b"%PDF-1.4 letter")
    assert cli("cases", "attach", refund, str(letter)).exit_code == 0
    tool = tmp_path / "tool.exe"
    tool.write_bytes(b"MZ")
    assert cli("cases", "attach", refund, str(tool)).exit_code == 2
    assert cli("cases", "waive", refund).exit_code == 2  # no reason
    waived = cli("cases", "waive", refund, "--reason", "goodwill refund")
    assert waived.exit_code == 0
    assert "settled again: P-GAMMA/2026-10" in waived.stdout
    assert cli("cases", "resolve", refund, "--note", "again").exit_code == 1  # already closed
    shown = json.loads(cli("cases", "show", refund, "--format", "json").stdout)
    assert shown["status"] == "waived"
    assert shown["owner"] == "olga"
    assert [h["action"] for h in shown["history"]] == ["open", "assign", "comment", "attach", "waive"]
    assert shown["evidence"][0]["file"] == "letter.pdf"
    assert shown["links"] == [{"kind": "line", "ref": "tencent:G-R"},
                              {"kind": "statement", "ref": "P-GAMMA/gamma/2026-10"}]
    text = cli("cases", "show", refund)
    assert text.exit_code == 0
    assert "goodwill refund" in text.stdout
    assert cli("cases", "show", "999").exit_code == 1
    fx = str(ids["missing_fx_rate"])
    reopened = cli("cases", "resolve", fx, "--note", "looked at it")
    assert reopened.exit_code == 1
    assert "case " + fx + " open" in reopened.stdout
