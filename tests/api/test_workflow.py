"""Use cases through the API: four eyes, idempotent uploads, jobs, statements files, adjustments, config."""

from __future__ import annotations

import threading

from sqlalchemy import func, select

from cloudsettle.db.models import IngestBatchRow, ManualAdjustmentRow, StatementRow
from cloudsettle.db.models_workflow import JobRow
from tests.api.conftest import CASE, World

V = "/api/v1"
BODY = {"period": "2026-10", "partner_id": "P-A"}


def _upload(world: World, content: bytes, key: str | None, name: str = "lines-2026-10b.csv"):
    headers = {**world.auth("operator"), "Content-Type": "application/octet-stream"}
    if key:
        headers["Idempotency-Key"] = key
    return world.client.post(
        f"{V}/ingest", params={"file_name": name, "provider": "focus"}, content=content, headers=headers
    )


def test_four_eyes_preparer_cannot_approve(world: World) -> None:
    # The admin settles (prepares) P-A through the API, then tries to approve it: refused.
    r = world.client.post(f"{V}/settlements", json=BODY, headers=world.auth("admin"))
    assert r.status_code == 202, r.text
    job = world.client.get(f"{V}/jobs/{r.json()['id']}", headers=world.auth("admin")).json()
    assert job["status"] == "done", job
    refused = world.client.post(f"{V}/approvals", json=BODY, headers=world.auth("admin"))
    assert refused.status_code == 409
    assert "four eyes" in refused.json()["error"]["message"]
    with world.session() as s:
        assert (
            s.scalars(select(StatementRow.status).where(StatementRow.partner_id == "P-A")).one()
            == "calculated"
        )
    ok = world.client.post(f"{V}/approvals", json=BODY, headers=world.auth("finance"))
    assert ok.status_code == 200
    assert ok.json()["statements"][0]["status"] == "approved"
    fin = world.client.post(f"{V}/finalizations", json=BODY, headers=world.auth("finance"))
    assert fin.status_code == 200
    assert fin.json()["statements"][0]["status"] == "settled"
    # Finalized: an adjustment is refused with 409, not a 500.
    adj = {**BODY, "amount": "5.00", "reason": "late"}
    assert world.client.post(f"{V}/adjustments", json=adj, headers=world.auth("operator")).status_code == 409


def test_adjuster_cannot_approve_either(world: World) -> None:
    adj = {**BODY, "amount": "-2.50", "reason": "credit note"}
    r = world.client.post(f"{V}/adjustments", json=adj, headers=world.auth("finance"))
    assert r.status_code == 201, r.text
    assert r.json()["amount"] == "-2.50"
    assert world.client.post(f"{V}/approvals", json=BODY, headers=world.auth("finance")).status_code == 409
    doc = world.client.get(f"{V}/statements", params=BODY, headers=world.auth("finance")).json()["items"][0]
    assert doc["payable"] == "29.50"  # 32.00 - 2.50


def test_same_upload_twice_with_one_key_ingests_once(world: World) -> None:
    content = (CASE / "lines-2026-10.csv").read_bytes().replace(b"PD-1,", b"PD-9,")
    first = _upload(world, content, "key-1")
    second = _upload(world, content, "key-1")
    assert first.status_code == second.status_code == 202
    assert first.json()["id"] == second.json()["id"]
    assert second.json()["status"] == "done"
    assert second.json()["result"]["new"] == 1
    with world.session() as s:
        assert s.scalar(select(func.count()).select_from(IngestBatchRow)) == 2  # setup's and this one
        assert s.scalar(select(func.count()).select_from(JobRow)) == 1
    # The same key for a different file is refused; another key makes a new job.
    assert _upload(world, content + b"\n", "key-1").status_code == 409
    third = _upload(world, content, "key-2")
    assert third.json()["id"] != first.json()["id"]
    assert third.json()["status"] == "queued"  # answered before it runs; poll it
    polled = world.client.get(f"{V}/jobs/{third.json()['id']}", headers=world.auth("operator")).json()
    assert polled["status"] == "done"
    assert polled["result"]["unchanged"] == 2


def test_concurrent_retries_make_one_job(world: World) -> None:
    content = (CASE / "lines-2026-10.csv").read_bytes()
    ids: list[int] = []

    def send() -> None:
        ids.append(_upload(world, content, "race").json()["id"])

    threads = [threading.Thread(target=send) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(ids)) == 1
    with world.session() as s:
        assert s.scalar(select(func.count()).select_from(JobRow)) == 1


def test_failed_job_reports_the_error(world: World) -> None:
    r = world.client.post(
        f"{V}/settlements", json={"period": "2026-10", "partner_id": "P-NONE"}, headers=world.auth("operator")
    )
    job = world.client.get(f"{V}/jobs/{r.json()['id']}", headers=world.auth("operator")).json()
    assert job["status"] == "failed"
    assert "P-NONE" in job["error"]


def test_statement_files_and_explain(world: World) -> None:
    sid = world.client.get(
        f"{V}/statements", params={"partner_id": "P-B"}, headers=world.auth("partner_b")
    ).json()["items"][0]["id"]
    csv = world.client.get(
        f"{V}/statements/{sid}/file", params={"format": "csv"}, headers=world.auth("partner_b")
    )
    assert csv.status_code == 200
    assert csv.headers["content-type"].startswith("text/csv")
    text = csv.content.decode("utf-8-sig")
    assert "PD-2" in text
    assert "12.00" in text
    xlsx = world.client.get(
        f"{V}/statements/{sid}/file", params={"format": "xlsx"}, headers=world.auth("finance")
    )
    assert xlsx.status_code == 200
    assert xlsx.content[:2] == b"PK"
    ex = world.client.get(f"{V}/statements/{sid}/explain", headers=world.auth("partner_b")).json()
    assert ex["lines"]
    assert any("PD-2" in line for line in ex["lines"])
    bad = world.client.get(
        f"{V}/statements/{sid}/file", params={"format": "exe"}, headers=world.auth("finance")
    )
    assert bad.status_code == 422


def test_config_dry_run_keeps_nothing(world: World) -> None:
    text = (CASE / "config.yaml").read_text(encoding="utf-8").replace("Alpha Partners", "Alpha Partners Ltd")
    h = {**world.auth("sales_ops"), "Content-Type": "application/yaml"}
    dry = world.client.post(f"{V}/config", params={"dry_run": "true"}, content=text.encode(), headers=h)
    assert dry.status_code == 200, dry.text
    assert any(c["kind"] == "partners" and c["updated"] == 1 for c in dry.json()["changes"]), dry.json()
    assert (
        world.client.get(f"{V}/partners/P-A", headers=world.auth("auditor")).json()["name"]
        == "Alpha Partners"
    )
    real = world.client.post(f"{V}/config", content=text.encode(), headers=h)
    assert real.status_code == 200
    assert (
        world.client.get(f"{V}/partners/P-A", headers=world.auth("auditor")).json()["name"]
        == "Alpha Partners Ltd"
    )
    broken = world.client.post(f"{V}/config", content=b"partners: [ {id: 1", headers=h)
    assert broken.status_code == 400


def test_lists_are_paginated(world: World) -> None:
    page = world.client.get(f"{V}/statements", params={"limit": 1}, headers=world.auth("auditor")).json()
    assert page["total"] == 2
    assert len(page["items"]) == 1
    rest = world.client.get(
        f"{V}/statements", params={"limit": 1, "offset": 1}, headers=world.auth("auditor")
    ).json()
    assert rest["items"][0]["id"] != page["items"][0]["id"]
    assert (
        world.client.get(f"{V}/statements", params={"limit": 0}, headers=world.auth("auditor")).status_code
        == 422
    )


def test_audit_log_records_api_actions(world: World) -> None:
    adj = {**BODY, "amount": "1.00", "reason": "api"}
    assert world.client.post(f"{V}/adjustments", json=adj, headers=world.auth("operator")).status_code == 201
    events = world.client.get(
        f"{V}/audit", params={"actor": "operator", "action": "adjust"}, headers=world.auth("auditor")
    ).json()
    assert events["total"] == 1
    assert events["items"][0]["details"]["amount"] == "1.00"
    assert world.client.get(f"{V}/audit/verify", headers=world.auth("auditor")).json()["ok"] is True
    with world.session() as s:
        assert s.scalar(select(func.count()).select_from(ManualAdjustmentRow)) == 1
