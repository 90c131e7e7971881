"""Users and their API tokens (a token's secret is shown once, in the answer that creates it)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path, status
from pydantic import BaseModel, Field

from cloudsettle.api.deps import PrincipalDep, SessionDep
from cloudsettle.api.errors import ERROR_RESPONSES
from cloudsettle.api.schemas import Done, Strict
from cloudsettle.db.models_workflow import ApiTokenRow, UserRow
from cloudsettle.services import guarded
from cloudsettle.services.users import DEFAULT_TOKEN_DAYS, MAX_TOKEN_DAYS

router = APIRouter(prefix="/users", tags=["users"], responses=ERROR_RESPONSES)
UserName = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._@-]+$")]


class UserOut(BaseModel):
    """A user (never its password hash)."""

    name: str
    display_name: str
    roles: list[str]
    partner_id: str | None
    active: bool
    created_at: datetime


class UserIn(Strict):
    """A new user."""

    name: Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._@-]+$")]
    roles: Annotated[list[str], Field(min_length=1, max_length=6)]
    password: Annotated[str | None, Field(min_length=12, max_length=1024)] = None
    partner_id: Annotated[str | None, Field(max_length=100)] = None


class TokenIn(Strict):
    """A token request: which role, how many days."""

    role: Annotated[str | None, Field(max_length=32)] = None
    days: Annotated[int, Field(ge=1, le=MAX_TOKEN_DAYS)] = DEFAULT_TOKEN_DAYS
    label: Annotated[str, Field(max_length=200)] = ""


class TokenOut(BaseModel):
    """A token's metadata."""

    id: int
    role: str
    label: str
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None
    last_used_at: datetime | None


class NewToken(BaseModel):
    """A new token: ``token`` is shown only now; store it safely."""

    id: int
    role: str
    expires_at: datetime
    token: str


def _user(row: UserRow) -> UserOut:
    return UserOut(
        name=row.name,
        display_name=row.display_name,
        roles=row.roles.split(","),
        partner_id=row.partner_id,
        active=row.active,
        created_at=row.created_at,
    )


def _token(row: ApiTokenRow) -> TokenOut:
    return TokenOut(
        id=row.id,
        role=row.role,
        label=row.label,
        created_at=row.created_at,
        expires_at=row.expires_at,
        revoked_at=row.revoked_at,
        last_used_at=row.last_used_at,
    )


@router.get("", response_model=list[UserOut])
def list_users(session: SessionDep, who: PrincipalDep) -> list[UserOut]:
    """Every user."""
    return [_user(r) for r in guarded.list_users(session, who)]


@router.post("", response_model=UserOut, status_code=status.HTTP_201_CREATED)
def add_user(body: UserIn, session: SessionDep, who: PrincipalDep) -> UserOut:
    """Create a user with roles (a partner user names its partner)."""
    row = guarded.add_user(
        session, who, name=body.name, roles=body.roles, password=body.password, partner_id=body.partner_id
    )
    return _user(row)


@router.get("/{name}/tokens", response_model=list[TokenOut])
def list_tokens(name: UserName, session: SessionDep, who: PrincipalDep) -> list[TokenOut]:
    """A user's tokens (their secrets are never stored)."""
    return [_token(t) for t in guarded.list_tokens(session, who, name=name)]


@router.post("/{name}/tokens", response_model=NewToken, status_code=status.HTTP_201_CREATED)
def issue_token(name: UserName, body: TokenIn, session: SessionDep, who: PrincipalDep) -> NewToken:
    """A new API token for scripts, scoped to one role, expiring."""
    t = guarded.issue_token(session, who, name=name, role=body.role, days=body.days, label=body.label)
    return NewToken(id=t.id, role=t.role.value, expires_at=t.expires_at, token=t.secret)


@router.delete("/{name}/tokens/{token_id}", response_model=Done)
def revoke_token(
    name: UserName, token_id: Annotated[int, Path(ge=1, le=2**62)], session: SessionDep, who: PrincipalDep
) -> Done:
    """Revoke one token."""
    guarded.revoke_tokens(session, who, name=name, token_id=token_id)
    return Done(message=f"token {token_id} revoked")
