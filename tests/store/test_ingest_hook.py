"""Ingest writes each accepted batch's revisions to the line store, committed with the database."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from cloudsettle.compute.arrow import lines_to_arrow
from cloudsettle.compute.engine import settle_period_bulk
from cloudsettle.db.models import BillingLineRow, IngestBatchRow, LineRevisionRow
from cloudsettle.ingest.raw_store import RawStore
from cloudsettle.services.ingest_service import IngestReport, ingest_file
from cloudsettle.services.workspace import line_store_url
from cloudsettle.store.feed import current_lines_parquet
from cloudsettle.store.ingest import backfill, missing_batches
from cloudsettle.store.lines import LineStore
from tests.core.settlement.factories import book, line, rule, version

CASE = Path(__file__).parents[1] / "golden" / "cases" / "31-prior-period-revised-line"


def _ingest(
    sessions: sessionmaker[Session], raw: RawStore, path: Path, store: LineStore | None
) -> IngestReport:
    with sessions() as session, session.begin():
        return ingest_file(session, raw_store=raw, path=path, provider=None, actor="loader", line_store=store)


def _db_current(sessions: sessionmaker[Session]) -> dict[tuple[str, str], tuple[Any, ...]]:
    """(provider, line_id) -> (period, revision, list amount, extras) of the control store's heads."""
    with sessions() as session:
        rows = session.scalars(
            select(LineRevisionRow).join(
                BillingLineRow,
                (BillingLineRow.provider == LineRevisionRow.provider)
                & (BillingLineRow.line_id == LineRevisionRow.line_id)
                & (BillingLineRow.current_revision == LineRevisionRow.revision),
            )
        ).all()
        return {
            (r.provider, r.line_id): (
                r.billing_period.strftime("%Y-%m"),
                r.revision,
                r.list_amount,
                json.loads(r.extras),
                r.batch_id,
            )
            for r in rows
        }


def _store_current(store: LineStore) -> dict[tuple[str, str], tuple[Any, ...]]:
    found: dict[tuple[str, str], tuple[Any, ...]] = {}
    for provider, period in store.partitions():
        for r in store.current_lines_arrow(provider, period).to_pylist():
            found[(r["provider"], r["line_id"])] = (
                period,
                r["revision"],
                r["list_amount"],
                json.loads(r["extras"]),
                int(r["batch_id"]),
            )
    return found


def test_ingest_writes_revisions_that_match_the_control_store(
    session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    raw, store = RawStore(tmp_path / "raw"), LineStore(tmp_path / "lines")
    first = _ingest(session_factory, raw, CASE / "lines-2026-09.csv", store)
    revised = _ingest(session_factory, raw, CASE / "revision-2026-09.csv", store)
    again = _ingest(session_factory, raw, CASE / "lines-2026-10.csv", store)

    assert revised.revised >= 1
    assert store.committed_batches() == {str(first.batch_id), str(revised.batch_id), str(again.batch_id)}
    manifest = store.manifest(str(revised.batch_id))
    assert manifest is not None
    assert manifest.written == revised.revised + revised.new
    db = _db_current(session_factory)
    assert _store_current(store) == db
    assert any(rev == 2 for _, rev, *_ in db.values())
    assert store.leftovers() == []


def _ingest_then_fail(
    sessions: sessionmaker[Session], raw: RawStore, store: LineStore, *, savepoint: bool
) -> None:
    """Ingest a file (inside a released savepoint when asked), then fail the transaction."""
    with sessions() as session, session.begin():
        if savepoint:
            with session.begin_nested():
                ingest_file(
                    session,
                    raw_store=raw,
                    path=CASE / "lines-2026-09.csv",
                    provider=None,
                    actor="loader",
                    line_store=store,
                )
        else:
            ingest_file(
                session,
                raw_store=raw,
                path=CASE / "lines-2026-09.csv",
                provider=None,
                actor="loader",
                line_store=store,
            )
        raise RuntimeError("a later step failed")


def test_a_rolled_back_ingest_leaves_nothing_in_the_store(
    session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    raw, store = RawStore(tmp_path / "raw"), LineStore(tmp_path / "lines")
    with pytest.raises(RuntimeError, match="later step failed"):
        _ingest_then_fail(session_factory, raw, store, savepoint=False)

    assert store.committed_batches() == set()
    assert store.leftovers() == []
    # the next ingest (SQLite may hand out the same batch id again) goes through
    report = _ingest(session_factory, raw, CASE / "lines-2026-09.csv", store)
    assert store.committed_batches() == {str(report.batch_id)}
    assert _store_current(store) == _db_current(session_factory)


def test_a_released_savepoint_inside_a_rolled_back_transaction_commits_nothing(
    session_factory: sessionmaker[Session], database_url: str, tmp_path: Path
) -> None:
    if database_url.startswith("sqlite"):
        pytest.skip("pysqlite commits at RELEASE SAVEPOINT unless the engine works around it")
    raw, store = RawStore(tmp_path / "raw"), LineStore(tmp_path / "lines")
    with pytest.raises(RuntimeError, match="later step failed"):
        _ingest_then_fail(session_factory, raw, store, savepoint=True)

    assert store.committed_batches() == set()
    assert store.leftovers() == []
    assert _db_current(session_factory) == {}


def test_backfill_writes_batches_ingested_without_the_store(
    session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    raw, store = RawStore(tmp_path / "raw"), LineStore(tmp_path / "lines")
    _ingest(session_factory, raw, CASE / "lines-2026-09.csv", None)
    _ingest(session_factory, raw, CASE / "lines-2026-09.csv", None)  # unchanged: nothing to back-fill
    _ingest(session_factory, raw, CASE / "revision-2026-09.csv", None)
    with session_factory() as session:
        ids = session.scalars(select(IngestBatchRow.id).order_by(IngestBatchRow.id)).all()
        assert missing_batches(session, store) == [ids[0], ids[2]]
        assert backfill(session, store) == [ids[0], ids[2]]
        assert missing_batches(session, store) == []

    assert _store_current(store) == _db_current(session_factory)


def test_the_line_store_setting(tmp_path: Path) -> None:
    assert line_store_url(tmp_path, {}) is None
    assert line_store_url(tmp_path, {"CLOUDSETTLE_LINE_STORE": "local"}) == str(tmp_path / "lines")
    assert line_store_url(tmp_path, {"CLOUDSETTLE_LINE_STORE": "s3://b/p"}) == "s3://b/p"


def test_the_bulk_engine_settles_from_the_store_as_from_arrow(tmp_path: Path) -> None:
    lines = [
        line("s1", "20000", start="2026-09-13", month="2026-09-01"),
        line("o1", "90000"),
        line("o2", "30000", service="COS", service_category="Storage"),
        line("r1", "-5000", start="2026-10-03", original_line_id="s1"),
    ]
    v = version(rule("compute", "0.08", service_category=["Compute"]), rule("rest", "0.05"))
    mapped = book(lines, [v])
    store = LineStore(tmp_path / "lines")
    store.write_batch("1", lines_to_arrow(lines))
    oct_path = current_lines_parquet(store, None, "2026-10", tmp_path / "oct.parquet")
    sep_path = current_lines_parquet(store, None, "2026-09", tmp_path / "sep.parquet")
    both = tmp_path / "both.parquet"
    pq.write_table(pa.concat_tables([pq.read_table(sep_path), pq.read_table(oct_path)]), both)

    from_store = settle_period_bulk(mapped.book, both, "2026-10")
    ordered = sorted(lines, key=lambda x: (x.billing_period, x.provider, x.line_id))
    from_arrow = settle_period_bulk(mapped.book, lines_to_arrow(ordered), "2026-10")

    assert from_store == from_arrow
    assert from_store.statements
    assert from_store.statements[0].components.earned != 0
