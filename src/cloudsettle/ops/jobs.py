"""What each scheduled job does: a provider pull (and a draft settlement after it), a
re-validation/draft settlement, the deadline check, and the alert rules with delivery.

Each handler takes the job's context, its schedule and the due instant in the
schedule's zone, runs its own units of work, and returns a JSON-able summary
(stored on the ``schedule_runs`` row). A failure raises; the worker records it
and raises an alert.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from cloudsettle.db.session import unit_of_work
from cloudsettle.ingest.raw_store import RawStore
from cloudsettle.ops.alerts import deadline_alerts, deliver, raise_alert, rule_alerts
from cloudsettle.ops.config import OpsConfig
from cloudsettle.ops.schedule import Schedule, resolve_month
from cloudsettle.services.pull_service import fetch, record_pull
from cloudsettle.services.settlement_service import settle


@dataclass(frozen=True)
class JobContext:
    """What a job may use: the workspace folder and database, the environment, the
    configuration, who it acts as and the worker clock's instant."""

    root: Path
    sessions: sessionmaker[Session]
    env: Mapping[str, str]
    config: OpsConfig
    actor: str
    now: datetime

    @property
    def raw_store(self) -> RawStore:
        """The workspace's raw store."""
        return RawStore(self.root / "raw")


Handler = Callable[[JobContext, Schedule, datetime], dict[str, Any]]


def _draft(ctx: JobContext, period: str) -> dict[str, Any]:
    with unit_of_work(ctx.sessions) as session:
        summary = settle(session, period=period, partner_id=None, actor=ctx.actor)
    return {
        "period": period,
        "run_id": summary.run_id,
        "statements": len(summary.statements),
        "findings": len(summary.findings),
    }


def run_pull(ctx: JobContext, schedule: Schedule, due_local: datetime) -> dict[str, Any]:
    """Pull a month from a provider, then (``settle: previous``) draft the open period."""
    p = schedule.params
    month = resolve_month(str(p.get("month", "current")), due_local.date())
    secrets = p.get("secrets")
    result = fetch(
        provider=str(p["provider"]),
        month=month,
        checkpoints=ctx.root / "pulls",
        env=ctx.env,
        secrets_file=Path(str(secrets)) if secrets else None,
        endpoint=str(p["endpoint"]) if p.get("endpoint") else None,
    )
    with unit_of_work(ctx.sessions) as session:
        report = record_pull(session, result=result, raw_store=ctx.raw_store, actor=ctx.actor)
    out: dict[str, Any] = {
        "provider": p["provider"],
        "month": month,
        "new": report.ingest.new,
        "revised": report.ingest.revised,
        "unchanged": report.ingest.unchanged,
        "mismatches": report.mismatches,
    }
    if p.get("settle"):
        out["draft"] = _draft(ctx, resolve_month(str(p["settle"]), due_local.date()))
    return out


def run_settle(ctx: JobContext, schedule: Schedule, due_local: datetime) -> dict[str, Any]:
    """Re-validate and draft-settle a period (default: the open one, last month)."""
    return _draft(ctx, resolve_month(str(schedule.params.get("period", "previous")), due_local.date()))


def run_deadlines(ctx: JobContext, schedule: Schedule, due_local: datetime) -> dict[str, Any]:
    """Raise an alert for each deadline of the open period that is at risk or overdue."""
    with unit_of_work(ctx.sessions) as session:
        specs = deadline_alerts(session, ctx.config, ctx.now)
        raised = [raise_alert(session, spec, ctx.now) for spec in specs]
    return {"raised": sum(1 for r in raised if r is not None)}


def run_alerts(ctx: JobContext, schedule: Schedule, due_local: datetime) -> dict[str, Any]:
    """Evaluate the alert rules and deliver what is undelivered (a digest in digest mode)."""
    settings = ctx.config.alerts
    with unit_of_work(ctx.sessions) as session:
        raised = [raise_alert(session, spec, ctx.now) for spec in rule_alerts(session, settings, ctx.now)]
    # In immediate mode the worker delivers after every tick; here only the digest goes out.
    sent = deliver(ctx.sessions, settings, ctx.env, ctx.now) if settings.digest else 0
    return {"raised": sum(1 for r in raised if r is not None), "messages": sent}


HANDLERS: dict[str, Handler] = {
    "pull": run_pull,
    "settle": run_settle,
    "deadlines": run_deadlines,
    "alerts": run_alerts,
}
