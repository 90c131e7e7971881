"""Every case transition, including the refused ones, with history and audit."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from cloudsettle.db.models import AuditEventRow, SettingRow
from cloudsettle.db.models_workflow import CaseEventRow, CaseRow
from cloudsettle.services import case_service
from cloudsettle.services.errors import BadInput, NotFound, Refused
from cloudsettle.services.settlement_service import approve, settle
from tests.cases.world import World


def _case(world: World, kind: str) -> int:
    with world.sessions() as session:
        return session.scalars(select(CaseRow.id).where(CaseRow.kind == kind)).one()


@pytest.fixture
def settled(world: World) -> World:
    world.do(settle, period="2026-10", partner_id=None, actor="alice")
    return world


def test_open_assign_comment_resolve_with_history_and_audit(settled: World) -> None:
    case_id = _case(settled, "unlinked_refund")
    settled.do(case_service.assign, case_id=case_id, to="olga", actor="lead")
    settled.do(case_service.comment, case_id=case_id, text="asked the provider",
               actor="olga")
    closed = settled.do(case_service.waive, case_id=case_id, reason="provider confirms a goodwill refund",
                        actor="olga")
    assert (closed.case.status, closed.case.owner) == ("waived", "olga")
    with settled.sessions() as session:
        actions = list(session.scalars(select(CaseEventRow.action).where(CaseEventRow.case_id == case_id)
                                       .order_by(CaseEventRow.id)))
        audit = list(session.scalars(select(AuditEventRow.action).where(
            AuditEventRow.subject == f"case:{case_id}").order_by(AuditEventRow.id)))
        waived = session.scalars(select(AuditEventRow).where(AuditEventRow.action == "case.waive")).one()
    assert actions == ["open", "assign", "comment", "waive"]
    assert audit == ["case.open", "case.assign", "case.comment", "case.waive"]
    assert waived.reason == "provider confirms a goodwill refund"


def test_resolving_twice_is_refused(settled: World) -> None:
    case_id = _case(settled, "unlinked_refund")
    settled.do(case_service.waive, case_id=case_id, reason="accepted", actor="olga")
    with pytest.raises(Refused, match="is waived"):
        settled.do(case_service.resolve, case_id=case_id, note="again", actor="olga")
    with pytest.raises(Refused, match="is waived"):
        settled.do(case_service.waive, case_id=case_id, reason="again", actor="olga")
    with pytest.raises(Refused):
        settled.do(case_service.assign, case_id=case_id, to="olga", actor="lead")


def test_waiving_without_a_reason_and_resolving_without_a_note_are_refused(settled: World) -> None:
    case_id = _case(settled, "unlinked_refund")
    with pytest.raises(BadInput, match="reason"):
        settled.do(case_service.waive, case_id=case_id, reason="  ", actor="olga")
    with pytest.raises(BadInput, match="note"):
        settled.do(case_service.resolve, case_id=case_id, note="", actor="olga")
    with pytest.raises(BadInput):
        settled.do(case_service.comment, case_id=case_id, text="", actor="olga")
    assert settled.statements()["P-GAMMA"][0] == "in_exception"


def test_assigning_to_an_unknown_user_is_refused(settled: World) -> None:
    case_id = _case(settled, "unlinked_refund")
    with pytest.raises(BadInput, match="no active user 'mallory'"):
        settled.do(case_service.assign, case_id=case_id, to="mallory", actor="lead")
    with pytest.raises(NotFound):
        settled.do(case_service.assign, case_id=9999, to="olga", actor="lead")


def test_held_statement_cannot_be_approved_until_its_case_closes(settled: World) -> None:
    with pytest.raises(Refused, match="P-GAMMA/gamma: held in exception"):
        settled.do(approve, period="2026-10", partner_id="P-GAMMA", actor="bob")
    settled.do(case_service.waive, case_id=_case(settled, "unlinked_refund"), reason="ok", actor="olga")
    settled.do(approve, period="2026-10", partner_id="P-GAMMA", actor="bob")
    assert settled.statements()["P-GAMMA"][0] == "approved"


def test_due_date_follows_the_kind_sla_setting(world: World) -> None:
    world.do(lambda s: s.add(SettingRow(key="sla_days.missing_fx_rate", value="7",
                                        updated_at=datetime.now(UTC), updated_by="admin")))
    world.do(settle, period="2026-10", partner_id=None, actor="alice")
    with world.sessions() as session:
        cases = {c.kind: c for c in session.scalars(select(CaseRow))}
        fx, refund = cases["missing_fx_rate"], cases["unlinked_refund"]
        assert fx.due_at is not None
        assert refund.due_at is not None
        assert (fx.due_at - fx.created_at).days == 7
        assert (refund.due_at - refund.created_at).days == case_service.DEFAULT_SLA_DAYS["unlinked_refund"]
        assert fx.severity == "high"
        assert fx.blocking


def test_a_dispute_holds_its_statement_until_resolved(settled: World) -> None:
    case = settled.do(case_service.open_dispute, partner_id="P-ACME", agreement_id="acme", period="2026-10",
                      text="our October invoice counts 1,200 not 1,000", actor="acme-user")
    assert case.kind == "dispute"
    assert settled.statements()["P-ACME"][0] == "in_exception"
    # settling again keeps it held: the case, not the data, holds it
    settled.do(settle, period="2026-10", partner_id="P-ACME", actor="alice")
    assert settled.statements()["P-ACME"][0] == "in_exception"
    closed = settled.do(case_service.resolve, case_id=case.id, note="explained: 200 are next month",
                        actor="olga")
    assert closed.rerun == ("P-ACME/2026-10",)
    assert settled.statements()["P-ACME"] == ("calculated", "100.00")
    with pytest.raises(NotFound):
        settled.do(case_service.open_dispute, partner_id="P-ACME", agreement_id="acme", period="2026-09",
                   text="x", actor="acme-user")


def test_list_and_filter(settled: World) -> None:
    with settled.sessions() as session:
        assert {c.kind for c in case_service.list_cases(session)} == {
            "missing_deal", "unlinked_refund", "missing_fx_rate"}
        assert [c.kind for c in case_service.list_cases(session, kind="missing_deal")] == ["missing_deal"]
        assert case_service.list_cases(session, status="resolved") == []
        with pytest.raises(BadInput):
            case_service.list_cases(session, status="closed")


def test_the_same_finding_twice_is_one_case_that_gains_links(settled: World) -> None:
    from tests.cases.world import row

    case_id = _case(settled, "missing_deal")
    settled.ingest("more.csv", [row("B-9", "C2", "50.00", day=9)])
    settled.do(settle, period="2026-10", partner_id=None, actor="alice")
    with settled.sessions() as session:
        assert session.scalars(select(CaseRow.id).where(CaseRow.kind == "missing_deal")).all() == [case_id]
        doc = case_service.case_document(session, case_id)
    assert [h["action"] for h in doc["history"]] == ["open", "link"]
    assert doc["history"][1]["details"]["after"] == ["line:tencent:B-9"]
    assert {(link["kind"], link["ref"]) for link in doc["links"]} == {
        ("customer", "tencent:C2"), ("line", "tencent:B-1"), ("line", "tencent:B-9"),
        ("statement", "P-BETA/beta/2026-10")}
