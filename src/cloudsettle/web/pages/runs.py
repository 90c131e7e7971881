"""Runs and statements: settle a period, the runs list, reject and finalize a statement, explain a line.

Approving is on the statement page (``pages/statements.py``); reject and finalize
sit next to it (``statement_actions.html``), shown to callers holding the
permission and only while the statement's status allows. The services' rules
decide (four eyes, a reason to reject, approved before finalized, nothing
changes once finalized); a refusal comes back as a note on the page, like a
refused approval. A caller without the permission gets the 403 page.

A line's explanation is a page of its own (``/statements/{id}/lines/{line_id}``): source file
and row (linked to its batch), rule, agreement version, rate, FX rate, with links back to the
statement and the component's drill-down.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response

from cloudsettle.api.deps import app_state
from cloudsettle.db.models import StatementRow
from cloudsettle.services import guarded
from cloudsettle.services.access import Forbidden, Permission, Principal, Unauthenticated
from cloudsettle.services.errors import NotFound, ServiceError
from cloudsettle.services.settlement_service import FINALIZED
from cloudsettle.web.common import ALL, error_page, posted, redirect, render, who_is

router = APIRouter()
#: Runs listed on the runs page.
RECENT = guarded.Page(0, 100)
#: Prefixes of the notes that report a refusal (shown as alerts on the statement page).
REFUSALS = ("reject refused", "finalize refused")
#: Line roles that are a component of their own (the explain page links back to that drill-down).
LINE_COMPONENTS = ("commission", "clawback")


def statement_actions(who: Principal, row: StatementRow) -> dict[str, Any]:
    """What ``statement_actions.html`` shows for this caller and statement."""
    open_ = row.status not in FINALIZED
    return {
        "can_reject": who.can(Permission.APPROVE) and open_,
        "can_finalize": who.can(Permission.FINALIZE) and row.status == "approved",
        # A rejection is a note between finance and the preparer, not shown to the partner.
        "rejected_by": None if who.is_partner_only else row.rejected_by,
        "rejection_reason": row.rejection_reason,
        "rejected_at": row.rejected_at.strftime("%Y-%m-%d %H:%M") if row.rejected_at else None,
    }


def _summary(text: str | None) -> dict[str, Any]:
    """A run's stored summary (statements and findings made)."""
    try:
        data = json.loads(text) if text else {}
    except ValueError:
        data = {}
    return data if isinstance(data, dict) else {}


@router.get("/runs", response_class=HTMLResponse)
def runs_page(request: Request, note: str = "", period: str | None = None) -> Response:
    """The settle form and the settlement runs, newest first."""
    try:
        who, data = who_is(request)
        with app_state(request).workspace.unit_of_work() as session:
            rows, total = guarded.runs(session, who, RECENT, period or None)
            runs = [
                {
                    "id": r.id,
                    "period": r.period,
                    "partner": r.partner_id,
                    "when": r.started_at.strftime("%Y-%m-%d %H:%M"),
                    "who": r.started_by,
                    "status": r.status,
                    "statements": _summary(r.summary).get("statements"),
                    "findings": _summary(r.summary).get("findings"),
                }
                for r in rows
            ]
            partners: list[str] = []
            if who.can(Permission.CONFIG_READ):
                partners = [p.id for p in guarded.partners(session, who, ALL)[0]]
    except ServiceError as exc:
        return error_page(request, exc)
    return render(
        request,
        "runs.html",
        who,
        data,
        runs=runs,
        total=total,
        partners=partners,
        note=note,
        period=period or "",
        can_settle=who.can(Permission.SETTLE),
    )


@router.post("/runs/settle", response_class=HTMLResponse)
def settle(
    request: Request,
    csrf_token: Annotated[str, Form()] = "",
    period: Annotated[str, Form(max_length=20)] = "",
    partner_id: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    """Settle a period (or one partner's part of it); then the period's statements, with a note."""
    state = app_state(request)
    period, partner = period.strip(), partner_id.strip() or None
    try:
        who, _ = posted(request, csrf_token)
        with state.workspace.unit_of_work() as session:
            summary = guarded.settle(session, who, period=period, partner_id=partner)
            note = (
                f"Settled {period}{' for ' + partner if partner else ''} (run {summary.run_id}): "
                f"{len(summary.statements)} statements, {len(summary.findings)} findings."
            )
            if summary.skipped_finalized:
                note += f" Finalized, left as they are: {', '.join(summary.skipped_finalized)}."
    except (Forbidden, Unauthenticated) as exc:
        return error_page(request, exc)
    except ServiceError as exc:
        return redirect("/runs", f"Settle refused: {exc}")
    return redirect(f"/periods/{period}/statements", note)


def _statement_key(request: Request, who: Principal, statement_id: int) -> tuple[str, str, str]:
    """The period, partner and agreement of a statement the caller may see."""
    with app_state(request).workspace.unit_of_work() as session:
        row = guarded.statement_row(session, who, statement_id)
        return row.period, row.partner_id, row.agreement_id


@router.post("/statements/{statement_id}/reject", response_class=HTMLResponse)
def reject(
    request: Request,
    statement_id: int,
    csrf_token: Annotated[str, Form()] = "",
    reason: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    """Send a statement back to its preparer with a reason (refused once finalized)."""
    try:
        who, _ = posted(request, csrf_token)
        period, partner, agreement = _statement_key(request, who, statement_id)
    except ServiceError as exc:
        return error_page(request, exc)
    try:
        with app_state(request).workspace.unit_of_work() as session:
            guarded.reject(
                session, who, period=period, partner_id=partner, agreement_id=agreement, reason=reason.strip()
            )
        note = f"Rejected {partner} {period}: {reason.strip()}"
    except (Forbidden, Unauthenticated, NotFound) as exc:
        return error_page(request, exc)
    except ServiceError as exc:
        note = f"reject refused: {exc}"
    return redirect(f"/statements/{statement_id}", note)


@router.post("/statements/{statement_id}/finalize", response_class=HTMLResponse)
def finalize(request: Request, statement_id: int, csrf_token: Annotated[str, Form()] = "") -> Response:
    """Finalize the approved statements of this statement's partner and period: ledger, ``settled``."""
    try:
        who, _ = posted(request, csrf_token)
        period, partner, _agreement = _statement_key(request, who, statement_id)
    except ServiceError as exc:
        return error_page(request, exc)
    try:
        with app_state(request).workspace.unit_of_work() as session:
            done = guarded.finalize(session, who, period=period, partner_id=partner)
            count = len(done)
        note = f"Finalized {partner} {period}: {count} statement{'s' if count != 1 else ''}."
    except (Forbidden, Unauthenticated) as exc:
        return error_page(request, exc)
    except ServiceError as exc:
        note = f"finalize refused: {exc}"
    return redirect(f"/statements/{statement_id}", note)


@router.get("/statements/{statement_id}/lines/{line_id:path}", response_class=HTMLResponse)
def line_page(request: Request, statement_id: int, line_id: str) -> Response:
    """One line explained as a page: source file and row, rule, version, rate, FX, amount."""
    try:
        who, data = who_is(request)
        with app_state(request).workspace.unit_of_work() as session:
            found = guarded.explain_line(session, who, statement_id, line_id)
            source = found["source"]
            rev = source.revision if source else None
            origin = None
            if rev is not None:
                origin = {
                    "batch": source.batch.id if source.batch else rev.batch_id,
                    "file": source.batch.file_name if source.batch else None,
                    "sha256": source.batch.sha256 if source.batch else None,
                    "row": rev.source_row,
                    "account": f"{rev.provider}:{rev.account_id}",
                    "service": f"{rev.service} ({rev.service_category})",
                    "charge": f"{rev.charge_start.isoformat()} to {rev.charge_end.isoformat()}",
                    "month": rev.billing_period.isoformat()[:7],
                    "mode": f"{rev.charge_category}, {rev.billing_mode}",
                    "amounts": [
                        ("list", rev.list_amount),
                        ("discount", rev.discount_amount),
                        ("voucher", rev.voucher_amount),
                        ("tax", rev.tax_amount),
                    ],
                    "currency": rev.currency,
                }
    except ServiceError as exc:
        return error_page(request, exc)
    doc, line = found["doc"], found["line"]
    return render(
        request,
        "statement_line.html",
        who,
        data,
        id=statement_id,
        doc=doc,
        ln=line,
        origin=origin,
        text=found["text"],
        component=line["role"] if line["role"] in LINE_COMPONENTS else None,
        can_see_batch=who.can(Permission.DATA_READ),
        can_see_agreement=who.can(Permission.CONFIG_READ),
    )
