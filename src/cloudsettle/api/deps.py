"""Request dependencies: the app's state, one unit of work per request, the acting principal.

``SessionDep`` opens the request's unit of work: it commits once when the
handler returns and rolls back when it raises. ``PrincipalDep`` finds who is
calling, from a bearer token or the session cookie (then with the CSRF check),
in its own short transaction so a token's last use is recorded even when the
request itself fails.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Query, Request
from sqlalchemy.orm import Session

from cloudsettle.api.security import (
    CSRF_HEADER,
    SESSION_COOKIE,
    SessionData,
    SessionSigner,
    check_csrf,
    password_fingerprint,
)
from cloudsettle.config import Settings
from cloudsettle.services import users
from cloudsettle.services.access import Principal, Unauthenticated
from cloudsettle.services.guarded import Page
from cloudsettle.services.workspace import Workspace


@dataclass(frozen=True)
class AppState:
    """What every request can reach: settings, the workspace, the cookie signer."""

    settings: Settings
    workspace: Workspace
    signer: SessionSigner


def app_state(request: Request) -> AppState:
    """The state stored on the app by ``create_app``."""
    state = request.app.state.cloudsettle
    assert isinstance(state, AppState)
    return state


StateDep = Annotated[AppState, Depends(app_state)]


def db_session(state: StateDep) -> Iterator[Session]:
    """The request's unit of work."""
    with state.workspace.unit_of_work() as session:
        yield session


#: ``scope="function"``: the commit happens before the answer is sent, so an acknowledged
#: write is stored (a failed commit becomes an error answer, never a lost "201 Created").
SessionDep = Annotated[Session, Depends(db_session, scope="function")]


def current_principal(request: Request, state: StateDep) -> Principal:
    """Who is calling: ``Authorization: Bearer <token>``, else the session cookie (+ CSRF)."""
    header = request.headers.get("authorization")
    if header is not None:
        scheme, _, value = header.partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
            raise Unauthenticated("use Authorization: Bearer <token>")
        with state.workspace.unit_of_work() as session:
            return users.principal_for_token(session, value.strip())
    principal, data = session_principal(request, state, missing="log in or send a bearer token")
    check_csrf(request.method, data, request.headers.get(CSRF_HEADER))
    return principal


def session_principal(request: Request, state: AppState, *, missing: str) -> tuple[Principal, SessionData]:
    """The caller of the signed session cookie (the API's and the web UI's): a live user whose
    password has not changed since the session began; ``missing`` is the refusal without one."""
    cookie = request.cookies.get(SESSION_COOKIE)
    if not cookie:
        raise Unauthenticated(missing)
    data = state.signer.read(cookie)
    with state.workspace.unit_of_work() as session:
        row = users.active_user(session, data.user_id)
        if password_fingerprint(row.password_hash) != data.pw:
            raise Unauthenticated("the password changed since this session began; log in again")
        return users.principal_of(row), data


PrincipalDep = Annotated[Principal, Depends(current_principal)]


def page(
    offset: Annotated[int, Query(ge=0, le=1_000_000, description="Items to skip.")] = 0,
    limit: Annotated[int, Query(ge=1, le=500, description="Items to return.")] = 50,
) -> Page:
    """Offset pagination parameters."""
    return Page(offset, limit)


PageDep = Annotated[Page, Depends(page)]
