"""Every endpoint x every role: allowed (never 401/403/5xx) or 403, from one matrix.

The matrix is checked against the app's routes, so a new endpoint without an
entry fails :func:`test_every_route_has_a_matrix_entry`. A partner never sees
another partner's data, also when it guesses ids.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from sqlalchemy import select

from cloudsettle.db.models import StatementRow
from cloudsettle.services import users
from tests.api.conftest import CASE, ROLES, World

ALL = frozenset(ROLES)
INTERNAL = ALL - {"partner"}
PUBLIC = frozenset({"*"})
WORKERS = frozenset({"admin", "finance", "operator"})  # who works cases


@dataclass(frozen=True)
class Call:
    """Who may call an endpoint, and a valid request to send."""

    allowed: frozenset[str]
    params: dict[str, Any] = field(default_factory=dict)
    body: Any = None
    content: bytes | None = None
    path_args: Callable[[World], dict[str, Any]] | None = None


def _own_statement(w: World) -> dict[str, Any]:
    with w.session() as s:
        sid = s.scalars(select(StatementRow.id).where(StatementRow.partner_id == "P-A")).first()
    return {"statement_id": sid or 1}


def _dispute(w: World) -> dict[str, Any]:
    """A fresh open dispute of P-A (so closing it in one call leaves the next call a case to act on)."""
    from cloudsettle.services.case_service import open_dispute

    with w.ws.unit_of_work() as s:
        case = open_dispute(
            s, partner_id="P-A", agreement_id="a-2026", period="2026-10", text="why?", actor="partner"
        )
        return {"case_id": case.id}


def _victim_token(w: World) -> dict[str, Any]:
    with w.ws.unit_of_work() as s:
        t = users.issue_token(s, name="victim", actor="setup")
    return {"name": "victim", "token_id": t.id}


LINES = (CASE / "lines-2026-10.csv").read_bytes()
CONFIG = (CASE / "config.yaml").read_bytes()
V = "/api/v1"

MATRIX: dict[tuple[str, str], Call] = {
    ("GET", f"{V}/health"): Call(PUBLIC),
    ("POST", f"{V}/auth/login"): Call(PUBLIC),
    ("GET", f"{V}/auth/me"): Call(ALL),
    ("POST", f"{V}/auth/logout"): Call(ALL),
    ("GET", f"{V}/users"): Call(frozenset({"admin", "auditor"})),
    ("POST", f"{V}/users"): Call(frozenset({"admin"}), body={"name": "newbie", "roles": ["auditor"]}),
    ("GET", f"{V}/users/{{name}}/tokens"): Call(
        frozenset({"admin", "auditor", "operator"}), path_args=lambda w: {"name": "operator"}
    ),
    ("POST", f"{V}/users/{{name}}/tokens"): Call(
        frozenset({"admin", "operator"}), body={"days": 1}, path_args=lambda w: {"name": "operator"}
    ),
    ("DELETE", f"{V}/users/{{name}}/tokens/{{token_id}}"): Call(
        frozenset({"admin"}), path_args=_victim_token
    ),
    ("GET", f"{V}/partners"): Call(INTERNAL),
    ("GET", f"{V}/partners/{{partner_id}}"): Call(INTERNAL, path_args=lambda w: {"partner_id": "P-A"}),
    ("GET", f"{V}/customers"): Call(INTERNAL),
    ("GET", f"{V}/deals"): Call(INTERNAL),
    ("GET", f"{V}/agreements"): Call(INTERNAL),
    ("GET", f"{V}/fx-rates"): Call(INTERNAL),
    ("POST", f"{V}/config"): Call(
        frozenset({"admin", "sales_ops"}), params={"dry_run": "true"}, content=CONFIG
    ),
    ("GET", f"{V}/batches"): Call(INTERNAL),
    ("GET", f"{V}/batches/{{batch_id}}"): Call(INTERNAL, path_args=lambda w: {"batch_id": 1}),
    ("GET", f"{V}/runs"): Call(INTERNAL),
    ("GET", f"{V}/findings"): Call(INTERNAL),
    ("GET", f"{V}/jobs"): Call(ALL),
    ("GET", f"{V}/jobs/{{job_id}}"): Call(ALL, path_args=lambda w: {"job_id": 1}),
    ("POST", f"{V}/ingest"): Call(
        frozenset({"admin", "operator"}),
        params={"file_name": "lines.csv", "provider": "focus"},
        content=LINES,
    ),
    ("POST", f"{V}/settlements"): Call(
        frozenset({"admin", "operator"}), body={"period": "2026-10", "partner_id": "P-A"}
    ),
    ("POST", f"{V}/pulls"): Call(
        frozenset({"admin", "operator"}), body={"provider": "tencent", "month": "2026-10"}
    ),
    ("GET", f"{V}/statements"): Call(ALL),
    ("GET", f"{V}/statements/{{statement_id}}"): Call(ALL, path_args=_own_statement),
    ("GET", f"{V}/partners/{{partner_id}}/statements/{{period}}"): Call(
        ALL, path_args=lambda w: {"partner_id": "P-A", "period": "2026-10"}
    ),
    ("GET", f"{V}/statements/{{statement_id}}/explain"): Call(ALL, path_args=_own_statement),
    ("GET", f"{V}/statements/{{statement_id}}/file"): Call(
        ALL, params={"format": "csv"}, path_args=_own_statement
    ),
    ("POST", f"{V}/approvals"): Call(
        frozenset({"admin", "finance"}), body={"period": "2026-10", "partner_id": "P-A"}
    ),
    ("POST", f"{V}/rejections"): Call(
        frozenset({"admin", "finance"}), body={"period": "2026-10", "partner_id": "P-A", "reason": "check"}
    ),
    ("POST", f"{V}/finalizations"): Call(
        frozenset({"admin", "finance"}), body={"period": "2026-10", "partner_id": "P-A"}
    ),
    ("GET", f"{V}/adjustments"): Call(ALL),
    ("POST", f"{V}/adjustments"): Call(
        frozenset({"admin", "finance", "operator"}),
        body={"period": "2026-10", "partner_id": "P-A", "amount": "1.00", "reason": "goodwill"},
    ),
    ("GET", f"{V}/cases"): Call(ALL),
    ("GET", f"{V}/cases/{{case_id}}"): Call(ALL, path_args=_dispute),
    ("POST", f"{V}/cases/{{case_id}}/assign"): Call(WORKERS, body={"to": "operator"}, path_args=_dispute),
    ("POST", f"{V}/cases/{{case_id}}/comments"): Call(
        WORKERS | {"partner"}, body={"text": "hi"}, path_args=_dispute
    ),
    ("POST", f"{V}/cases/{{case_id}}/evidence"): Call(
        WORKERS | {"partner"}, params={"file_name": "note.txt"}, content=b"see invoice", path_args=_dispute
    ),
    ("POST", f"{V}/cases/{{case_id}}/resolve"): Call(WORKERS, body={"text": "fixed"}, path_args=_dispute),
    ("POST", f"{V}/cases/{{case_id}}/waive"): Call(WORKERS, body={"text": "accepted"}, path_args=_dispute),
    ("POST", f"{V}/disputes"): Call(
        frozenset({"admin", "operator", "partner"}),
        body={"period": "2026-10", "partner_id": "P-A", "text": "too low"},
    ),
    ("GET", f"{V}/ledger/entries"): Call(frozenset({"admin", "finance", "auditor"})),
    ("GET", f"{V}/ledger/trial-balance"): Call(frozenset({"admin", "finance", "auditor"})),
    ("GET", f"{V}/payouts"): Call(frozenset({"admin", "finance", "auditor"})),
    ("GET", f"{V}/exports/gl"): Call(frozenset({"admin", "finance", "auditor"})),
    ("GET", f"{V}/exports/focus"): Call(
        frozenset({"admin", "finance", "operator", "sales_ops", "auditor"}), params={"period": "2026-10"}
    ),
    ("POST", f"{V}/payouts/batches"): Call(
        frozenset({"admin", "finance"}), body={"requested_date": "2026-11-05"}
    ),
    ("POST", f"{V}/payouts/status"): Call(
        frozenset({"admin", "finance"}), content=b"end_to_end_id,status,date\nNO-SUCH,paid,2026-11-06\n"
    ),
    ("GET", f"{V}/audit"): Call(frozenset({"admin", "auditor"})),
    ("GET", f"{V}/audit/verify"): Call(frozenset({"admin", "auditor"})),
}


def _routes(world: World) -> set[tuple[str, str]]:
    """Every (method, path) the app serves under /api/v1, read from its OpenAPI document."""
    paths = world.app.openapi()["paths"]
    return {(m.upper(), p) for p, ops in paths.items() if p.startswith(V) for m in ops}


def test_every_route_has_a_matrix_entry(world: World) -> None:
    routes = _routes(world)
    missing = routes - MATRIX.keys()
    assert not missing, f"endpoints without an authorization matrix entry: {sorted(missing)}"
    assert not MATRIX.keys() - routes, "matrix entries for endpoints that no longer exist"


def _send(world: World, key: tuple[str, str], call: Call, role: str) -> int:
    method, path = key
    args = call.path_args(world) if call.path_args else {}
    url = path.format(**args)
    headers = world.auth(role)
    kwargs: dict[str, Any] = {"params": call.params, "headers": headers}
    if call.body is not None:
        kwargs["json"] = call.body
    if call.content is not None:
        kwargs["content"] = call.content
        headers["Content-Type"] = "application/octet-stream"
    return world.client.request(method, url, **kwargs).status_code


def test_matrix(world: World) -> None:
    with world.ws.unit_of_work() as s:
        users.add_user(s, name="victim", roles=["auditor"], password=None, actor="setup")
    # Reads first, then writes, so the writes' state changes do not hide a read's answer.
    order = sorted(MATRIX.items(), key=lambda kv: (kv[0][0] != "GET", kv[0][1]))
    problems = []
    for key, call in order:
        if call.allowed == PUBLIC or key == ("POST", f"{V}/auth/logout"):
            continue
        for role in ROLES:
            status = _send(world, key, call, role)
            allowed = role in call.allowed
            if allowed and (status in (401, 403) or status >= 500):
                problems.append(f"{role} {key}: {status}, expected allowed")
            if not allowed and status != 403:
                problems.append(f"{role} {key}: {status}, expected 403")
    assert not problems, "\n".join(problems)


def test_logout_and_me_for_every_role(world: World) -> None:
    for role in ROLES:
        me = world.client.get(f"{V}/auth/me", headers=world.auth(role))
        assert me.status_code == 200
        assert me.json()["roles"] == [role]
        assert world.client.post(f"{V}/auth/logout", headers=world.auth(role)).status_code == 200


# --- partner isolation -------------------------------------------------------------------------


def _ids(world: World) -> dict[str, int]:
    with world.session() as s:
        return {p: i for i, p in s.execute(select(StatementRow.id, StatementRow.partner_id)).all()}


def test_partner_lists_only_its_own_statements(world: World) -> None:
    r = world.client.get(f"{V}/statements", headers=world.auth("partner"))
    assert {s["partner_id"] for s in r.json()["items"]} == {"P-A"}
    r = world.client.get(f"{V}/statements", headers=world.auth("partner_b"))
    assert {s["partner_id"] for s in r.json()["items"]} == {"P-B"}
    assert (
        world.client.get(
            f"{V}/statements", params={"partner_id": "P-B"}, headers=world.auth("partner")
        ).status_code
        == 404
    )
    assert (
        world.client.get(f"{V}/partners/P-B/statements/2026-10", headers=world.auth("partner")).status_code
        == 404
    )
    assert (
        world.client.get(f"{V}/partners/P-A/statements/2026-10", headers=world.auth("partner")).status_code
        == 200
    )
    assert (
        world.client.get(
            f"{V}/adjustments", params={"partner_id": "P-B"}, headers=world.auth("partner")
        ).status_code
        == 404
    )


@pytest.mark.parametrize("suffix", ["", "/explain", "/file"])
def test_partner_cannot_read_another_partners_statement(world: World, suffix: str) -> None:
    ids = _ids(world)
    own = world.client.get(f"{V}/statements/{ids['P-A']}{suffix}", headers=world.auth("partner"))
    assert own.status_code == 200
    other = world.client.get(f"{V}/statements/{ids['P-B']}{suffix}", headers=world.auth("partner"))
    assert other.status_code == 404
    assert "P-B" not in other.text
    assert "Beta" not in other.text


def test_guessing_ids_reveals_nothing(world: World) -> None:
    ids = _ids(world)
    seen = {}
    for guess in range(1, 40):
        r = world.client.get(f"{V}/statements/{guess}", headers=world.auth("partner"))
        assert r.status_code in (200, 404)
        if r.status_code == 200:
            seen[guess] = r.json()["partner"]
    assert seen == {ids["P-A"]: "P-A"}
    for guess in range(1, 10):
        job = world.client.get(f"{V}/jobs/{guess}", headers=world.auth("partner"))
        assert job.status_code == 404


def test_partner_sees_only_its_own_disputes(world: World) -> None:
    r = world.client.post(
        f"{V}/disputes",
        json={"period": "2026-10", "partner_id": "P-A", "text": "rate?"},
        headers=world.auth("partner"),
    )
    assert r.status_code == 201, r.text
    case_id = r.json()["id"]
    assert world.client.get(f"{V}/cases/{case_id}", headers=world.auth("partner")).status_code == 200
    assert world.client.get(f"{V}/cases/{case_id}", headers=world.auth("partner_b")).status_code == 404
    listed = world.client.get(f"{V}/cases", headers=world.auth("partner_b")).json()
    assert listed["items"] == []
    assert listed["total"] == 0
    other = world.client.post(
        f"{V}/cases/{case_id}/comments", json={"text": "me too"}, headers=world.auth("partner_b")
    )
    assert other.status_code == 404
    # A partner cannot dispute another partner's statement.
    r = world.client.post(
        f"{V}/disputes",
        json={"period": "2026-10", "partner_id": "P-A", "text": "x"},
        headers=world.auth("partner_b"),
    )
    assert r.status_code == 404
