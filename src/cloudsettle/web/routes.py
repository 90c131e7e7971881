"""Pages of the web UI: login, dashboard, statements, a statement with drill-down, approve.

Every page resolves the caller from the API's signed session cookie and reads
through :mod:`cloudsettle.services.guarded`; form posts carry the session's
CSRF token in a hidden field (checked with the API's :func:`check_csrf`).
Service errors become HTML pages (login redirect, 404, a refusal message),
never the API's JSON.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.routing import Mount

from cloudsettle.api.deps import AppState, app_state
from cloudsettle.api.security import (
    CSRF_COOKIE,
    SESSION_COOKIE,
    SessionData,
    check_csrf,
    password_fingerprint,
)
from cloudsettle.core.money import format_money
from cloudsettle.core.settlement.model import COMPONENT_NAMES
from cloudsettle.services import guarded, users
from cloudsettle.services.access import Forbidden, Permission, Principal, Unauthenticated
from cloudsettle.services.errors import NotFound, ServiceError

HERE = Path(__file__).parent
PREFIX = "/ui"
templates = Jinja2Templates(directory=str(HERE / "templates"))
router = APIRouter(prefix=PREFIX, include_in_schema=False)
router.routes.append(
    Mount(f"{PREFIX}/static", app=StaticFiles(directory=str(HERE / "static")), name="ui-static")
)
#: Line roles shown when drilling down from a component (others show every line).
COMPONENT_ROLES = {"commission": "commission", "clawback": "clawback"}
ALL = guarded.Page(0, 500)
#: Lines shown on a statement page before "show all" (a month can hold thousands).
LINES_SHOWN = 200


def _who(request: Request, state: AppState) -> tuple[Principal, SessionData]:
    """The caller from the session cookie (the API's rules: signature, live user, same password)."""
    cookie = request.cookies.get(SESSION_COOKIE)
    if not cookie:
        raise Unauthenticated("log in")
    data = state.signer.read(cookie)
    with state.workspace.unit_of_work() as session:
        row = users.active_user(session, data.user_id)
        if password_fingerprint(row.password_hash) != data.pw:
            raise Unauthenticated("the password changed since this session began; log in again")
        return users.principal_of(row), data


def _page(
    request: Request, name: str, who: Principal | None, data: SessionData | None, **ctx: Any
) -> Response:
    """Render a template with the caller, its CSRF token and the UI prefix."""
    status = int(ctx.pop("status_code", 200))
    ctx.update(who=who, csrf=data.csrf if data else "", prefix=PREFIX)
    response = templates.TemplateResponse(request, name, ctx, status_code=status)
    response.headers["cache-control"] = "no-store"  # statements are confidential: never cached
    return response


def _error_page(request: Request, exc: ServiceError) -> Response:
    """A service error as a page: log in again, not found, or not allowed."""
    if isinstance(exc, Unauthenticated):
        return RedirectResponse(f"{PREFIX}/login?next={quote(request.url.path)}", status_code=303)
    status = 404 if isinstance(exc, NotFound) else 403 if isinstance(exc, Forbidden) else 409
    return _page(request, "error.html", None, None, status_code=status, message=str(exc), status=status)


def _decimal(text: str) -> Decimal:
    """A formatted money string (``1,234.50``) back to an exact decimal for totals."""
    return Decimal(text.replace(",", ""))


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, next: str = f"{PREFIX}/") -> Response:
    """The login form."""
    return _page(request, "login.html", None, None, next=_safe_next(next), error=None)


def _safe_next(target: str) -> str:
    """Only redirect inside the UI (no open redirect)."""
    return target if target.startswith(f"{PREFIX}/") and not target.startswith("//") else f"{PREFIX}/"


@router.post("/login", response_class=HTMLResponse)
def login(
    request: Request,
    name: Annotated[str, Form(max_length=64)],
    password: Annotated[str, Form(max_length=1024)],
    next: Annotated[str, Form(max_length=500)] = f"{PREFIX}/",
) -> Response:
    """Start a session: the same signed cookie and CSRF cookie as ``POST /api/v1/auth/login``."""
    state = app_state(request)
    settings = state.settings
    remote = request.client.host if request.client else None
    failure: ServiceError | None = None
    with state.workspace.unit_of_work() as session:
        try:
            row = users.authenticate(
                session,
                name=name,
                password=password,
                remote=remote,
                max_failures=settings.login_max_failures,
                window=timedelta(minutes=settings.login_window_minutes),
            )
            user_id, password_hash = row.id, row.password_hash
        except (Unauthenticated, users.Throttled) as exc:
            failure = exc
    if failure is not None:
        status = 429 if isinstance(failure, users.Throttled) else 401
        return _page(
            request, "login.html", None, None, next=_safe_next(next), error=str(failure), status_code=status
        )
    cookie, data = state.signer.issue(user_id, password_hash)
    response = RedirectResponse(_safe_next(next), status_code=303)
    max_age = settings.session_hours * 3600
    secure = settings.secure_cookies
    response.set_cookie(
        SESSION_COOKIE, cookie, max_age=max_age, httponly=True, secure=secure, samesite="strict", path="/"
    )
    response.set_cookie(
        CSRF_COOKIE, data.csrf, max_age=max_age, httponly=False, secure=secure, samesite="strict", path="/"
    )
    return response


@router.post("/logout")
def logout(request: Request, csrf_token: Annotated[str, Form()] = "") -> Response:
    """End the session (CSRF-checked like every form post)."""
    try:
        _, data = _who(request, app_state(request))
        check_csrf("POST", data, csrf_token)
    except ServiceError as exc:
        return _error_page(request, exc)
    response = RedirectResponse(f"{PREFIX}/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    response.delete_cookie(CSRF_COOKIE, path="/")
    return response


@router.get("/", response_class=HTMLResponse)
def dashboard(request: Request) -> Response:
    """Per period and partner: statement status counts and payable totals; open findings."""
    state = app_state(request)
    try:
        who, data = _who(request, state)
        with state.workspace.unit_of_work() as session:
            rows, _ = guarded.statements(session, who, ALL)
            open_findings: int | None = None
            if who.can(Permission.DATA_READ):
                _, open_findings = guarded.findings(session, who, guarded.Page(0, 1), status="open")
            groups: dict[tuple[str, str, str], dict[str, Any]] = {}
            for s in rows:
                key = (s.period, s.partner_id, s.currency)
                g = groups.setdefault(key, {"statuses": defaultdict(int), "payable": Decimal(0), "count": 0})
                g["statuses"][s.status] += 1
                g["payable"] += s.payable
                g["count"] += 1
            summary = [
                {
                    "period": period,
                    "partner": partner,
                    "count": g["count"],
                    "statuses": dict(sorted(g["statuses"].items())),
                    "payable": format_money(g["payable"], cur),
                    "currency": cur,
                }
                for (period, partner, cur), g in sorted(groups.items(), key=lambda kv: (kv[0][0], kv[0][1]))
            ]
            summary.sort(key=lambda r: r["period"], reverse=True)
            periods = sorted({r["period"] for r in summary}, reverse=True)
    except ServiceError as exc:
        return _error_page(request, exc)
    return _page(
        request, "dashboard.html", who, data, summary=summary, periods=periods, open_findings=open_findings
    )


@router.get("/periods/{period}/statements", response_class=HTMLResponse)
def statements(request: Request, period: str) -> Response:
    """The statements of one period (a partner user sees its own)."""
    state = app_state(request)
    try:
        who, data = _who(request, state)
        with state.workspace.unit_of_work() as session:
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
        return _error_page(request, exc)
    return _page(request, "statements.html", who, data, period=period, items=items)


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
    state = app_state(request)
    try:
        who, data = _who(request, state)
        with state.workspace.unit_of_work() as session:
            doc = guarded.statement(session, who, statement_id)
            explanation = guarded.explain(session, who, statement_id, line)[1:] if line else None
    except ServiceError as exc:
        return _error_page(request, exc)
    lines = doc["lines"]
    if component in COMPONENT_ROLES:
        lines = [ln for ln in lines if ln["role"] == COMPONENT_ROLES[component]]
    elif component == "tier_uplift":
        lines = [ln for ln in lines if _decimal(ln["tier_uplift"]) != 0]
    total_lines = len(lines)
    if not all_lines:
        lines = lines[:LINES_SHOWN]
    components = [(name, doc["components"][name]) for name in COMPONENT_NAMES]
    return _page(
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
    )


@router.post("/statements/{statement_id}/approve", response_class=HTMLResponse)
def approve(request: Request, statement_id: int, csrf_token: Annotated[str, Form()] = "") -> Response:
    """Approve this statement's partner and period (four eyes: refused for the preparer)."""
    state = app_state(request)
    try:
        who, data = _who(request, state)
        check_csrf("POST", data, csrf_token)
        with state.workspace.unit_of_work() as session:
            row = guarded.statement_row(session, who, statement_id)
            period, partner = row.period, row.partner_id
    except ServiceError as exc:
        return _error_page(request, exc)
    try:
        with state.workspace.unit_of_work() as session:
            changed = guarded.approve(session, who, period=period, partner_id=partner)
            new_id = changed[0].id if changed else statement_id
        note = f"Approved {partner} {period}."
    except NotFound as exc:
        return _error_page(request, exc)
    except ServiceError as exc:
        text = str(exc)
        note = text if text.lower().startswith("approval refused") else f"approval refused: {text}"
        new_id = statement_id
    return RedirectResponse(f"{PREFIX}/statements/{new_id}?note={quote(note)}", status_code=303)
