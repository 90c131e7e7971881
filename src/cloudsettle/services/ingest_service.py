"""``cloudsettle ingest``: store a bill file as a raw batch and its lines as revisions.

Idempotent: the raw file is content-addressed, a line identical to its newest
revision is ``unchanged``, a changed one is a new revision (never a duplicate).
A bad row is rejected with file, row and column named, recorded as a
``bad_row`` finding, and the rest of the file goes on.

The same bytes ingested again and read the same way are not read again: the earlier
batch's outcome is recorded for the new one (:mod:`cloudsettle.services.ingest_shortcut`;
``reread=True`` reads the file anyway).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, cast

from sqlalchemy import Table, select, update
from sqlalchemy.orm import Session

from cloudsettle.core.findings import FindingKind
from cloudsettle.core.lines import BillingLine
from cloudsettle.core.revisions import LineOutcome, classify, content_hash
from cloudsettle.db.bulk_insert import BulkInsert
from cloudsettle.db.models import (
    BillingLineRow,
    FindingRow,
    IngestBatchRow,
    LineRevisionRow,
    RawObjectRow,
)
from cloudsettle.ingest.errors import RowError, UnknownFormatError, UnreadableSourceError
from cloudsettle.ingest.raw_store import RawStore, StoredObject
from cloudsettle.ingest.readers import iter_bill_file
from cloudsettle.ingest.service_categories import CategoryMap
from cloudsettle.services.audit import now
from cloudsettle.services.categories import configured_categories
from cloudsettle.services.errors import BadInput
from cloudsettle.services.ingest_shortcut import earlier_reading, reading_key, record_ingest, replay
from cloudsettle.services.key_chunks import key_chunks
from cloudsettle.services.records import REVISION_COLUMNS, revision_tuple
from cloudsettle.services.validation_service import BatchChecks, header_of
from cloudsettle.store.ingest import BatchSink
from cloudsettle.store.lines import LineStore

PROVIDERS = ("tencent", "huawei", "focus")
#: Rows classified and written together; bounds the memory an ingest needs.
CHUNK_ROWS = 20_000
#: How often (in rows read) an ingest reports its progress.
PROGRESS_ROWS = 5_000


def _reporting(
    items: Iterable[tuple[int, BillingLine | RowError]], progress: Callable[[int], None]
) -> Iterator[tuple[int, BillingLine | RowError]]:
    """The same rows, calling ``progress(rows read)`` every :data:`PROGRESS_ROWS` and at the end."""
    count = 0
    for item in items:
        yield item
        count += 1
        if count % PROGRESS_ROWS == 0:
            progress(count)
    progress(count)


@dataclass
class IngestReport:
    """What one file did: counts per outcome and the rejected rows."""

    file_name: str
    batch_id: int
    sha256: str
    format: str = ""
    new: int = 0
    revised: int = 0
    unchanged: int = 0
    duplicate: int = 0
    rejected: int = 0
    errors: list[RowError] = field(default_factory=list)
    #: The earlier batch whose outcome this one reused (the file was not read again), or None.
    same_as_batch: int | None = None

    @property
    def total(self) -> int:
        """Every data row read."""
        return self.new + self.revised + self.unchanged + self.duplicate + self.rejected


def ingest_file(
    session: Session,
    *,
    raw_store: RawStore,
    path: Path,
    provider: str | None,
    actor: str,
    categories: CategoryMap | None = None,
    line_store: LineStore | None = None,
    progress: Callable[[int], None] | None = None,
    reread: bool = False,
) -> IngestReport:
    """Ingest one bill file. Raises BadInput when the file cannot be read at all or its
    headers match no known format (the file is refused whole). With ``line_store``, the
    batch's new revisions are also written there (see :func:`apply_batch`).

    ``progress`` is called with the number of rows read so far, every
    :data:`PROGRESS_ROWS` rows and at the end. An exception it raises (a
    ``KeyboardInterrupt`` from Ctrl-C, or a cancel) stops the ingest, and the caller's
    rollback leaves nothing of the file stored but its raw copy.

    Bytes already in the raw store, ingested before under the same name and read the same way
    (see :mod:`cloudsettle.services.ingest_shortcut`), are not read again: the earlier outcome
    is recorded for a new batch, and ``progress`` is told the row count once. ``reread``
    reads the file in full anyway."""
    if provider is not None and provider not in PROVIDERS:
        raise BadInput(f"{path.name}: unknown provider {provider!r} (use: {', '.join(PROVIDERS)})")
    if not path.is_file():
        raise BadInput(f"{path}: no such file")
    try:
        table = categories or configured_categories(session)
        bill_format, items = iter_bill_file(path, provider=provider, categories=table, source_name=path.name)
        stored = raw_store.put_file(path)
        reading = reading_key(sha256=stored.sha256, bill_format=bill_format, categories=table)
        if not reread and stored.already_present:  # a purged raw file is read again in full
            shortcut = _shortcut(session, stored=stored, reading=reading, path=path, actor=actor,
                                 line_store=line_store)
            if shortcut is not None:
                if progress is not None:
                    progress(shortcut.total)
                return shortcut
        if progress is not None:
            items = _reporting(items, progress)
        return apply_batch(
            session,
            stored=stored,
            source_kind="file",
            name=path.name,
            provider=bill_format.provider,
            fmt=bill_format.name,
            items=items,
            actor=actor,
            columns=header_of(path),
            line_store=line_store,
            reading=reading,
        )
    except (UnknownFormatError, UnreadableSourceError) as exc:
        raise BadInput(str(exc)) from exc
    except UnicodeDecodeError as exc:
        raise BadInput(f"{path.name}: not readable text ({exc.reason} at byte {exc.start})") from exc


def _shortcut(
    session: Session, *, stored: StoredObject, reading: str, path: Path, actor: str,
    line_store: LineStore | None,
) -> IngestReport | None:
    """The report of a replayed earlier reading of the file, or None when there is none to replay."""
    earlier = earlier_reading(session, reading=reading, file_name=path.name)
    if earlier is None:
        return None
    done = replay(session, earlier=earlier, stored=stored, columns=header_of(path), actor=actor,
                  line_store=line_store)
    if done is None:
        return None
    batch = done.batch
    return IngestReport(
        batch.file_name, batch.id, batch.sha256, batch.format, unchanged=batch.rows_unchanged,
        duplicate=batch.rows_duplicate, rejected=batch.rows_rejected, errors=done.errors,
        same_as_batch=done.earlier_batch,
    )


def apply_batch(
    session: Session,
    *,
    stored: StoredObject,
    source_kind: str,
    name: str,
    provider: str,
    fmt: str,
    items: Iterable[tuple[int, BillingLine | RowError]],
    actor: str,
    columns: Sequence[str] | None = None,
    line_store: LineStore | None = None,
    reading: str | None = None,
) -> IngestReport:
    """Record a raw batch (a file or a pull) and its lines: new lines and changed ones become
    revisions, the rest is counted; duplicates and bad rows become findings.

    The rows are consumed in chunks of :data:`CHUNK_ROWS`, so a file of any size is held
    in memory one chunk at a time (plus a digest per line identity, to find repeats).
    The validation checks watch the rows as they pass (issue 4; ``columns``: the file's
    header, for source drift).

    With ``line_store`` (issue 6), the new and revised lines also go to the line store as
    batch ``<id>``: staged here, committed when the session commits, dropped when it does not.

    ``reading``: how a file's bytes were read (``ingest_shortcut.reading_key``), kept on the
    batch so that an unchanged re-ingest can reuse its outcome.
    """
    checks = BatchChecks.for_source(provider, source_kind, fmt)
    items = checks.watch(items)
    stamp = now()
    if session.get(RawObjectRow, stored.sha256) is None:
        session.add(
            RawObjectRow(
                sha256=stored.sha256,
                size_bytes=stored.size_bytes,
                stored_path=str(stored.stored_path),
                first_received_at=stamp,
            )
        )
    batch = IngestBatchRow(
        sha256=stored.sha256,
        source_kind=source_kind,
        file_name=name,
        provider=provider,
        format=fmt,
        received_at=stamp,
        received_by=actor,
        rows_total=0,
        rows_new=0,
        rows_revised=0,
        rows_unchanged=0,
        rows_duplicate=0,
        rows_rejected=0,
        status="loaded",
        reading=reading,
    )
    session.add(batch)
    session.flush()
    report = IngestReport(name, batch.id, stored.sha256, fmt)
    sink = BatchSink(line_store, batch.id) if line_store is not None else None
    try:
        _read_rows(session, batch, stamp, items, report, sink)
        if sink is not None:
            sink.finish(session)
    except BaseException:
        if sink is not None:
            sink.abort()
        raise
    batch.rows_total, batch.rows_new, batch.rows_revised = report.total, report.new, report.revised
    batch.rows_unchanged, batch.rows_duplicate = report.unchanged, report.duplicate
    batch.rows_rejected = report.rejected
    batch.status = "loaded_with_errors" if report.errors else "loaded"
    checks.finish(session, batch_id=batch.id, file_name=name, columns=columns, actor=actor)
    record_ingest(session, actor=actor, source_kind=source_kind, batch=batch, sha256=stored.sha256,
                  new=report.new, revised=report.revised, unchanged=report.unchanged)
    return report


#: The columns of a new ``billing_lines`` head, in the order :func:`_apply_chunk` gives them.
_HEAD_COLUMNS = ("provider", "line_id", "current_revision", "first_batch_id", "updated_at")


@dataclass
class _Writers:
    """A batch's bulk inserts of heads and revisions (issue 6: straight to the DBAPI, each value
    bound as its column type binds it, repeats remembered across the batch's chunks)."""

    heads: BulkInsert
    revisions: BulkInsert

    @classmethod
    def of(cls, session: Session) -> _Writers:
        dialect = session.get_bind().dialect
        return cls(
            BulkInsert(cast(Table, BillingLineRow.__table__), _HEAD_COLUMNS, dialect),
            BulkInsert(cast(Table, LineRevisionRow.__table__), REVISION_COLUMNS, dialect),
        )


def _read_rows(
    session: Session,
    batch: IngestBatchRow,
    stamp: datetime,
    items: Iterable[tuple[int, BillingLine | RowError]],
    report: IngestReport,
    sink: BatchSink | None,
) -> None:
    """Record bad rows and apply the good ones chunk by chunk."""
    in_file: dict[tuple[str, str], set[str]] = {}
    chunk: list[tuple[int, BillingLine]] = []
    writers = _Writers.of(session)
    for row_number, item in items:
        if isinstance(item, RowError):
            report.errors.append(item)
            report.rejected += 1
            session.add(
                FindingRow(
                    kind="bad_row",
                    message=str(item),
                    batch_id=batch.id,
                    file_name=item.file_name,
                    row_number=item.row_number,
                    column_name=item.column,
                    created_at=stamp,
                )
            )
            continue
        chunk.append((row_number, item))
        if len(chunk) >= CHUNK_ROWS:
            _apply_chunk(session, batch, stamp, chunk, in_file, report, sink, writers)
            chunk = []
    _apply_chunk(session, batch, stamp, chunk, in_file, report, sink, writers)


def _apply_chunk(
    session: Session,
    batch: IngestBatchRow,
    stamp: datetime,
    chunk: list[tuple[int, BillingLine]],
    in_file: dict[tuple[str, str], set[str]],
    report: IngestReport,
    sink: BatchSink | None,
    writers: _Writers,
) -> None:
    """Classify one chunk against the store (which holds the earlier chunks already) and
    write its new revisions."""
    if not chunk:
        return
    rows: list[tuple[int, BillingLine, str]] = []  # with each line's content hash, computed once
    for row_number, line in chunk:
        key, digest = (line.provider, line.line_id), content_hash(line)
        seen = in_file.setdefault(key, set())
        if digest in seen:  # the same identity and content twice in one file
            report.duplicate += 1
            session.add(
                FindingRow(
                    kind=FindingKind.DUPLICATE_LINE.value,
                    message=f"{batch.file_name} row {row_number}: line {line.line_id} of {line.provider} "
                    "repeats an earlier row with the same content; the repeat is not counted",
                    batch_id=batch.id,
                    line_id=line.line_id,
                    file_name=batch.file_name,
                    row_number=row_number,
                    created_at=stamp,
                )
            )
            continue
        seen.add(digest)
        rows.append((row_number, line, digest))
    keys = list({(line.provider, line.line_id) for _, line, _ in rows})
    providers = sorted({provider for provider, _ in keys})
    if providers and session.execute(
        select(BillingLineRow.line_id).where(BillingLineRow.provider.in_(providers)).limit(1)
    ).first() is None:
        heads = {}  # a provider's first lines (issue 6): nothing stored to look up key by key
    else:
        heads = _current_heads(session, keys)
    older = _older_hashes(session, keys, heads)
    # A row equal to an older revision is data we already have (an old file read again after a
    # restatement): unchanged, never a step back to the old version.
    stale = [digest in older.get((line.provider, line.line_id), set()) for _, line, digest in rows]
    fresh = [row for row, is_stale in zip(rows, stale, strict=True) if not is_stale]
    report.unchanged += sum(stale)
    classification = classify(
        [line for _, line, _ in fresh], {k: h[1] for k, h in heads.items()}, [d for _, _, d in fresh]
    )
    known = set(heads)
    new_heads: dict[tuple[str, str], int] = {}
    moved_heads: dict[tuple[str, str], int] = {}
    revisions: list[tuple[Any, ...]] = []
    to_sink: list[tuple[BillingLine, int]] = []
    for (row_number, _, _), classified in zip(fresh, classification.lines, strict=True):
        outcome = classified.outcome
        setattr(report, outcome.value, getattr(report, outcome.value) + 1)
        if outcome not in (LineOutcome.NEW, LineOutcome.REVISED):
            continue
        key = classified.key
        revision = heads[key][0] + 1 if key in heads else 1
        heads[key] = (revision, classified.content_hash)
        (moved_heads if key in known else new_heads)[key] = revision
        to_sink.append((classified.line, revision))
        revisions.append(
            revision_tuple(
                classified.line,
                revision=revision,
                batch_id=batch.id,
                source_row=row_number,
                content_hash=classified.content_hash,
            )
        )
    # Heads first (revisions point at them), in bulk: one statement per kind, not one per row,
    # and no ORM object per row (issue 6: building and flushing those was most of an ingest).
    # The inserts go to the DBAPI's executemany (db/bulk_insert.py), neither through the ORM's
    # bulk path nor through Core's per-value bind processing.
    session.flush()
    connection = session.connection()
    if new_heads:
        writers.heads.execute(
            connection, [(p, i, r, batch.id, stamp) for (p, i), r in new_heads.items()]
        )
    if moved_heads:
        session.execute(
            update(BillingLineRow),
            [
                {"provider": p, "line_id": i, "current_revision": r, "updated_at": stamp}
                for (p, i), r in moved_heads.items()
            ],
        )
    writers.revisions.execute(connection, revisions)
    if sink is not None:
        sink.add([line for line, _ in to_sink], [revision for _, revision in to_sink])


def _older_hashes(
    session: Session, keys: list[tuple[str, str]], heads: dict[tuple[str, str], tuple[int, str]]
) -> dict[tuple[str, str], set[str]]:
    """Content hashes of the revisions before the current one, for the keys that have them."""
    revised = [k for k in keys if k in heads and heads[k][0] > 1]
    older: dict[tuple[str, str], set[str]] = {}
    for provider_of_chunk, ids in key_chunks(revised):
        query = select(
            LineRevisionRow.provider,
            LineRevisionRow.line_id,
            LineRevisionRow.revision,
            LineRevisionRow.content_hash,
        ).where(LineRevisionRow.provider == provider_of_chunk, LineRevisionRow.line_id.in_(ids))
        for provider, line_id, revision, digest in session.execute(query).all():
            if revision < heads[(provider, line_id)][0]:
                older.setdefault((provider, line_id), set()).add(digest)
    return older


def _current_heads(session: Session, keys: list[tuple[str, str]]) -> dict[tuple[str, str], tuple[int, str]]:
    """``(provider, line_id) -> (current revision, its content hash)`` for the given keys."""
    heads: dict[tuple[str, str], tuple[int, str]] = {}
    for provider_of_chunk, ids in key_chunks(keys):
        query = (
            select(
                LineRevisionRow.provider,
                LineRevisionRow.line_id,
                LineRevisionRow.revision,
                LineRevisionRow.content_hash,
            )
            .join(
                BillingLineRow,
                (BillingLineRow.provider == LineRevisionRow.provider)
                & (BillingLineRow.line_id == LineRevisionRow.line_id)
                & (BillingLineRow.current_revision == LineRevisionRow.revision),
            )
            .where(LineRevisionRow.provider == provider_of_chunk, LineRevisionRow.line_id.in_(ids))
        )
        for provider, line_id, revision, digest in session.execute(query).all():
            heads[(provider, line_id)] = (revision, digest)
    return heads
