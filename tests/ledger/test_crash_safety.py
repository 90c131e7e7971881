"""Killing the process in the middle of finalize leaves the database fully before."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from cloudsettle.services.settlement_service import FAULT_ENV, approve, settle
from tests.ledger.driver import worked_example


def _state(sessions: sessionmaker[Session]) -> dict[str, object]:
    with sessions() as session:
        return {
            "statements": session.execute(
                text("SELECT id, status, finalized_by FROM statements ORDER BY id")
            ).all(),
            "entries": session.scalar(text("SELECT count(*) FROM ledger_entries")),
            "postings": session.scalar(text("SELECT count(*) FROM ledger_postings")),
            "audit": session.scalar(text("SELECT count(*) FROM audit_events")),
        }


def _finalize_in_a_process(database_url: str, workspace: Path, fault: str | None) -> int:
    env = {**os.environ, "CLOUDSETTLE_DATABASE_URL": database_url}
    env.pop(FAULT_ENV, None)
    if fault:
        env[FAULT_ENV] = fault
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "cloudsettle.cli.main",
            "finalize",
            "--period",
            "2026-10",
            "--user",
            "bob",
            "--workspace",
            str(workspace),
        ],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    return result.returncode


@pytest.mark.parametrize("fault", ["finalize:after-ledger", "finalize:after-status"])
def test_a_crash_inside_finalize_leaves_everything_as_before(
    session_factory: sessionmaker[Session], database_url: str, tmp_path: Path, fault: str
) -> None:
    d = worked_example(session_factory, tmp_path, close_october=False)
    d.do(settle, period="2026-10", partner_id=None, actor="alice")
    d.do(approve, period="2026-10", partner_id=None, actor="bob")
    before = _state(session_factory)
    assert _finalize_in_a_process(database_url, tmp_path / "ws", fault) == 86  # killed at the fault point
    assert _state(session_factory) == before  # nothing of the half-done finalize survived
    assert _finalize_in_a_process(database_url, tmp_path / "ws", None) == 0  # the retry completes
    after = _state(session_factory)
    assert [s[1] for s in after["statements"]] == ["settled", "settled"]  # type: ignore[union-attr]
    assert after["entries"] == before["entries"] + 1  # type: ignore[operator]
    assert after["postings"] == before["postings"] + 7  # type: ignore[operator]  # 4 + 2 clawback + payable
