"""Credentials that must be refused, CSRF, login throttling, upload checks, no secrets in answers."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update

from cloudsettle.db.models_workflow import ApiTokenRow
from cloudsettle.services import users
from tests.api.conftest import PASSWORD, World

V = "/api/v1"


def _login(world: World, name: str = "finance", password: str = PASSWORD) -> dict[str, str]:
    r = world.client.post(f"{V}/auth/login", json={"name": name, "password": password})
    assert r.status_code == 200, r.text
    return r.json()


def test_expired_token_is_refused(world: World) -> None:
    with world.ws.unit_of_work() as s:
        t = users.issue_token(s, name="auditor", days=1, actor="setup")
        s.execute(
            update(ApiTokenRow)
            .where(ApiTokenRow.id == t.id)
            .values(expires_at=users.now() - timedelta(seconds=1))
        )
    r = world.client.get(f"{V}/auth/me", headers={"Authorization": f"Bearer {t.secret}"})
    assert r.status_code == 401
    assert "expired" in r.json()["error"]["message"]


def test_revoked_token_is_refused(world: World) -> None:
    headers = world.auth("operator")
    assert world.client.get(f"{V}/auth/me", headers=headers).status_code == 200
    with world.ws.unit_of_work() as s:
        assert users.revoke_tokens(s, name="operator", actor="admin") == 1
    r = world.client.get(f"{V}/auth/me", headers=headers)
    assert r.status_code == 401
    assert "revoked" in r.json()["error"]["message"]


def test_revoke_through_the_api(world: World) -> None:
    with world.session() as s:
        token_id = s.scalars(
            select(ApiTokenRow.id).join(users.UserRow).where(users.UserRow.name == "sales_ops")
        ).one()
    r = world.client.delete(f"{V}/users/sales_ops/tokens/{token_id}", headers=world.auth("admin"))
    assert r.status_code == 200
    assert world.client.get(f"{V}/auth/me", headers=world.auth("sales_ops")).status_code == 401


def test_unknown_and_malformed_tokens_are_refused(world: World) -> None:
    for header in ("Bearer cst_nope", "Bearer ", "Basic abc", "Bearer " + world.tokens["admin"] + "x"):
        r = world.client.get(f"{V}/auth/me", headers={"Authorization": header})
        assert r.status_code == 401, header


def test_token_is_stored_hashed_and_shown_once(world: World) -> None:
    r = world.client.post(f"{V}/users/operator/tokens", json={"days": 2}, headers=world.auth("admin"))
    assert r.status_code == 201
    secret = r.json()["token"]
    with world.session() as s:
        hashes = set(s.scalars(select(ApiTokenRow.token_hash)))
    assert secret not in hashes
    assert users.token_digest(secret) in hashes
    listed = world.client.get(f"{V}/users/operator/tokens", headers=world.auth("admin")).text
    assert secret not in listed


def test_token_role_narrows_the_user(world: World) -> None:
    with world.ws.unit_of_work() as s:
        users.add_user(s, name="both", roles=["finance", "operator"], password=None, actor="setup")
        t = users.issue_token(s, name="both", role="operator", actor="setup")
    r = world.client.post(
        f"{V}/approvals", json={"period": "2026-10"}, headers={"Authorization": f"Bearer {t.secret}"}
    )
    assert r.status_code == 403


def test_session_cookie_and_csrf(world: World) -> None:
    me = _login(world)
    assert me["roles"] == ["finance"]
    assert me["csrf_token"]
    cookie = world.client.cookies.get("cloudsettle_session")
    assert cookie
    assert world.client.get(f"{V}/auth/me").status_code == 200
    body = {"period": "2026-10", "partner_id": "P-A"}
    # A state-changing request without the CSRF header is refused, and with a wrong one.
    assert world.client.post(f"{V}/approvals", json=body).status_code == 403
    assert (
        world.client.post(f"{V}/approvals", json=body, headers={"X-CSRF-Token": "guess"}).status_code == 403
    )
    ok = world.client.post(f"{V}/approvals", json=body, headers={"X-CSRF-Token": me["csrf_token"]})
    assert ok.status_code == 200, ok.text
    assert ok.json()["statements"][0]["approved_by"] == "finance"


def test_session_cookie_flags(world: World) -> None:
    r = world.client.post(f"{V}/auth/login", json={"name": "auditor", "password": PASSWORD})
    set_cookie = [v for k, v in r.headers.multi_items() if k == "set-cookie"]
    session = next(c for c in set_cookie if c.startswith("cloudsettle_session="))
    assert "HttpOnly" in session
    assert "SameSite=strict" in session.replace("Strict", "strict")


def test_tampered_session_cookie_is_refused(world: World) -> None:
    _login(world)
    cookie = world.client.cookies.get("cloudsettle_session")
    assert cookie
    payload, _, rest = cookie.partition(".")
    forged = payload[:-2] + ("AA" if payload[-2:] != "AA" else "BB") + "." + rest
    world.client.cookies.clear()
    world.client.cookies.set("cloudsettle_session", forged)
    r = world.client.get(f"{V}/auth/me")
    assert r.status_code == 401
    world.client.cookies.set("cloudsettle_session", "garbage")
    assert world.client.get(f"{V}/auth/me").status_code == 401


def test_cookie_signed_with_another_secret_is_refused(world: World) -> None:
    from cloudsettle.api.security import SessionSigner

    value, _ = SessionSigner("another-secret-" * 3, 3600).issue(1, None)
    world.client.cookies.set("cloudsettle_session", value)
    assert world.client.get(f"{V}/auth/me").status_code == 401


def test_logout_clears_the_session(world: World) -> None:
    me = _login(world)
    assert (
        world.client.post(f"{V}/auth/logout", headers={"X-CSRF-Token": me["csrf_token"]}).status_code == 200
    )
    assert world.client.get(f"{V}/auth/me").status_code == 401


def test_login_throttling(world: World) -> None:
    for _ in range(5):
        r = world.client.post(f"{V}/auth/login", json={"name": "auditor", "password": "wrong password!"})
        assert r.status_code == 401
    r = world.client.post(f"{V}/auth/login", json={"name": "auditor", "password": PASSWORD})
    assert r.status_code == 429
    # Another user is not affected.
    assert (
        world.client.post(f"{V}/auth/login", json={"name": "finance", "password": PASSWORD}).status_code
        == 200
    )


def test_wrong_password_and_unknown_user_look_alike(world: World) -> None:
    a = world.client.post(f"{V}/auth/login", json={"name": "finance", "password": "not the password"})
    b = world.client.post(f"{V}/auth/login", json={"name": "nobody", "password": "not the password"})
    assert a.status_code == b.status_code == 401
    assert a.json() == b.json()


def test_upload_path_tricks_and_types_are_refused(world: World) -> None:
    headers = {**world.auth("operator"), "Content-Type": "application/octet-stream"}
    for name in (
        "../etc/passwd.csv",
        "a/b.csv",
        "..csv",
        ".hidden.csv",
        "bill.exe",
        "bill.csv\x00.exe",
        "bill",
    ):
        r = world.client.post(
            f"{V}/ingest", params={"file_name": name}, content=b"a,b\n1,2\n", headers=headers
        )
        assert r.status_code in (400, 422), (name, r.status_code)
    r = world.client.post(
        f"{V}/ingest", params={"file_name": "bill.parquet"}, content=b"not parquet", headers=headers
    )
    assert r.status_code == 400
    r = world.client.post(f"{V}/ingest", params={"file_name": "bill.csv"}, content=b"a\x00b", headers=headers)
    assert r.status_code == 400
    assert not list((world.ws.root / "uploads").glob("*/*")), "refused uploads leave nothing behind"


def test_upload_size_limit(world: World) -> None:
    world.app.state.cloudsettle.settings.max_upload_bytes = 100
    headers = {**world.auth("operator"), "Content-Type": "application/octet-stream"}
    r = world.client.post(
        f"{V}/ingest", params={"file_name": "big.csv"}, content=b"x," * 200, headers=headers
    )
    assert r.status_code == 413
    assert r.json()["error"]["code"] == "too_large"


def test_json_body_size_limit(world: World) -> None:
    big = {"period": "2026-10", "partner_id": "P-A", "amount": "1.00", "reason": "x" * (3 * 1024 * 1024)}
    r = world.client.post(f"{V}/adjustments", json=big, headers=world.auth("operator"))
    assert r.status_code == 413


def test_bad_bodies_are_4xx(world: World) -> None:
    h = world.auth("admin")
    cases = [
        ("/adjustments", {"period": "2026-10", "partner_id": "P-A", "amount": "1e3", "reason": "x"}),
        ("/adjustments", {"period": "2026-10", "partner_id": "P-A", "amount": "1.001", "reason": "x"}),
        ("/adjustments", {"period": "2026-13", "partner_id": "P-A", "amount": "1.00", "reason": "x"}),
        ("/adjustments", {"period": "2026-10", "partner_id": "P-NOPE", "amount": "1.00", "reason": "x"}),
        ("/approvals", {"period": "zzzz"}),
        ("/approvals", {"period": "2026-10", "unknown": 1}),
        ("/settlements", {}),
        ("/users", {"name": "x y", "roles": ["admin"]}),
        ("/users", {"name": "xy", "roles": ["emperor"]}),
    ]
    for path, body in cases:
        r = world.client.post(f"{V}{path}", json=body, headers=h)
        assert 400 <= r.status_code < 500, (path, body, r.status_code, r.text)
        assert r.json()["error"]["message"]
    r = world.client.post(
        f"{V}/approvals", content=b"{not json", headers={**h, "Content-Type": "application/json"}
    )
    assert r.status_code == 422


def test_no_secret_in_error_bodies(world: World) -> None:
    r = world.client.post(f"{V}/auth/login", json={"name": "admin", "password": "hunter2-secret-value"})
    assert "hunter2" not in r.text
    r = world.client.post(
        f"{V}/users",
        json={"name": "n", "roles": ["admin"], "password": "tiny-pw"},
        headers=world.auth("admin"),
    )
    assert r.status_code == 422
    assert "tiny-pw" not in r.text


def test_security_headers_and_hsts_behind_tls(world: World) -> None:
    r = world.client.get(f"{V}/health")
    assert r.headers["content-security-policy"].startswith("default-src 'self'")
    assert r.headers["referrer-policy"] == "no-referrer"
    assert "strict-transport-security" not in r.headers
