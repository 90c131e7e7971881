"""``cloudsettle user add/token/revoke/list`` and ``cloudsettle raw purge`` (retention)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from cloudsettle.cli.main import app
from cloudsettle.db.models import RawObjectRow
from cloudsettle.ingest.raw_store import RawStore
from cloudsettle.services import users
from cloudsettle.services.audit import now
from cloudsettle.services.config_service import load_config_file
from cloudsettle.services.errors import BadInput
from cloudsettle.services.ingest_service import ingest_file
from cloudsettle.services.retention import purge_raw
from cloudsettle.services.settlement_service import approve, finalize, settle

PPA = Path(__file__).parents[1] / "golden" / "cases" / "31-prior-period-revised-line"


def _cli(tmp_path: Path, database_url: str, *args: str, stdin: str | None = None):
    env = {"CLOUDSETTLE_DATABASE_URL": database_url, "CLOUDSETTLE_USER": "root", "COLUMNS": "200"}
    return CliRunner().invoke(app, [*args, "--workspace", str(tmp_path / "ws")], env=env, input=stdin)


def test_user_commands(tmp_path: Path, database_url: str) -> None:
    r = _cli(tmp_path, database_url, "user", "add", "ops1", "--role", "operator")
    assert r.exit_code == 0, r.output
    assert "password (shown once):" in r.output
    r = _cli(
        tmp_path,
        database_url,
        "user",
        "add",
        "fin1",
        "--role",
        "finance",
        "--password-stdin",
        stdin="a long enough password\n",
    )
    assert r.exit_code == 0
    assert "password" not in r.output.replace("--password", "")
    r = _cli(tmp_path, database_url, "user", "token", "ops1", "--days", "3")
    assert r.exit_code == 0, r.output
    secret = r.output.strip().splitlines()[-1]
    assert secret.startswith(users.TOKEN_PREFIX)
    r = _cli(tmp_path, database_url, "user", "list")
    assert "ops1" in r.output
    assert "fin1" in r.output
    assert _cli(tmp_path, database_url, "user", "revoke", "ops1").exit_code == 0
    assert _cli(tmp_path, database_url, "user", "add", "bad", "--role", "wizard").exit_code == 2
    assert _cli(tmp_path, database_url, "user", "token", "nobody").exit_code == 1
    assert _cli(tmp_path, database_url, "raw", "purge").exit_code == 2  # no retention given


@pytest.fixture
def closed_september(
    session_factory: sessionmaker[Session], tmp_path: Path
) -> tuple[sessionmaker[Session], RawStore]:
    raw = RawStore(tmp_path / "raw")

    def do(fn, **kw):
        with session_factory() as s, s.begin():
            return fn(s, **kw)

    do(load_config_file, path=PPA / "config.yaml", actor="admin")
    do(ingest_file, raw_store=raw, path=PPA / "lines-2026-09.csv", provider="focus", actor="loader")
    do(settle, period="2026-09", partner_id=None, actor="alice")
    do(approve, period="2026-09", partner_id=None, actor="bob")
    do(finalize, period="2026-09", partner_id=None, actor="bob")
    do(ingest_file, raw_store=raw, path=PPA / "lines-2026-10.csv", provider="focus", actor="loader")
    return session_factory, raw


def test_purge_never_removes_what_a_finalized_statement_references(
    closed_september: tuple[sessionmaker[Session], RawStore],
) -> None:
    sessions, raw = closed_september
    with sessions() as s, s.begin():
        digests = list(s.scalars(RawObjectRow.__table__.select().with_only_columns(RawObjectRow.sha256)))
        assert len(digests) == 2
        # Young files are never purged.
        assert purge_raw(s, raw_store=raw, older_than_days=30, actor="ops").removed == []
        s.execute(update(RawObjectRow).values(first_received_at=now() - timedelta(days=400)))
    with sessions() as s, s.begin():
        dry = purge_raw(s, raw_store=raw, older_than_days=365, actor="ops", dry_run=True)
    assert len(dry.removed) == 1
    assert all(d in raw for d in digests)  # a dry run removes nothing
    with sessions() as s, s.begin():
        report = purge_raw(s, raw_store=raw, older_than_days=365, actor="ops")
    assert report.removed == dry.removed
    assert len(report.kept_referenced) == 1
    kept = report.kept_referenced[0]
    assert kept in raw
    assert report.removed[0] not in raw
    with sessions() as s, s.begin():
        again = purge_raw(s, raw_store=raw, older_than_days=365, actor="ops")
    assert again.removed == []
    with sessions() as s, s.begin(), pytest.raises(BadInput):
        purge_raw(s, raw_store=raw, older_than_days=0, actor="ops")
