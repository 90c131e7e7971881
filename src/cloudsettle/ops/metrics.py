"""Prometheus metrics in the text exposition format, computed from the control store.

Scraping reads the database (no in-process counters), so every API and worker
process reports the same figures. Amounts are written from ``Decimal`` text,
never through a float.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cloudsettle.db.models import IngestBatchRow, PayoutRow, StatementRow
from cloudsettle.db.models_ops import AlertRow, ScheduleRunRow
from cloudsettle.db.models_workflow import CaseRow

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
AGE_BUCKETS_DAYS: tuple[int, ...] = (1, 7, 30)


def seconds(delta: timedelta) -> Decimal:
    """A duration in seconds, exact to the microsecond."""
    return Decimal(delta // timedelta(microseconds=1)) / Decimal(1_000_000)


def _label(value: object) -> str:
    return str(value).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _family(name: str, kind: str, doc: str, samples: Iterable[tuple[dict[str, object], object]]) -> list[str]:
    out = [f"# HELP {name} {doc}", f"# TYPE {name} {kind}"]
    for labels, value in samples:
        inner = ",".join(f'{k}="{_label(v)}"' for k, v in sorted(labels.items()))
        out.append(f"{name}{{{inner}}} {value}" if inner else f"{name} {value}")
    return out


def metrics_text(session: Session, now: datetime | None = None) -> str:
    """Every metric, as the text Prometheus scrapes."""
    at = now or datetime.now(UTC)
    lines: list[str] = []
    ingest = select(
        IngestBatchRow.provider,
        func.sum(IngestBatchRow.rows_new + IngestBatchRow.rows_revised),
        func.sum(IngestBatchRow.rows_rejected),
    ).group_by(IngestBatchRow.provider)
    rows = list(session.execute(ingest))
    lines += _family(
        "cloudsettle_ingested_lines_total",
        "counter",
        "Lines ingested (new or revised).",
        (({"provider": p}, int(n or 0)) for p, n, _ in rows),
    )
    lines += _family(
        "cloudsettle_rejected_rows_total",
        "counter",
        "Input rows rejected at ingestion.",
        (({"provider": p}, int(r or 0)) for p, _, r in rows),
    )
    runs = list(session.scalars(select(ScheduleRunRow).where(ScheduleRunRow.finished_at.is_not(None))))
    durations: dict[tuple[str, str], list[Decimal]] = {}
    for r in runs:
        if r.finished_at is not None:
            durations.setdefault((r.schedule, r.status), []).append(seconds(r.finished_at - r.claimed_at))
    lines += _family(
        "cloudsettle_job_duration_seconds_sum",
        "counter",
        "Total run time of scheduled jobs.",
        (({"schedule": s, "status": st}, sum(v, Decimal(0))) for (s, st), v in sorted(durations.items())),
    )
    lines += _family(
        "cloudsettle_job_duration_seconds_count",
        "counter",
        "Scheduled job runs finished.",
        (({"schedule": s, "status": st}, len(v)) for (s, st), v in sorted(durations.items())),
    )
    newest = select(ScheduleRunRow.schedule, func.max(ScheduleRunRow.id)).group_by(ScheduleRunRow.schedule)
    lag: list[tuple[dict[str, object], object]] = []
    for name, run_id in session.execute(newest):
        row = session.get(ScheduleRunRow, run_id)
        if row is not None:
            lag.append(({"schedule": name}, seconds(row.claimed_at - row.due_at)))
    lines += _family(
        "cloudsettle_job_lag_seconds",
        "gauge",
        "How late the newest run of each schedule was claimed after it was due.",
        lag,
    )
    running = session.scalar(
        select(func.count()).select_from(ScheduleRunRow).where(ScheduleRunRow.status == "running")
    )
    lines += _family(
        "cloudsettle_jobs_running",
        "gauge",
        "Scheduled runs claimed and not finished.",
        [({}, int(running or 0))],
    )
    cases: dict[tuple[str, str], int] = {}
    for status, created in session.execute(select(CaseRow.status, CaseRow.created_at)):
        days = (at - created).days
        bucket = next((f"le_{b}d" for b in AGE_BUCKETS_DAYS if days < b), f"gt_{AGE_BUCKETS_DAYS[-1]}d")
        cases[(status, bucket)] = cases.get((status, bucket), 0) + 1
    lines += _family(
        "cloudsettle_cases",
        "gauge",
        "Cases by status and age.",
        (({"status": s, "age": a}, n) for (s, a), n in sorted(cases.items())),
    )
    payouts = select(PayoutRow.currency, PayoutRow.status, PayoutRow.amount)
    totals: dict[tuple[str, str], Decimal] = {}
    for currency, status, amount in session.execute(payouts):
        totals[(currency, status)] = totals.get((currency, status), Decimal(0)) + amount
    lines += _family(
        "cloudsettle_payout_amount_total",
        "gauge",
        "Sum of payouts by currency and status.",
        (({"currency": c, "status": s}, f"{v:f}") for (c, s), v in sorted(totals.items())),
    )
    statements = select(StatementRow.status, func.count()).group_by(StatementRow.status)
    lines += _family(
        "cloudsettle_statements",
        "gauge",
        "Statements by status.",
        (({"status": s}, n) for s, n in session.execute(statements)),
    )
    pending = session.scalar(
        select(func.count()).select_from(AlertRow).where(AlertRow.delivered_at.is_(None))
    )
    lines += _family(
        "cloudsettle_alerts_undelivered", "gauge", "Alerts not yet delivered.", [({}, int(pending or 0))]
    )
    return "\n".join(lines) + "\n"
