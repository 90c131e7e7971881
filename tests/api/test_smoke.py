"""The API answers with the workspace's data, money as strings, errors as 4xx bodies."""

from __future__ import annotations

from tests.api.conftest import World


def test_statement_list_and_document(world: World) -> None:
    r = world.client.get("/api/v1/statements", headers=world.auth("finance"))
    assert r.status_code == 200, r.text
    items = {s["partner_id"]: s for s in r.json()["items"]}
    assert items["P-A"]["payable"] == "32.00"
    assert items["P-B"]["payable"] == "48.00"
    doc = world.client.get(f"/api/v1/statements/{items['P-B']['id']}", headers=world.auth("auditor")).json()
    assert doc["components"]["commission"] == "48.00"
    assert doc["currency"] == "CNY"


def test_no_credentials_is_401_and_headers_are_set(world: World) -> None:
    r = world.client.get("/api/v1/statements")
    assert r.status_code == 401
    assert r.json()["error"]["code"] == "unauthenticated"
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["x-frame-options"] == "DENY"
    assert r.headers["cache-control"] == "no-store"


def test_bad_body_is_422_without_echoing_input(world: World) -> None:
    r = world.client.post("/api/v1/auth/login", json={"name": "admin", "password": "", "x": "secret-value"})
    assert r.status_code == 422
    assert "secret-value" not in r.text
