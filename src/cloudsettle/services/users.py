"""Users, roles, passwords, API tokens and login throttling.

- Passwords are hashed with argon2id (argon2-cffi's defaults); a hash made with
  older parameters is upgraded at the next successful login.
- API tokens are ``cst_`` plus 32 random bytes, shown once: only their sha256 is
  stored (a random 256-bit token needs no slow hash, and the digest lets the
  server find the row). Each is scoped to one of the user's roles, expires, and
  can be revoked.
- Login throttling: after ``max_failures`` failed attempts for a name inside
  the window, further attempts are refused (:class:`Throttled`) without even
  checking the password, so guessing is slow whatever the password.

Like every service, these functions take a session and never commit.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cloudsettle.db.models import PartnerRow
from cloudsettle.db.models_workflow import ApiTokenRow, LoginAttemptRow, UserRow
from cloudsettle.services.access import Principal, Role, Unauthenticated, parse_roles
from cloudsettle.services.audit import now, record
from cloudsettle.services.errors import BadInput, NotFound, Refused

TOKEN_PREFIX = "cst_"  # noqa: S105 (a prefix, not a secret)
DEFAULT_TOKEN_DAYS = 30
MAX_TOKEN_DAYS = 366
MIN_PASSWORD_LENGTH = 12
LAST_USED_RESOLUTION = timedelta(minutes=1)
_hasher = PasswordHasher()
_NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-@")


class Throttled(Refused):
    """Too many failed logins for this name recently (HTTP 429)."""


@dataclass(frozen=True)
class IssuedToken:
    """A new API token: ``secret`` is shown once and never stored.

    Attributes:
      id: the token row id (to revoke it).
      secret: the bearer token text.
      role: the one role it carries.
      expires_at: when it stops working.
    """

    id: int
    secret: str
    role: Role
    expires_at: datetime

    def __repr__(self) -> str:  # never print the secret by accident
        return f"IssuedToken(id={self.id}, role={self.role.value}, expires_at={self.expires_at.isoformat()})"


def hash_password(password: str) -> str:
    """An argon2id hash of ``password``."""
    return _hasher.hash(password)


def token_digest(secret: str) -> str:
    """The stored form of a token: its sha256, hex."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def new_password() -> str:
    """A random password for generated accounts (demo, first admin)."""
    return secrets.token_urlsafe(15)


def _check_name(name: str) -> str:
    name = name.strip()
    if not name or len(name) > 64 or not set(name) <= _NAME_CHARS:
        raise BadInput(f"user name {name!r}: 1 to 64 letters, digits or . _ - @")
    return name


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise BadInput(f"a password needs at least {MIN_PASSWORD_LENGTH} characters")
    if len(password) > 1024:
        raise BadInput("a password has at most 1024 characters")


def get_user(session: Session, name: str) -> UserRow:
    """The user called ``name``."""
    row = session.scalars(select(UserRow).where(UserRow.name == name)).one_or_none()
    if row is None:
        raise NotFound(f"no user {name!r}")
    return row


def list_users(session: Session) -> list[UserRow]:
    """Every user, by name."""
    return list(session.scalars(select(UserRow).order_by(UserRow.name)))


def add_user(
    session: Session,
    *,
    name: str,
    roles: str | list[str],
    password: str | None,
    partner_id: str | None = None,
    display_name: str | None = None,
    email: str | None = None,
    actor: str,
) -> UserRow:
    """Create a user. A ``partner`` user must name an existing partner; other roles must not."""
    name = _check_name(name)
    role_set = parse_roles(roles)
    if not role_set:
        raise BadInput("a user needs at least one role")
    if Role.PARTNER in role_set:
        if len(role_set) > 1:
            raise BadInput("a partner user has only the partner role")
        if not partner_id:
            raise BadInput("a partner user needs --partner")
        if session.get(PartnerRow, partner_id) is None:
            raise BadInput(f"no partner {partner_id!r}")
    elif partner_id:
        raise BadInput("only a partner user belongs to a partner")
    if session.scalars(select(UserRow.id).where(UserRow.name == name)).first() is not None:
        raise Refused(f"user {name!r} exists")
    if password is not None:
        _check_password(password)
    stamp = now()
    row = UserRow(
        name=name,
        display_name=display_name or name,
        email=email,
        roles=",".join(sorted(r.value for r in role_set)),
        partner_id=partner_id,
        password_hash=hash_password(password) if password is not None else None,
        active=True,
        created_at=stamp,
        updated_at=stamp,
    )
    session.add(row)
    session.flush()
    record(
        session,
        actor=actor,
        action="user.add",
        subject=f"user:{name}",
        after={"roles": row.roles, "partner": partner_id},
    )
    return row


def set_password(session: Session, *, name: str, password: str, actor: str) -> None:
    """Replace a user's password."""
    _check_password(password)
    row = get_user(session, name)
    row.password_hash = hash_password(password)
    row.updated_at = now()
    record(session, actor=actor, action="user.password", subject=f"user:{name}")


def deactivate_user(session: Session, *, name: str, actor: str) -> None:
    """Disable a user: its logins, sessions and tokens stop working."""
    row = get_user(session, name)
    row.active = False
    row.updated_at = now()
    record(session, actor=actor, action="user.deactivate", subject=f"user:{name}")


def principal_of(row: UserRow, role: str | None = None) -> Principal:
    """The principal a user acts as: all its roles, or only ``role`` (a token's scope)."""
    roles = parse_roles(row.roles)
    if role is not None:
        roles = roles & parse_roles(role)
    return Principal(name=row.name, roles=roles, partner_id=row.partner_id, user_id=row.id)


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


# --- login ---------------------------------------------------------------------------


def recent_failures(session: Session, name: str, window: timedelta) -> int:
    """Failed attempts for ``name`` since ``now - window``."""
    since = now() - window
    count = session.scalar(
        select(func.count())
        .select_from(LoginAttemptRow)
        .where(
            LoginAttemptRow.user_name == name, LoginAttemptRow.at >= since, LoginAttemptRow.success.is_(False)
        )
    )
    return int(count or 0)


def authenticate(
    session: Session,
    *,
    name: str,
    password: str,
    remote: str | None,
    max_failures: int = 5,
    window: timedelta = timedelta(minutes=15),
) -> UserRow:
    """Check a login; every attempt is recorded. Raises :class:`Throttled` or
    :class:`Unauthenticated` (one message for an unknown name and a wrong password)."""
    name = name.strip()[:64]
    if recent_failures(session, name, window) >= max_failures:
        raise Throttled(f"too many failed logins for {name!r}; try again later")
    row = session.scalars(select(UserRow).where(UserRow.name == name)).one_or_none()
    ok = False
    if row is not None and row.active and row.password_hash:
        try:
            ok = _hasher.verify(row.password_hash, password)
        except (VerificationError, InvalidHashError):
            ok = False
        if ok and _hasher.check_needs_rehash(row.password_hash):
            row.password_hash = hash_password(password)
    else:
        _hasher.hash(password)  # same cost as a real check: the timing does not reveal the name
    session.add(LoginAttemptRow(user_name=name, at=now(), success=ok, remote=remote))
    session.flush()
    if not ok or row is None:
        raise Unauthenticated("wrong user name or password")
    return row


def active_user(session: Session, user_id: int) -> UserRow:
    """The user of a session cookie, if it still exists and is active."""
    row = session.get(UserRow, user_id)
    if row is None or not row.active:
        raise Unauthenticated("the session's user is gone or disabled; log in again")
    return row


# --- API tokens -------------------------------------------------------------------------


def issue_token(
    session: Session,
    *,
    name: str,
    role: str | None = None,
    days: int = DEFAULT_TOKEN_DAYS,
    label: str = "",
    actor: str,
) -> IssuedToken:
    """A new token for user ``name``, carrying one of its roles (its only one by default)."""
    row = get_user(session, name)
    if not row.active:
        raise Refused(f"user {name!r} is disabled")
    roles = parse_roles(row.roles)
    if role is None:
        if len(roles) != 1:
            raise BadInput(f"{name} has roles {row.roles}: name one with --role")
        (chosen,) = tuple(roles)
    else:
        chosen = next(iter(parse_roles(role)))
        if chosen not in roles:
            raise BadInput(f"{name} does not have the role {chosen.value}")
    if not 1 <= days <= MAX_TOKEN_DAYS:
        raise BadInput(f"a token lasts 1 to {MAX_TOKEN_DAYS} days")
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    stamp = now()
    token = ApiTokenRow(
        user_id=row.id,
        token_hash=token_digest(secret),
        role=chosen.value,
        label=label[:200],
        created_at=stamp,
        expires_at=stamp + timedelta(days=days),
        revoked_at=None,
        last_used_at=None,
    )
    session.add(token)
    session.flush()
    record(
        session,
        actor=actor,
        action="token.issue",
        subject=f"user:{name}",
        token=token.id,
        role=chosen.value,
        expires_at=token.expires_at.isoformat(),
    )
    return IssuedToken(token.id, secret, chosen, token.expires_at)


def principal_for_token(session: Session, secret: str) -> Principal:
    """The principal a bearer token stands for; refused when unknown, expired, revoked or disabled."""
    if not secret.startswith(TOKEN_PREFIX) or len(secret) > 200:
        raise Unauthenticated("invalid token")
    token = session.scalars(
        select(ApiTokenRow).where(ApiTokenRow.token_hash == token_digest(secret))
    ).one_or_none()
    if token is None:
        raise Unauthenticated("invalid token")
    if token.revoked_at is not None:
        raise Unauthenticated("the token was revoked")
    if _aware(token.expires_at) <= now():
        raise Unauthenticated("the token has expired")
    user = session.get(UserRow, token.user_id)
    if user is None or not user.active:
        raise Unauthenticated("the token's user is disabled")
    stamp = now()
    # At most one write a minute per token: concurrent requests with one token do not queue on its row.
    if token.last_used_at is None or stamp - _aware(token.last_used_at) > LAST_USED_RESOLUTION:
        token.last_used_at = stamp
    principal = principal_of(user, token.role)
    if not principal.roles:
        raise Unauthenticated("the token's role was taken from its user")
    return principal


def list_tokens(session: Session, *, name: str) -> list[ApiTokenRow]:
    """A user's tokens (hashes only), newest first."""
    user = get_user(session, name)
    return list(
        session.scalars(
            select(ApiTokenRow).where(ApiTokenRow.user_id == user.id).order_by(ApiTokenRow.id.desc())
        )
    )


def revoke_tokens(session: Session, *, name: str, token_id: int | None = None, actor: str) -> int:
    """Revoke one token of ``name`` or all its live ones; returns how many were revoked."""
    user = get_user(session, name)
    query = select(ApiTokenRow).where(ApiTokenRow.user_id == user.id, ApiTokenRow.revoked_at.is_(None))
    if token_id is not None:
        query = query.where(ApiTokenRow.id == token_id)
    rows = list(session.scalars(query))
    if token_id is not None and not rows:
        raise NotFound(f"{name} has no live token {token_id}")
    stamp = now()
    for row in rows:
        row.revoked_at = stamp
    record(session, actor=actor, action="token.revoke", subject=f"user:{name}", tokens=[r.id for r in rows])
    return len(rows)


# --- demo ---------------------------------------------------------------------------------


def create_demo_users(session: Session) -> list[tuple[str, str, str]]:
    """One user per role with a fresh random password: ``[(name, role, password)]``.

    The partner user belongs to the first partner (by id); without partners it is
    skipped. Users that already exist are left alone and not listed.
    """
    first_partner = session.scalars(select(PartnerRow.id).order_by(PartnerRow.id)).first()
    out: list[tuple[str, str, str]] = []
    for role in Role:
        name = f"demo-{role.value.replace('_', '-')}"
        partner = first_partner if role is Role.PARTNER else None
        if role is Role.PARTNER and partner is None:
            continue
        if session.scalars(select(UserRow.id).where(UserRow.name == name)).first() is not None:
            continue
        password = new_password()
        add_user(session, name=name, roles=[role.value], password=password, partner_id=partner, actor="demo")
        out.append((name, role.value, password))
    return out
