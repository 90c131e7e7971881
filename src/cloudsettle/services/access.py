"""Who may do what: roles, their permissions, the acting :class:`Principal`, partner scoping.

The API and the CLI both act through :mod:`cloudsettle.services.guarded`, which
calls :func:`require` before each use case, so permissions live in the service
layer and a new route cannot forget them. A ``partner`` principal only ever
sees its own partner's data: :func:`scope_partner` turns any other partner's id
into :class:`~cloudsettle.services.errors.NotFound`, the same answer as for an
id that does not exist, so guessing ids tells nothing.

Exceptions: :class:`Forbidden` (a :class:`~cloudsettle.services.errors.Refused`)
is "this role may not"; the API maps it to 403.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from cloudsettle.services.errors import BadInput, NotFound, Refused


class Role(StrEnum):
    """The roles of issue 7."""

    ADMIN = "admin"
    FINANCE = "finance"
    OPERATOR = "operator"
    SALES_OPS = "sales_ops"
    AUDITOR = "auditor"
    PARTNER = "partner"


class Permission(StrEnum):
    """One thing a principal may do."""

    CONFIG_READ = "config.read"  # partners, customers, deals, agreements, FX rates
    CONFIG_WRITE = "config.write"  # load a configuration file
    INGEST = "ingest"  # upload bills, pull from provider APIs
    DATA_READ = "data.read"  # batches, runs, findings, jobs
    SETTLE = "settle"
    ADJUST = "adjust"  # manual adjustments to open statements
    APPROVE = "approve"  # approve and reject statements
    FINALIZE = "finalize"
    PAY = "pay"  # payout batches and their status
    STATEMENT_READ = "statement.read"  # scoped to its partner for a partner principal
    LEDGER_READ = "ledger.read"
    AUDIT_READ = "audit.read"
    CASE_READ = "case.read"  # scoped for a partner principal (its disputes)
    CASE_WORK = "case.work"
    DISPUTE = "dispute"  # open a dispute on a statement
    USERS_READ = "users.read"
    USERS_MANAGE = "users.manage"


_P = Permission
_INTERNAL_READ = frozenset({_P.CONFIG_READ, _P.DATA_READ, _P.STATEMENT_READ, _P.CASE_READ})

#: Roles -> permissions. Admin has everything; auditor reads everything and changes nothing.
ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.ADMIN: frozenset(Permission),
    Role.FINANCE: _INTERNAL_READ | {_P.APPROVE, _P.FINALIZE, _P.PAY, _P.ADJUST, _P.LEDGER_READ, _P.CASE_WORK},
    Role.OPERATOR: _INTERNAL_READ | {_P.INGEST, _P.SETTLE, _P.ADJUST, _P.CASE_WORK, _P.DISPUTE},
    Role.SALES_OPS: _INTERNAL_READ | {_P.CONFIG_WRITE},
    Role.AUDITOR: _INTERNAL_READ | {_P.LEDGER_READ, _P.AUDIT_READ, _P.USERS_READ},
    Role.PARTNER: frozenset({_P.STATEMENT_READ, _P.CASE_READ, _P.DISPUTE}),
}


class Forbidden(Refused):
    """The principal's roles do not allow this (HTTP 403)."""


class Unauthenticated(Refused):
    """No valid credentials (HTTP 401)."""


@dataclass(frozen=True)
class Principal:
    """Who is acting, with which roles.

    Attributes:
      name: the user name (recorded as the actor everywhere).
      roles: the roles in force (a token narrows them to its one role).
      partner_id: the partner a ``partner`` principal belongs to.
      user_id: the user's row id (None for the CLI's local operator).
    """

    name: str
    roles: frozenset[Role]
    partner_id: str | None = None
    user_id: int | None = None

    @property
    def permissions(self) -> frozenset[Permission]:
        """The union of the roles' permissions."""
        out: set[Permission] = set()
        for role in self.roles:
            out |= ROLE_PERMISSIONS[role]
        return frozenset(out)

    @property
    def is_partner_only(self) -> bool:
        """A principal scoped to one partner's data (its only role is ``partner``)."""
        return self.roles == frozenset({Role.PARTNER})

    def can(self, permission: Permission) -> bool:
        """Whether the principal holds ``permission``."""
        return permission in self.permissions


def parse_roles(text: str | Iterable[str]) -> frozenset[Role]:
    """Roles from ``"admin,finance"`` or a list; unknown names are refused."""
    names = [n.strip() for n in (text.split(",") if isinstance(text, str) else text) if n.strip()]
    try:
        return frozenset(Role(n) for n in names)
    except ValueError as exc:
        known = ", ".join(r.value for r in Role)
        raise BadInput(f"unknown role in {names!r} (roles: {known})") from exc


def require(principal: Principal, permission: Permission) -> None:
    """Raise :class:`Forbidden` unless the principal holds ``permission``."""
    if not principal.can(permission):
        roles = ", ".join(sorted(r.value for r in principal.roles)) or "no role"
        raise Forbidden(f"{principal.name} ({roles}) may not {permission.value}")


def scope_partner(principal: Principal, partner_id: str | None) -> str | None:
    """The partner filter to apply: a partner principal always gets its own partner.

    Naming another partner is answered like a partner that does not exist.
    """
    if not principal.is_partner_only:
        return partner_id
    own = principal.partner_id
    if own is None:
        raise Forbidden(f"{principal.name} is a partner user without a partner")
    if partner_id is not None and partner_id != own:
        raise NotFound(f"no partner {partner_id}")
    return own


def check_visible(principal: Principal, partner_id: str | None, what: str) -> None:
    """:class:`NotFound` when a partner principal asks for another partner's ``what``."""
    if principal.is_partner_only and partner_id != principal.partner_id:
        raise NotFound(f"no {what}")
