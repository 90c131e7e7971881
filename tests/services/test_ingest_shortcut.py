"""Re-ingesting an unchanged file: the shortcut records exactly what a full re-read records.

Each comparison runs the same steps in two fresh workspaces (two databases of the same
backend): one re-ingests with the shortcut, the other with ``reread=True``. Everything the
ingest leaves behind must then be equal, ids and timestamps aside: the report, the batch row,
its findings, the audit event and the line heads.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import stat
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import create_engine, func, select, text, update
from sqlalchemy.orm import Session, sessionmaker

from benchmarks import bill_generator as gen
from cloudsettle.db import session as db_session
from cloudsettle.db.models import (
    AuditEventRow,
    BillingLineRow,
    FindingRow,
    IngestBatchRow,
    LineRevisionRow,
)
from cloudsettle.ingest.errors import RowError
from cloudsettle.ingest.raw_store import RawStore
from cloudsettle.services import ingest_service
from cloudsettle.services.categories import store_overrides
from cloudsettle.services.ingest_service import IngestReport, ingest_file
from cloudsettle.services.ingest_shortcut import row_error_from
from cloudsettle.store.ingest import batch_key
from cloudsettle.store.lines import LineStore

NATIVE = Path(__file__).parents[1] / "ingest" / "data" / "native"
CASE = Path(__file__).parents[1] / "golden" / "cases" / "31-prior-period-revised-line"
LINES, WORLD = 600, {"customers": 200, "partners": 40}
FORMATS = (gen.TENCENT_CN, gen.TENCENT_EN, gen.HUAWEI_CN, gen.FOCUS)
# Per format: an amount column (made unreadable), the charge period (moved to August: an
# outside_bill_month finding where the reader keeps the bill month) and the product column
# (emptied: a rejected row, or an incomplete_line finding in FOCUS).
AMOUNT = {gen.TENCENT_CN: "优惠后总价", gen.TENCENT_EN: "Total Amount After Discount (Excluding Tax)",
          gen.HUAWEI_CN: "官网价(¥)", gen.FOCUS: "BilledCost"}
CHARGED = {gen.TENCENT_CN: ("开始使用时间", "结束使用时间"),
           gen.TENCENT_EN: ("Usage Start Time", "Usage End Time"),
           gen.HUAWEI_CN: ("使用开始时间", "使用结束时间"),
           gen.FOCUS: ("ChargePeriodStart", "ChargePeriodEnd")}
PRODUCT = {gen.TENCENT_CN: "产品名称", gen.TENCENT_EN: "Product Name", gen.HUAWEI_CN: "产品类型",
           gen.FOCUS: "ServiceName"}


# --- two identical workspaces -----------------------------------------------------------------------


@pytest.fixture
def twin_factory(request: pytest.FixtureRequest, database_url: str, tmp_path: Path) -> Iterator[
        sessionmaker[Session]]:
    """A second fresh, migrated database on the same backend as ``database_url``."""
    if database_url.startswith("sqlite"):
        template: Path = request.getfixturevalue("_sqlite_template")
        path = tmp_path / "twin.db"
        shutil.copyfile(template, path)
        engine = db_session.make_engine(f"sqlite:///{path}")
        yield db_session.session_factory(engine)
        engine.dispose()
        return
    server_url, template_name = request.getfixturevalue("_postgres_template")
    name = f"cloudsettle_twin_{uuid.uuid4().hex[:16]}"
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template_name}"'))
        engine = db_session.make_engine(server_url.set(database=name).render_as_string(hide_password=False))
        yield db_session.session_factory(engine)
        engine.dispose()
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


class Workspace:
    """One control store with its raw store (and a line store when asked)."""

    def __init__(self, sessions: sessionmaker[Session], root: Path, *, line_store: bool = False) -> None:
        self.sessions = sessions
        self.raw = RawStore(root / "raw")
        self.lines = LineStore(root / "lines") if line_store else None

    def ingest(self, path: Path, *, reread: bool = False,
               progress: Callable[[int], None] | None = None) -> IngestReport:
        with self.sessions() as session, session.begin():
            return ingest_file(session, raw_store=self.raw, path=path, provider=None, actor="loader",
                               line_store=self.lines, reread=reread, progress=progress)

    def batch(self, batch_id: int) -> IngestBatchRow:
        with self.sessions() as session:
            row = session.get(IngestBatchRow, batch_id)
            assert row is not None
            return row

    def findings(self, batch_id: int) -> list[tuple[Any, ...]]:
        """The batch's findings, without ids, batch ids and timestamps, sorted."""
        with self.sessions() as session:
            rows = session.scalars(select(FindingRow).where(FindingRow.batch_id == batch_id)).all()
            return sorted(
                (r.kind, r.message, r.status, r.provider, r.line_id, r.partner_id, r.agreement_id, r.period,
                 r.file_name, r.row_number or 0, r.column_name or "")
                for r in rows
            )

    def audit(self, batch_id: int) -> dict[str, Any]:
        """The details of the batch's ``ingest.file`` event."""
        with self.sessions() as session:
            events = [(e.actor, e.action, e.subject, json.loads(e.details)) for e in session.scalars(
                select(AuditEventRow).where(AuditEventRow.action == "ingest.file"))]
        (found,) = [e for e in events if e[3]["batch"] == batch_id]
        return {"actor": found[0], "action": found[1], "subject": found[2], **found[3]}

    def heads(self) -> tuple[list[tuple[str, str, int]], int]:
        """Every line's current revision, and how many revisions are stored."""
        with self.sessions() as session:
            heads = sorted((p, i, r) for p, i, r in session.execute(select(
                BillingLineRow.provider, BillingLineRow.line_id, BillingLineRow.current_revision)))
            return heads, session.scalar(select(func.count()).select_from(LineRevisionRow)) or 0

    def outcome(self, report: IngestReport) -> dict[str, Any]:
        """Everything an ingest of ``report`` left behind that a re-read must reproduce."""
        batch = self.batch(report.batch_id)
        audit = self.audit(report.batch_id)
        for key in ("batch", "shortcut", "same_as_batch"):
            audit.pop(key, None)
        return {
            "report": (report.file_name, report.sha256, report.format, report.new, report.revised,
                       report.unchanged, report.duplicate, report.rejected, report.errors),
            "batch": (batch.sha256, batch.source_kind, batch.file_name, batch.provider, batch.format,
                      batch.received_by, batch.rows_total, batch.rows_new, batch.rows_revised,
                      batch.rows_unchanged, batch.rows_duplicate, batch.rows_rejected, batch.status,
                      batch.reading),
            "findings": self.findings(report.batch_id),
            "audit": audit,
            "heads": self.heads(),
        }


@pytest.fixture
def pair(session_factory: sessionmaker[Session], twin_factory: sessionmaker[Session],
         tmp_path: Path) -> tuple[Workspace, Workspace]:
    """(the workspace that takes the shortcut, the one that reads again)."""
    return Workspace(session_factory, tmp_path / "a"), Workspace(twin_factory, tmp_path / "b")


@pytest.fixture(scope="module")
def month(tmp_path_factory: pytest.TempPathFactory) -> gen.Month:
    folder = tmp_path_factory.mktemp("bills")
    written = gen.write_month(folder, LINES, **WORLD)
    gen.write_revision(folder, LINES, **WORLD)
    return written


def _encoding(fmt: str) -> str:
    return "utf-8-sig" if fmt == gen.TENCENT_CN else "utf-8"


def _troubled(source: Path, fmt: str, target: Path) -> Path:
    """``source`` with an unreadable amount (row 6), a charge moved to August (row 8), an
    empty product (row 10) and its first two rows repeated at the end."""
    with source.open(encoding=_encoding(fmt), newline="") as handle:
        header, *body = list(csv.reader(handle))
    body[4][header.index(AMOUNT[fmt])] = "12x (found 'y')"  # a value that looks like the message's end
    for column in CHARGED[fmt]:
        body[6][header.index(column)] = body[6][header.index(column)].replace("2026-10-", "2026-08-")
    body[8][header.index(PRODUCT[fmt])] = ""
    with target.open("w", encoding=_encoding(fmt), newline="") as handle:
        csv.writer(handle).writerows([header, *body, body[0], body[1]])
    return target


def _twice(pair: tuple[Workspace, Workspace], *steps: Path, again: Path | None = None) -> tuple[
        IngestReport, IngestReport]:
    """Ingest ``steps`` (each read in full) in both workspaces, then ``again`` (by default the
    last step): with the shortcut in the first, read in full in the second. Returns both."""
    shortcut, full = pair
    for path in steps:
        assert shortcut.ingest(path).same_as_batch is None
        assert full.ingest(path).same_as_batch is None
    again = again or steps[-1]
    return shortcut.ingest(again), full.ingest(again, reread=True)


# --- the shortcut equals a full re-read ---------------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
def test_reingesting_a_bill_file_records_what_a_full_reread_records(
    pair: tuple[Workspace, Workspace], month: gen.Month, fmt: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    shortcut, full = pair
    path = month.files[fmt]
    first = shortcut.ingest(path)
    full.ingest(path)
    reread = full.ingest(path, reread=True)

    def no_reading(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("the shortcut read the rows")

    monkeypatch.setattr(ingest_service, "_read_rows", no_reading)
    told: list[int] = []
    again = shortcut.ingest(path, progress=told.append)
    monkeypatch.undo()

    assert again.same_as_batch == first.batch_id
    assert reread.same_as_batch is None
    assert told == [month.rows[fmt]]  # the progress line learns the row count once
    assert (again.new, again.revised, again.unchanged) == (0, 0, first.new)
    assert shortcut.outcome(again) == full.outcome(reread)
    assert shortcut.audit(again.batch_id)["shortcut"] is True
    assert "shortcut" not in full.audit(reread.batch_id)


@pytest.mark.parametrize("fmt", FORMATS)
def test_bad_rows_repeats_and_line_findings_come_back_the_same(
    pair: tuple[Workspace, Workspace], month: gen.Month, fmt: str, tmp_path: Path
) -> None:
    path = _troubled(month.files[fmt], fmt, tmp_path / f"troubled-{fmt}.csv")
    again, reread = _twice(pair, path)
    shortcut, full = pair
    assert again.same_as_batch is not None
    assert again.duplicate == 2
    assert again.rejected >= 1
    assert any(e.value == "12x (found 'y')" and e.column == AMOUNT[fmt] and e.row_number == 6
               for e in again.errors)
    kinds = {f[0] for f in shortcut.findings(again.batch_id)}
    assert {"bad_row", "duplicate_line"} <= kinds
    if fmt in (gen.HUAWEI_CN, gen.FOCUS):
        assert "outside_bill_month" in kinds
    if fmt == gen.FOCUS:
        assert "incomplete_line" in kinds
    assert shortcut.outcome(again) == full.outcome(reread)
    assert shortcut.batch(again.batch_id).status == "loaded_with_errors"


def test_an_old_file_after_a_restatement_is_all_unchanged_as_a_full_read_says(
    pair: tuple[Workspace, Workspace], month: gen.Month
) -> None:
    original = month.files[gen.HUAWEI_CN]
    restated = month.directory / gen.REVISED_FILES[gen.HUAWEI_CN]
    shortcut, full = pair
    for workspace in pair:
        workspace.ingest(original)
        assert workspace.ingest(restated).revised > 0
    again, reread = shortcut.ingest(original), full.ingest(original, reread=True)
    assert again.same_as_batch is not None
    assert (again.new, again.revised, again.unchanged) == (0, 0, month.rows[gen.HUAWEI_CN])
    assert shortcut.outcome(again) == full.outcome(reread)
    heads, _ = shortcut.heads()
    assert sum(1 for _, _, revision in heads if revision == 2) > 0  # the restatement still wins


def test_column_drift_is_checked_on_a_shortcut(
    pair: tuple[Workspace, Workspace], tmp_path: Path
) -> None:
    """The source's last profile may come from another file: the replay checks the header."""
    plain = CASE / "lines-2026-09.csv"
    lines = plain.read_text(encoding="utf-8").splitlines()
    wider = tmp_path / "wider-2026-09.csv"
    wider.write_text("\n".join([lines[0] + ",x_Note", *(row + ",n" for row in lines[1:])]) + "\n",
                     encoding="utf-8")
    again, reread = _twice(pair, plain, wider, again=plain)
    shortcut, full = pair
    assert again.same_as_batch is not None
    assert "source_drift" in {f[0] for f in shortcut.findings(again.batch_id)}
    assert shortcut.outcome(again) == full.outcome(reread)


# --- when the shortcut does not apply -----------------------------------------------------------------


def test_a_changed_category_table_reads_the_file_again(pair: tuple[Workspace, Workspace]) -> None:
    path = NATIVE / "tencent_console_cn.csv"
    for workspace in pair:
        workspace.ingest(path)
        with workspace.sessions() as session, session.begin():
            store_overrides(session, {"tencent": {"云服务器": "Analytics"}}, actor="admin")
    shortcut, full = pair
    changed, reread = shortcut.ingest(path), full.ingest(path, reread=True)
    assert changed.same_as_batch is None
    assert changed.revised > 0  # the 云服务器 lines move to Analytics
    assert shortcut.outcome(changed) == full.outcome(reread)
    again = shortcut.ingest(path)  # read the new way once: the next time is a shortcut of that
    assert again.same_as_batch == changed.batch_id
    assert (again.revised, again.unchanged) == (0, changed.total - changed.duplicate - changed.rejected)


def test_another_file_or_another_name_is_read(pair: tuple[Workspace, Workspace], tmp_path: Path) -> None:
    shortcut, _ = pair
    first = shortcut.ingest(CASE / "lines-2026-09.csv")
    other = shortcut.ingest(CASE / "revision-2026-09.csv")
    assert other.same_as_batch is None
    assert other.sha256 != first.sha256
    renamed = tmp_path / "copy-2026-09.csv"  # same bytes, but findings and errors name the file
    shutil.copyfile(CASE / "lines-2026-09.csv", renamed)
    copy = shortcut.ingest(renamed)
    assert copy.same_as_batch is None
    assert copy.sha256 == first.sha256
    assert shortcut.ingest(renamed).same_as_batch == copy.batch_id


def test_reread_reads_in_full_and_a_purged_raw_file_is_read_again(pair: tuple[Workspace, Workspace]) -> None:
    shortcut, _ = pair
    path = CASE / "lines-2026-09.csv"
    first = shortcut.ingest(path)
    assert shortcut.ingest(path, reread=True).same_as_batch is None
    stored = shortcut.raw.path_of(first.sha256)  # purged as services.retention does it
    os.chmod(stored, stat.S_IWUSR | stat.S_IRUSR)
    stored.unlink()
    again = shortcut.ingest(path)
    assert again.same_as_batch is None
    assert again.unchanged == first.new
    assert first.sha256 in shortcut.raw  # stored again by the full read
    assert shortcut.ingest(path).same_as_batch == again.batch_id


def test_batches_without_a_reading_or_with_unexplained_counts_are_read(
    pair: tuple[Workspace, Workspace],
) -> None:
    shortcut, _ = pair
    path = CASE / "lines-2026-09.csv"
    first = shortcut.ingest(path)
    with shortcut.sessions() as session, session.begin():  # as a batch from before migration 0008
        session.execute(
            update(IngestBatchRow).where(IngestBatchRow.id == first.batch_id).values(reading=None))
    second = shortcut.ingest(path)
    assert second.same_as_batch is None
    assert shortcut.batch(second.batch_id).reading is not None  # the full read records it
    with shortcut.sessions() as session, session.begin():  # a duplicate with no finding behind it
        session.execute(update(IngestBatchRow).where(IngestBatchRow.id == second.batch_id).values(
            rows_duplicate=1, rows_unchanged=IngestBatchRow.rows_unchanged - 1))
    assert shortcut.ingest(path).same_as_batch is None


# --- volume drift: the one deliberate difference -----------------------------------------------------


def _focus_file(target: Path, rows: list[tuple[str, str, str]]) -> Path:
    """A FOCUS file of case 31's shape: one usage line per ``(line id, month, amount)``."""
    header, template = (CASE / "lines-2026-09.csv").read_text(encoding="utf-8").splitlines()[:2]
    names = header.split(",")
    out = [header]
    for line_id, month, amount in rows:
        cells = template.split(",")
        year, number = int(month[:4]), int(month[5:])
        following = f"{year + number // 12}-{number % 12 + 1:02d}"
        values = {"x_LineId": line_id, "ChargePeriodStart": f"{month}-10T00:00:00+08:00",
                  "ChargePeriodEnd": f"{month}-10T01:00:00+08:00",
                  "BillingPeriodStart": f"{month}-01T00:00:00+08:00",
                  "BillingPeriodEnd": f"{following}-01T00:00:00+08:00",
                  "ListCost": amount, "BilledCost": amount}
        for name, value in values.items():
            cells[names.index(name)] = value
        out.append(",".join(cells))
    target.write_text("\n".join(out) + "\n", encoding="utf-8")
    return target


def test_a_shortcut_does_not_check_volumes_again(pair: tuple[Workspace, Workspace], tmp_path: Path) -> None:
    """A replay changes no volume, so it does not report (and reopen) a drift the batch that
    moved the volumes reported already; a full re-read does. Everything else is equal."""
    history = _focus_file(tmp_path / "history.csv",
                          [("V-7", "2026-07", "100.00"), ("V-8", "2026-08", "100.00"),
                           ("V-9", "2026-09", "100.00")])
    october = _focus_file(tmp_path / "october.csv", [("V-10", "2026-10", "1000.00")])
    shortcut, full = pair
    first = shortcut.ingest(history), shortcut.ingest(october)
    full.ingest(history)
    full.ingest(october)
    assert "volume_drift" in {f[0] for f in shortcut.findings(first[1].batch_id)}  # the setup drifts
    again, reread = shortcut.ingest(october), full.ingest(october, reread=True)
    assert again.same_as_batch == first[1].batch_id
    replayed, read = shortcut.outcome(again), full.outcome(reread)
    assert [f for f in read["findings"] if f[0] == "volume_drift"]
    assert not [f for f in replayed["findings"] if f[0] == "volume_drift"]
    read["findings"] = [f for f in read["findings"] if f[0] != "volume_drift"]
    assert replayed == read


# --- the line store ---------------------------------------------------------------------------------


def test_with_a_line_store_the_shortcut_commits_the_same_empty_batch(
    session_factory: sessionmaker[Session], twin_factory: sessionmaker[Session], tmp_path: Path,
    month: gen.Month,
) -> None:
    shortcut = Workspace(session_factory, tmp_path / "a", line_store=True)
    full = Workspace(twin_factory, tmp_path / "b", line_store=True)
    path = month.files[gen.TENCENT_EN]
    for workspace in (shortcut, full):
        workspace.ingest(path)
    again, reread = shortcut.ingest(path), full.ingest(path, reread=True)
    assert again.same_as_batch is not None
    assert shortcut.outcome(again) == full.outcome(reread)
    assert shortcut.lines is not None
    assert full.lines is not None
    replayed = shortcut.lines.manifest(batch_key(again.batch_id))
    read = full.lines.manifest(batch_key(reread.batch_id))
    assert replayed is not None
    assert read is not None
    fields = ("rows_in", "written", "unchanged", "duplicates", "tombstones", "parts")
    assert [getattr(replayed, f) for f in fields] == [getattr(read, f) for f in fields] == [0, 0, 0, 0, 0, ()]
    assert shortcut.lines.committed_batches() == full.lines.committed_batches()


# --- reading a rejected row's message back ---------------------------------------------------------


@settings(max_examples=300, deadline=None, derandomize=True)
@given(value=st.text(max_size=30), message=st.text(max_size=30), column=st.text(min_size=1, max_size=10))
def test_a_row_error_reads_back_from_its_message(value: str, message: str, column: str) -> None:
    error = RowError("bill (found 'x').csv", 7, column, value, message)
    assert row_error_from(str(error), file_name=error.file_name, row_number=7, column=column) == error


AWKWARD = ["", "a'b", 'a"b', "a (found 'b'", "x)\n(found 'y')", "\\", "'\"", "(found "]


@pytest.mark.parametrize("value", AWKWARD)
def test_awkward_values_read_back(value: str) -> None:
    error = RowError("f.csv", 2, "Cost", value, "expected a number (found this)")
    assert row_error_from(str(error), file_name="f.csv", row_number=2, column="Cost") == error


def test_a_message_of_another_row_does_not_read_back() -> None:
    text = str(RowError("f.csv", 2, "Cost", "1x", "expected a number"))
    assert row_error_from(text, file_name="f.csv", row_number=3, column="Cost") is None
    assert row_error_from(text, file_name="g.csv", row_number=2, column="Cost") is None
    assert row_error_from(text[:-1], file_name="f.csv", row_number=2, column="Cost") is None
