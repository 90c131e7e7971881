"""What every page of the web UI shares: templates, the caller, rendering, errors, form posts.

Every page resolves the caller from the API's signed session cookie and reads
through :mod:`cloudsettle.services.guarded`; form posts carry the session's
CSRF token in a hidden field (checked with the API's :func:`check_csrf`).
Service errors become HTML pages (login redirect, 404, a refusal message),
never the API's JSON.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import Request
from fastapi.responses import RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from cloudsettle.api.deps import AppState, app_state, session_principal
from cloudsettle.api.security import SessionData, check_csrf
from cloudsettle.services import guarded
from cloudsettle.services.access import Forbidden, Permission, Principal, Unauthenticated
from cloudsettle.services.errors import NotFound, ServiceError

HERE = Path(__file__).parent
PREFIX = "/ui"
templates = Jinja2Templates(directory=str(HERE / "templates"))
#: Enough rows for any list page that filters in the browser.
ALL = guarded.Page(0, 500)


@dataclass(frozen=True)
class NavItem:
    """One entry of the main navigation, shown to callers holding ``permission``."""

    label: str
    path: str
    permission: Permission


#: The main navigation, in order. A page module that adds a section adds its entry here.
NAV: tuple[NavItem, ...] = (
    NavItem("Dashboard", "/", Permission.STATEMENT_READ),
    NavItem("Ingest", "/ingest", Permission.DATA_READ),
    NavItem("Runs", "/runs", Permission.DATA_READ),
    NavItem("Exceptions", "/cases", Permission.CASE_READ),
    NavItem("Agreements", "/agreements", Permission.CONFIG_READ),
    NavItem("Partners", "/partners", Permission.CONFIG_READ),
    NavItem("Audit log", "/audit", Permission.AUDIT_READ),
)


def who_is(request: Request, state: AppState | None = None) -> tuple[Principal, SessionData]:
    """The caller from the session cookie (the API's rules: signature, live user, same password)."""
    return session_principal(request, state or app_state(request), missing="log in")


def posted(request: Request, csrf_token: str) -> tuple[Principal, SessionData]:
    """The caller of a form post, after its CSRF token is checked."""
    who, data = who_is(request)
    check_csrf("POST", data, csrf_token)
    return who, data


def render(
    request: Request, name: str, who: Principal | None, data: SessionData | None, **ctx: Any
) -> Response:
    """Render a template with the caller, its CSRF token, the navigation and the UI prefix."""
    status = int(ctx.pop("status_code", 200))
    nav = [item for item in NAV if who is not None and who.can(item.permission)]
    ctx.update(who=who, csrf=data.csrf if data else "", prefix=PREFIX, nav=nav, here=request.url.path)
    response = templates.TemplateResponse(request, name, ctx, status_code=status)
    response.headers["cache-control"] = "no-store"  # statements are confidential: never cached
    return response


def error_page(request: Request, exc: ServiceError) -> Response:
    """A service error as a page: log in again, not found, or not allowed."""
    if isinstance(exc, Unauthenticated):
        return RedirectResponse(f"{PREFIX}/login?next={quote(request.url.path)}", status_code=303)
    status = 404 if isinstance(exc, NotFound) else 403 if isinstance(exc, Forbidden) else 409
    return render(request, "error.html", None, None, status_code=status, message=str(exc), status=status)


def redirect(path: str, note: str | None = None) -> Response:
    """After a successful post: back to a UI page (``path`` below the prefix), with a note shown there."""
    target = f"{PREFIX}{path}"
    if note:
        target += ("&" if "?" in target else "?") + f"note={quote(note)}"
    return RedirectResponse(target, status_code=303)


def to_decimal(text: str) -> Decimal:
    """A formatted money string (``1,234.50``) back to an exact decimal for totals."""
    return Decimal(text.replace(",", ""))


def safe_next(target: str) -> str:
    """Only redirect inside the UI (no open redirect)."""
    return target if target.startswith(f"{PREFIX}/") and not target.startswith("//") else f"{PREFIX}/"
