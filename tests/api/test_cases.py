"""Cases through the API: a dispute holds its statement; work it; evidence is checked; resolving releases."""

from __future__ import annotations

from tests.api.conftest import World

V = "/api/v1"


def _status(world: World, partner: str) -> str:
    r = world.client.get(f"{V}/partners/{partner}/statements/2026-10", headers=world.auth("finance"))
    return str(r.json()["status"])


def test_dispute_lifecycle(world: World) -> None:
    r = world.client.post(
        f"{V}/disputes",
        json={"period": "2026-10", "partner_id": "P-A", "text": "the rate looks wrong"},
        headers=world.auth("partner"),
    )
    assert r.status_code == 201, r.text
    case_id = r.json()["id"]
    assert _status(world, "P-A") == "in_exception"
    assert _status(world, "P-B") == "calculated"  # only the disputed statement is held
    held = world.client.post(
        f"{V}/approvals", json={"period": "2026-10", "partner_id": "P-A"}, headers=world.auth("finance")
    )
    assert held.status_code == 409

    op = world.auth("operator")
    assert (
        world.client.post(f"{V}/cases/{case_id}/assign", json={"to": "operator"}, headers=op).json()["status"]
        == "assigned"
    )
    assert (
        world.client.post(f"{V}/cases/{case_id}/assign", json={"to": "ghost"}, headers=op).status_code == 400
    )
    assert (
        world.client.post(f"{V}/cases/{case_id}/comments", json={"text": "checking"}, headers=op).status_code
        == 201
    )
    ev = {**op, "X-Evidence-Type": "text/plain", "Content-Type": "application/octet-stream"}
    ok = world.client.post(
        f"{V}/cases/{case_id}/evidence",
        params={"file_name": "rates.txt"},
        content=b"rate card 2026",
        headers=ev,
    )
    assert ok.status_code == 201, ok.text
    for name, data in (("../x.txt", b"a"), ("run.sh", b"#!/bin/sh"), ("a.txt", b"MZ\x90\x00")):
        bad = world.client.post(
            f"{V}/cases/{case_id}/evidence", params={"file_name": name}, content=data, headers=ev
        )
        assert bad.status_code == 400, (name, bad.text)

    doc = world.client.get(f"{V}/cases/{case_id}", headers=world.auth("partner")).json()
    assert [c["text"] for c in doc["comments"]] == ["the rate looks wrong", "checking"]
    assert [e["file"] for e in doc["evidence"]] == ["rates.txt"]

    closed = world.client.post(f"{V}/cases/{case_id}/resolve", json={"text": "rate confirmed"}, headers=op)
    assert closed.status_code == 200, closed.text
    assert closed.json()["case"]["status"] == "resolved"
    assert _status(world, "P-A") == "calculated"
    again = world.client.post(f"{V}/cases/{case_id}/waive", json={"text": "x"}, headers=op)
    assert again.status_code == 409
