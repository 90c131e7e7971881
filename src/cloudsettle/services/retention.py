"""Retention of raw bill files: purge old ones, never what a finalized statement rests on.

A raw object may be purged when it was first received more than ``older_than_days``
ago and no finalized statement (``settled`` or ``paid``) has a line whose
revision came from a batch of that object. Evidence files (of cases and of
manual adjustments) are never purged here. Only the file goes: the
``raw_objects`` and ``ingest_batches`` rows stay (history is append-only), and
each purge is written to the audit log.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from cloudsettle.db.models import (
    FINALIZED_STATUSES,
    IngestBatchRow,
    LineRevisionRow,
    ManualAdjustmentRow,
    RawObjectRow,
    StatementLineRow,
    StatementRow,
)
from cloudsettle.db.models_workflow import CaseEvidenceRow
from cloudsettle.ingest.raw_store import RawStore
from cloudsettle.services.audit import now, record
from cloudsettle.services.errors import BadInput


@dataclass
class PurgeReport:
    """What a purge did: removed digests, kept ones (referenced), bytes freed."""

    removed: list[str] = field(default_factory=list)
    kept_referenced: list[str] = field(default_factory=list)
    freed_bytes: int = 0


def protected_digests(session: Session) -> set[str]:
    """Raw objects that must stay: behind a finalized statement's lines, or evidence."""
    finalized_batches = (
        select(LineRevisionRow.batch_id)
        .join(
            StatementLineRow,
            (StatementLineRow.provider == LineRevisionRow.provider)
            & (StatementLineRow.line_id == LineRevisionRow.line_id)
            & (StatementLineRow.revision == LineRevisionRow.revision),
        )
        .join(StatementRow, StatementRow.id == StatementLineRow.statement_id)
        .where(StatementRow.status.in_(tuple(FINALIZED_STATUSES)))
        .distinct()
    )
    keep = set(session.scalars(select(IngestBatchRow.sha256).where(IngestBatchRow.id.in_(finalized_batches))))
    keep |= set(session.scalars(select(CaseEvidenceRow.sha256)))
    for evidence in session.scalars(
        select(ManualAdjustmentRow.evidence).where(ManualAdjustmentRow.evidence.is_not(None))
    ):
        keep.add(str(evidence).partition(":")[0])
    return keep


def purge_raw(
    session: Session, *, raw_store: RawStore, older_than_days: int, actor: str, dry_run: bool = False
) -> PurgeReport:
    """Delete raw files older than ``older_than_days`` that nothing finalized references."""
    if older_than_days < 1:
        raise BadInput("--older-than: at least 1 day")
    cutoff = now() - timedelta(days=older_than_days)
    keep = protected_digests(session)
    report = PurgeReport()
    candidates = session.scalars(
        select(RawObjectRow).where(RawObjectRow.first_received_at < cutoff).order_by(RawObjectRow.sha256)
    )
    for obj in candidates:
        if obj.sha256 in keep:
            report.kept_referenced.append(obj.sha256)
            continue
        if obj.sha256 not in raw_store:
            continue  # purged before
        path = raw_store.path_of(obj.sha256)
        if not dry_run:
            os.chmod(path, stat.S_IWUSR | stat.S_IRUSR)
            path.unlink()
        report.removed.append(obj.sha256)
        report.freed_bytes += obj.size_bytes
    if report.removed and not dry_run:
        record(
            session,
            actor=actor,
            action="raw.purge",
            subject="raw",
            older_than_days=older_than_days,
            removed=report.removed,
            freed_bytes=report.freed_bytes,
        )
    return report
