"""Tables of operations (issue 10): scheduled job runs and alerts.

``schedule_runs`` is also the lock between workers: one row per schedule and
due instant, unique, so of several workers the one whose insert wins runs the
job and the others skip it. ``alerts`` holds one row per condition
(``dedupe_key`` unique), so the same condition is never alerted twice.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, Integer, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from cloudsettle.db.base import Base


class ScheduleRunRow(Base):
    """One due run of a schedule: who claimed it, when it ran, how it ended.

    ``status`` is ``running``, ``succeeded`` or ``failed``; ``missed`` counts the
    earlier due instants that were not run (the worker was down) and that this
    run catches up once; ``result`` is JSON."""

    __tablename__ = "schedule_runs"
    __table_args__ = (UniqueConstraint("schedule", "due_at"), Index(None, "status"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    schedule: Mapped[str]
    kind: Mapped[str]
    due_at: Mapped[datetime]
    missed: Mapped[int]
    worker: Mapped[str]
    claimed_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    status: Mapped[str]
    result: Mapped[str | None]
    error: Mapped[str | None]


class AlertRow(Base):
    """One alerted condition; ``details`` is JSON. ``delivered_at`` is set once every
    channel took it, ``resolved_at`` once the condition is gone."""

    __tablename__ = "alerts"
    __table_args__ = (Index(None, "delivered_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    rule: Mapped[str]
    dedupe_key: Mapped[str] = mapped_column(unique=True)
    severity: Mapped[str]
    title: Mapped[str]
    message: Mapped[str]
    details: Mapped[str]
    raised_at: Mapped[datetime]
    delivered_at: Mapped[datetime | None]
    resolved_at: Mapped[datetime | None]
