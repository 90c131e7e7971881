"""Chains every audit event as it is inserted, whoever inserts it.

A ``before_flush`` listener gives each new :class:`AuditEventRow` its
``prev_hash`` (the newest stored event's hash, or the previous new one's) and
its ``entry_hash`` (:func:`cloudsettle.core.ledger_chain.link_hash`), in the
order the events were added, which is the order their ids are assigned. On
PostgreSQL a transaction-scoped advisory lock serializes writers so two
transactions cannot both extend the same head; SQLite serializes writers
itself (a transaction whose read of the head went stale fails to commit).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import inspect, select, text
from sqlalchemy.orm import Session, sessionmaker

from cloudsettle.core.ledger_chain import GENESIS, audit_content, link_hash
from cloudsettle.db.listeners import listen_once
from cloudsettle.db.models import AuditEventRow

#: Key of the PostgreSQL advisory lock that serializes audit writers.
AUDIT_LOCK_KEY = 4_242_001


def head_hash(session: Session) -> str:
    """The newest stored event's hash, or the genesis value for an empty log."""
    with session.no_autoflush:
        latest = session.scalars(
            select(AuditEventRow.entry_hash).order_by(AuditEventRow.id.desc()).limit(1)
        ).first()
    return latest or GENESIS


def chain_new_events(session: Session, flush_context: Any, instances: Any) -> None:
    """``before_flush`` listener: link the pending audit events onto the chain."""
    pending = [o for o in session.new if isinstance(o, AuditEventRow) and not o.entry_hash]
    if not pending:
        return
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": AUDIT_LOCK_KEY})
    pending.sort(key=lambda o: inspect(o).insert_order or 0)
    prev = head_hash(session)
    for row in pending:
        content = audit_content(
            at=row.at,
            actor=row.actor,
            action=row.action,
            subject=row.subject,
            details=row.details,
            reason=row.reason,
            before=row.before_value,
            after=row.after_value,
        )
        row.prev_hash = prev
        row.entry_hash = link_hash(prev, content)
        prev = row.entry_hash


def install_audit_chain(factory: sessionmaker[Session]) -> None:
    """Attach :func:`chain_new_events` to every session ``factory`` makes."""
    listen_once(factory, "before_flush", chain_new_events)
