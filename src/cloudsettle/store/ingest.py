"""Ingest's side of the line store: each accepted batch's new revisions, committed with the database.

``services.ingest_service.apply_batch(..., line_store=store)`` hands every
new or revised line (with the revision number the control store gave it) to a
:class:`BatchSink`. When the batch is read, the sink stages the batch's files
(invisible) and ties them to the session: they are committed by the session's
``after_commit`` and dropped when the transaction ends without one. The
control store needs no new column: batch ``N`` of ``ingest_batches`` is
``_batches/batch=N.json`` in the store (``docs/line-store.md``, "Ingest").

If the process dies between the database commit and the store commit, the
store lacks a batch the database has; :func:`backfill` writes it from the
revisions the control store still holds.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import pyarrow as pa
from sqlalchemy import event, select
from sqlalchemy.orm import Session, SessionTransaction

from cloudsettle.compute.arrow import LINE_SCHEMA, lines_to_arrow
from cloudsettle.core.lines import BillingLine
from cloudsettle.db.models import IngestBatchRow, LineRevisionRow
from cloudsettle.store.lines import BatchBuilder, LineStore, StagedBatch
from cloudsettle.store.progress import Tracker

#: Revisions read from the control store per chunk when back-filling.
BACKFILL_CHUNK = 50_000


def batch_key(batch_id: int) -> str:
    """The store's id of control-store batch ``batch_id`` (the pointer: nothing is stored)."""
    return str(int(batch_id))


def lines_table(lines: Sequence[BillingLine], revisions: Sequence[int] | None = None) -> pa.Table:
    """Billing lines as a store input table: ``LINE_SCHEMA``, ``extras`` as sorted JSON
    (as the control store keeps them), and ``revision`` when given."""
    table = lines_to_arrow(lines)
    extras = [json.dumps(dict(line.extras), sort_keys=True, ensure_ascii=False) for line in lines]
    table = table.append_column("extras", pa.array(extras, pa.string()))
    if revisions is not None:
        table = table.append_column("revision", pa.array(list(revisions), pa.int64()))
    return table


class BatchSink:
    """Collects one ingest batch's revisions for the line store."""

    def __init__(self, store: LineStore, batch_id: int, *, tracker: Tracker | None = None) -> None:
        self.store = store
        self.batch_id = batch_id
        self._builder: BatchBuilder | None = store.begin_batch(batch_key(batch_id), tracker=tracker)
        self.staged: StagedBatch | None = None

    def add(self, lines: Sequence[BillingLine], revisions: Sequence[int]) -> None:
        """Add written revisions (a chunk of the batch)."""
        if lines and self._builder is not None:
            self._builder.add(lines_table(lines, revisions))

    def abort(self) -> None:
        """Drop everything collected or staged."""
        if self._builder is not None:
            self._builder.abort()
            self._builder = None
        if self.staged is not None:
            self.staged.abort()

    def finish(self, session: Session) -> StagedBatch:
        """Stage the batch and commit it when ``session`` commits (drop it otherwise)."""
        assert self._builder is not None, "finish() once"
        builder, self._builder = self._builder, None
        staged = builder.stage()
        self.staged = staged
        _bind(session, staged)
        return staged


def _bind(session: Session, staged: StagedBatch) -> None:
    """Commit ``staged`` after ``session``'s next commit; abort it when the outermost
    transaction ends without one (rollback, or close). Listeners cannot be removed while
    SQLAlchemy dispatches the event, so once the outermost transaction ended they do nothing."""
    done = False

    def committed(_session: Session) -> None:
        if session.get_nested_transaction() is not None:
            return  # a savepoint released: the outermost transaction may still roll back
        if not done:
            staged.commit()

    def ended(_session: Session, transaction: SessionTransaction) -> None:
        nonlocal done
        if done or transaction.parent is not None:
            return
        done = True
        staged.abort()  # a no-op after a commit

    event.listen(session, "after_commit", committed)
    event.listen(session, "after_transaction_end", ended)


def missing_batches(session: Session, store: LineStore) -> list[int]:
    """Control-store batches with revisions that the line store does not hold, in order."""
    have = store.committed_batches()
    ids = session.scalars(
        select(IngestBatchRow.id)
        .where(IngestBatchRow.rows_new + IngestBatchRow.rows_revised > 0)
        .order_by(IngestBatchRow.id)
    ).all()
    return [i for i in ids if batch_key(i) not in have]


def backfill(session: Session, store: LineStore, *, tracker: Tracker | None = None) -> list[int]:
    """Write every missing batch from the control store's revisions, oldest first (a store
    batch's revisions must be above the ones stored, so order matters). Returns the ids."""
    written: list[int] = []
    for batch_id in missing_batches(session, store):
        query = (
            select(LineRevisionRow)
            .where(LineRevisionRow.batch_id == batch_id)
            .order_by(LineRevisionRow.source_row, LineRevisionRow.provider, LineRevisionRow.line_id)
            .execution_options(yield_per=BACKFILL_CHUNK)
        )
        with store.begin_batch(batch_key(batch_id), tracker=tracker) as builder:
            for rows in session.scalars(query).partitions():
                builder.add(_revision_table(rows))
            builder.stage().commit()
        written.append(batch_id)
    return written


def _revision_table(rows: Sequence[LineRevisionRow]) -> pa.Table:
    """Revision rows as a store input table (the row's columns are the line's fields)."""
    columns: dict[str, list[Any]] = {name: [] for name in LINE_SCHEMA.names}
    columns["extras"], columns["revision"] = [], []
    for row in rows:
        for name in columns:
            columns[name].append(getattr(row, name))
    types = {**{f.name: f.type for f in LINE_SCHEMA}, "extras": pa.string(), "revision": pa.int64()}
    return pa.table({name: pa.array(values, types[name]) for name, values in columns.items()})
