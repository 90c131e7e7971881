"""Read models for the web UI's ingest and explain pages.

What a batch covered (the bill months of the lines it added or revised), what it
rejected (``bad_row`` findings: file, row, column, reason), what else it raised
(other findings of the batch, the cases linked to it), and where one statement
line came from (its revision and the batch that brought it). Plain queries, no
permission checks: :mod:`cloudsettle.services.guarded` wraps them.

``line_revisions`` has no index on ``batch_id``, so :func:`batch_periods` scans
the table; the UI asks it for one page of batches at a time.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from cloudsettle.db.models import FindingRow, IngestBatchRow, LineRevisionRow
from cloudsettle.db.models_workflow import CaseLinkRow, CaseRow

#: The finding kind of a rejected row (``ingest_service.apply_batch``).
BAD_ROW = "bad_row"


def batch_periods(session: Session, batch_ids: Sequence[int]) -> dict[int, list[str]]:
    """``batch id -> bill months (YYYY-MM)`` of the line revisions each batch wrote."""
    if not batch_ids:
        return {}
    query = (
        select(LineRevisionRow.batch_id, LineRevisionRow.billing_period)
        .where(LineRevisionRow.batch_id.in_(list(batch_ids)))
        .distinct()
    )
    months: dict[int, set[str]] = {}
    for batch_id, day in session.execute(query).all():
        months.setdefault(batch_id, set()).add(day.isoformat()[:7])
    return {batch_id: sorted(found) for batch_id, found in months.items()}


def batch_findings(session: Session, batch_id: int) -> tuple[list[FindingRow], list[FindingRow]]:
    """The batch's rejected rows (in file order) and its other findings (duplicates, drift, totals)."""
    query = select(FindingRow).where(FindingRow.batch_id == batch_id).order_by(FindingRow.id)
    rows = list(session.scalars(query))
    rejects = sorted((f for f in rows if f.kind == BAD_ROW), key=lambda f: (f.row_number or 0, f.id))
    return rejects, [f for f in rows if f.kind != BAD_ROW]


def batch_cases(session: Session, batch_id: int) -> list[CaseRow]:
    """The cases an ingest opened or updated for this batch (``case_links`` of kind ``batch``)."""
    query = (
        select(CaseRow)
        .join(CaseLinkRow, CaseLinkRow.case_id == CaseRow.id)
        .where(CaseLinkRow.kind == "batch", CaseLinkRow.ref == str(batch_id))
        .order_by(CaseRow.id)
    )
    return list(session.scalars(query))


@dataclass(frozen=True)
class LineSource:
    """Where a statement line came from: the revision it was computed from and its batch."""

    revision: LineRevisionRow
    batch: IngestBatchRow | None


def line_source(session: Session, provider: str, line_id: str, revision: int) -> LineSource | None:
    """The stored revision of a line and the batch (file and row) that brought it, if kept."""
    rev = session.get(LineRevisionRow, (provider, line_id, revision))
    if rev is None:
        return None
    return LineSource(rev, session.get(IngestBatchRow, rev.batch_id))
