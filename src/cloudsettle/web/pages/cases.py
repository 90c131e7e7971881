"""Exceptions: the case queue, one case with its forms, evidence downloads, and disputes.

The queue filters with a GET form (status, kind, assignee, partner, overdue); a
case page shows its timeline, comments, evidence and the statements it holds,
with the forms the caller may use (assign, resolve and waive for case workers;
comment and attach evidence also for a partner on its own dispute). A partner
opens a dispute from its statement page (``statement_dispute.html``); the
service scopes every read, so another partner's case answers 404.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response

from cloudsettle.api.deps import app_state
from cloudsettle.core.money import EXACT, D, format_money, quantum
from cloudsettle.services import guarded
from cloudsettle.services.access import Forbidden, Permission
from cloudsettle.services.audit import now
from cloudsettle.services.case_queue import UNASSIGNED, QueueFilter, is_overdue
from cloudsettle.services.case_service import POLICY, STATUSES
from cloudsettle.services.errors import BadInput, NotFound, ServiceError
from cloudsettle.web.common import PREFIX, error_page, posted, redirect, render, who_is

router = APIRouter()
#: Prefix of a note that reports a refusal (shown as an alert, not a confirmation).
REFUSED = "refused: "
#: Integer digits a disputed amount may have (far above any statement, far below NUMERIC's limit).
MAX_DIGITS = 15


def _age(created: datetime, at: datetime) -> str:
    """How long a case has been open, for people: ``3d 4h``, ``5h``, ``12m``."""
    seconds = max(0, int((at - created).total_seconds()))
    days, rest = divmod(seconds, 86400)
    if days:
        return f"{days}d {rest // 3600}h"
    return f"{rest // 3600}h" if rest >= 3600 else f"{rest // 60}m"


def summarize(action: str, details: dict[str, Any]) -> str:
    """One line for a timeline entry: the status change, the owner, the file, the words."""
    before, after = details.get("before"), details.get("after")
    parts = []
    was = before.get("status") if isinstance(before, dict) else None
    now_is = after.get("status") if isinstance(after, dict) else None
    if was and now_is and was != now_is:
        parts.append(f"{was} → {now_is}")
    if isinstance(after, dict):
        if action == "open":
            parts.append(f"opened ({after.get('severity')}), due {str(after.get('due_at', ''))[:16]}")
        if action == "assign":
            parts.append(f"owner {after.get('owner')}")
        if action == "attach":
            parts.append(f"file {after.get('file')} ({after.get('size_bytes')} bytes)")
    if action == "link" and isinstance(after, list):
        parts.append("linked " + ", ".join(str(a) for a in after))
    for key in ("text", "note", "reason", "why"):
        if details.get(key):
            parts.append(f"“{details[key]}”")
    return "; ".join(parts)


def _row(case: Any, at: datetime) -> dict[str, Any]:
    return {
        "id": case.id,
        "kind": case.kind,
        "severity": case.severity,
        "status": case.status,
        "title": case.title,
        "owner": case.owner,
        "partner": case.partner_id,
        "period": case.period,
        "age": _age(case.created_at, at),
        "age_seconds": int((at - case.created_at).total_seconds()),
        "due": case.due_at.strftime("%Y-%m-%d %H:%M") if case.due_at else None,
        "due_sort": case.due_at.isoformat() if case.due_at else "",
        "overdue": is_overdue(case, at),
    }


@router.get("/cases", response_class=HTMLResponse)
def cases(
    request: Request,
    status: str = "",
    kind: str = "",
    owner: str = "",
    partner: str = "",
    overdue: bool = False,
) -> Response:
    """The queue: the caller's visible cases, filtered, with counts per status."""
    at = now()
    wanted = QueueFilter(status or None, kind or None, owner or None, partner or None, overdue)
    try:
        who, data = who_is(request)
        with app_state(request).workspace.unit_of_work() as session:
            queue = guarded.filtered_cases(session, who, wanted, at=at)
            rows = [_row(c, at) for c in queue.rows]
    except ServiceError as exc:
        return error_page(request, exc)
    return render(
        request,
        "cases.html",
        who,
        data,
        rows=rows,
        counts=queue.counts,
        partners=queue.partners,
        owners=queue.owners,
        kinds=sorted(POLICY),
        statuses=STATUSES,
        unassigned=UNASSIGNED,
        wanted=wanted,
        overdue_count=sum(1 for r in rows if r["overdue"]),
    )


@router.get("/cases/{case_id}", response_class=HTMLResponse)
def case(request: Request, case_id: int, note: str = "") -> Response:
    """One case: fields, holds, timeline, comments, evidence, and the caller's forms."""
    at = now()
    try:
        who, data = who_is(request)
        with app_state(request).workspace.unit_of_work() as session:
            doc = guarded.case_view(session, who, case_id)
            workers = guarded.case_workers(session, who) if who.can(Permission.CASE_WORK) else []
    except ServiceError as exc:
        return error_page(request, exc)
    due = datetime.fromisoformat(doc["due_at"]) if doc["due_at"] else None
    active = doc["status"] in ("open", "assigned")
    may_work = who.can(Permission.CASE_WORK)
    return render(
        request,
        "case.html",
        who,
        data,
        c=doc,
        note=note,
        refused=note.startswith(REFUSED),
        overdue=active and due is not None and due < at,
        age=_age(datetime.fromisoformat(doc["created_at"]), at),
        active=active,
        may_work=may_work,
        may_discuss=may_work or who.can(Permission.DISPUTE),
        workers=workers,
        can_config=who.can(Permission.CONFIG_READ),
        can_data=who.can(Permission.DATA_READ),
        history=[{**ev, "summary": summarize(ev["action"], ev["details"])} for ev in doc["history"]],
    )


def _back(case_id: int, done: str, exc: ServiceError | None = None) -> Response:
    """Back to the case page with a confirmation or the refusal's reason."""
    return redirect(f"/cases/{case_id}", done if exc is None else f"{REFUSED}{exc}")


def _post(request: Request, case_id: int, csrf_token: str, action: Any, done: str) -> Response:
    """Run one case action for the caller of a form post (CSRF checked): a refusal the
    caller can fix (bad input, a closed case) returns to the case with its reason."""
    try:
        who, _ = posted(request, csrf_token)
    except ServiceError as exc:
        return error_page(request, exc)
    try:
        with app_state(request).workspace.unit_of_work() as session:
            action(session, who)
    except (NotFound, Forbidden) as exc:
        return error_page(request, exc)
    except ServiceError as exc:
        return _back(case_id, done, exc)
    return _back(case_id, done)


@router.post("/cases/{case_id}/assign", response_class=HTMLResponse)
def assign(
    request: Request,
    case_id: int,
    to: Annotated[str, Form(max_length=64)] = "",
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    """Give the case an owner."""
    return _post(
        request,
        case_id,
        csrf_token,
        lambda s, who: guarded.assign_case(s, who, case_id=case_id, to=to),
        f"Assigned to {to}.",
    )


@router.post("/cases/{case_id}/comment", response_class=HTMLResponse)
def comment(
    request: Request,
    case_id: int,
    text: Annotated[str, Form(max_length=5000)] = "",
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    """Add a comment."""
    return _post(
        request,
        case_id,
        csrf_token,
        lambda s, who: guarded.comment_case(s, who, case_id=case_id, text=text),
        "Comment added.",
    )


@router.post("/cases/{case_id}/resolve", response_class=HTMLResponse)
def resolve(
    request: Request,
    case_id: int,
    note: Annotated[str, Form(max_length=5000)] = "",
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    """Resolve with a note; what the case held is settled again."""
    return _post(
        request,
        case_id,
        csrf_token,
        lambda s, who: guarded.close_case(s, who, case_id=case_id, waive=False, text=note),
        "Resolved; the statements it held were settled again.",
    )


@router.post("/cases/{case_id}/waive", response_class=HTMLResponse)
def waive(
    request: Request,
    case_id: int,
    reason: Annotated[str, Form(max_length=5000)] = "",
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    """Accept the finding as it is, with a reason."""
    return _post(
        request,
        case_id,
        csrf_token,
        lambda s, who: guarded.close_case(s, who, case_id=case_id, waive=True, text=reason),
        "Waived; the statements it held were settled again.",
    )


@router.post("/cases/{case_id}/evidence", response_class=HTMLResponse)
async def attach(
    request: Request,
    case_id: int,
    file: Annotated[UploadFile, File()],
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    """Attach an evidence file (multipart; the case service checks its size, type and name)."""
    from starlette.concurrency import run_in_threadpool

    body = await file.read()
    declared = file.content_type if file.content_type not in (None, "application/octet-stream") else None
    name = file.filename or ""
    raw_store = app_state(request).workspace.raw_store

    def work() -> Response:
        return _post(
            request,
            case_id,
            csrf_token,
            lambda s, who: guarded.attach_evidence(
                s, who, case_id=case_id, file_name=name, data=body, content_type=declared, raw_store=raw_store
            ),
            f"Attached {name}.",
        )

    return await run_in_threadpool(work)


@router.get("/cases/{case_id}/evidence/{sha256}")
def evidence(request: Request, case_id: int, sha256: str) -> Response:
    """Download an evidence file (always as an attachment, never rendered in the page)."""
    state = app_state(request)
    try:
        who, _ = who_is(request)
        with state.workspace.unit_of_work() as session:
            row = guarded.case_evidence(session, who, case_id=case_id, sha256=sha256)
            name, kind, digest = row.file_name, row.content_type, row.sha256
        path = state.workspace.raw_store.path_of(digest)
    except ServiceError as exc:
        return error_page(request, exc)
    except (KeyError, ValueError):
        return error_page(request, NotFound(f"no evidence {sha256} on case {case_id}"))
    return FileResponse(
        path,
        media_type=kind,
        filename=name,
        headers={"cache-control": "no-store"},
        content_disposition_type="attachment",
    )


def dispute_text(reason: str, amount: str, currency: str) -> str:
    """The dispute's description: the reason, then the disputed amount if one is given.

    The amount must be an exact positive decimal with at most the currency's decimals
    (``12.345`` CNY is refused, never rounded)."""
    reason = reason.strip()
    if not reason:
        raise BadInput("a dispute needs a reason")
    if not amount.strip():
        return reason
    try:
        value = D(amount.replace(",", ""))
    except ValueError as exc:
        raise BadInput(f"disputed amount {amount!r} is not a number") from exc
    if value <= 0:
        raise BadInput("a disputed amount must be above zero")
    if value.adjusted() >= MAX_DIGITS:
        raise BadInput(f"disputed amount {amount} is too large")
    if value.quantize(quantum(currency), context=EXACT) != value:
        raise BadInput(f"disputed amount {amount} has more decimals than {currency} allows")
    return f"{reason}\n\nDisputed amount: {format_money(value, currency)} {currency}"


@router.post("/statements/{statement_id}/dispute", response_class=HTMLResponse)
def dispute(
    request: Request,
    statement_id: int,
    reason: Annotated[str, Form(max_length=4000)] = "",
    amount: Annotated[str, Form(max_length=40)] = "",
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    """Open a dispute on a statement (a partner: only its own), then show its case."""
    state = app_state(request)
    try:
        who, _ = posted(request, csrf_token)
        with state.workspace.unit_of_work() as session:
            row = guarded.statement_row(session, who, statement_id)
            partner, agreement, period, currency = row.partner_id, row.agreement_id, row.period, row.currency
    except ServiceError as exc:
        return error_page(request, exc)
    try:
        text = dispute_text(reason, amount, currency)
        with state.workspace.unit_of_work() as session:
            opened = guarded.open_dispute(
                session, who, partner_id=partner, agreement_id=agreement, period=period, text=text
            )
            case_id = opened.id
    except (NotFound, Forbidden) as exc:
        return error_page(request, exc)
    except ServiceError as exc:
        return RedirectResponse(
            f"{PREFIX}/statements/{statement_id}?dispute_error={quote(str(exc))}#dispute", status_code=303
        )
    return redirect(f"/cases/{case_id}", "Dispute opened; the statement is held until the case is closed.")
