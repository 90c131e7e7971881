"""The audit log: who did what, when, why, with before/after values; hash-chained.

:func:`record` appends one event in the caller's transaction (so the event
and the change it describes commit or vanish together). The store chains each
new event onto the newest one (:mod:`cloudsettle.db.audit_chain`) and refuses
updates and deletes (:mod:`cloudsettle.db.guards` and database triggers).
:func:`verify` recomputes the chain and names the first event that was
altered, removed or reordered behind the application's back; :func:`events`
filters the log by object, user and time.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from cloudsettle.core.ledger_chain import ChainBreak, ChainRecord, audit_content, first_break
from cloudsettle.db.models import AuditEventRow


def now() -> datetime:
    """The current instant, aware UTC (the one clock services read)."""
    return datetime.now(UTC)


def _json(value: Any) -> str | None:
    return None if value is None else json.dumps(value, sort_keys=True, default=str, ensure_ascii=False)


def record(
    session: Session,
    *,
    actor: str,
    action: str,
    subject: str,
    reason: str | None = None,
    before: Any = None,
    after: Any = None,
    **details: Any,
) -> AuditEventRow:
    """Append one event; ``details``, ``before`` and ``after`` must be JSON-able (decimals as strings)."""
    row = AuditEventRow(
        at=now(),
        actor=actor,
        action=action,
        subject=subject,
        details=json.dumps(details, sort_keys=True, default=str, ensure_ascii=False),
        reason=reason,
        before_value=_json(before),
        after_value=_json(after),
        prev_hash="",
        entry_hash="",
    )
    session.add(row)
    return row


def chain_record(row: AuditEventRow) -> ChainRecord:
    """The event as the verifier sees it."""
    content = audit_content(
        at=row.at, actor=row.actor, action=row.action, subject=row.subject, details=row.details,
        reason=row.reason, before=row.before_value, after=row.after_value,
    )
    return ChainRecord(row.id, content, row.prev_hash, row.entry_hash)


@dataclass(frozen=True)
class VerifyResult:
    """How many events were checked, the head hash, and the first break if any."""

    checked: int
    head: str
    problem: ChainBreak | None

    @property
    def ok(self) -> bool:
        """Whether the whole chain holds."""
        return self.problem is None


def verify(session: Session) -> VerifyResult:
    """Recompute the chain over every event in id order."""
    rows = list(session.scalars(select(AuditEventRow).order_by(AuditEventRow.id)))
    problem = first_break(chain_record(r) for r in rows)
    head = rows[-1].entry_hash if rows else ""
    return VerifyResult(len(rows), head, problem)


def events(
    session: Session,
    *,
    subject: str | None = None,
    actor: str | None = None,
    action: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int | None = None,
) -> Sequence[AuditEventRow]:
    """Events filtered by object (subject prefix), user, action and time, oldest first."""
    query = select(AuditEventRow)
    if subject:
        query = query.where(AuditEventRow.subject.startswith(subject, autoescape=True))
    if actor:
        query = query.where(AuditEventRow.actor == actor)
    if action:
        query = query.where(AuditEventRow.action == action)
    if since is not None:
        query = query.where(AuditEventRow.at >= since)
    if until is not None:
        query = query.where(AuditEventRow.at < until)
    query = query.order_by(AuditEventRow.id)
    if limit is not None:
        query = query.limit(limit)
    return list(session.scalars(query))
