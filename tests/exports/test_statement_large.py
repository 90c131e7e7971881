"""A partner with 100,000 lines: the XLSX and the explanation pack render in bounded memory and time.

The statement is written straight into a fresh SQLite workspace (settling
100,000 lines is the settlement benchmark's job, not this one's): the worked
example's partner and agreement, 60 customers, 4 service categories and one
ingest batch, with line amounts that add up to the components exactly.
The 100,000-line renders are timed and their growth of the process's peak RSS
is measured (the statement document itself, the JSON of 100,000 lines, is the
input, not the render's cost); tracemalloc, too slow for 100,000 lines, shows
on 1,000 and 10,000 lines that the XLSX render's memory does not grow with the
lines. The figures are recorded in docs/statements.md.
"""

from __future__ import annotations

import csv
import io
import os
import resource
import time
import tracemalloc
import zipfile
from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from openpyxl import load_workbook
from sqlalchemy import insert

from cloudsettle.core.money import D
from cloudsettle.db.models import (
    BillingLineRow,
    CustomerRow,
    IngestBatchRow,
    LineRevisionRow,
    RawObjectRow,
    RunRow,
    StatementLineRow,
    StatementRow,
)
from cloudsettle.exports.labels import labels
from cloudsettle.exports.statement_data import gather
from cloudsettle.exports.statement_pack import render_pack
from cloudsettle.exports.statement_xlsx import render_xlsx
from cloudsettle.services.config_service import load_config_file
from cloudsettle.services.statement_view import statement_document
from cloudsettle.services.workspace import open_workspace

#: 100,000 lines as the issue asks when ``CLOUDSETTLE_LARGE_LINES`` says so (the figures in
#: docs/statements.md were measured that way); 20,000 in the everyday suite, which keeps CI
#: within its time budget while the 1k/10k tracemalloc comparison still proves the memory flat.
N = int(os.environ.get("CLOUDSETTLE_LARGE_LINES", "20000"))
CONFIG = Path(__file__).parents[1] / "golden" / "cases" / "01-worked-example" / "config.yaml"
AT = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
CATEGORIES = ("Compute", "Storage", "Databases", "Networking")
MB = 1024 * 1024

#: Bounds that fail a render whose memory grows with the lines (measured figures are far below).
XLSX_PEAK_MB = 64
PACK_PEAK_MB = 96
SECONDS = 240


def _build(root: Path) -> tuple[Any, dict[str, Any]]:
    ws = open_workspace(root, env={})
    with ws.unit_of_work() as s:
        load_config_file(s, path=CONFIG, actor="setup")
    with ws.unit_of_work() as s:
        s.add(RawObjectRow(sha256="a" * 64, size_bytes=1, stored_path="raw/a", first_received_at=AT))
        s.flush()
        batch = IngestBatchRow(
            sha256="a" * 64,
            source_kind="file",
            file_name="big-2026-10.csv",
            provider="tencent",
            format="focus",
            received_at=AT,
            received_by="setup",
            rows_total=N,
            rows_new=N,
            rows_revised=0,
            rows_unchanged=0,
            rows_duplicate=0,
            rows_rejected=0,
            status="done",
        )
        run = RunRow(
            period="2026-10",
            partner_id=None,
            started_at=AT,
            started_by="alice",
            finished_at=AT,
            status="finished",
            summary="{}",
        )
        s.add_all([batch, run])
        s.add_all(
            CustomerRow(
                provider="tencent", account_id=f"1000{c:08d}", name=f"客户 {c:02d} Games", segment="smb"
            )
            for c in range(60)
        )
        s.flush()
        zero, rate = D("0"), D("0.05")
        commission = base_total = zero
        heads, revisions, lines = [], [], []
        for i in range(N):
            line_id = f"BIG-{i:06d}"
            account = f"1000{i % 60:08d}"
            base = D(100 + i % 997) + D(i % 100) / 100  # 100.00 .. 1096.99
            shown = (base * rate).quantize(D("0.01"))
            commission += shown
            base_total += base
            start = datetime(2026, 10, 1 + i % 31, 2, 0, tzinfo=UTC)
            heads.append(
                {
                    "provider": "tencent",
                    "line_id": line_id,
                    "current_revision": 1,
                    "first_batch_id": batch.id,
                    "updated_at": AT,
                }
            )
            revisions.append(
                {
                    "provider": "tencent",
                    "line_id": line_id,
                    "revision": 1,
                    "batch_id": batch.id,
                    "source_row": i + 2,
                    "content_hash": f"{i:064d}",
                    "account_id": account,
                    "charge_start": start,
                    "charge_end": start,
                    "billing_period": date(2026, 10, 1),
                    "list_amount": base,
                    "currency": "CNY",
                    "discount_amount": zero,
                    "voucher_amount": zero,
                    "tax_amount": zero,
                    "service": "CVM",
                    "service_category": CATEGORIES[i % 4],
                    "charge_category": "usage",
                    "billing_mode": "on_demand",
                    "region": "ap-guangzhou",
                    "project": "",
                    "resource_id": f"res-{i}",
                    "invoice_id": "INV-1",
                    "payer_account_id": "reseller-001",
                    "is_correction": False,
                    "paid_at": None,
                    "original_line_id": None,
                    "extras": "{}",
                    "ingested_at": AT,
                }
            )
            lines.append(
                {
                    "seq": i + 1,
                    "provider": "tencent",
                    "line_id": line_id,
                    "revision": 1,
                    "role": "commission",
                    "fraction": D("1"),
                    "deal_id": "D-1",
                    "base": base,
                    "fx_rate": None,
                    "rule_id": "default",
                    "rate": rate,
                    "amount": base * rate,
                    "shown": shown,
                    "tier_uplift": zero,
                    "tier_uplift_shown": zero,
                    "reasons": "",
                    "original_line_id": None,
                }
            )
        fees = -(commission * D("0.01")).quantize(D("0.01"))
        statement = StatementRow(
            run_id=run.id,
            partner_id="P-ACME",
            agreement_id="acme-2026",
            period="2026-10",
            period_start=date(2026, 10, 1),
            period_end=date(2026, 10, 31),
            cycle="monthly",
            agreement_version=1,
            currency="CNY",
            status="calculated",
            mode="live",
            commission=commission,
            tier_uplift=zero,
            clawback=zero,
            cap_adjustment=zero,
            fees=fees,
            manual_adjustment=zero,
            prior_period_adjustment=zero,
            carried_in=zero,
            carried_out=zero,
            payable=commission + fees,
            earned=commission + fees,
            base_total=base_total,
            billed_total=base_total,
            unrounded="{}",
            prepared_by="alice",
            prepared_at=AT,
            approved_by=None,
            approved_at=None,
            finalized_by=None,
            finalized_at=None,
        )
        s.add(statement)
        s.flush()
        for chunk in range(0, N, 10_000):
            s.execute(insert(BillingLineRow), heads[chunk : chunk + 10_000])
            s.execute(insert(LineRevisionRow), revisions[chunk : chunk + 10_000])
            s.execute(
                insert(StatementLineRow),
                [{**ln, "statement_id": statement.id} for ln in lines[chunk : chunk + 10_000]],
            )
    with ws.unit_of_work() as s:
        doc = statement_document(s, s.get(StatementRow, statement.id))
    return ws, doc


def _timed(action: Callable[[], object]) -> tuple[float, float]:
    """(seconds, growth of the process's peak RSS in MB) of one call."""
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    action()
    seconds = time.perf_counter() - started
    return seconds, (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024  # ru_maxrss is KiB


def _traced_peak(action: Callable[[], object]) -> float:
    """Peak MB that Python allocated during one call (tracemalloc: slow, so on slices only)."""
    tracemalloc.start()
    try:
        action()
        return tracemalloc.get_traced_memory()[1] / MB
    finally:
        tracemalloc.stop()


def test_large_statement_renders_xlsx_and_pack_in_bounded_memory_and_time(tmp_path: Path) -> None:
    ws, doc = _build(tmp_path / "ws")
    try:
        assert len(doc["lines"]) == N
        xlsx, pack = tmp_path / "big.xlsx", tmp_path / "big.zip"
        with ws.unit_of_work() as s:
            data = gather(s, doc)
            # memory does not grow with the lines: the same renders over 1,000 and 10,000 lines
            peaks = {}
            for n in (1_000, 10_000):
                part = gather(s, {**doc, "lines": doc["lines"][:n]})
                peaks[n] = _traced_peak(lambda part=part, n=n: render_xlsx(part, tmp_path / f"{n}.xlsx"))
        xlsx_s, xlsx_rss = _timed(lambda: render_xlsx(data, xlsx, "en"))
        pack_s, pack_rss = _timed(lambda: render_pack(data, pack, "en"))
    finally:
        ws.close()
    print(
        f"\n{N} lines: xlsx {xlsx_s:.1f} s, peak RSS +{xlsx_rss:.0f} MB, "
        f"{xlsx.stat().st_size / MB:.1f} MB file; "
        f"pack {pack_s:.1f} s, peak RSS +{pack_rss:.0f} MB, {pack.stat().st_size / MB:.1f} MB file; "
        f"xlsx traced peak 1k {peaks[1_000]:.2f} MB, 10k {peaks[10_000]:.2f} MB"
    )
    assert peaks[10_000] < peaks[1_000] + 2  # constant, not linear (write-only mode streams rows)
    assert xlsx_rss < XLSX_PEAK_MB
    assert pack_rss < PACK_PEAK_MB
    assert xlsx_s < SECONDS
    assert pack_s < SECONDS

    # the workbook holds every line, as numbers that add up to the statement
    lb = labels("en")
    wb = load_workbook(xlsx, read_only=True)
    rows = wb[lb["lines_sheet"]].iter_rows(values_only=True)
    header = next(rows)
    col = header.index(lb["commission"])
    total, count = D("0"), 0
    for row in rows:
        value = row[col]
        assert isinstance(value, int | float)
        total += D(repr(value))  # Excel numbers are doubles: convert at once, compare Decimals
        count += 1
    wb.close()
    assert count == N
    assert total == D(doc["components"]["commission"])

    # the pack lists every line with its source row, and its amounts add up to the payable
    with zipfile.ZipFile(pack) as zf, zf.open("lines.csv") as raw:
        reader = csv.DictReader(io.TextIOWrapper(raw, encoding="utf-8", newline=""))
        amount: Decimal = D("0")
        lines = 0
        for r in reader:
            amount += D(r["amount"]) if r["amount"] else D("0")
            if r["kind"] == "line":
                lines += 1
                assert r["source_row"] == str(int(r["line_id"][4:]) + 2)
    assert lines == N
    assert amount == D(doc["components"]["payable"])
