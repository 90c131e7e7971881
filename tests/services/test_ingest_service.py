"""Ingest through the control store: real FOCUS data, idempotency, revisions, bad rows."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from cloudsettle.db.models import BillingLineRow, FindingRow, IngestBatchRow, LineRevisionRow
from cloudsettle.ingest.raw_store import RawStore
from cloudsettle.services.errors import BadInput
from cloudsettle.services.ingest_service import IngestReport, ingest_file

SAMPLE = Path(__file__).parents[3] / "shared" / "data" / "focus-sample" / "focus_sample.csv"
CASE = Path(__file__).parents[1] / "golden" / "cases" / "31-prior-period-revised-line"


def _ingest(sessions: sessionmaker[Session], raw: RawStore, path: Path) -> IngestReport:
    with sessions() as session, session.begin():
        return ingest_file(session, raw_store=raw, path=path, provider=None, actor="loader")


@pytest.mark.skipif(not SAMPLE.is_file(), reason="shared FOCUS sample not present")
def test_focus_sample_ingests_cleanly_and_twice_is_unchanged(
    session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    raw = RawStore(tmp_path / "raw")
    first = _ingest(session_factory, raw, SAMPLE)
    assert (first.new, first.rejected, first.duplicate) == (1000, 0, 0)
    second = _ingest(session_factory, raw, SAMPLE)
    assert (second.new, second.revised, second.unchanged, second.rejected) == (0, 0, 1000, 0)
    assert first.sha256 == second.sha256
    with session_factory() as session:
        assert session.scalar(select(func.count()).select_from(LineRevisionRow)) == 1000
        assert session.scalar(select(func.count()).select_from(IngestBatchRow)) == 2
    assert len(list((tmp_path / "raw").rglob("*.csv"))) == 1  # content-addressed: stored once


def test_a_revised_line_is_a_new_revision_not_a_duplicate(
    session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    raw = RawStore(tmp_path / "raw")
    _ingest(session_factory, raw, CASE / "lines-2026-09.csv")
    report = _ingest(session_factory, raw, CASE / "revision-2026-09.csv")
    assert report.revised >= 1
    assert report.new == 0
    with session_factory() as session:
        heads = session.scalars(select(BillingLineRow).where(BillingLineRow.current_revision == 2)).all()
        assert len(heads) == report.revised
        revisions = session.scalar(select(func.count()).select_from(LineRevisionRow))
        lines = session.scalar(select(func.count()).select_from(BillingLineRow))
        assert revisions == lines + report.revised  # every revision kept


def test_duplicate_rows_and_bad_rows_become_findings(
    session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    text = (CASE / "lines-2026-10.csv").read_text(encoding="utf-8").splitlines()
    header, first = text[0], text[1]
    broken = first.split(",")
    broken[header.split(",").index("ChargePeriodStart")] = "yesterday"
    broken[0] = "BROKEN-1"
    path = tmp_path / "mixed.csv"
    path.write_text("\n".join([header, first, first, ",".join(broken)]) + "\n", encoding="utf-8")
    report = _ingest(session_factory, RawStore(tmp_path / "raw"), path)
    assert (report.new, report.duplicate, report.rejected) == (1, 1, 1)
    with session_factory() as session:
        kinds = sorted(f.kind for f in session.scalars(select(FindingRow)))
        bad = session.scalars(select(FindingRow).where(FindingRow.kind == "bad_row")).one()
    assert kinds == ["bad_row", "duplicate_line"]
    assert (bad.file_name, bad.row_number, bad.column_name) == ("mixed.csv", 4, "ChargePeriodStart")


def test_unknown_shape_is_refused_whole(session_factory: sessionmaker[Session], tmp_path: Path) -> None:
    path = tmp_path / "other.csv"
    path.write_text("Date,Amount\n2026-10-01,5\n", encoding="utf-8")
    with pytest.raises(BadInput, match=r"other\.csv"):
        _ingest(session_factory, RawStore(tmp_path / "raw"), path)
    with session_factory() as session:
        assert session.scalar(select(func.count()).select_from(IngestBatchRow)) == 0


def test_an_old_file_read_again_does_not_undo_a_restatement(
    session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    raw = RawStore(tmp_path / "raw")
    _ingest(session_factory, raw, CASE / "lines-2026-09.csv")
    restated = _ingest(session_factory, raw, CASE / "revision-2026-09.csv")
    again = _ingest(session_factory, raw, CASE / "lines-2026-09.csv")
    assert restated.revised == 1  # PR-1: 1000.00 -> 1500.00
    assert (again.new, again.revised, again.unchanged) == (0, 0, 2)
    with session_factory() as session:
        currents = {h.line_id: h.current_revision for h in session.scalars(select(BillingLineRow))}
        pr1 = session.scalars(
            select(LineRevisionRow).where(LineRevisionRow.line_id == "PR-1", LineRevisionRow.revision == 2)
        ).one()
        revisions = session.scalar(select(func.count()).select_from(LineRevisionRow))
    assert currents == {"PR-1": 2, "PR-2": 1}  # the restatement still wins
    assert pr1.list_amount == Decimal("1500.00")
    assert revisions == 3


def test_chunked_ingest_finds_repeats_and_revisions_across_chunks(
    session_factory: sessionmaker[Session], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from cloudsettle.services import ingest_service

    monkeypatch.setattr(ingest_service, "CHUNK_ROWS", 2)
    text = (CASE / "lines-2026-09.csv").read_text(encoding="utf-8").splitlines()
    header, first, second = text[0], text[1], text[2]
    changed = first.replace("1000.00", "1100.00")
    assert changed != first
    path = tmp_path / "chunks.csv"
    # rows: first, second | first again (duplicate), changed first (revision) | second again (duplicate)
    path.write_text("\n".join([header, first, second, first, changed, second]) + "\n", encoding="utf-8")
    report = _ingest(session_factory, RawStore(tmp_path / "raw"), path)
    assert (report.new, report.revised, report.duplicate, report.unchanged) == (2, 1, 2, 0)
    again = _ingest(session_factory, RawStore(tmp_path / "raw"), path)
    assert (again.new, again.revised, again.duplicate, again.unchanged) == (0, 0, 2, 3)
    with session_factory() as session:
        assert session.scalar(select(func.count()).select_from(LineRevisionRow)) == 3
