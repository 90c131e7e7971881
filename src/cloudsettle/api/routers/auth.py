"""Login, logout, who am I, and a health probe."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, Field

from cloudsettle.api.deps import PrincipalDep, StateDep
from cloudsettle.api.errors import ERROR_RESPONSES
from cloudsettle.api.schemas import Done, Strict
from cloudsettle.api.security import CSRF_COOKIE, SESSION_COOKIE
from cloudsettle.services import users
from cloudsettle.services.access import Unauthenticated
from cloudsettle.services.errors import ServiceError

router = APIRouter(tags=["auth"], responses=ERROR_RESPONSES)


class LoginBody(Strict):
    """A name and a password."""

    name: Annotated[str, Field(min_length=1, max_length=64)]
    password: Annotated[str, Field(min_length=1, max_length=1024)]


class Me(BaseModel):
    """The caller: name, roles, partner."""

    name: str
    roles: list[str]
    partner_id: str | None
    csrf_token: str | None = None


@router.get("/health", response_model=Done)
def health() -> Done:
    """Liveness: the server answers (no login needed)."""
    return Done(message="ok")


@router.post("/auth/login", response_model=Me)
def login(body: LoginBody, request: Request, response: Response, state: StateDep) -> Me:
    """Start a browser session: sets the HttpOnly session cookie and returns the CSRF token."""
    settings = state.settings
    failure: ServiceError | None = None
    remote = request.client.host if request.client else None
    # Its own unit of work: a failed attempt is recorded (for throttling) even though we refuse.
    with state.workspace.unit_of_work() as session:
        try:
            row = users.authenticate(
                session,
                name=body.name,
                password=body.password,
                remote=remote,
                max_failures=settings.login_max_failures,
                window=timedelta(minutes=settings.login_window_minutes),
            )
            principal = users.principal_of(row)
            user_id, password_hash = row.id, row.password_hash
        except (Unauthenticated, users.Throttled) as exc:
            failure = exc
    if failure is not None:
        raise failure
    cookie, data = state.signer.issue(user_id, password_hash)
    secure = settings.secure_cookies
    max_age = settings.session_hours * 3600
    response.set_cookie(
        SESSION_COOKIE, cookie, max_age=max_age, httponly=True, secure=secure, samesite="strict", path="/"
    )
    response.set_cookie(
        CSRF_COOKIE, data.csrf, max_age=max_age, httponly=False, secure=secure, samesite="strict", path="/"
    )
    return Me(
        name=principal.name,
        roles=sorted(r.value for r in principal.roles),
        partner_id=principal.partner_id,
        csrf_token=data.csrf,
    )


@router.post("/auth/logout", response_model=Done)
def logout(who: PrincipalDep, response: Response) -> Done:
    """End the browser session (clears the cookies)."""
    response.delete_cookie(SESSION_COOKIE, path="/")
    response.delete_cookie(CSRF_COOKIE, path="/")
    return Done(message=f"{who.name} logged out")


@router.get("/auth/me", response_model=Me)
def me(who: PrincipalDep) -> Me:
    """Who the credentials stand for."""
    return Me(name=who.name, roles=sorted(r.value for r in who.roles), partner_id=who.partner_id)
