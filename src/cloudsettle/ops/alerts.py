"""Alerts: rules over the control store, stored once per condition, delivered by e-mail and webhook.

A rule produces :class:`AlertSpec` values; :func:`raise_alert` stores each one
unless an alert with the same ``dedupe_key`` exists, so a condition is alerted
once however often the rules run. :func:`deliver` sends the undelivered
alerts, one message each or, in digest mode, one message for all of them, by
SMTP and by a JSON webhook signed with HMAC-SHA256 over ``timestamp.body``
(headers ``X-Cloudsettle-Timestamp`` and ``X-Cloudsettle-Signature:
sha256=<hex>``; :func:`verify_signature` is the receiver's check).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
import smtplib
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from email.message import EmailMessage
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from cloudsettle.core.money import D
from cloudsettle.db.models import FindingRow, IngestBatchRow, RunRow, StatementLineRow, StatementRow
from cloudsettle.db.models_ops import AlertRow
from cloudsettle.db.models_workflow import CaseRow
from cloudsettle.db.session import unit_of_work
from cloudsettle.ops.config import AlertSettings, EmailChannel, OpsConfig, WebhookChannel
from cloudsettle.ops.dbutil import insert_unless_exists
from cloudsettle.ops.schedule import deadline_states, month_name

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Cloudsettle-Signature"
TIMESTAMP_HEADER = "X-Cloudsettle-Timestamp"
#: Case statuses after which a case is no longer overdue.
CLOSED_CASE_STATUSES: frozenset[str] = frozenset({"resolved", "closed", "dismissed", "rejected", "cancelled"})
DRIFT_KINDS: tuple[str, ...] = ("source_drift", "volume_drift")


@dataclass(frozen=True)
class AlertSpec:
    """One alertable condition; ``key`` names the condition (same key, same alert)."""

    rule: str
    key: str
    severity: str
    title: str
    message: str
    details: Mapping[str, Any] = field(default_factory=dict)


def raise_alert(session: Session, spec: AlertSpec, at: datetime) -> int | None:
    """Store ``spec`` unless its condition was alerted already; the new alert's id or None."""
    return insert_unless_exists(
        session,
        AlertRow,
        {
            "rule": spec.rule,
            "dedupe_key": spec.key,
            "severity": spec.severity,
            "title": spec.title,
            "message": spec.message,
            "details": json.dumps(dict(spec.details), sort_keys=True, default=str, ensure_ascii=False),
            "raised_at": at,
            "delivered_at": None,
            "resolved_at": None,
        },
    )


# --- rules ------------------------------------------------------------------------------

_TOTALS = re.compile(r"lines add up to (-?[0-9.]+) (\w+), the provider's total is (-?[0-9.]+) \w+")


def _variance(message: str) -> tuple[Decimal, str] | None:
    """The absolute difference a ``totals_mismatch`` message states, with its currency."""
    m = _TOTALS.search(message)
    if m is None:
        return None
    try:
        return abs(D(m.group(1)) - D(m.group(3))), m.group(2)
    except (InvalidOperation, ValueError):
        return None


def rule_alerts(session: Session, settings: AlertSettings, now: datetime) -> list[AlertSpec]:
    """What the rules find in the store now (ingestion rejects, drift, reconciliation
    variance, validation failure rates, overdue cases). Deadlines: :func:`deadline_alerts`;
    failed jobs are raised by the worker as they fail."""
    out: list[AlertSpec] = []
    for b in session.scalars(select(IngestBatchRow).where(IngestBatchRow.rows_rejected > 0)):
        out.append(AlertSpec(
            "ingestion_failure", f"ingest_rejects:{b.id}", "warning",
            f"{b.rows_rejected} rejected row(s) in {b.file_name}",
            f"batch {b.id} ({b.provider}, {b.format}) rejected {b.rows_rejected} of {b.rows_total} rows",
            {"batch": b.id, "rejected": b.rows_rejected},
        ))
    open_findings = select(FindingRow).where(FindingRow.status == "open")
    for f in session.scalars(open_findings.where(FindingRow.kind.in_(DRIFT_KINDS))):
        out.append(AlertSpec(
            "source_drift", f"drift:{f.id}", "warning", f"{f.kind} ({f.provider or '-'})", f.message,
            {"finding": f.id},
        ))
    for f in session.scalars(open_findings.where(FindingRow.kind == "totals_mismatch")):
        found = _variance(f.message)
        if found is not None and found[0] > settings.reconciliation_variance:
            out.append(AlertSpec(
                "reconciliation_variance", f"variance:{f.id}", "critical",
                f"reconciliation variance {found[0]} {found[1]}", f.message,
                {"finding": f.id, "variance": str(found[0]), "currency": found[1]},
            ))
    out.extend(_validation_rates(session, settings.validation_failure_rate))
    for c in session.scalars(select(CaseRow).where(CaseRow.due_at.is_not(None), CaseRow.due_at < now)):
        if c.status not in CLOSED_CASE_STATUSES:
            out.append(AlertSpec(
                "case_overdue", f"case_overdue:{c.id}", "warning", f"case {c.id} overdue: {c.title}",
                f"case {c.id} ({c.kind}, {c.status}, owner {c.owner or '-'}) was due {c.due_at}",
                {"case": c.id},
            ))
    return out


def _validation_rates(session: Session, threshold: Decimal) -> list[AlertSpec]:
    """Per period, the newest run's findings per line it settled, above ``threshold``."""
    latest = select(RunRow.period, func.max(RunRow.id)).group_by(RunRow.period)
    out = []
    for period, run_id in session.execute(latest):
        failed = session.scalar(
            select(func.count()).select_from(FindingRow).where(FindingRow.run_id == run_id)
        )
        lines = session.scalar(
            select(func.count())
            .select_from(StatementLineRow)
            .join(StatementRow, StatementRow.id == StatementLineRow.statement_id)
            .where(StatementRow.run_id == run_id)
        )
        total = (failed or 0) + (lines or 0)
        if not total:
            continue
        rate = (D(failed or 0) / D(total)).quantize(D("0.0001"))
        if rate > threshold:
            out.append(AlertSpec(
                "validation_failure_rate", f"validation_rate:{run_id}", "warning",
                f"{period}: {rate * 100:.2f}% of lines failed validation",
                f"run {run_id} of {period}: {failed} finding(s) against {lines} settled line(s)",
                {"run": run_id, "period": period, "rate": str(rate)},
            ))
    return out


def period_progress(session: Session, period: str) -> dict[str, bool]:
    """Which closing steps a period has done: a draft exists, all approved, all paid."""
    statuses = list(session.scalars(select(StatementRow.status).where(StatementRow.period == period)))
    approved = {"approved", "settled", "paid"}
    return {
        "draft": bool(statuses),
        "approved": bool(statuses) and all(s in approved for s in statuses),
        "paid": bool(statuses) and all(s == "paid" for s in statuses),
    }


def deadline_alerts(session: Session, config: OpsConfig, now: datetime) -> list[AlertSpec]:
    """Alerts for the open period's deadlines that are at risk or overdue."""
    zone = ZoneInfo(config.zone)
    period = month_name(now.astimezone(zone).date(), -1)
    states = deadline_states(
        period, config.deadlines, zone, now, period_progress(session, period), config.deadline_warning
    )
    out = []
    for s in states:
        if s.state in ("at_risk", "overdue"):
            local = s.due_at.astimezone(zone).strftime("%Y-%m-%d %H:%M %Z")
            word = "overdue" if s.state == "overdue" else "at risk"
            out.append(AlertSpec(
                "deadline", f"deadline:{period}:{s.step}:{s.state}",
                "critical" if s.state == "overdue" else "warning",
                f"{period}: '{s.step}' deadline {word}",
                f"{period} is not {s.step} yet; the deadline is {local}",
                {"period": period, "step": s.step, "due_at": s.due_at.isoformat(), "state": s.state},
            ))
    return out


# --- delivery ---------------------------------------------------------------------------


def sign(secret: bytes, timestamp: str, body: bytes) -> str:
    """The signature header's value: ``sha256=`` and the HMAC of ``timestamp.body``."""
    return "sha256=" + hmac.new(secret, timestamp.encode("ascii") + b"." + body, hashlib.sha256).hexdigest()


def verify_signature(secret: bytes, timestamp: str, body: bytes, signature: str) -> bool:
    """The receiver's check, in constant time."""
    return hmac.compare_digest(sign(secret, timestamp, body), signature)


def alert_document(row: AlertRow) -> dict[str, Any]:
    """An alert as JSON."""
    return {
        "id": row.id,
        "rule": row.rule,
        "key": row.dedupe_key,
        "severity": row.severity,
        "title": row.title,
        "message": row.message,
        "details": json.loads(row.details),
        "raised_at": row.raised_at.isoformat(),
    }


def message_text(rows: Sequence[AlertRow]) -> tuple[str, str]:
    """E-mail subject and body for one alert or a digest of several."""
    if len(rows) == 1:
        r = rows[0]
        body = f"{r.message}\n\nrule: {r.rule}\nkey: {r.dedupe_key}\n"
        return f"[cloudsettle {r.severity}] {r.title}", body
    lines = [f"- [{r.severity}] {r.title}: {r.message}" for r in rows]
    return f"[cloudsettle] digest: {len(rows)} alerts", "\n".join(lines) + "\n"


def send_email(channel: EmailChannel, subject: str, body: str, env: Mapping[str, str]) -> None:
    """Send one message over SMTP."""
    msg = EmailMessage()
    msg["From"] = channel.sender
    msg["To"] = ", ".join(channel.to)
    msg["Subject"] = subject
    msg.set_content(body)
    with smtplib.SMTP(channel.host, channel.port, timeout=30) as smtp:
        if channel.starttls:
            smtp.starttls()
        if channel.username:
            smtp.login(channel.username, env.get(channel.password_env or "", ""))
        smtp.send_message(msg)


def send_webhook(
    channel: WebhookChannel, payload: Mapping[str, Any], env: Mapping[str, str], at: datetime
) -> int:
    """POST ``payload`` as signed JSON; the HTTP status (an error status raises)."""
    if not channel.url.startswith(("http://", "https://")):
        raise ValueError(f"webhook url {channel.url!r}: only http(s)")
    secret = env.get(channel.secret_env, "")
    if not secret:
        raise ValueError(f"webhook: the secret variable {channel.secret_env} is not set")
    body = json.dumps(payload, sort_keys=True, ensure_ascii=False).encode("utf-8")
    stamp = str(int(at.timestamp()))
    request = urllib.request.Request(  # noqa: S310 - the scheme is checked above
        channel.url,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json",
            TIMESTAMP_HEADER: stamp,
            SIGNATURE_HEADER: sign(secret.encode("utf-8"), stamp, body),
        },
    )
    with urllib.request.urlopen(request, timeout=channel.timeout_seconds) as response:  # noqa: S310
        return int(response.status)


Sender = Callable[[Sequence[AlertRow]], None]


def channel_senders(settings: AlertSettings, env: Mapping[str, str], at: datetime) -> list[Sender]:
    """A sender per configured channel; each takes the alerts of one message."""
    senders: list[Sender] = []
    if settings.email is not None:
        email = settings.email

        def by_email(rows: Sequence[AlertRow]) -> None:
            subject, body = message_text(rows)
            send_email(email, subject, body, env)

        senders.append(by_email)
    if settings.webhook is not None:
        hook = settings.webhook

        def by_webhook(rows: Sequence[AlertRow]) -> None:
            payload = {
                "digest": len(rows) > 1 or settings.digest,
                "alerts": [alert_document(r) for r in rows],
            }
            send_webhook(hook, payload, env, at)

        senders.append(by_webhook)
    return senders


def claim_undelivered(session: Session, at: datetime) -> list[AlertRow]:
    """Mark the undelivered alerts as delivered at ``at`` and return those this caller won
    (another worker delivering at the same time gets the rest)."""
    pending = select(AlertRow.id).where(AlertRow.delivered_at.is_(None)).order_by(AlertRow.id)
    ids = list(session.scalars(pending))
    won = []
    for alert_id in ids:
        result = session.execute(
            update(AlertRow)
            .where(AlertRow.id == alert_id, AlertRow.delivered_at.is_(None))
            .values(delivered_at=at)
        )
        if getattr(result, "rowcount", 0) == 1:
            won.append(alert_id)
    if not won:
        return []
    return list(session.scalars(select(AlertRow).where(AlertRow.id.in_(won)).order_by(AlertRow.id)))


def release(session: Session, ids: Sequence[int]) -> None:
    """Undo a claim whose delivery failed, so the next delivery retries it."""
    session.execute(update(AlertRow).where(AlertRow.id.in_(ids)).values(delivered_at=None))


def messages(rows: Sequence[AlertRow], digest: bool) -> list[list[AlertRow]]:
    """How alerts group into messages: all in one (digest) or one each."""
    if not rows:
        return []
    return [list(rows)] if digest else [[r] for r in rows]


def deliver(
    sessions: sessionmaker[Session],
    settings: AlertSettings,
    env: Mapping[str, str],
    at: datetime,
    senders: Sequence[Sender] | None = None,
) -> int:
    """Send every undelivered alert through every channel; the number of messages sent.

    The alerts are claimed in one transaction first, so two workers never send the
    same alert; a message that fails is released and retried by the next delivery."""
    chosen = channel_senders(settings, env, at) if senders is None else list(senders)
    if not chosen:
        return 0
    with unit_of_work(sessions) as session:
        rows = claim_undelivered(session, at)
    sent, failed = 0, list[int]()
    for group in messages(rows, settings.digest):
        try:
            for send in chosen:
                send(group)
        except Exception:
            log.exception("alert delivery failed", extra={"alerts": [r.id for r in group]})
            failed.extend(r.id for r in group)
            continue
        sent += 1
    if failed:
        with unit_of_work(sessions) as session:
            release(session, failed)
    return sent
