"""Deal life cycle with mapping history, CRM import, suggested deals for unmapped customers."""

from __future__ import annotations

import json
from datetime import date

import pytest
from sqlalchemy import select

from cloudsettle.db.models import DealRow
from cloudsettle.db.models_workflow import CaseLinkRow, CaseRow
from cloudsettle.services import deal_service
from cloudsettle.services.errors import BadInput, Refused
from cloudsettle.services.settlement_service import settle
from tests.cases.world import World


def test_life_cycle_keeps_every_mapping(world: World) -> None:
    world.do(deal_service.add_deal, deal_id="D-9", partner_id="P-ACME", provider="tencent", account_id="C9",
             agreement_id="acme", valid_from=date(2026, 1, 1), status="registered", actor="sales")
    world.do(deal_service.set_status, deal_id="D-9", status="active", actor="sales")
    world.do(deal_service.set_status, deal_id="D-9", status="renewed", actor="sales", note="2027 renewal")
    world.do(deal_service.set_status, deal_id="D-9", status="terminated", actor="sales",
             valid_to=date(2026, 12, 1))
    with world.sessions() as session:
        steps = deal_service.history(session, "D-9")
        assert [s.status for s in steps] == ["registered", "active", "renewed", "terminated"]
        assert json.loads(steps[0].mapping)["valid_to"] is None
        assert json.loads(steps[-1].mapping)["valid_to"] == "2026-12-01"
        deal = session.get(DealRow, "D-9")
        assert deal is not None
        assert deal.valid_to == date(2026, 12, 1)
    with pytest.raises(Refused, match="terminated"):
        world.do(deal_service.set_status, deal_id="D-9", status="active", actor="sales")
    with pytest.raises(Refused, match="is new; it cannot become renewed"):
        world.do(deal_service.add_deal, deal_id="D-8", partner_id="P-ACME", provider="tencent",
                 account_id="C8", agreement_id="acme", valid_from=date(2026, 1, 1), status="renewed",
                 actor="sales")
    with pytest.raises(BadInput):
        world.do(deal_service.add_deal, deal_id="D-7", partner_id="P-ACME", provider="tencent",
                 account_id="C7", agreement_id="beta", valid_from=date(2026, 1, 1), actor="sales")


def test_crm_import_creates_updates_and_refuses_bad_rows(world: World) -> None:
    text = ("deal_id,partner_id,provider,account_id,agreement_id,valid_from,valid_to,status\n"
            "D-20,P-ACME,tencent,C20,acme,2026-01-01,,registered\n"
            "D-1,P-ACME,tencent,C1,acme,2026-01-01,,active\n")
    counts = world.do(deal_service.import_crm_csv, text=text, actor="crm")
    assert counts == {"created": 1, "updated": 1, "unchanged": 0}  # D-1 had no recorded step yet
    again = world.do(deal_service.import_crm_csv, text=text, actor="crm")
    assert again == {"created": 0, "updated": 0, "unchanged": 2}
    moved = text.replace("D-20,P-ACME,tencent,C20,acme,2026-01-01,,registered",
                         "D-20,P-ACME,tencent,C20,acme,2026-01-01,2027-01-01,active")
    assert world.do(deal_service.import_crm_csv, text=moved, actor="crm")["updated"] == 1
    with world.sessions() as session:
        assert [s.status for s in deal_service.history(session, "D-20")] == ["registered", "active"]
    with pytest.raises(BadInput, match="lacks columns"):
        world.do(deal_service.import_crm_csv, text="deal_id\nX\n", actor="crm")
    with pytest.raises(BadInput, match="row 2"):
        world.do(deal_service.import_crm_csv, text=text.replace("2026-01-01", "01/01/2026", 1), actor="crm")


def test_suggestion_from_a_provider_hint_holds_and_confirms(world: World) -> None:
    # C2 is unmapped in October; Tencent's client remark names P-GAMMA's company.
    result = world.do(deal_service.sync_customers, customers=[
        ("tencent", "C2", "Old Games", {"ClientRemark": "via P-GAMMA Ltd sales team"}),
        ("tencent", "C1", "Mapped", {"ClientRemark": "P-DELTA"}),  # has a deal: no suggestion
    ], actor="sync")
    assert result == {"added": 2, "suggested": 1}
    world.do(settle, period="2026-10", partner_id=None, actor="alice")
    with world.sessions() as session:
        case = session.scalars(select(CaseRow).where(CaseRow.kind == "missing_deal")).one()
        refs = set(session.scalars(select(CaseLinkRow.ref).where(CaseLinkRow.case_id == case.id)))
        suggestion = deal_service.open_suggestion(session, "tencent", "C2")
        assert suggestion is not None
        assert suggestion.source == "ClientRemark"
        suggestion_id = suggestion.id
    assert "P-GAMMA/gamma/2026-10" in refs  # the suggested deal's statement is the one held
    assert world.statements()["P-BETA"][0] == "calculated"
    world.do(deal_service.confirm, suggestion_id=suggestion_id, deal_id="D-2G", valid_from=date(2026, 10, 1),
             actor="sales")
    with pytest.raises(Refused):
        world.do(deal_service.confirm, suggestion_id=suggestion_id, deal_id="D-2H",
                 valid_from=date(2026, 10, 1), actor="sales")
    with world.sessions() as session:
        assert deal_service.status_of(session, "D-2G") == "active"
        assert deal_service.open_suggestion(session, "tencent", "C2") is None
