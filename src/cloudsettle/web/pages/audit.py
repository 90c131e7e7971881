"""The audit log viewer: events newest first, filtered and paged, and whether the hash chain holds.

Every page load recomputes the chain (``guarded.audit_verify``) and says so in a
banner: green when every event still matches its hash and follows the one
before, red naming the first event that was altered, removed or reordered.
Auditors and admins only (``audit.read``).
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from cloudsettle.api.deps import app_state
from cloudsettle.db.models import AuditEventRow
from cloudsettle.services import guarded
from cloudsettle.services.audit import VerifyResult
from cloudsettle.services.errors import BadInput, ServiceError
from cloudsettle.web.common import error_page, render, who_is

router = APIRouter()
#: Events per page.
PAGE_SIZE = 50


def chain_banner(result: VerifyResult) -> dict[str, Any]:
    """What the banner says about the chain: ``ok``, a sentence, and the event to look at."""
    if result.problem is None:
        head = result.head[:16] if result.head else "-"
        return {
            "ok": True,
            "text": f"Audit chain verified: {result.checked} events, each matches its hash and follows "
            f"the one before (head {head}…).",
            "event": None,
        }
    return {
        "ok": False,
        "text": f"Audit chain BROKEN: {result.problem.message}. Checked {result.checked} events.",
        "event": result.problem.id,
    }


def _day(text: str, name: str) -> date | None:
    """A ``YYYY-MM-DD`` filter value (empty: no bound)."""
    if not text.strip():
        return None
    try:
        return date.fromisoformat(text.strip())
    except ValueError as exc:
        raise BadInput(f"{name} {text!r} is not a date (YYYY-MM-DD)") from exc


def _json(text: str | None) -> str | None:
    """A stored JSON value re-indented for reading (as stored if it is not JSON)."""
    if text is None or text in ("", "{}", "null"):
        return None
    try:
        return json.dumps(json.loads(text), indent=1, sort_keys=True, ensure_ascii=False)
    except ValueError:
        return text


def _event(row: AuditEventRow) -> dict[str, Any]:
    return {
        "id": row.id,
        "at": row.at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S"),
        "actor": row.actor,
        "action": row.action,
        "subject": row.subject,
        "reason": row.reason,
        "details": _json(row.details),
        "before": _json(row.before_value),
        "after": _json(row.after_value),
        "hash": row.entry_hash,
        "prev": row.prev_hash,
    }


@router.get("/audit", response_class=HTMLResponse)
def audit(
    request: Request,
    actor: str = "",
    action: str = "",
    subject: str = "",
    since: str = "",
    until: str = "",
    page: int = 0,
) -> Response:
    """Audit events, newest first, filtered by actor, action (``case.*`` for a family), subject
    prefix and days (``until`` inclusive), with the chain's verification."""
    filters = {"actor": actor, "action": action, "subject": subject, "since": since, "until": until}
    try:
        who, data = who_is(request)
        first, last = _day(since, "from"), _day(until, "to")
        with app_state(request).workspace.unit_of_work() as session:
            verdict = guarded.audit_verify(session, who)
            rows, total = guarded.audit_events(
                session,
                who,
                subject=subject.strip() or None,
                actor=actor.strip() or None,
                action=action.strip() or None,
                since=datetime.combine(first, datetime.min.time(), UTC) if first else None,
                until=datetime.combine(last + timedelta(days=1), datetime.min.time(), UTC) if last else None,
                page=guarded.Page(max(page, 0) * PAGE_SIZE, PAGE_SIZE),
                newest_first=True,
            )
            events = [_event(r) for r in rows]
    except ServiceError as exc:
        return error_page(request, exc)
    pages = max(1, -(-total // PAGE_SIZE))
    page = min(max(page, 0), pages - 1)
    kept = {k: v for k, v in filters.items() if v}

    def link(n: int) -> str:
        return "?" + urlencode({**kept, "page": n})

    return render(
        request,
        "audit.html",
        who,
        data,
        banner=chain_banner(verdict),
        events=events,
        total=total,
        page=page,
        pages=pages,
        newer=link(page - 1) if page > 0 else None,
        older=link(page + 1) if page + 1 < pages else None,
        f=filters,
    )
