"""Users, passwords, tokens, throttling, roles and permissions, demo users (service level)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from cloudsettle.db.models_workflow import ApiTokenRow, LoginAttemptRow, UserRow
from cloudsettle.services import users
from cloudsettle.services.access import (
    ROLE_PERMISSIONS,
    Forbidden,
    Permission,
    Principal,
    Role,
    Unauthenticated,
    require,
    scope_partner,
)
from cloudsettle.services.config_service import load_config_file
from cloudsettle.services.errors import BadInput, NotFound, Refused

CASE = Path(__file__).parents[1] / "golden" / "cases" / "38-proration-deal-change"
PW = "a long enough password"


@pytest.fixture
def sessions(session_factory: sessionmaker[Session]) -> sessionmaker[Session]:
    with session_factory() as s, s.begin():
        load_config_file(s, path=CASE / "config.yaml", actor="setup")
    return session_factory


def _do(sessions: sessionmaker[Session], fn, **kw):
    with sessions() as s, s.begin():
        return fn(s, **kw)


def test_password_is_argon2_hashed(sessions: sessionmaker[Session]) -> None:
    _do(sessions, users.add_user, name="ann", roles=["finance"], password=PW, actor="t")
    with sessions() as s:
        row = s.scalars(select(UserRow).where(UserRow.name == "ann")).one()
        assert row.password_hash.startswith("$argon2id$")
        assert PW not in row.password_hash
    assert _do(sessions, users.authenticate, name="ann", password=PW, remote=None).name == "ann"
    with pytest.raises(Unauthenticated):
        _do(sessions, users.authenticate, name="ann", password=PW + "x", remote=None)


def test_user_validation(sessions: sessionmaker[Session]) -> None:
    with pytest.raises(BadInput, match="unknown role"):
        _do(sessions, users.add_user, name="x", roles=["king"], password=PW, actor="t")
    with pytest.raises(BadInput, match="needs --partner"):
        _do(sessions, users.add_user, name="x", roles=["partner"], password=PW, actor="t")
    with pytest.raises(BadInput, match="no partner"):
        _do(sessions, users.add_user, name="x", roles=["partner"], password=PW, partner_id="P-Z", actor="t")
    with pytest.raises(BadInput, match="only a partner user"):
        _do(sessions, users.add_user, name="x", roles=["finance"], password=PW, partner_id="P-A", actor="t")
    with pytest.raises(BadInput, match="at least 12"):
        _do(sessions, users.add_user, name="x", roles=["finance"], password="short", actor="t")
    with pytest.raises(BadInput, match="user name"):
        _do(sessions, users.add_user, name="../x", roles=["finance"], password=PW, actor="t")
    _do(sessions, users.add_user, name="x", roles=["finance"], password=PW, actor="t")
    with pytest.raises(Refused, match="exists"):
        _do(sessions, users.add_user, name="x", roles=["auditor"], password=PW, actor="t")


def test_throttling_counts_only_recent_failures(sessions: sessionmaker[Session]) -> None:
    _do(sessions, users.add_user, name="bo", roles=["auditor"], password=PW, actor="t")
    for _ in range(3):
        # Like the login route: the failed attempt is committed although the login is refused.
        with sessions() as s, s.begin(), pytest.raises(Unauthenticated):
            users.authenticate(s, name="bo", password="wrong", remote="1.2.3.4", max_failures=3)
    with pytest.raises(users.Throttled):
        _do(sessions, users.authenticate, name="bo", password=PW, remote=None, max_failures=3)
    # Once the failures are older than the window, the right password works again.
    with sessions() as s, s.begin():
        s.execute(update(LoginAttemptRow).values(at=users.now() - timedelta(hours=1)))
    assert _do(sessions, users.authenticate, name="bo", password=PW, remote=None, max_failures=3).name == "bo"


def test_token_lifecycle(sessions: sessionmaker[Session]) -> None:
    _do(sessions, users.add_user, name="cy", roles=["finance", "auditor"], password=None, actor="t")
    with pytest.raises(BadInput, match="name one with --role"):
        _do(sessions, users.issue_token, name="cy", actor="t")
    with pytest.raises(BadInput, match="does not have"):
        _do(sessions, users.issue_token, name="cy", role="admin", actor="t")
    with pytest.raises(BadInput, match="1 to"):
        _do(sessions, users.issue_token, name="cy", role="auditor", days=0, actor="t")
    token = _do(sessions, users.issue_token, name="cy", role="auditor", days=1, actor="t")
    assert token.secret not in repr(token)
    who = _do(sessions, users.principal_for_token, secret=token.secret)
    assert who.roles == frozenset({Role.AUDITOR})
    with sessions() as s, s.begin():
        s.execute(update(ApiTokenRow).values(expires_at=users.now() - timedelta(minutes=1)))
    with pytest.raises(Unauthenticated, match="expired"):
        _do(sessions, users.principal_for_token, secret=token.secret)
    fresh = _do(sessions, users.issue_token, name="cy", role="finance", actor="t")
    assert _do(sessions, users.revoke_tokens, name="cy", token_id=fresh.id, actor="t") == 1
    with pytest.raises(Unauthenticated, match="revoked"):
        _do(sessions, users.principal_for_token, secret=fresh.secret)
    with pytest.raises(NotFound):
        _do(sessions, users.revoke_tokens, name="cy", token_id=fresh.id, actor="t")


def test_disabled_user_loses_tokens_and_login(sessions: sessionmaker[Session]) -> None:
    _do(sessions, users.add_user, name="di", roles=["operator"], password=PW, actor="t")
    token = _do(sessions, users.issue_token, name="di", actor="t")
    _do(sessions, users.deactivate_user, name="di", actor="t")
    with pytest.raises(Unauthenticated):
        _do(sessions, users.principal_for_token, secret=token.secret)
    with pytest.raises(Unauthenticated):
        _do(sessions, users.authenticate, name="di", password=PW, remote=None)


def test_demo_users_one_per_role(sessions: sessionmaker[Session]) -> None:
    created = _do(sessions, users.create_demo_users)
    assert sorted(role for _, role, _ in created) == sorted(r.value for r in Role)
    for name, role, password in created:
        row = _do(sessions, users.authenticate, name=name, password=password, remote=None)
        assert row.roles == role
        assert row.partner_id == ("P-A" if role == "partner" else None)
    assert _do(sessions, users.create_demo_users) == []  # idempotent: existing users are left alone


def test_role_permissions() -> None:
    auditor = ROLE_PERMISSIONS[Role.AUDITOR]
    writes = {
        Permission.CONFIG_WRITE,
        Permission.INGEST,
        Permission.SETTLE,
        Permission.ADJUST,
        Permission.APPROVE,
        Permission.FINALIZE,
        Permission.PAY,
        Permission.CASE_WORK,
        Permission.DISPUTE,
        Permission.USERS_MANAGE,
    }
    assert not auditor & writes  # reads everything, changes nothing
    assert Permission.AUDIT_READ in auditor
    assert {Permission.APPROVE, Permission.FINALIZE, Permission.PAY} <= ROLE_PERMISSIONS[Role.FINANCE]
    assert {Permission.INGEST, Permission.SETTLE, Permission.CASE_WORK} <= ROLE_PERMISSIONS[Role.OPERATOR]
    assert Permission.APPROVE not in ROLE_PERMISSIONS[Role.OPERATOR]
    assert ROLE_PERMISSIONS[Role.SALES_OPS] & writes == {Permission.CONFIG_WRITE}
    assert ROLE_PERMISSIONS[Role.PARTNER] == {
        Permission.STATEMENT_READ,
        Permission.CASE_READ,
        Permission.DISPUTE,
    }
    assert ROLE_PERMISSIONS[Role.ADMIN] == frozenset(Permission)


def test_require_and_partner_scope() -> None:
    partner = Principal("p", frozenset({Role.PARTNER}), partner_id="P-A")
    with pytest.raises(Forbidden):
        require(partner, Permission.CONFIG_READ)
    assert scope_partner(partner, None) == "P-A"
    assert scope_partner(partner, "P-A") == "P-A"
    with pytest.raises(NotFound):
        scope_partner(partner, "P-B")
    staff = Principal("s", frozenset({Role.FINANCE}))
    assert scope_partner(staff, "P-B") == "P-B"
    assert scope_partner(staff, None) is None
