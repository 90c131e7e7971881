"""Statements: a period's list, one statement with drill-down and explanation, approve.

Reject, finalize and one line's explanation as a page of its own
(``/statements/{id}/lines/{line_id}``, linked from the drill-down) are in ``pages/runs.py``.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response

from cloudsettle.api.deps import app_state
from cloudsettle.core.money import format_money
from cloudsettle.core.settlement.model import COMPONENT_NAMES
from cloudsettle.services import guarded
from cloudsettle.services.access import Permission
from cloudsettle.services.errors import NotFound, ServiceError
from cloudsettle.web.common import ALL, error_page, posted, redirect, render, to_decimal, who_is
from cloudsettle.web.pages.runs import REFUSALS, statement_actions

router = APIRouter()
#: Line roles shown when drilling down from a component (others show every line).
COMPONENT_ROLES = {"commission": "commission", "clawback": "clawback"}
#: Lines shown on a statement page before "show all" (a month can hold thousands).
LINES_SHOWN = 200


@router.get("/periods/{period}/statements", response_class=HTMLResponse)
def statements(request: Request, period: str, note: str = "") -> Response:
    """The statements of one period (a partner user sees its own)."""
    try:
        who, data = who_is(request)
        with app_state(request).workspace.unit_of_work() as session:
            rows, _ = guarded.statements(session, who, ALL, period=period)
            items = [
                {
                    "id": s.id,
                    "partner": s.partner_id,
                    "agreement": s.agreement_id,
                    "status": s.status,
                    "currency": s.currency,
                    "commission": format_money(s.commission, s.currency),
                    "clawback": format_money(s.clawback, s.currency),
                    "payable": format_money(s.payable, s.currency),
                }
                for s in rows
            ]
    except ServiceError as exc:
        return error_page(request, exc)
    return render(request, "statements.html", who, data, period=period, items=items, note=note)


@router.get("/statements/{statement_id}", response_class=HTMLResponse)
def statement(
    request: Request,
    statement_id: int,
    component: str | None = None,
    line: str | None = None,
    note: str = "",
    all_lines: bool = False,
) -> Response:
    """A statement: components, lines (filtered by a component), one line's explanation."""
    try:
        who, data = who_is(request)
        with app_state(request).workspace.unit_of_work() as session:
            doc = guarded.statement(session, who, statement_id)
            actions = statement_actions(who, guarded.statement_row(session, who, statement_id))
            explanation = guarded.explain(session, who, statement_id, line)[1:] if line else None
    except ServiceError as exc:
        return error_page(request, exc)
    lines = doc["lines"]
    if component in COMPONENT_ROLES:
        lines = [ln for ln in lines if ln["role"] == COMPONENT_ROLES[component]]
    elif component == "tier_uplift":
        lines = [ln for ln in lines if to_decimal(ln["tier_uplift"]) != 0]
    total_lines = len(lines)
    if not all_lines:
        lines = lines[:LINES_SHOWN]
    components = [(name, doc["components"][name]) for name in COMPONENT_NAMES]
    return render(
        request,
        "statement.html",
        who,
        data,
        id=statement_id,
        doc=doc,
        components=components,
        component=component,
        lines=lines,
        total_lines=total_lines,
        line=line,
        explanation=explanation,
        note=note,
        can_approve=who.can(Permission.APPROVE),
        api=f"/api/v1/statements/{statement_id}/file",
        actions=actions,
        refusals=("approval refused", *REFUSALS),
    )


@router.post("/statements/{statement_id}/approve", response_class=HTMLResponse)
def approve(request: Request, statement_id: int, csrf_token: Annotated[str, Form()] = "") -> Response:
    """Approve this statement's partner and period (four eyes: refused for the preparer)."""
    state = app_state(request)
    try:
        who, _ = posted(request, csrf_token)
        with state.workspace.unit_of_work() as session:
            row = guarded.statement_row(session, who, statement_id)
            period, partner = row.period, row.partner_id
    except ServiceError as exc:
        return error_page(request, exc)
    try:
        with state.workspace.unit_of_work() as session:
            changed = guarded.approve(session, who, period=period, partner_id=partner)
            new_id = changed[0].id if changed else statement_id
        note = f"Approved {partner} {period}."
    except NotFound as exc:
        return error_page(request, exc)
    except ServiceError as exc:
        text = str(exc)
        note = text if text.lower().startswith("approval refused") else f"approval refused: {text}"
        new_id = statement_id
    return redirect(f"/statements/{new_id}", note)
