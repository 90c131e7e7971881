"""The audit log is hash-chained: `audit verify` names an altered, removed or reordered event."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest
from sqlalchemy import Connection, text
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from cloudsettle.cli.main import app
from cloudsettle.core.ledger_chain import GENESIS, ChainRecord, first_break, link_hash
from cloudsettle.db.models import AuditEventRow
from cloudsettle.services.audit import chain_record, events, record, verify
from tests.ledger.driver import worked_example


def _cli(database_url: str, workspace: Path, *args: str):
    env = {"CLOUDSETTLE_DATABASE_URL": database_url, "CLOUDSETTLE_USER": "auditor"}
    return CliRunner().invoke(app, [*args, "--workspace", str(workspace)], env=env)


def _as_attacker(connection: Connection, statement: str, **params: object) -> None:
    """Bypass the append-only triggers deliberately, as someone with database access could."""
    if connection.dialect.name == "sqlite":
        connection.execute(text("DROP TRIGGER IF EXISTS audit_events_no_update"))
        connection.execute(text("DROP TRIGGER IF EXISTS audit_events_no_delete"))
        connection.execute(text(statement), params)
    else:
        connection.execute(text("ALTER TABLE audit_events DISABLE TRIGGER USER"))
        connection.execute(text(statement), params)
        connection.execute(text("ALTER TABLE audit_events ENABLE TRIGGER USER"))


def _described(session: Session, event_id: int) -> str:
    """An event as stored and the hash its stored content gives, for a failure message."""
    row = session.get(AuditEventRow, event_id)
    assert row is not None
    record_ = chain_record(row)
    return (f"entry {event_id}: {record_.content!r}, prev {record_.prev_hash}, stored hash "
            f"{record_.entry_hash}, recomputed {link_hash(record_.prev_hash, record_.content)}")


@pytest.fixture
def logged(session_factory: sessionmaker[Session], tmp_path: Path) -> sessionmaker[Session]:
    worked_example(session_factory, tmp_path)
    return session_factory


def test_an_untouched_log_verifies(logged: sessionmaker[Session], database_url: str, tmp_path: Path) -> None:
    with logged() as session:
        result = verify(session)
        rows = events(session)
    assert result.ok
    assert result.checked == len(rows) > 8
    assert rows[0].prev_hash == GENESIS
    assert all(b.prev_hash == a.entry_hash for a, b in itertools.pairwise(rows))
    out = _cli(database_url, tmp_path / "ws", "audit", "verify")
    assert out.exit_code == 0, out.output
    assert "audit chain intact" in out.stdout


def test_editing_one_row_in_the_database_is_detected_and_named(
    logged: sessionmaker[Session], db_engine: object, database_url: str, tmp_path: Path
) -> None:
    with logged() as session:
        target = events(session, action="statement.approve")[0].id
    with db_engine.begin() as connection:  # type: ignore[attr-defined]
        _as_attacker(connection, "UPDATE audit_events SET actor = 'alice' WHERE id = :i", i=target)
    with logged() as session:
        problem = verify(session).problem
        assert problem is not None
        # Seen once (2026-11-22): entry 1 named instead of the edited one; say what it held.
        assert (problem.id, problem.problem) == (target, "altered"), _described(session, problem.id)
    out = _cli(database_url, tmp_path / "ws", "audit", "verify")
    assert out.exit_code == 1
    assert f"audit entry {target} was altered" in out.stderr


def test_a_rehashed_edit_still_breaks_the_link_to_the_next_row(
    logged: sessionmaker[Session], db_engine: object
) -> None:
    with logged() as session:
        assert verify(session).ok  # intact before the attack
        rows = events(session)
        victim, following = rows[3], rows[4]
        forged_details = json.dumps({"note": "forged"})
        content = {
            "at": victim.at.isoformat(timespec="microseconds"),
            "actor": victim.actor,
            "action": victim.action,
            "subject": victim.subject,
            "details": forged_details,
            "reason": victim.reason,
            "before": victim.before_value,
            "after": victim.after_value,
        }
        forged_hash = link_hash(victim.prev_hash, content)
    with db_engine.begin() as connection:  # type: ignore[attr-defined]
        _as_attacker(
            connection,
            "UPDATE audit_events SET details = :d, entry_hash = :h WHERE id = :i",
            d=forged_details,
            h=forged_hash,
            i=victim.id,
        )
    with logged() as session:
        problem = verify(session).problem
    assert problem is not None
    assert problem.id == following.id
    assert f"does not follow entry {victim.id}" in problem.message


def test_deleting_a_row_is_detected(
    logged: sessionmaker[Session], db_engine: object, database_url: str, tmp_path: Path
) -> None:
    with logged() as session:
        rows = events(session)
    removed, named = rows[2].id, rows[3].id
    with db_engine.begin() as connection:  # type: ignore[attr-defined]
        _as_attacker(connection, "DELETE FROM audit_events WHERE id = :i", i=removed)
    out = _cli(database_url, tmp_path / "ws", "audit", "verify")
    assert out.exit_code == 1
    assert f"audit entry {named} does not follow entry {rows[1].id}" in out.stderr


def test_reordering_is_detected() -> None:
    a = ChainRecord(1, {"x": 1}, GENESIS, link_hash(GENESIS, {"x": 1}))
    b = ChainRecord(2, {"x": 2}, a.entry_hash, link_hash(a.entry_hash, {"x": 2}))
    assert first_break([a, b]) is None
    swapped = first_break(
        [
            ChainRecord(1, b.content, b.prev_hash, b.entry_hash),
            ChainRecord(2, a.content, a.prev_hash, a.entry_hash),
        ]
    )
    assert swapped is not None
    assert swapped.id == 1


def test_events_in_one_flush_chain_in_order_and_carry_before_after(
    session_factory: sessionmaker[Session],
) -> None:
    with session_factory() as session, session.begin():
        record(
            session,
            actor="ann",
            action="setting.set",
            subject="setting:x",
            reason="why not",
            before=None,
            after={"v": "1"},
        )
        record(
            session,
            actor="ann",
            action="setting.set",
            subject="setting:x",
            before={"v": "1"},
            after={"v": "2"},
        )
    with session_factory() as session:
        rows = list(session.query(AuditEventRow).order_by(AuditEventRow.id))
        assert rows[1].prev_hash == rows[0].entry_hash
        assert json.loads(rows[1].before_value or "null") == {"v": "1"}
        assert rows[0].reason == "why not"
        assert verify(session).ok
        assert [r.id for r in events(session, subject="setting:", actor="ann")] == [r.id for r in rows]
        assert events(session, actor="nobody") == []


def test_audit_list_filters_by_object_user_and_time(
    logged: sessionmaker[Session], database_url: str, tmp_path: Path
) -> None:
    out = _cli(
        database_url,
        tmp_path / "ws",
        "audit",
        "list",
        "--object",
        "statement:P-ACME",
        "--by",
        "bob",
        "--format",
        "json",
    )
    assert out.exit_code == 0, out.output
    rows = json.loads(out.stdout)
    assert rows
    assert {r["actor"] for r in rows} == {"bob"}
    assert all(r["subject"].startswith("statement:P-ACME") for r in rows)
    assert {r["action"] for r in rows} == {"statement.approve", "statement.finalize"}
    later = _cli(database_url, tmp_path / "ws", "audit", "list", "--since", "2999-01-01", "--format", "json")
    assert json.loads(later.stdout) == []
    bad = _cli(database_url, tmp_path / "ws", "audit", "list", "--since", "yesterday")
    assert bad.exit_code == 2
