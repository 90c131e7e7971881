"""The dashboard's figures on golden case 38 (P-A gets 40% of PD-1 at 8%, P-B 60% of PD-1
and PD-2 at 6%), on SQLite and PostgreSQL, with exact expected amounts worked by hand.

Case 38 (``tests/golden/cases/38-proration-deal-change/case.yaml``): PD-1 Compute
1000.00 and PD-2 Storage 200.00, tencent, CNY, billed 2026-10. P-A: billed 400.00,
commission 32.00; P-B: billed 800.00, commission 48.00.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from cloudsettle.core.money import D
from cloudsettle.db.models import SettingRow, StatementRow
from cloudsettle.services import case_service, dashboard_service, guarded, settlement_service, users
from cloudsettle.services.access import Forbidden, Principal
from cloudsettle.services.dashboard_service import Cell, bill_months, period_key, rate, stage_of
from cloudsettle.services.errors import BadInput
from cloudsettle.services.ingest_service import ingest_file
from cloudsettle.services.reconcile_service import Figure, import_figures
from cloudsettle.services.workspace import Workspace
from tests.web.conftest import _fast_argon2, prepare

__all__ = ["_fast_argon2"]  # autouse: cheap password hashing for prepare()'s users

HEADER = (
    "x_LineId,ProviderName,SubAccountId,BillingAccountId,InvoiceId,ServiceName,ServiceCategory,RegionId,"
    "x_Project,ResourceId,x_BillingMode,ChargeCategory,ChargeClass,ChargePeriodStart,ChargePeriodEnd,"
    "BillingPeriodStart,BillingPeriodEnd,x_PaidAt,ListCost,BilledCost,x_VoucherAmount,x_TaxAmount,"
    "BillingCurrency,x_OriginalLineId"
)


def _line(line_id: str, service: str, category: str, start: str, end: str, month: str, nxt: str,
          amount: str, original: str = "", charge: str = "Usage") -> str:
    return (
        f"{line_id},Tencent Cloud,100000000001,200000000001,INV,{service},{category},ap-guangzhou,,"
        f"res-{line_id},on_demand,{charge},,{start}T00:00:00+08:00,{end}T00:00:00+08:00,"
        f"{month}-01T00:00:00+08:00,{nxt}-01T00:00:00+08:00,,{amount},{amount},0.00,0.00,CNY,{original}"
    )


@pytest.fixture
def ws(database_url: str, tmp_path: Path) -> Iterator[Workspace]:
    """Case 38 settled by ``operator`` (an admin), plus the web tests' users."""
    workspace, _ = prepare(tmp_path / "ws", database_url)
    yield workspace
    workspace.close()


NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def _board(ws: Workspace, *, partner: str | None = None, period: str | None = None,
           now: datetime = NOW) -> dashboard_service.Dashboard:
    with ws.unit_of_work() as s:
        return dashboard_service.overview(s, period=period, partner_id=partner, margin=partner is None,
                                          cases=True, operations=partner is None, now=now)


def test_case_38_figures_for_internal_readers(ws: Workspace) -> None:
    board = _board(ws)
    assert board.period == "2026-10"
    assert board.periods == ("2026-10",)
    assert board.pipeline.periods == ("2026-10",)
    assert [(p, c[0].stage) for p, c in board.pipeline.rows] == [("P-A", "calculated"), ("P-B", "calculated")]
    assert board.pipeline.cell("P-A", "2026-10").detail == "1 statement: calculated 1"
    t = board.totals
    assert t is not None
    providers = [(b.key, b.currency, b.amount, b.lines) for b in t.by_provider]
    assert providers == [("tencent", "CNY", D("1200"), 2)]
    assert [(b.key, b.amount, b.lines) for b in t.by_category] == [
        ("Compute", D("1000"), 1), ("Storage", D("200"), 1)]
    partners = [(p.partner_id, p.billed, p.commission, p.clawback, p.payable, p.statuses)
                for p in t.by_partner]
    assert partners == [
        ("P-A", D("400"), D("32"), D("0"), D("32"), (("calculated", 1),)),
        ("P-B", D("800"), D("48"), D("0"), D("48"), (("calculated", 1),)),
    ]
    (cny,) = t.currencies
    assert (cny.currency, cny.statements, cny.billed, cny.commission, cny.payable) == (
        "CNY", 2, D("1200"), D("80"), D("80"))
    (trend,) = board.trends
    (point,) = trend.points
    assert (point.period, point.commission, point.clawback, point.refunds, point.partner_cost) == (
        "2026-10", D("80"), D("0"), D("0"), D("80"))
    assert point.rebate is None
    assert point.margin is None
    assert board.open_findings == 0
    assert board.validation is not None
    (source,) = board.validation.sources
    assert (source.provider, source.source_kind, source.batches, source.rows_total, source.rows_rejected) == (
        "focus", "file", 1, 2, 0)
    assert source.rate == D("0.00")
    (fresh,) = board.freshness or ()
    assert (fresh.provider, fresh.source_kind, fresh.batches) == ("focus", "file", 1)
    assert fresh.threshold_hours == 840


def test_a_partner_sees_its_own_share_only(ws: Workspace) -> None:
    board = _board(ws, partner="P-A")
    assert [p for p, _ in board.pipeline.rows] == ["P-A"]
    t = board.totals
    assert t is not None
    # 40% of PD-1 (1000.00): the fraction its statement took, not the whole line.
    assert [(b.key, b.amount, b.lines) for b in t.by_provider] == [("tencent", D("400.00"), 1)]
    assert [p.partner_id for p in t.by_partner] == ["P-A"]
    (trend,) = board.trends
    assert trend.series("commission") == (D("32"),)
    assert trend.series("rebate") == (None,)
    b = _board(ws, partner="P-B").totals
    assert b is not None
    assert [(x.key, x.amount) for x in b.by_category] == [("Compute", D("600.00")), ("Storage", D("200.00"))]


def test_rebate_margin_is_exact_and_per_currency(ws: Workspace) -> None:
    with ws.unit_of_work() as s:
        # 0.10 + 0.20 is 0.30 exactly (a float sum would be 0.30000000000000004).
        import_figures(s, provider="tencent", month="2026-10", source="file", actor="t", figures=[
            Figure("2026-10", "100000000001", D("100.10"), "CNY"),
            Figure("2026-10", "100000000002", D("0.20"), "CNY"),
            Figure("2026-10", "100000000003", D("7.5"), "USD"),
        ])
    board = _board(ws)
    cny, usd = board.trends
    assert cny.currency == "CNY"
    assert cny.points[0].rebate == D("100.30")
    assert cny.points[0].margin == D("20.30")  # 100.30 − (32.00 + 48.00)
    assert (usd.currency, usd.points[0].rebate, usd.points[0].partner_cost, usd.points[0].margin) == (
        "USD", D("7.5"), D("0"), D("7.5"))
    # A partner never gets the reseller's rebate.
    assert [t.currency for t in _board(ws, partner="P-A").trends] == ["CNY"]
    assert _board(ws, partner="P-A").trends[0].points[0].rebate is None


def test_pipeline_follows_the_statements_and_cases(ws: Workspace) -> None:
    with ws.unit_of_work() as s:
        settlement_service.approve(s, period="2026-10", partner_id="P-A", actor="finance")
    assert _board(ws).pipeline.cell("P-A", "2026-10").stage == "approved"
    with ws.unit_of_work() as s:
        settlement_service.finalize(s, period="2026-10", partner_id="P-A", actor="finance")
        case_service.open_dispute(s, partner_id="P-B", agreement_id="b-2026", period="2026-10",
                                  text="the COS line is ours", actor="partner_b")
    board = _board(ws)
    assert board.pipeline.cell("P-A", "2026-10").stage == "settled"
    assert board.pipeline.cell("P-B", "2026-10").stage == "in_exception"
    assert board.pipeline.period_stage("2026-10").stage == "in_exception"
    assert board.cases is not None
    assert (board.cases.open, board.cases.overdue, board.cases.by_kind) == (1, 0, (("dispute", 1, 0),))
    late = _board(ws, now=NOW + timedelta(days=30)).cases
    assert late is not None
    assert late.overdue == 1
    # A partner counts only its own disputes.
    assert _board(ws, partner="P-B").cases == board.cases
    a_cases = _board(ws, partner="P-A").cases
    assert a_cases is not None
    assert a_cases.open == 0


def test_ingested_validated_refunds_and_rejects(ws: Workspace, tmp_path: Path) -> None:
    november = tmp_path / "lines-2026-11.csv"
    november.write_text("\n".join([
        HEADER,
        _line("PN-1", "CVM", "Compute", "2026-11-02", "2026-11-03", "2026-11", "2026-12", "300.00"),
        _line("PN-2", "COS", "Storage", "2026-11-04", "2026-11-05", "2026-11", "2026-12", "-50.00", "PD-2"),
        _line("PN-3", "CVM", "Compute", "2026-11-04", "2026-11-05", "2026-11", "2026-12", "not-a-number"),
    ]) + "\n", encoding="utf-8")
    with ws.unit_of_work() as s:
        ingest_file(s, raw_store=ws.raw_store, path=november, provider="focus", actor="setup")
    board = _board(ws)
    assert board.period == "2026-11"
    # Lines of the customer both deals name: ingested for both partners, nothing settled yet.
    assert board.pipeline.cell("P-A", "2026-11").stage == "ingested"
    assert board.pipeline.cell("P-B", "2026-11").stage == "ingested"
    cny = board.trends[0]
    assert [p.period for p in cny.points] == ["2026-10", "2026-11"]
    assert cny.series("refunds") == (D("0"), D("-50"))
    assert board.validation is not None
    rates = {b.file_name: (b.rows_total, b.rows_rejected, b.rate) for b in board.validation.batches}
    assert rates["lines-2026-11.csv"] == (3, 1, D("33.33"))
    (source,) = board.validation.sources
    assert (source.batches, source.rows_total, source.rows_rejected, source.rate) == (2, 5, 1, D("20.00"))
    assert {k: (o, n) for k, o, n in board.validation.findings}["bad_row"] == (1, 1)
    with ws.unit_of_work() as s:
        settlement_service.settle(s, period="2026-11", partner_id=None, actor="operator")
    board = _board(ws)
    # P-A's deal ended in October: the run covered it, no statement, nothing blocks it.
    assert board.pipeline.cell("P-A", "2026-11").stage == "validated"
    assert board.pipeline.cell("P-B", "2026-11").stage == "calculated"
    # The refund names its October original: a clawback on P-B's statement (−50 × 0.06).
    assert board.trends[0].series("clawback") == (D("0"), D("-3"))
    with ws.unit_of_work() as s:
        stored = s.scalars(select(StatementRow).where(StatementRow.period == "2026-11"))
        expected_cost = sum((r.payable - r.carried_in + r.carried_out for r in stored), D(0))
    assert board.trends[0].points[1].partner_cost == expected_cost
    # The partner sees its refund through its statement's lines.
    assert _board(ws, partner="P-B").trends[0].series("refunds") == (D("0"), D("-50.00"))


def test_freshness_turns_stale(ws: Workspace) -> None:
    (fresh,) = _board(ws).freshness or ()
    assert not fresh.stale
    (old,) = _board(ws, now=fresh.last_received + timedelta(days=36)).freshness or ()
    assert old.stale
    assert old.age_text == "36 d 0 h"
    with ws.unit_of_work() as s:
        # Like ``drift_factor`` and ``sla_days.<kind>``, a row of the settings table.
        s.add(SettingRow(key="freshness_hours.file", value="1", updated_at=NOW, updated_by="t"))
    (soon,) = _board(ws, now=fresh.last_received + timedelta(hours=2)).freshness or ()
    assert soon.stale
    assert soon.threshold_hours == 1


def test_guarded_scopes_a_partner_and_refuses_others(ws: Workspace) -> None:
    with ws.unit_of_work() as s:
        partner = users.principal_of(users.get_user(s, "partner"))
        board = guarded.dashboard(s, partner, period=None, now=NOW)
        assert [p for p, _ in board.pipeline.rows] == ["P-A"]
        assert not board.margin
        assert board.validation is None
        assert board.freshness is None
        assert board.open_findings is None
        finance = users.principal_of(users.get_user(s, "finance"))
        full = guarded.dashboard(s, finance, period="2026-10", now=NOW)
        assert [p for p, _ in full.pipeline.rows] == ["P-A", "P-B"]
        assert full.margin
        assert full.validation is not None
        with pytest.raises(BadInput):
            guarded.dashboard(s, finance, period="October", now=NOW)
        with pytest.raises(Forbidden):
            guarded.dashboard(s, Principal("nobody", frozenset()), period=None, now=NOW)


def test_pure_helpers() -> None:
    assert stage_of({}, validated=False, ingested=False) is None
    assert stage_of({}, validated=True, ingested=False) is None
    assert stage_of({}, validated=True, ingested=True) == "validated"
    assert stage_of({"approved": 1, "settled": 2}, validated=True, ingested=True) == "approved"
    assert stage_of({"settled": 1, "in_exception": 1}, validated=True, ingested=True) == "in_exception"
    assert Cell(None).label == "Nothing yet"
    assert rate(1, 3) == D("33.33")
    assert rate(0, 0) is None
    assert [d.isoformat() for d in bill_months("2026-Q4")] == ["2026-10-01", "2026-11-01", "2026-12-01"]
    assert bill_months("2026-W43") == ()
    assert sorted(["2026-Q4", "2026-10", "2026-09"], key=period_key) == ["2026-09", "2026-10", "2026-Q4"]
