"""The demo end to end: generated native bill files, settled statements, idempotent re-runs, the CLI."""

from __future__ import annotations

import decimal
import gzip
import io
import json
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console
from sqlalchemy import select
from typer.testing import CliRunner

from cloudsettle.cli.main import app
from cloudsettle.config_file.loader import load_config
from cloudsettle.core.lines import BillingLine
from cloudsettle.core.money import D
from cloudsettle.core.settlement.model import COMPONENT_NAMES
from cloudsettle.db.models import FindingRow, IngestBatchRow, LineRevisionRow, StatementRow
from cloudsettle.demo import GOODWILL, run_demo
from cloudsettle.demo.generator import (
    CONFIG_FILE,
    FILE_FORMATS,
    HUAWEI_CN_SEP,
    HUAWEI_EN_OCT,
    MOVER,
    OCTOBER_FILES,
    PARTNERS,
    RESTATED_FILE,
    SEPTEMBER_FILES,
    TENCENT_CN_OCT,
    TENCENT_CN_SEP,
    TENCENT_EN_OCT,
    generate,
    write_demo_input,
)
from cloudsettle.ingest.errors import RowError
from cloudsettle.ingest.readers import iter_bill_file
from cloudsettle.services.workspace import open_workspace

ADDENDS = ("commission", "tier_uplift", "clawback", "cap_adjustment", "fees", "manual_adjustment",
           "prior_period_adjustment", "carried_in")


def _run(root: Path) -> tuple[int, str]:
    buffer = io.StringIO()
    code = run_demo(root, Console(file=buffer, width=200, color_system=None))
    return code, buffer.getvalue()


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, str]]:
    """One demo run shared by the tests that only read its results (floats trapped)."""
    root = tmp_path_factory.mktemp("demo")
    context = decimal.getcontext()
    before = context.traps[decimal.FloatOperation]
    context.traps[decimal.FloatOperation] = True
    try:
        with pytest.MonkeyPatch.context() as mp:
            mp.delenv("CLOUDSETTLE_DATABASE_URL", raising=False)
            code, output = _run(root)
            assert code == 0
            yield root, output
    finally:
        context.traps[decimal.FloatOperation] = before


def _statements(root: Path, period: str) -> dict[str, dict[str, Any]]:
    folder = root / "out" / "statements" / period
    return {p.name: json.loads(p.read_text(encoding="utf-8")) for p in sorted(folder.glob("*.json"))}


def _component(doc: dict[str, Any], name: str) -> decimal.Decimal:
    return D(doc["components"][name])


def test_every_partner_has_an_october_statement(demo: tuple[Path, str]) -> None:
    root, _ = demo
    docs = _statements(root, "2026-10")
    assert sorted(docs) == sorted(f"{p.id}-{p.agreement}.json" for p in PARTNERS)
    for p in PARTNERS:
        doc = docs[f"{p.id}-{p.agreement}.json"]
        assert (doc["partner"], doc["agreement"], doc["currency"]) == (p.id, p.agreement, p.currency)
        assert doc["status"] == "approved"
        assert doc["lines"]


def test_september_is_finalized_for_every_partner(demo: tuple[Path, str]) -> None:
    root, _ = demo
    docs = _statements(root, "2026-09")
    assert sorted(docs) == sorted(f"{p.id}-{p.agreement}.json" for p in PARTNERS)
    assert {d["status"] for d in docs.values()} == {"settled"}
    assert {(d["prepared_by"], d["approved_by"], d["finalized_by"]) for d in docs.values()} == {
        ("demo-preparer", "demo-approver", "demo-approver")}


@pytest.mark.parametrize("period", ["2026-09", "2026-10"])
def test_payable_identity_holds_to_the_cent(demo: tuple[Path, str], period: str) -> None:
    root, _ = demo
    for name, doc in _statements(root, period).items():
        assert set(doc["components"]) == set(COMPONENT_NAMES), name
        total = sum((_component(doc, n) for n in ADDENDS), D(0)) - _component(doc, "carried_out")
        assert total == _component(doc, "payable"), name
        for value in doc["components"].values():
            assert len(value.partition(".")[2]) == 2, (name, value)


def test_october_exercises_every_component(demo: tuple[Path, str]) -> None:
    root, _ = demo
    docs = list(_statements(root, "2026-10").values())
    for name in ("tier_uplift", "clawback", "fees", "cap_adjustment", "prior_period_adjustment",
                 "manual_adjustment", "carried_in"):
        assert any(_component(d, name) != 0 for d in docs), name


def _doc(root: Path, period: str, partner: str) -> dict[str, Any]:
    agreement = next(p.agreement for p in PARTNERS if p.id == partner)
    return _statements(root, period)[f"{partner}-{agreement}.json"]


def test_usd_statement_converts_every_cny_line(demo: tuple[Path, str]) -> None:
    """Harbor is paid in USD: its Huawei lines (CNY) are converted, its Tencent reseller-bill
    lines are already in USD."""
    root, _ = demo
    doc = _doc(root, "2026-10", "P-HARBOR")
    assert doc["currency"] == "USD"
    huawei = [line for line in doc["lines"] if line["provider"] == "huawei"]
    tencent = [line for line in doc["lines"] if line["provider"] == "tencent"]
    assert huawei
    assert tencent
    assert all(line["fx_rate"] is not None and D(line["fx_rate"]) > 0 for line in huawei)
    assert all(line["fx_rate"] is None for line in tencent)
    clawbacks = [line for line in huawei if line["role"] == "clawback"]
    assert clawbacks
    assert all(line["fx_rate"] is not None for line in clawbacks)
    assert _component(doc, "clawback") < 0


def test_partner_stories(demo: tuple[Path, str]) -> None:
    root, _ = demo
    yunfan = _doc(root, "2026-10", "P-YUNFAN")
    assert [a["amount"] for a in yunfan["adjustments"]] == [f"{GOODWILL.amount:.2f}"]
    assert yunfan["adjustments"][0]["created_by"] == "demo-finance"
    assert [p["corrects_period"] for p in yunfan["prior_period_adjustments"]] == ["2026-09"]
    assert any("clawback_elsewhere" in line["reasons"] for line in yunfan["lines"])
    qihang = _doc(root, "2026-10", "P-QIHANG")
    assert any("outside_clawback_window" in line["reasons"] for line in qihang["lines"])
    assert _component(qihang, "clawback") < 0
    assert _component(qihang, "cap_adjustment") < 0  # the cap cuts
    linwei = _doc(root, "2026-10", "P-LINWEI")
    assert _component(linwei, "cap_adjustment") > 0  # the floor lifts
    assert _component(linwei, "fees") == D("-200.00")
    micro_sep, micro_oct = _doc(root, "2026-09", "P-MICRO"), _doc(root, "2026-10", "P-MICRO")
    assert _component(micro_sep, "payable") == 0
    assert _component(micro_sep, "carried_out") > 0
    assert _component(micro_oct, "carried_in") == _component(micro_sep, "carried_out")
    assert _component(micro_oct, "payable") > 0
    xinghe = _doc(root, "2026-10", "P-XINGHE")
    assert [e["kind"] for e in xinghe["exceptions"]] == ["payee_not_verified"]


def test_missing_deal_is_the_only_workspace_finding(demo: tuple[Path, str]) -> None:
    root, output = demo
    ws = open_workspace(root, env={})
    try:
        with ws.unit_of_work() as session:
            kinds = {f.kind for f in session.scalars(select(FindingRow).where(FindingRow.status == "open"))}
            statuses = set(session.scalars(select(StatementRow.status)))
    finally:
        ws.close()
    assert kinds == {"missing_deal", "payee_not_verified"}
    assert "in_exception" not in statuses
    assert "missing_deal" in output
    assert "Northwind Trial Account" in output
    assert "包年包月退费" in output  # the one Tencent refund is explained: it nets, no clawback


def test_output_says_where_the_outputs_are(demo: tuple[Path, str]) -> None:
    root, output = demo
    assert str((root / "out" / "statements").resolve()) in output
    assert "cloudsettle statement --period 2026-10 --partner" in output
    assert "cloudsettle explain" in output
    assert "statements 2026-09" in output
    assert "statements 2026-10" in output


def test_second_run_succeeds_and_keeps_september(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The demo run twice: first in process, then as ``cloudsettle demo`` (one test, as a demo
    run costs seconds): the second run re-uses everything and changes nothing."""
    monkeypatch.delenv("CLOUDSETTLE_DATABASE_URL", raising=False)
    code, first = _run(tmp_path)
    assert code == 0
    for role in ("admin", "finance", "operator", "sales_ops", "auditor", "partner"):
        assert role in first
    assert "demo-finance" in first
    assert "already created" not in first
    september = {p.name: p.read_bytes() for p in (tmp_path / "out/statements/2026-09").glob("*.json")}
    october = {p.name: p.read_bytes() for p in (tmp_path / "out/statements/2026-10").glob("*.json")}
    # Wide enough that Rich wraps no line (a long path or a phrase split over two lines).
    result = CliRunner().invoke(app, ["demo", "--workspace", str(tmp_path)], env={"COLUMNS": "400"})
    assert result.exit_code == 0, result.output
    output = result.output
    assert str((tmp_path / "out" / "statements").resolve()) in output
    assert "already finalized" in output
    assert f"{len(generate())} re-used" in output
    assert "already ingested" in output
    assert "already created" in output
    assert (tmp_path / "out/statements/2026-10/P-YUNFAN-yunfan-resale-2026.json").is_file()
    assert {p.name: p.read_bytes() for p in (tmp_path / "out/statements/2026-09").glob("*.json")} == september
    assert {p.name: p.read_bytes() for p in (tmp_path / "out/statements/2026-10").glob("*.json")} == october
    ws = open_workspace(tmp_path, env={})
    try:
        with ws.unit_of_work() as session:
            sep = list(session.scalars(select(StatementRow).where(StatementRow.period == "2026-09")))
    finally:
        ws.close()
    assert len(sep) == len(PARTNERS)  # no duplicate statement


def test_generator_is_deterministic(tmp_path: Path) -> None:
    first, second = generate(), generate()
    assert first == second
    a = write_demo_input(tmp_path / "a")
    b = write_demo_input(tmp_path / "b")
    names = [CONFIG_FILE, *SEPTEMBER_FILES, *OCTOBER_FILES, RESTATED_FILE]
    assert list(first) == names
    for name in names:
        assert a.path(name).read_bytes() == b.path(name).read_bytes() == first[name]
    again = write_demo_input(tmp_path / "a")
    assert again.written == ()
    assert again.reused == tuple(names)
    assert generate(seed=7) != first


def _read(path: Path) -> tuple[str, list[BillingLine]]:
    """A generated file through the real readers: its detected format and lines (no bad row)."""
    bill_format, items = iter_bill_file(path)
    read = [item for _, item in items]
    assert not [i for i in read if isinstance(i, RowError)], path.name
    return bill_format.name, [i for i in read if isinstance(i, BillingLine)]


def test_generated_input_reads_cleanly(tmp_path: Path) -> None:
    written = write_demo_input(tmp_path)
    bundle = load_config(written.path(CONFIG_FILE))
    assert len(bundle.partners) == 6
    assert len(bundle.customers) == 25
    assert len(bundle.fx_rates) == 61
    mover = next(d.account_id for d in bundle.deals if d.id == f"D-{MOVER}")
    moved = [d for d in bundle.deals if d.account_id == mover]
    assert {(d.partner_id, str(d.valid_from), str(d.valid_to)) for d in moved} == {
        ("P-QIHANG", "2026-01-01", "2026-10-16"), ("P-YUNFAN", "2026-10-16", "None")}
    deal_accounts = {(d.provider, d.account_id) for d in bundle.deals}
    for name in (*SEPTEMBER_FILES, *OCTOBER_FILES):
        fmt, lines = _read(written.path(name))
        assert fmt == FILE_FORMATS[name], name
        assert 100 <= len(lines) <= 3000, name
        accounts = {(line.provider, line.account_id) for line in lines}
        # every native account id but the deliberate missing_deal customer's maps to a deal
        assert len(accounts - deal_accounts) <= (1 if name.startswith("huawei") else 0), name
        assert {"usage", "purchase"} <= {line.charge_category.value for line in lines}, name
        assert len({line.region for line in lines}) >= 2, name
        assert any(line.voucher_amount > 0 for line in lines), name
        assert any(line.discount_amount > 0 for line in lines), name
        assert len({line.service for line in lines}) >= 4, name
    assert {FILE_FORMATS[n] for n in (*SEPTEMBER_FILES, *OCTOBER_FILES)} == {
        "tencent-console-cn", "tencent-reseller-en", "huawei-detail-cn", "huawei-costcenter-en"}


def test_huawei_refunds_name_september_orders(tmp_path: Path) -> None:
    """Every October Huawei refund links (原订单号 + resource id) to a September line;
    the adjustments and tax lines (codes 9, 15, 100) are there too."""
    written = write_demo_input(tmp_path)
    _, september = _read(written.path(HUAWEI_CN_SEP))
    _, october = _read(written.path(HUAWEI_EN_OCT))
    by_id = {line.line_id: line for line in september}
    refunds = [line for line in october if line.list_amount < 0 and line.original_line_id]
    assert len(refunds) == 5
    for refund in refunds:
        original = by_id[refund.original_line_id or ""]
        assert (original.account_id, original.resource_id) == (refund.account_id, refund.resource_id)
        assert original.charge_category.value == refund.charge_category.value == "purchase"
        assert -refund.list_amount <= original.list_amount
    assert {line.extras["huawei.bill_type"] for line in refunds} == {
        "Refund-unsubscription", "Refund-change", "Refund-conversion from yearly/monthly to pay-per-use"}
    for lines in (september, october):
        categories = {line.charge_category.value for line in lines}
        assert {"adjustment", "tax"} <= categories
        assert {line.region for line in lines} == {"cn-north-4", "cn-east-3", "cn-south-1"}
    taxes = {line.extras["huawei.bill_type"] for line in september if line.charge_category.value == "tax"}
    assert taxes == {"15"}
    assert any(line.voucher_amount > 0 and line.extras.get("huawei.payable") for line in september)


def test_native_encodings_and_wrappings(tmp_path: Path) -> None:
    written = write_demo_input(tmp_path)
    gb = written.path(HUAWEI_CN_SEP).read_bytes()
    with pytest.raises(UnicodeDecodeError):
        gb.decode("utf-8")
    assert gb.decode("gb18030").startswith("账期,")
    assert written.path(TENCENT_CN_SEP).read_bytes().startswith("\ufeff支付者UIN".encode())
    with zipfile.ZipFile(written.path(TENCENT_CN_OCT)) as archive:
        assert archive.namelist() == ["tencent-bill-detail-2026-10.csv"]
        assert archive.read(archive.namelist()[0]).startswith("\ufeff支付者UIN".encode())
    text = gzip.decompress(written.path(TENCENT_EN_OCT).read_bytes()).decode("utf-8")
    assert text.startswith("Payer Account ID,Owner Account ID")
    _, usd = _read(written.path(TENCENT_EN_OCT))
    assert {line.currency for line in usd} == {"USD"}
    assert all(line.tax_amount > 0 for line in usd)


def test_tencent_console_lines(tmp_path: Path) -> None:
    """The Chinese console files: subscriptions and pay-as-you-go, the 调账 adjustment, the one
    (unlinked) 包年包月退费 refund, and billing by deduction month."""
    written = write_demo_input(tmp_path)
    _, october = _read(written.path(TENCENT_CN_OCT))
    assert {line.billing_mode.value for line in october} == {"subscription", "on_demand"}
    kinds = {line.extras["tencent.type"] for line in october}
    assert {"包年包月续费", "按量计费日结", "按量计费小时结", "包年包月退费", "调账扣费"} <= kinds
    refunds = [line for line in october if line.extras["tencent.type"] == "包年包月退费"]
    assert len(refunds) == 1
    assert refunds[0].list_amount < 0
    assert refunds[0].original_line_id is None
    assert [line.charge_category.value for line in october if line.extras["tencent.type"] == "调账扣费"] == [
        "adjustment"]
    assert {line.region for line in october} == {"广州", "上海", "北京"}
    assert {line.billing_period.isoformat() for line in october} == {"2026-10-01"}


def test_restatement_revises_one_october_line_and_adds_a_late_september_line(tmp_path: Path) -> None:
    written = write_demo_input(tmp_path)
    fmt, restated = _read(written.path(RESTATED_FILE))
    assert fmt == "tencent-console-cn"
    _, october = _read(written.path(TENCENT_CN_OCT))
    _, september = _read(written.path(TENCENT_CN_SEP))
    by_id = {line.line_id: line for line in october}
    revised = [line for line in restated if line.line_id in by_id]
    late = [line for line in restated if line.line_id not in by_id]
    assert len(revised) == 1
    assert len(late) == 1
    assert revised[0].list_amount < by_id[revised[0].line_id].list_amount
    assert late[0].billing_period.isoformat() == "2026-09-01"
    assert late[0].line_id not in {line.line_id for line in september}


def test_ingest_table_and_batches(demo: tuple[Path, str]) -> None:
    """The printed ingest table names each native format with zero rejected rows; the
    restatement gives exactly one revised line and one new (late September) line."""
    root, output = demo
    for name in (*SEPTEMBER_FILES, *OCTOBER_FILES, RESTATED_FILE):
        row = next(r for r in output.splitlines() if f" {name} " in r)
        cells = [c.strip() for c in row.strip("│ ").split("│")]
        assert cells[1] == FILE_FORMATS[name], row
        assert cells[5] == "0", row  # rejected
    ws = open_workspace(root, env={})
    try:
        with ws.unit_of_work() as session:
            batches = {b.file_name: b for b in session.scalars(select(IngestBatchRow))}
            revised_lines = list(session.scalars(
                select(LineRevisionRow).where(LineRevisionRow.revision == 2)))
    finally:
        ws.close()
    assert {n: b.format for n, b in batches.items()} == FILE_FORMATS
    assert {b.rows_rejected for b in batches.values()} == {0}
    assert {b.status for b in batches.values()} == {"loaded"}
    restated = batches[RESTATED_FILE]
    assert (restated.rows_new, restated.rows_revised, restated.rows_unchanged) == (1, 1, 0)
    assert len(revised_lines) == 1
    assert revised_lines[0].batch_id == restated.id


def test_huawei_clawbacks_are_linked(demo: tuple[Path, str]) -> None:
    """The October clawbacks come from linked Huawei refunds; the mover's refund is clawed
    back from Qihang and only listed on Yunfan."""
    root, _ = demo
    clawbacks = [(partner, line) for partner in ("P-YUNFAN", "P-QIHANG", "P-HARBOR")
                 for line in _doc(root, "2026-10", partner)["lines"] if line["role"] == "clawback"]
    assert len(clawbacks) == 5
    assert all(line["original_line_id"] and line["provider"] == "huawei" for _, line in clawbacks)
    assert {p for p, _ in clawbacks} == {"P-YUNFAN", "P-QIHANG", "P-HARBOR"}
    elsewhere = [line for line in _doc(root, "2026-10", "P-YUNFAN")["lines"]
                 if "clawback_elsewhere" in line["reasons"]]
    assert len(elsewhere) == 1
    qihang_originals = {line["original_line_id"] for p, line in clawbacks if p == "P-QIHANG"}
    assert elsewhere[0]["original_line_id"] in qihang_originals
