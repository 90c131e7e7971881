"""Append-only history: the ORM guard and the database triggers refuse rewrites."""

from __future__ import annotations

import gc

import pytest
from sqlalchemy import Engine, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from cloudsettle.core.money import D
from cloudsettle.db import session as db_session
from cloudsettle.db.audit_chain import chain_new_events
from cloudsettle.db.guards import AppendOnlyError, refuse_history_changes
from cloudsettle.db.models import AuditEventRow, StatementLineRow, StatementRow
from cloudsettle.db.session import unit_of_work
from tests.db.rows import add_audit_event, add_statement


def _statement_id(factory: sessionmaker[Session], **kwargs: object) -> int:
    with unit_of_work(factory) as session:
        return add_statement(session, **kwargs).id  # type: ignore[arg-type]


def _change(factory: sessionmaker[Session], model: type[object], key: object,
            **changes: object) -> None:
    """Load one row in a unit of work and set ``changes`` on it (commits unless refused)."""
    with unit_of_work(factory) as session:
        row = session.get(model, key)
        assert row is not None
        for name, value in changes.items():
            setattr(row, name, value)


def _delete(factory: sessionmaker[Session], model: type[object], key: object) -> None:
    """Delete one row in a unit of work (commits unless refused)."""
    with unit_of_work(factory) as session:
        session.delete(session.get(model, key))


def _payable(factory: sessionmaker[Session], statement_id: int) -> object:
    with factory() as session:
        return session.scalar(select(StatementRow.payable).where(StatementRow.id == statement_id))


def test_updating_a_finalized_statement_is_refused(session_factory: sessionmaker[Session]) -> None:
    statement_id = _statement_id(session_factory, status="settled", finalized=True)
    with pytest.raises(AppendOnlyError, match="finalized"):
        _change(session_factory, StatementRow, statement_id, payable=D("1.00"))
    assert _payable(session_factory, statement_id) == D("7187.50")


def test_status_may_move_from_settled_to_paid(session_factory: sessionmaker[Session]) -> None:
    statement_id = _statement_id(session_factory, status="settled", finalized=True)
    with unit_of_work(session_factory) as session:
        statement = session.get(StatementRow, statement_id)
        assert statement is not None
        statement.status = "paid"
    with session_factory() as session:
        assert session.scalar(
            select(StatementRow.status).where(StatementRow.id == statement_id)) == "paid"


@pytest.mark.parametrize(("before", "after"), [("paid", "approved"), ("settled", "approved")])
def test_other_status_moves_of_a_finalized_statement_are_refused(
    session_factory: sessionmaker[Session], before: str, after: str
) -> None:
    statement_id = _statement_id(session_factory, status=before, finalized=True)
    with pytest.raises(AppendOnlyError):
        _change(session_factory, StatementRow, statement_id, status=after)


def test_paying_may_not_change_anything_else(session_factory: sessionmaker[Session]) -> None:
    statement_id = _statement_id(session_factory, status="settled", finalized=True)
    with pytest.raises(AppendOnlyError, match="payable"):
        _change(session_factory, StatementRow, statement_id, status="paid", payable=D("0"))


def test_deleting_a_finalized_statement_or_its_lines_is_refused(
    session_factory: sessionmaker[Session],
) -> None:
    statement_id = _statement_id(session_factory, status="paid", finalized=True)
    with pytest.raises(AppendOnlyError):
        _delete(session_factory, StatementRow, statement_id)
    with pytest.raises(AppendOnlyError):
        _delete(session_factory, StatementLineRow, (statement_id, 1))
    with pytest.raises(AppendOnlyError):
        _change(session_factory, StatementLineRow, (statement_id, 1), shown=D("0"))
    with session_factory() as session:
        assert session.get(StatementLineRow, (statement_id, 1)) is not None


def test_an_unfinalized_statement_can_be_changed_and_replaced(
    session_factory: sessionmaker[Session],
) -> None:
    statement_id = _statement_id(session_factory, status="approved")
    with unit_of_work(session_factory) as session:
        statement = session.get(StatementRow, statement_id)
        assert statement is not None
        statement.payable = D("1.00")
    assert _payable(session_factory, statement_id) == D("1.00")
    with unit_of_work(session_factory) as session:
        session.delete(session.get(StatementLineRow, (statement_id, 1)))
        session.flush()
        session.delete(session.get(StatementRow, statement_id))
    assert _payable(session_factory, statement_id) is None


def test_finalizing_is_allowed(session_factory: sessionmaker[Session]) -> None:
    statement_id = _statement_id(session_factory, status="approved")
    with unit_of_work(session_factory) as session:
        statement = session.get(StatementRow, statement_id)
        assert statement is not None
        statement.status = "settled"
        statement.finalized_by = "carol"
        statement.finalized_at = statement.prepared_at
    with session_factory() as session:
        assert session.scalar(
            select(StatementRow.status).where(StatementRow.id == statement_id)) == "settled"


def test_audit_events_cannot_be_deleted_or_updated(session_factory: sessionmaker[Session]) -> None:
    with unit_of_work(session_factory) as session:
        event_id = add_audit_event(session).id
    with pytest.raises(AppendOnlyError, match="append-only"):
        _delete(session_factory, AuditEventRow, event_id)
    with pytest.raises(AppendOnlyError, match="append-only"):
        _change(session_factory, AuditEventRow, event_id, actor="mallory")
    with session_factory() as session:
        event = session.get(AuditEventRow, event_id)
        assert event is not None
        assert event.actor == "alice"


# The triggers: the same rules for SQL that never goes through the ORM's flush.


def test_trigger_refuses_raw_update_and_delete_of_audit_events(
    db_engine: Engine, session_factory: sessionmaker[Session]
) -> None:
    with unit_of_work(session_factory) as session:
        add_audit_event(session)
    for sql in ("UPDATE audit_events SET actor = 'mallory'", "DELETE FROM audit_events"):
        with pytest.raises(DBAPIError, match="append-only"), db_engine.begin() as connection:
            connection.execute(text(sql))
    with db_engine.connect() as connection:
        assert connection.execute(text("SELECT actor FROM audit_events")).scalars().all() == [
            "alice"]


def test_trigger_guards_finalized_statements(
    db_engine: Engine, session_factory: sessionmaker[Session]
) -> None:
    statement_id = _statement_id(session_factory, status="settled", finalized=True)
    open_id = _statement_id(session_factory, status="calculated", period="2026-11")
    refused = [
        "DELETE FROM statements WHERE id = :id",
        "UPDATE statements SET payable = '1', status = 'paid' WHERE id = :id",
        "UPDATE statements SET status = 'approved' WHERE id = :id",
        "UPDATE statements SET approved_by = NULL WHERE id = :id",
        "UPDATE statement_lines SET reasons = 'x' WHERE statement_id = :id",
        "DELETE FROM statement_lines WHERE statement_id = :id",
    ]
    for sql in refused:
        with pytest.raises(DBAPIError, match="finalized"), db_engine.begin() as connection:
            connection.execute(text(sql), {"id": statement_id})
    with db_engine.begin() as connection:
        connection.execute(text("UPDATE statements SET status = 'paid' WHERE id = :id"),
                           {"id": statement_id})
        connection.execute(text("UPDATE statements SET approved_by = 'x' WHERE id = :id"),
                           {"id": open_id})
        connection.execute(text("DELETE FROM statement_lines WHERE statement_id = :id"),
                           {"id": open_id})
        connection.execute(text("DELETE FROM statements WHERE id = :id"), {"id": open_id})
    with session_factory() as session:
        statuses = session.execute(select(StatementRow.id, StatementRow.status)).all()
    assert [tuple(row) for row in statuses] == [(statement_id, "paid")]


def test_every_new_factory_gets_the_guards_and_the_chain(db_engine: Engine) -> None:
    """Each session factory gets both listeners, even one made where a freed factory lived.

    SQLAlchemy's ``event.contains`` keys its registry by ``id(target)``: a factory freed by
    reference counting leaves its entry behind until the cyclic collector runs, and a new
    factory at the same address was taken for one that had the listeners, so it got none.
    Its audit events went unchained ("audit entry 1 was altered") and its history unguarded,
    seen as a flake that failed about one full test run in three. With the collector paused
    (as a settle pauses it) the address comes back at once."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        for _ in range(50):
            factory = db_session.session_factory(db_engine)
            with factory() as session:
                listeners = list(session.dispatch.before_flush)
            assert refuse_history_changes in listeners
            assert chain_new_events in listeners
            del factory, session
    finally:
        if was_enabled:
            gc.enable()
