"""Log in and out: the same signed session cookie and CSRF cookie as the API's login."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from cloudsettle.api.deps import app_state
from cloudsettle.api.security import CSRF_COOKIE, SESSION_COOKIE, check_csrf
from cloudsettle.services import users
from cloudsettle.services.access import Unauthenticated
from cloudsettle.services.errors import ServiceError
from cloudsettle.web.common import PREFIX, error_page, render, safe_next, who_is

router = APIRouter()


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, next: str = f"{PREFIX}/") -> Response:
    """The login form."""
    return render(request, "login.html", None, None, next=safe_next(next), error=None)


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
        return render(
            request, "login.html", None, None, next=safe_next(next), error=str(failure), status_code=status
        )
    cookie, data = state.signer.issue(user_id, password_hash)
    response = RedirectResponse(safe_next(next), status_code=303)
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
        _, data = who_is(request)
        check_csrf("POST", data, csrf_token)
    except ServiceError as exc:
        return error_page(request, exc)
    response = RedirectResponse(f"{PREFIX}/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    response.delete_cookie(CSRF_COOKIE, path="/")
    return response
