"""Regression pin for issue 6's faster first ingest: the same files must give the same store.

The expected digests below were computed with the code as it was *before* the per-row
ingest work (cell parsers, readers, ``content_hash``, the per-line checks and the bulk
writes were made cheaper) and hard-coded then, on purpose: that work must change no
result, and a digest over everything an ingest produces is the strictest way to say so.
A deliberate change of what a row becomes (which also bumps ``READER_VERSION``) updates
them.

What goes in: a 2,000-line month in the four generated formats, its 1% restatement, and
a "mixed" copy of each format whose rows are edited into the less common spellings the
parsers accept (``1,234.56``, ``(12.30)``, ``1.2E-05``, ``-``, ``.5``, ``12.``, zone forms)
and into bad rows (a bad amount, date, bill type or month, a cut row, an empty required
cell), plus repeated rows and lines outside their bill month. What is digested: every
column of every ``line_revisions`` row but the surrogate id and the insert time, the
``billing_lines`` heads, every finding (kind, message, file, row, column, line) and every
batch's counts and status; and, without the store, every field of every line the readers
yield (amounts as written, ``1.50`` not ``1.5``), every reject, and every ``content_hash``.
"""

from __future__ import annotations

import csv
import hashlib
import json
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from benchmarks import bill_generator as gen
from cloudsettle.core.lines import BillingLine
from cloudsettle.core.revisions import content_hash
from cloudsettle.db.models import BillingLineRow, FindingRow, IngestBatchRow, LineRevisionRow
from cloudsettle.ingest.errors import RowError
from cloudsettle.ingest.raw_store import RawStore
from cloudsettle.ingest.readers import iter_bill_file
from cloudsettle.ingest.service_categories import CategoryMap
from cloudsettle.services.ingest_service import ingest_file

LINES = 2_000
WORLD = {"customers": 300, "partners": 60}

#: sha256 of the store after ingesting every file (see the module docstring), from the code
#: before the change.
STORE_DIGEST = "24dc84ae84cb7cc7dd238b9823a1e635767deb50c9a6dd770d83c205ed627b6c"
#: sha256 of every field of every line and every reject the readers yield, before the change.
READ_DIGEST = "a14d81b395a5d3315ad00758ca47128e240a10829c1e75bf07ae2be6cdc592a5"
#: sha256 of the ``content_hash`` of every line read, in order, before the change.
HASH_DIGEST = "a1c403fe28096cdc995f59a0a5a54edf90bcbbfaf796b9809cb02196412f797c"

Edit = Callable[[dict[str, str]], None]


def _set(**cells: str) -> Edit:
    def edit(row: dict[str, str]) -> None:
        for name, value in cells.items():
            assert name in row, name
            row[name] = value
    return edit


#: Per format, ``row index -> edit`` (``"cut"`` drops the last cells, ``"repeat"`` writes the row twice).
_EDITS: dict[str, dict[int, Edit | str]] = {
    gen.TENCENT_CN: {
        0: _set(组件原价="1,234.56"),
        1: _set(优惠后总价="(12.30)", 组件原价="(15.00)"),
        2: _set(组件原价="-"),
        3: _set(**{"代金券支出(元)": "1.2E-05"}),
        4: _set(组件原价="12,34.5"),
        5: _set(扣费时间="yesterday"),
        6: _set(开始使用时间="2026-08-01 00:00:00", 结束使用时间="2026-08-02 00:00:00"),
        7: "repeat",
        8: "cut",
        9: _set(组件原价=" +5.00 ", 优惠后总价="-0.00"),
        10: _set(使用者UIN=""),
        11: _set(组件原价=".5", 优惠后总价="12."),
        12: _set(组件原价="NULL", 优惠后总价="1,000"),
        13: _set(扣费时间="2026/10/11 01:53:03", 开始使用时间="2026-10-10T00:00:00+08:00"),
        14: _set(组件原价="(-1.00)"),
        15: _set(组件原价="1.5e3", 优惠后总价="0001.2300"),
        16: _set(扣费时间="2026-10-11", 结束使用时间=""),
        17: _set(结束使用时间="2026-10-01 00:00:00"),
        18: _set(计费模式="包年包月", 交易类型="包年包月退费"),
        19: _set(交易类型="调账"),
        20: _set(组件原价="1,234,567.891"),
        21: _set(组件原价="12.3.4"),
        22: _set(优惠后总价="(1.00"),
        23: _set(组件原价="1 234.56"),
        24: _set(开始使用时间="2026-10-10T00:00:00.123456789Z"),
        25: _set(组件原价="-0.00"),
        26: _set(**{"代金券支出(元)": "-1.50"}),
        27: _set(**{"代金券支出(元)": "+0.10"}),
    },
    gen.TENCENT_EN: {
        0: _set(Currency="", **{"Billable Month": "202610"}),
        1: _set(**{"Billable Month": "2026-13"}),
        2: _set(**{"Tax Amount": "-", "Original Cost": "1,234.50"}),
        3: "repeat",
        4: _set(**{"Transaction Time": "2026-10-20T02:05:00Z"}),
        5: _set(**{"Voucher Deduction": "(0.10)"}),
        6: _set(**{"Transaction Type": "Refund", "Original Cost": "7.00"}),
        7: _set(**{"Billable Month": "2026/09"}),
        8: _set(**{"Usage End Time": "2026-10-01 00:00:00"}),
        9: _set(**{"Original Cost": "abc"}),
    },
    gen.HUAWEI_CN: {
        0: _set(**{"官网价(¥)": "1,234.56", "优惠金额(¥)": "(3.00)"}),
        1: _set(**{"官网价(¥)": "abc"}),
        2: _set(账期="2026/10"),
        3: _set(交易时间="2026-10-11T01:32:25Z"),
        4: _set(账单类型="77"),
        5: _set(账单类型="4", 原订单号="CS2610110132000000005"),
        6: "repeat",
        7: "cut",
        8: _set(使用开始时间="2026-10-10 00:00:00 UTC", 使用结束时间="2026-10-10 23:59:59 GMT"),
        9: _set(账期="2026-13"),
        10: _set(**{"代金券抵扣(¥)": "1.5", "现金券抵扣(¥)": "-", "储值卡抵扣(¥)": "0.25"}),
        11: _set(账单类型="调账-补偿"),
        12: _set(账单类型="15"),
        13: _set(使用开始时间="", 交易时间=""),
        14: _set(使用结束时间="2026-10-09 00:00:00 GMT+08:00"),
        15: _set(账期="2026-09"),
        16: _set(**{"官网价(¥)": "-0.00"}),
    },
    gen.FOCUS: {
        0: _set(BilledCost="1.5E+2", ListCost="150.000"),
        1: _set(ServiceName=""),
        2: _set(ChargePeriodStart="yesterday"),
        3: "repeat",
        4: _set(BilledCost="(2.00)"),
        5: _set(ListCost=""),
        6: _set(ChargeCategory="Nope"),
        7: _set(ChargePeriodStart="2026-08-01T00:00:00Z", ChargePeriodEnd="2026-08-02T00:00:00Z"),
        8: "cut",
        9: _set(x_PaidAt="2026-10-19 09:06:03+08:00"),
        10: _set(ChargeClass="Correction", ChargePeriodStart="2026-09-01T00:00:00Z"),
        11: _set(x_BillingMode="", ChargeFrequency="Recurring"),
        12: _set(BillingCurrency=""),
        13: _set(x_VoucherAmount="0.10", x_TaxAmount="1,000.00"),
        14: _set(x_VoucherAmount="-0.000", x_TaxAmount="+1.50"),
    },
}


def _write_mixed(month: gen.Month, directory: Path) -> list[Path]:
    """A copy of each format's first rows with :data:`_EDITS` applied."""
    paths = []
    for fmt, source in month.files.items():
        encoding = "utf-8-sig" if fmt == gen.TENCENT_CN else "utf-8"
        with source.open(encoding=encoding, newline="") as handle:
            rows = list(csv.reader(handle))
        header, data = rows[0], rows[1:]
        out: list[list[str]] = [header]
        for index, cells in enumerate(data[:40]):
            edit = _EDITS[fmt].get(index)
            if edit == "repeat":
                out += [cells, cells]
            elif edit == "cut":
                out.append(cells[: len(cells) - 3])
            elif edit is not None:
                assert not isinstance(edit, str)
                row = dict(zip(header, cells, strict=True))
                edit(row)
                out.append([row[h] for h in header])
            else:
                out.append(cells)
        path = directory / f"mixed-{source.name}"
        with path.open("w", encoding=encoding, newline="") as handle:
            csv.writer(handle, lineterminator="\r\n").writerows(out)
        paths.append(path)
    return paths


@pytest.fixture(scope="module")
def bill_files(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """The files in ingest order: the month, its restatement, the mixed copies."""
    directory = tmp_path_factory.mktemp("pin-bills")
    month = gen.write_month(directory, LINES, **WORLD)
    restated = gen.write_revision(directory, LINES, **WORLD)
    return [*(month.files[f] for f in gen.FILES), *(restated.files[f] for f in gen.FILES),
            *_write_mixed(month, directory)]


def _digest(records: list[object]) -> str:
    return hashlib.sha256(json.dumps(records, ensure_ascii=False, default=str).encode()).hexdigest()


def _line_record(line: BillingLine) -> list[str]:
    """Every field as ``repr`` (a Decimal's exponent, a datetime's zone) and the extras in order."""
    return [repr(getattr(line, name)) for name in BillingLine.__dataclass_fields__ if name != "extras"] + [
        repr(list(line.extras.items()))
    ]


def _read_everything(paths: list[Path]) -> tuple[list[object], list[str]]:
    records: list[object] = []
    hashes: list[str] = []
    for path in paths:
        bill_format, items = iter_bill_file(path, categories=CategoryMap.shipped())
        for row_number, item in items:
            if isinstance(item, RowError):
                records.append([path.name, row_number, "reject", item.file_name, item.row_number,
                                item.column, item.value, item.message])
            else:
                records.append([path.name, row_number, bill_format.name, _line_record(item)])
                hashes.append(content_hash(item))
    return records, hashes


def test_readers_give_the_pinned_lines_rejects_and_content_hashes(bill_files: list[Path]) -> None:
    records, hashes = _read_everything(bill_files)
    assert sum(1 for r in records if isinstance(r, list) and r[2] == "reject") >= 20  # the edits bite
    assert _digest(records) == READ_DIGEST
    assert _digest(list(hashes)) == HASH_DIGEST


def _store_records(session: Session) -> list[object]:
    batches = {b.id: f"{b.file_name}#{b.id}" for b in session.scalars(select(IngestBatchRow))}
    skip = {"id", "ingested_at"}
    revision_columns = [c.name for c in LineRevisionRow.__table__.columns if c.name not in skip]
    revisions = [
        [batches[r.batch_id] if name == "batch_id" else getattr(r, name) for name in revision_columns]
        for r in session.scalars(select(LineRevisionRow).order_by(
            LineRevisionRow.provider, LineRevisionRow.line_id, LineRevisionRow.revision))
    ]
    heads = [[h.provider, h.line_id, h.current_revision, batches[h.first_batch_id]]
             for h in session.scalars(select(BillingLineRow).order_by(BillingLineRow.provider,
                                                                      BillingLineRow.line_id))]
    findings = sorted(
        [[f.kind, f.message, f.file_name, f.row_number, f.column_name, f.line_id, f.provider, f.period,
          batches.get(f.batch_id) if f.batch_id is not None else None]
         for f in session.scalars(select(FindingRow))],
        key=lambda r: json.dumps(r, default=str),
    )
    counts = [[batches[b.id], b.format, b.provider, b.rows_total, b.rows_new, b.rows_revised,
               b.rows_unchanged, b.rows_duplicate, b.rows_rejected, b.status]
              for b in session.scalars(select(IngestBatchRow).order_by(IngestBatchRow.id))]
    return [revision_columns, revisions, heads, findings, counts]


def test_first_ingest_stores_the_pinned_revisions_findings_and_counts(
    session_factory: sessionmaker[Session], bill_files: list[Path], tmp_path: Path
) -> None:
    raw = RawStore(tmp_path / "raw")
    for path in bill_files:
        with session_factory() as session, session.begin():
            ingest_file(session, raw_store=raw, path=path, provider=None, actor="pin")
    with session_factory() as session:
        records = _store_records(session)
    revisions, findings, counts = records[1], records[3], records[4]
    assert isinstance(revisions, list)
    assert isinstance(findings, list)
    assert isinstance(counts, list)
    assert len(counts) == 12
    assert {f[0] for f in findings} >= {"bad_row", "duplicate_line", "outside_bill_month"}
    assert any(c[5] > 0 for c in counts)  # the restatement made revisions
    assert _digest(records) == STORE_DIGEST
