"""Re-ingesting a file already read: record what a full re-read would give, without reading it.

Issue 6: ingesting an unchanged file again should cost a small part of its first ingest.
Reading it again row by row (parse, hash, look each identity up) costs almost as much as
the first time, and its outcome is known in advance:

- every good row is ``unchanged``: the earlier read left a revision with the row's content
  (it wrote it, or the row already equalled a stored one), revisions are never deleted, and
  ``ingest_service._apply_chunk`` counts a row equal to the current revision *or an older one*
  as unchanged (an old file after a restatement changes nothing);
- repeats inside the file are ``duplicate`` again (the in-file test looks at the file only);
- bad rows are ``rejected`` with the same errors (parsing is deterministic).

That holds only when the same bytes are read the same way, so each file batch records its
*reading key* (:func:`reading_key`: sha256, provider, format, a fingerprint of the service
category table, :data:`~cloudsettle.ingest.readers.READER_VERSION`) in
``ingest_batches.reading``. A re-ingest with the same key and file name (findings name the
file) replays the latest such batch (:func:`replay`): a new batch with the counts above, the
earlier batch's per-row findings copied in one ``INSERT … SELECT``, the report's errors
rebuilt from its ``bad_row`` findings, the batch-level checks, and the ``ingest.file`` audit
event with ``shortcut: true``.

Batch-level checks on a replay: column drift runs as on any ingest (the file's header
against the source's last profile, which may have changed since). Monthly volume drift does
not: it compares the store's volumes, and a replay changes none, so any drift was judged by
the batch that moved them (a full re-read would report it again and reopen a resolved case).
See ``docs/ingestion.md``.
"""

from __future__ import annotations

import ast
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Integer, func, insert, literal, select
from sqlalchemy.orm import Session

from cloudsettle.core.findings import FindingKind
from cloudsettle.db.models import FindingRow, IngestBatchRow
from cloudsettle.db.types import UtcDateTime
from cloudsettle.ingest.errors import RowError
from cloudsettle.ingest.raw_store import StoredObject
from cloudsettle.ingest.readers import PROVIDERS, READER_VERSION, BillFormat
from cloudsettle.ingest.service_categories import CategoryMap
from cloudsettle.services.audit import now, record
from cloudsettle.services.validation_service import BatchChecks
from cloudsettle.store.ingest import BatchSink
from cloudsettle.store.lines import LineStore

#: Findings a file's rows give whenever they are read: copied to the replaying batch.
ROW_FINDINGS: tuple[str, ...] = (
    FindingKind.BAD_ROW.value,
    FindingKind.DUPLICATE_LINE.value,
    FindingKind.INCOMPLETE_LINE.value,
    FindingKind.OUTSIDE_BILL_MONTH.value,
)
#: Statuses of a batch whose ingest completed (``ingest_service.apply_batch``).
COMPLETED = ("loaded", "loaded_with_errors")
_COPIED = ("kind", "message", "provider", "line_id", "partner_id", "agreement_id", "period",
           "file_name", "row_number", "column_name")
_FOUND = " (found "


def category_fingerprint(categories: CategoryMap) -> str:
    """A digest of what the readers look up in ``categories``: every product code and name
    known for each provider, with its category. Equal maps give equal digests, whatever
    order their entries and overrides came in."""
    table = {
        provider: sorted([name, categories.category(provider, name)] for name in categories.names(provider))
        for provider in sorted(PROVIDERS)
    }
    text = json.dumps(table, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


def reading_key(*, sha256: str, bill_format: BillFormat, categories: CategoryMap) -> str:
    """How a file's bytes are read: everything the rows it gives depend on (the file's name
    aside, see :func:`earlier_reading`)."""
    return (f"{sha256}/{bill_format.provider}/{bill_format.name}"
            f"/categories={category_fingerprint(categories)}/reader={READER_VERSION}")


def earlier_reading(session: Session, *, reading: str, file_name: str) -> IngestBatchRow | None:
    """The latest completed file batch read with ``reading`` under the same file name, if any."""
    query = (
        select(IngestBatchRow)
        .where(IngestBatchRow.reading == reading, IngestBatchRow.source_kind == "file",
               IngestBatchRow.file_name == file_name, IngestBatchRow.status.in_(COMPLETED))
        .order_by(IngestBatchRow.id.desc())
        .limit(1)
    )
    return session.scalars(query).first()


@dataclass(frozen=True, slots=True)
class Replay:
    """A batch recorded from an earlier reading.

    Attributes:
      batch: the new batch (flushed).
      errors: its rejected rows, as the full read reports them (in file order).
      earlier_batch: the id of the batch whose outcome it reuses.
    """

    batch: IngestBatchRow
    errors: list[RowError]
    earlier_batch: int


def replay(
    session: Session,
    *,
    earlier: IngestBatchRow,
    stored: StoredObject,
    columns: Sequence[str] | None,
    actor: str,
    line_store: LineStore | None = None,
) -> Replay | None:
    """Record a new batch of the same file as ``earlier`` with the outcome a full re-read gives.
    None (nothing recorded) when the earlier batch's findings do not account for its counts
    (or a rejected row's message cannot be read back): the caller then reads the file."""
    errors = _row_errors(session, earlier.id)
    if errors is None or not _accounted_for(session, earlier, rejected=len(errors)):
        return None
    stamp = now()
    unchanged = earlier.rows_new + earlier.rows_revised + earlier.rows_unchanged
    batch = IngestBatchRow(
        sha256=stored.sha256, source_kind="file", file_name=earlier.file_name, provider=earlier.provider,
        format=earlier.format, received_at=stamp, received_by=actor, rows_total=earlier.rows_total,
        rows_new=0, rows_revised=0, rows_unchanged=unchanged, rows_duplicate=earlier.rows_duplicate,
        rows_rejected=earlier.rows_rejected, status=earlier.status, reading=earlier.reading,
    )
    session.add(batch)
    session.flush()
    _copy_row_findings(session, from_batch=earlier.id, to_batch=batch.id, stamp=stamp)
    if line_store is not None:  # what an unchanged full read gives: an empty store batch
        sink = BatchSink(line_store, batch.id)
        try:
            sink.finish(session)
        except BaseException:
            sink.abort()
            raise
    # Column drift only: no line was watched, so no volume is checked (see the module docstring).
    BatchChecks.for_source(batch.provider, "file", batch.format).finish(
        session, batch_id=batch.id, file_name=batch.file_name, columns=columns, actor=actor
    )
    record_ingest(session, actor=actor, source_kind="file", batch=batch, sha256=stored.sha256, new=0,
                  revised=0, unchanged=unchanged, shortcut=True, same_as_batch=earlier.id)
    return Replay(batch, errors, earlier.id)


def record_ingest(session: Session, *, actor: str, source_kind: str, batch: IngestBatchRow, sha256: str,
                  new: int, revised: int, unchanged: int, **extra: Any) -> None:
    """The audit event of an ingested batch, read or replayed: one shape for both (its duplicate
    and rejected counts are the batch's)."""
    record(session, actor=actor, action=f"ingest.{source_kind}", subject=batch.file_name, batch=batch.id,
           sha256=sha256, new=new, revised=revised, unchanged=unchanged, duplicate=batch.rows_duplicate,
           rejected=batch.rows_rejected, **extra)


def _accounted_for(session: Session, earlier: IngestBatchRow, *, rejected: int) -> bool:
    """Whether the earlier batch's counts add up and its findings hold every rejected and
    duplicate row (a batch whose findings were lost must be read again, not copied)."""
    duplicates = session.scalar(
        select(func.count()).select_from(FindingRow).where(
            FindingRow.batch_id == earlier.id, FindingRow.kind == FindingKind.DUPLICATE_LINE.value)
    )
    counted = (earlier.rows_new + earlier.rows_revised + earlier.rows_unchanged + earlier.rows_duplicate
               + earlier.rows_rejected)
    return (counted == earlier.rows_total and rejected == earlier.rows_rejected
            and duplicates == earlier.rows_duplicate)


def _copy_row_findings(session: Session, *, from_batch: int, to_batch: int, stamp: datetime) -> None:
    """The earlier batch's per-row findings again, for the new batch: one INSERT … SELECT."""
    table = FindingRow.__table__
    source = (
        select(*(table.c[name] for name in _COPIED),
               literal(to_batch, Integer()).label("batch_id"),
               literal(stamp, UtcDateTime()).label("created_at"))
        .where(table.c.batch_id == from_batch, table.c.kind.in_(ROW_FINDINGS))
        .order_by(table.c.id)
    )
    session.execute(insert(FindingRow).from_select([*_COPIED, "batch_id", "created_at"], source))


def _row_errors(session: Session, batch_id: int) -> list[RowError] | None:
    """The rejected rows of a batch, rebuilt from its ``bad_row`` findings in file order;
    None if a message does not read back as the error it was written from."""
    findings = session.execute(
        select(FindingRow.file_name, FindingRow.row_number, FindingRow.column_name, FindingRow.message)
        .where(FindingRow.batch_id == batch_id, FindingRow.kind == FindingKind.BAD_ROW.value)
        .order_by(FindingRow.row_number, FindingRow.id)
    ).all()
    errors: list[RowError] = []
    for file_name, row_number, column, message in findings:
        error = row_error_from(message, file_name=file_name, row_number=row_number, column=column)
        if error is None:
            return None
        errors.append(error)
    return errors


def row_error_from(message: str, *, file_name: str | None, row_number: int | None,
                   column: str | None) -> RowError | None:
    """The :class:`RowError` whose text is ``message`` (a ``bad_row`` finding's), or None.

    The text is ``<file> row <n>, column <c>: <message> (found <repr of value>)``; the value's
    ``repr`` is the last part, so the split is the rightmost `` (found `` after which a string
    literal that is its own ``repr`` runs to the closing parenthesis."""
    if file_name is None or row_number is None or column is None:
        return None
    prefix = f"{file_name} row {row_number}, column {column}: "
    if not message.startswith(prefix) or not message.endswith(")"):
        return None
    rest = message[len(prefix):-1]
    at = rest.rfind(_FOUND)
    while at >= 0:
        literal_text = rest[at + len(_FOUND):]
        try:
            value = ast.literal_eval(literal_text)
        except (ValueError, SyntaxError, MemoryError, RecursionError):
            value = None
        if isinstance(value, str) and repr(value) == literal_text:
            error = RowError(file_name, row_number, column, value, rest[:at])
            return error if str(error) == message else None
        at = rest.rfind(_FOUND, 0, at)
    return None
