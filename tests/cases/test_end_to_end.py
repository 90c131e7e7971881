"""The issue's end-to-end case: a month with one unmapped customer, one unlinked refund and
one currency without a rate settles every other statement, holds exactly the three
affected ones, and after the cases are resolved the held statements compute and nothing
else changes."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from cloudsettle.core.money import D
from cloudsettle.db.models import FxRateRow
from cloudsettle.db.models_workflow import CaseLinkRow, CaseRow
from cloudsettle.services import case_service, deal_service
from cloudsettle.services.settlement_service import settle
from tests.cases.world import World, row


def _cases(world: World) -> dict[str, tuple[int, str, list[str]]]:
    with world.sessions() as session:
        out = {}
        for case in session.scalars(select(CaseRow)):
            refs = sorted(session.scalars(select(CaseLinkRow.ref).where(
                CaseLinkRow.case_id == case.id, CaseLinkRow.kind == "statement")))
            out[case.kind] = (case.id, case.status, refs)
        return out


def test_three_problems_hold_three_statements_until_resolved(world: World) -> None:
    world.do(settle, period="2026-10", partner_id=None, actor="alice")
    before = world.statements()
    assert before == {
        "P-ACME": ("calculated", "100.00"),
        "P-BETA": ("in_exception", "200.00"),   # C2's 500 is unmapped: its last deal fed P-BETA
        "P-GAMMA": ("in_exception", "270.00"),  # the refund nets at its own rule until linked
        "P-DELTA": ("in_exception", "40.00"),   # the USD line pays nothing until a rate exists
    }
    cases = _cases(world)
    assert {k: (v[1], v[2]) for k, v in cases.items()} == {
        "missing_deal": ("open", ["P-BETA/beta/2026-10"]),
        "unlinked_refund": ("open", ["P-GAMMA/gamma/2026-10"]),
        "missing_fx_rate": ("open", ["P-DELTA/delta/2026-10"]),
    }
    # settling again changes nothing: the same findings are the same cases
    world.do(settle, period="2026-10", partner_id=None, actor="alice")
    assert world.statements() == before
    assert _cases(world) == cases

    # fix the data: a deal for C2, the refund linked to its original, a USD rate
    world.do(deal_service.add_deal, deal_id="D-2B", partner_id="P-BETA", provider="tencent", account_id="C2",
             agreement_id="beta", valid_from=date(2026, 10, 1), actor="sales")
    world.ingest("refund-fixed.csv", [row("G-R", "C4", "-300.00", original="G-1", day=5)])
    world.do(lambda session: session.add(FxRateRow(day=date(2026, 10, 1), from_currency="USD",
                                                   to_currency="CNY", rate=D("7.1"))))
    # the held statements wait for their cases, whatever the data says now
    world.do(settle, period="2026-10", partner_id=None, actor="alice")
    assert {p: s for p, (s, _) in world.statements().items()} == {
        "P-ACME": "calculated", "P-BETA": "in_exception", "P-GAMMA": "in_exception",
        "P-DELTA": "in_exception"}

    for kind in ("missing_deal", "unlinked_refund", "missing_fx_rate"):
        closed = world.do(case_service.resolve, case_id=cases[kind][0], note=f"fixed {kind}", actor="olga")
        assert closed.case.status == "resolved"
        assert len(closed.rerun) == 1
    after = world.statements()
    assert after == {
        "P-ACME": before["P-ACME"],             # nothing else changes
        "P-BETA": ("calculated", "250.00"),     # + 10% of C2's 500
        "P-GAMMA": ("calculated", "270.00"),    # nets at the original's rate
        "P-DELTA": ("calculated", "111.00"),    # 400 + 100 USD × 7.1 = 1110 at 10%
    }
    assert {k: v[1] for k, v in _cases(world).items()} == {
        "missing_deal": "resolved", "unlinked_refund": "resolved", "missing_fx_rate": "resolved"}


def test_resolving_before_the_data_is_fixed_opens_the_case_again(world: World) -> None:
    world.do(settle, period="2026-10", partner_id=None, actor="alice")
    case_id = _cases(world)["missing_fx_rate"][0]
    closed = world.do(case_service.resolve, case_id=case_id, note="thought it was fine", actor="olga")
    assert closed.case.status == "open"
    assert world.statements()["P-DELTA"][0] == "in_exception"
    history = world.do(lambda s: [h["action"] for h in case_service.case_document(s, case_id)["history"]])
    assert history == ["open", "resolve", "reopen"]


def test_waiving_releases_the_statement_with_the_finding_accepted(world: World) -> None:
    world.do(settle, period="2026-10", partner_id=None, actor="alice")
    case_id = _cases(world)["missing_fx_rate"][0]
    closed = world.do(case_service.waive, case_id=case_id, reason="USD usage is a test account", actor="olga")
    assert closed.case.status == "waived"
    assert world.statements()["P-DELTA"] == ("calculated", "40.00")
    world.do(settle, period="2026-10", partner_id=None, actor="alice")
    assert world.statements()["P-DELTA"] == ("calculated", "40.00")
    assert _cases(world)["missing_fx_rate"][1] == "waived"
