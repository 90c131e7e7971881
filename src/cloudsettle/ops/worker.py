"""``cloudsettle worker``: run the configured schedules, on any number of processes at once.

Each tick reads the clock (injectable: tests drive it), asks the pure schedule
arithmetic what is due, and claims each due run by inserting its
``schedule_runs`` row (unique on schedule and due instant) in a transaction of
its own. The worker whose insert wins runs the job; the others see the row
and skip it, so several workers against one PostgreSQL database never run a
job twice. A crashed run stays ``running`` and is not retried (at most once);
it shows in ``schedule list`` and in the job-lag metric.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from cloudsettle.db.models_ops import ScheduleRunRow
from cloudsettle.db.session import unit_of_work
from cloudsettle.ops.alerts import AlertSpec, deliver, raise_alert
from cloudsettle.ops.config import OpsConfig
from cloudsettle.ops.dbutil import insert_unless_exists
from cloudsettle.ops.jobs import HANDLERS, Handler, JobContext
from cloudsettle.ops.logs import bind
from cloudsettle.ops.schedule import DueRun, due_runs

log = logging.getLogger(__name__)
Clock = Callable[[], datetime]


def utc_now() -> datetime:
    """The real clock."""
    return datetime.now(UTC)


def default_name() -> str:
    """``host:pid``: who claimed a run."""
    return f"{socket.gethostname()}:{os.getpid()}"


@dataclass(frozen=True)
class Outcome:
    """What one tick did with one due run: ``succeeded``, ``failed`` or ``skipped``
    (another worker had claimed it)."""

    schedule: str
    due_at: datetime
    status: str
    missed: int = 0


def last_due(session: Session) -> dict[str, datetime]:
    """Per schedule, the due instant of its newest claimed run."""
    query = select(ScheduleRunRow.schedule, func.max(ScheduleRunRow.due_at)).group_by(ScheduleRunRow.schedule)
    return {name: due for name, due in session.execute(query) if due is not None}


class Worker:
    """Runs due jobs; one instance per process (or thread in tests)."""

    def __init__(
        self,
        *,
        sessions: sessionmaker[Session],
        config: OpsConfig,
        root: Path,
        env: Mapping[str, str] | None = None,
        clock: Clock = utc_now,
        name: str | None = None,
        handlers: Mapping[str, Handler] | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.sessions = sessions
        self.config = config
        self.root = root
        self.env = dict(os.environ if env is None else env)
        self.clock = clock
        self.name = name or default_name()
        self.handlers = dict(HANDLERS if handlers is None else handlers)
        self.sleep = sleep

    def due(self, now: datetime) -> list[DueRun]:
        """What is due at ``now`` and not claimed yet."""
        with unit_of_work(self.sessions) as session:
            last: Mapping[str, datetime | None] = last_due(session)
        return due_runs(self.config.schedules, now, last)

    def claim(self, run: DueRun, now: datetime) -> int | None:
        """Insert the run's row; its id when this worker won it, else None."""
        with unit_of_work(self.sessions) as session:
            return insert_unless_exists(
                session,
                ScheduleRunRow,
                {
                    "schedule": run.schedule.name,
                    "kind": run.schedule.kind,
                    "due_at": run.due_at,
                    "missed": run.missed,
                    "worker": self.name,
                    "claimed_at": now,
                    "finished_at": None,
                    "status": "running",
                    "result": None,
                    "error": None,
                },
            )

    def tick(self) -> list[Outcome]:
        """Claim and run everything due now; then deliver alerts unless in digest mode."""
        now = self.clock()
        outcomes = []
        for run in self.due(now):
            run_id = self.claim(run, now)
            if run_id is None:
                outcomes.append(Outcome(run.schedule.name, run.due_at, "skipped"))
                continue
            outcomes.append(self._execute(run_id, run, now))
        settings = self.config.alerts
        if not settings.digest and (settings.email or settings.webhook):
            deliver(self.sessions, settings, self.env, self.clock())
        return outcomes

    def _execute(self, run_id: int, run: DueRun, now: datetime) -> Outcome:
        s = run.schedule
        ctx = JobContext(self.root, self.sessions, self.env, self.config, f"worker:{s.name}", now)
        result: dict[str, Any] | None = None
        error: str | None = None
        with bind(f"job-{run_id}"):
            due = run.due_at.isoformat()
            started = {"schedule": s.name, "kind": s.kind, "due_at": due, "missed": run.missed}
            log.info("job started", extra=started)
            try:
                result = self.handlers[s.kind](ctx, s, run.due_at.astimezone(s.tz))
            except Exception as exc:
                error = f"{type(exc).__name__}: {exc}"
                log.exception("job failed", extra={"schedule": s.name})
            status = "failed" if error else "succeeded"
            with unit_of_work(self.sessions) as session:
                session.execute(
                    update(ScheduleRunRow)
                    .where(ScheduleRunRow.id == run_id)
                    .values(
                        status=status,
                        finished_at=self.clock(),
                        result=None if result is None else json.dumps(result, sort_keys=True, default=str),
                        error=error,
                    )
                )
                if error:
                    rule = "ingestion_failure" if s.kind == "pull" else "job_failure"
                    raise_alert(
                        session,
                        AlertSpec(
                            rule, f"job_failed:{s.name}:{run.due_at.isoformat()}", "critical",
                            f"scheduled job {s.name} failed", error,
                            {"schedule": s.name, "due_at": run.due_at.isoformat(), "run": run_id},
                        ),
                        self.clock(),
                    )
            log.info("job finished", extra={"schedule": s.name, "status": status})
        return Outcome(s.name, run.due_at, status, run.missed)

    def run(
        self, *, once: bool = False, until: datetime | None = None, poll_seconds: int = 30
    ) -> list[Outcome]:
        """Tick until ``until`` (or forever); ``once``: a single tick."""
        outcomes: list[Outcome] = []
        while True:
            outcomes.extend(self.tick())
            if once or (until is not None and self.clock() >= until):
                return outcomes
            self.sleep(poll_seconds)
