"""A bounded load test: ``cloudsettle serve`` on loopback with PostgreSQL, 20 concurrent clients for
20 seconds reading statements, adding manual adjustments and commenting on a case. No errors, no lost updates.

Skipped unless ``CLOUDSETTLE_TEST_DATABASE_URL`` names a PostgreSQL server (the database_url
fixture's ``postgresql`` parameter). The figures it prints go to docs/performance.md.
"""

from __future__ import annotations

import http.client
import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select

from cloudsettle.core.money import D
from cloudsettle.db.models import ManualAdjustmentRow, StatementRow
from cloudsettle.db.models_workflow import CaseCommentRow
from cloudsettle.services import users
from cloudsettle.services.config_service import load_config_file
from cloudsettle.services.ingest_service import ingest_file
from cloudsettle.services.settlement_service import settle
from tests.api.conftest import CASE, make_workspace

CLIENTS = 20
SECONDS = 20
V = "/api/v1"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def served(database_url: str, tmp_path: Path) -> Iterator[tuple[int, dict[str, str], object]]:
    if not database_url.startswith("postgresql"):
        pytest.skip("the load test runs against PostgreSQL only (set CLOUDSETTLE_TEST_DATABASE_URL)")
    root = tmp_path / "ws"
    (root / "raw").mkdir(parents=True)
    ws = make_workspace(root, database_url)
    with ws.unit_of_work() as s:
        load_config_file(s, path=CASE / "config.yaml", actor="setup")
    with ws.unit_of_work() as s:
        ingest_file(
            s, raw_store=ws.raw_store, path=CASE / "lines-2026-10.csv", provider="focus", actor="setup"
        )
    with ws.unit_of_work() as s:
        settle(s, period="2026-10", partner_id=None, actor="setup")
    from cloudsettle.services.case_service import open_dispute

    with ws.unit_of_work() as s:
        case_id = open_dispute(
            s, partner_id="P-B", agreement_id="b-2026", period="2026-10", text="load", actor="setup"
        ).id
    tokens = {"case": str(case_id)}
    with ws.unit_of_work() as s:
        for role in ("operator", "auditor"):
            users.add_user(s, name=role, roles=[role], password=None, actor="setup")
            tokens[role] = users.issue_token(s, name=role, actor="setup").secret
    port = _free_port()
    env = {**os.environ, "CLOUDSETTLE_DATABASE_URL": database_url}
    log = (tmp_path / "serve.log").open("wb")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "cloudsettle.cli.main",
            "serve",
            "--port",
            str(port),
            "--workspace",
            str(root),
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                c = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
                try:
                    c.request("GET", f"{V}/health")
                    if c.getresponse().status == 200:
                        break
                finally:
                    c.close()
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("serve did not start") from None
                time.sleep(0.2)
        yield port, tokens, ws
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        log.close()
        ws.close()


@pytest.mark.slow
def test_load_reads_and_updates(served: tuple[int, dict[str, str], object]) -> None:
    port, tokens, ws = served
    latencies: list[float] = []
    read_latencies: list[float] = []
    errors: list[str] = []
    posted: dict[str, Decimal] = {"P-A": D("0"), "P-B": D("0")}
    posted_count = 0
    comments = 0
    lock = threading.Lock()
    stop = time.monotonic() + SECONDS

    def client(n: int) -> None:
        nonlocal posted_count, comments
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        i = 0
        while time.monotonic() < stop:
            i += 1
            partner = "P-A" if (n + i) % 2 else "P-B"
            write = i % 5 == 0  # one request in five adjusts a statement, one in five comments on a case
            comment = i % 5 == 1
            started = time.monotonic()
            if comment:
                conn.request(
                    "POST",
                    f"{V}/cases/{tokens['case']}/comments",
                    body=json.dumps({"text": f"c {n}-{i}"}),
                    headers={
                        "Authorization": f"Bearer {tokens['operator']}",
                        "Content-Type": "application/json",
                    },
                )
            elif write:
                body = json.dumps(
                    {"period": "2026-10", "partner_id": partner, "amount": "0.01", "reason": f"load {n}-{i}"}
                )
                conn.request(
                    "POST",
                    f"{V}/adjustments",
                    body=body,
                    headers={
                        "Authorization": f"Bearer {tokens['operator']}",
                        "Content-Type": "application/json",
                    },
                )
            else:
                conn.request(
                    "GET",
                    f"{V}/partners/{partner}/statements/2026-10",
                    headers={"Authorization": f"Bearer {tokens['auditor']}"},
                )
            response = conn.getresponse()
            data = response.read()
            elapsed = time.monotonic() - started
            with lock:
                latencies.append(elapsed)
                if not write and not comment:
                    read_latencies.append(elapsed)
                if comment and response.status == 201:
                    comments += 1
                elif write and response.status == 201:
                    posted[partner] += D("0.01")
                    posted_count += 1
                elif response.status not in (200, 201):
                    errors.append(f"{response.status}: {data[:200]!r}")
        conn.close()

    threads = [threading.Thread(target=client, args=(n,)) for n in range(CLIENTS)]
    began = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    took = time.monotonic() - began
    assert not errors, errors[:5]
    latencies.sort()
    read_latencies.sort()
    p95 = latencies[int(len(latencies) * 0.95) - 1]
    read_p95 = read_latencies[int(len(read_latencies) * 0.95) - 1]
    print(
        f"\nload: {CLIENTS} clients, {len(latencies)} requests in {took:.1f} s = {len(latencies) / took:.0f} "
        f"req/s, p95 {p95 * 1000:.0f} ms (reads: {len(read_latencies)}, p95 {read_p95 * 1000:.0f} ms; "
        f"adjustments: {posted_count}, case comments: {comments})"
    )
    assert posted_count > 0
    # No lost update: every acknowledged adjustment is stored and counted in its statement.
    with ws.unit_of_work() as s:  # type: ignore[attr-defined]
        assert s.scalar(select(func.count()).select_from(ManualAdjustmentRow)) == posted_count
        stored_comments = s.scalar(
            select(func.count())
            .select_from(CaseCommentRow)
            .where(CaseCommentRow.case_id == int(tokens["case"]))
        )
        assert stored_comments == comments + 1  # and the dispute's own text
        for partner, total in posted.items():
            stored = s.scalars(select(StatementRow).where(StatementRow.partner_id == partner)).one()
            assert stored.manual_adjustment == total, (partner, stored.manual_adjustment, total)
