"""Append-only guards: what the ORM must never change once it is written.

A finalized statement (``settled`` or ``paid``, with ``finalized_at`` set), its
statement lines, and every audit event are history: an update or delete of
them through a session raises :class:`AppendOnlyError` before any SQL is
sent. The one allowed change is a finalized statement's status moving
``settled`` -> ``paid`` (the payout went out) or back ``paid`` -> ``settled``
(the bank returned it), with nothing else changed.

This is a guard against bugs, so it raises instead of returning a finding.
The initial migration adds the same rules as database triggers, which also
cover raw SQL and bulk statements that bypass the ORM's flush.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import inspect
from sqlalchemy.orm import Session, sessionmaker

from cloudsettle.db.listeners import listen_once
from cloudsettle.db.models import (
    FINALIZED_STATUSES,
    AuditEventRow,
    StatementLineRow,
    StatementRow,
)


class AppendOnlyError(RuntimeError):
    """An attempt to change or remove a row that is history."""


def _loaded_value(obj: object, name: str) -> Any:
    """The attribute's value as loaded from the database (before this flush's changes)."""
    history = inspect(obj).attrs[name].history
    if history.deleted:
        return history.deleted[0]
    if history.unchanged:
        return history.unchanged[0]
    return getattr(obj, name)


def _was_finalized(statement: StatementRow) -> bool:
    """Whether the stored row (not the pending change) is a finalized statement."""
    state = inspect(statement)
    if not state.persistent and not state.deleted:
        return False
    return (_loaded_value(statement, "status") in FINALIZED_STATUSES
            and _loaded_value(statement, "finalized_at") is not None)


def _changed_attributes(obj: object) -> set[str]:
    """Names of the column attributes with a net pending change."""
    state = inspect(obj)
    return {
        column.key for column in state.mapper.column_attrs
        if state.attrs[column.key].history.has_changes()
    }


def _statement_is_finalized(session: Session, statement_id: int) -> bool:
    """Whether the statement a line belongs to is finalized in the database."""
    with session.no_autoflush:
        statement = session.get(StatementRow, statement_id)
    return statement is not None and _was_finalized(statement)


def _check_statement_update(statement: StatementRow) -> None:
    if not _was_finalized(statement):
        return
    changed = _changed_attributes(statement)
    if not changed:
        return
    if changed == {"status"} and (_loaded_value(statement, "status"), statement.status) in (
        ("settled", "paid"), ("paid", "settled")  # paid out; a returned payout (migration 0002)
    ):
        return
    raise AppendOnlyError(
        f"statement {statement.id} is finalized: only settled <-> paid may change, "
        f"not {sorted(changed)}"
    )


def refuse_history_changes(session: Session, flush_context: Any, instances: Any) -> None:
    """``before_flush`` listener: raise before any SQL if history would change."""
    for obj in session.dirty:
        if not session.is_modified(obj):
            continue
        if isinstance(obj, AuditEventRow):
            raise AppendOnlyError(f"audit event {obj.id} is append-only: no update")
        if isinstance(obj, StatementRow):
            _check_statement_update(obj)
        elif isinstance(obj, StatementLineRow) and _statement_is_finalized(
            session, _loaded_value(obj, "statement_id")
        ):
            raise AppendOnlyError(
                f"statement line {obj.statement_id}/{obj.seq} belongs to a finalized statement"
            )
    for obj in session.deleted:
        if isinstance(obj, AuditEventRow):
            raise AppendOnlyError(f"audit event {obj.id} is append-only: no delete")
        if isinstance(obj, StatementRow) and _was_finalized(obj):
            raise AppendOnlyError(f"statement {obj.id} is finalized: it cannot be deleted")
        if isinstance(obj, StatementLineRow) and _statement_is_finalized(
            session, _loaded_value(obj, "statement_id")
        ):
            raise AppendOnlyError(
                f"statement line {obj.statement_id}/{obj.seq} belongs to a finalized statement"
            )


def install_guards(factory: sessionmaker[Session]) -> None:
    """Attach the append-only listener and the audit hash chain to every session ``factory`` makes."""
    from cloudsettle.db.audit_chain import install_audit_chain  # it imports the models too

    listen_once(factory, "before_flush", refuse_history_changes)
    install_audit_chain(factory)
