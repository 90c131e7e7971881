"""The benchmark's bill generator writes files cloudsettle reads whole.

A small month (300 lines, a world of 300 customers under 60 partners) goes through
the same services the CLI calls: the config loads, every line is ingested with no
reject or duplicate in the format the generator meant, refunds link to their charges
(Huawei by 原订单号 + resource, FOCUS by x_OriginalLineId; Tencent's CSV has no link,
so its refunds must at least name a charged resource of the same account), the
settlement finds a deal for every line and makes a statement per partner, and the 1%
restatement comes back as revisions of the same line ids.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from benchmarks import bill_generator as gen
from cloudsettle.core.lines import BillingLine, ChargeCategory
from cloudsettle.db.models import FindingRow, LineRevisionRow, StatementLineRow, StatementRow
from cloudsettle.ingest.errors import RowError
from cloudsettle.ingest.raw_store import RawStore
from cloudsettle.ingest.readers import iter_bill_file
from cloudsettle.services.config_service import load_config_file
from cloudsettle.services.ingest_service import IngestReport, ingest_file
from cloudsettle.services.settlement_service import settle

LINES = 300
CUSTOMERS = 300
PARTNERS = 60
WORLD = {"customers": CUSTOMERS, "partners": PARTNERS}


@pytest.fixture(scope="module")
def month(tmp_path_factory: pytest.TempPathFactory) -> gen.Month:
    return gen.write_month(tmp_path_factory.mktemp("bills"), LINES, **WORLD)


def _read(path: Path) -> list[BillingLine]:
    _, items = iter_bill_file(path)
    lines = []
    for row_number, item in items:
        assert not isinstance(item, RowError), f"row {row_number}: {item}"
        lines.append(item)
    return lines


def test_generation_is_deterministic_and_mixed(month: gen.Month, tmp_path: Path) -> None:
    again = gen.write_month(tmp_path, LINES, **WORLD)
    for fmt, path in month.files.items():
        assert path.read_bytes() == again.files[fmt].read_bytes(), fmt
    assert month.config.read_bytes() == again.config.read_bytes()
    other = gen.write_month(tmp_path / "other-seed", LINES, seed=gen.SEED + 1, **WORLD)
    assert month.files[gen.FOCUS].read_bytes() != other.files[gen.FOCUS].read_bytes()
    assert month.lines == sum(month.rows.values()) == LINES
    assert set(month.rows) == set(gen.FILES)  # every format has lines
    assert month.kinds["refund"] >= 5
    assert month.kinds["adjust"] >= 1
    assert month.kinds["charge"] * 10 > 9 * LINES


def test_files_read_whole_with_linked_refunds(month: gen.Month) -> None:
    by_format = {fmt: _read(path) for fmt, path in month.files.items()}
    assert {fmt: len(lines) for fmt, lines in by_format.items()} == dict(month.rows)
    refunds = adjustments = 0
    for fmt, lines in by_format.items():
        assert {line.provider for line in lines} == {gen.PROVIDER_OF[fmt]}
        assert {line.currency for line in lines} == {gen.CURRENCY_OF[fmt]}
        assert {line.billing_period.isoformat() for line in lines} == {"2026-10-01"}
        assert len({line.line_id for line in lines}) == len(lines)  # no collisions
        charges = {line.line_id: line for line in lines if line.list_amount > 0
                   and line.charge_category is not ChargeCategory.ADJUSTMENT}
        for line in lines:
            if line.charge_category is ChargeCategory.ADJUSTMENT:
                adjustments += 1
                continue
            if line.list_amount >= 0:
                continue
            refunds += 1
            if fmt in (gen.HUAWEI_CN, gen.FOCUS):
                original = charges.get(line.original_line_id or "")
                assert original is not None, f"{fmt} refund {line.line_id} is not linked"
                assert original.account_id == line.account_id
                assert original.resource_id == line.resource_id
                assert -line.list_amount + line.discount_amount <= original.list_amount
            else:  # Tencent: no link in the CSV; the refunded resource was charged to the same account
                assert line.original_line_id is None
                assert any(c.resource_id == line.resource_id and c.account_id == line.account_id
                           for c in charges.values())
    assert refunds == month.kinds["refund"]
    assert adjustments == month.kinds["adjust"]


def _ingest(sessions: sessionmaker[Session], raw: RawStore, paths: list[Path]) -> list[IngestReport]:
    reports = []
    for path in paths:
        with sessions() as session, session.begin():
            reports.append(ingest_file(session, raw_store=raw, path=path, provider=None, actor="loader"))
    return reports


def test_month_ingests_and_settles(
    month: gen.Month, session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    with session_factory() as session, session.begin():
        loaded = load_config_file(session, path=month.config, actor="admin")
    created = {kind: made for kind, made, _, _ in loaded.rows()}
    assert created["partners"] == created["agreements"] == PARTNERS
    assert created["customers"] == CUSTOMERS
    assert created["deals"] == CUSTOMERS + CUSTOMERS // 100  # 1% move mid-month: two deals each

    raw = RawStore(tmp_path / "raw")
    reports = _ingest(session_factory, raw, [month.files[f] for f in gen.FILES])
    assert {r.format: r.new for r in reports} == dict(month.rows)
    assert [(r.rejected, r.duplicate, r.revised, r.errors) for r in reports] == [(0, 0, 0, [])] * 4

    with session_factory() as session, session.begin():
        summary = settle(session, period=gen.PERIOD, partner_id=None, actor="preparer")
    assert not summary.needs_action
    assert {s.partner_id for s in summary.statements} == month.partners  # the partners with lines
    assert {s.status for s in summary.statements} == {"calculated"}
    with session_factory() as session:
        kinds = Counter(session.scalars(select(FindingRow.kind)))
        assert not {"missing_deal", "ambiguous_deal", "unlinked_refund", "missing_fx_rate", "bad_row",
                    "duplicate_line"} & set(kinds), kinds
        with_lines = select(StatementRow.partner_id).join(
            StatementLineRow, StatementLineRow.statement_id == StatementRow.id
        )
        paid = set(session.scalars(with_lines))
        assert paid == month.partners  # each line lands with the partner its deal names that day
        settled_lines = session.scalars(select(StatementLineRow.line_id).distinct()).all()
        assert len(settled_lines) == LINES

    restated = gen.write_revision(month.directory, LINES, **WORLD)
    assert 0 < restated.lines < LINES // 50
    again = _ingest(session_factory, raw, [restated.files[f] for f in gen.REVISED_FILES])
    assert sum(r.revised for r in again) == restated.lines
    assert sum(r.new + r.rejected + r.duplicate for r in again) == 0
    with session_factory() as session:
        revisions = session.scalars(select(LineRevisionRow).where(LineRevisionRow.revision == 2)).all()
        assert len(revisions) == restated.lines
