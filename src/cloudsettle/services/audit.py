"""The audit log: who did what, when. Append-only (the store refuses edits)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session

from cloudsettle.db.models import AuditEventRow


def now() -> datetime:
    """The current instant, aware UTC (the one clock services read)."""
    return datetime.now(UTC)


def record(session: Session, *, actor: str, action: str, subject: str, **details: Any) -> None:
    """Append one event; ``details`` must be JSON-able (decimals as strings)."""
    session.add(
        AuditEventRow(
            at=now(),
            actor=actor,
            action=action,
            subject=subject,
            details=json.dumps(details, sort_keys=True, default=str),
        )
    )
