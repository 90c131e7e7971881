"""The demo end to end: generated input, settled statements, idempotent re-runs, the CLI."""

from __future__ import annotations

import decimal
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console
from sqlalchemy import select
from typer.testing import CliRunner

from cloudsettle.cli.main import app
from cloudsettle.config_file.loader import load_config
from cloudsettle.core.money import D
from cloudsettle.core.settlement.model import COMPONENT_NAMES
from cloudsettle.db.models import FindingRow, StatementRow
from cloudsettle.demo import GOODWILL, run_demo
from cloudsettle.demo.generator import (
    CONFIG_FILE,
    OCTOBER_FILES,
    PARTNERS,
    RESTATED_FILE,
    SEPTEMBER_FILES,
    generate,
    write_demo_input,
)
from cloudsettle.ingest.errors import RowError
from cloudsettle.ingest.focus import iter_focus_csv
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


def test_usd_statement_converts_every_line(demo: tuple[Path, str]) -> None:
    root, _ = demo
    doc = _doc(root, "2026-10", "P-HARBOR")
    assert doc["currency"] == "USD"
    assert all(line["fx_rate"] is not None and D(line["fx_rate"]) > 0 for line in doc["lines"])
    assert any(line["role"] == "clawback" for line in doc["lines"])
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


def test_output_says_where_the_outputs_are(demo: tuple[Path, str]) -> None:
    root, output = demo
    assert str((root / "out" / "statements").resolve()) in output
    assert "cloudsettle statement --period 2026-10 --partner" in output
    assert "cloudsettle explain" in output
    assert "statements 2026-09" in output
    assert "statements 2026-10" in output


def test_second_run_succeeds_and_keeps_september(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CLOUDSETTLE_DATABASE_URL", raising=False)
    assert _run(tmp_path)[0] == 0
    september = {p.name: p.read_bytes() for p in (tmp_path / "out/statements/2026-09").glob("*.json")}
    october = {p.name: p.read_bytes() for p in (tmp_path / "out/statements/2026-10").glob("*.json")}
    code, output = _run(tmp_path)
    assert code == 0
    assert "already finalized" in output
    assert "6 re-used" in output
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
        assert a.path(name).read_bytes() == b.path(name).read_bytes() == first[name].encode()
    again = write_demo_input(tmp_path / "a")
    assert again.written == ()
    assert again.reused == tuple(names)
    assert generate(seed=7) != first


def test_generated_input_reads_cleanly(tmp_path: Path) -> None:
    written = write_demo_input(tmp_path)
    bundle = load_config(written.path(CONFIG_FILE))
    assert len(bundle.partners) == 6
    assert len(bundle.customers) == 25
    assert len(bundle.fx_rates) == 61
    moved = [d for d in bundle.deals if d.account_id == next(
        d2.account_id for d2 in bundle.deals if d2.id == "D-T08")]
    assert {(d.partner_id, str(d.valid_from), str(d.valid_to)) for d in moved} == {
        ("P-QIHANG", "2026-01-01", "2026-10-16"), ("P-YUNFAN", "2026-10-16", "None")}
    for name in (*SEPTEMBER_FILES, *OCTOBER_FILES):
        items = [item for _, item in iter_focus_csv(written.path(name))]
        assert not [i for i in items if isinstance(i, RowError)], name
        assert 300 <= len(items) <= 3000, name
        refunds = [i for i in items if not isinstance(i, RowError) and i.original_line_id]
        assert bool(refunds) == (name in OCTOBER_FILES)
        categories = {i.charge_category.value for i in items if not isinstance(i, RowError)}
        assert {"usage", "purchase"} <= categories


def test_cli_demo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CLOUDSETTLE_DATABASE_URL", raising=False)
    result = CliRunner().invoke(app, ["demo", "--workspace", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert str((tmp_path / "out" / "statements").resolve()) in result.output
    assert (tmp_path / "out/statements/2026-10/P-YUNFAN-yunfan-resale-2026.json").is_file()
