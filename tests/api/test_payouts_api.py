"""Payouts through the API: finance writes the batch and imports the bank's answer."""

from __future__ import annotations

import csv
import io
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from cloudsettle.api.app import create_app
from cloudsettle.config import Settings
from cloudsettle.db.models import PayoutRow
from cloudsettle.services.payout_service import set_payout_details
from cloudsettle.services.secrets import KeyRing, new_key
from cloudsettle.services.users import add_user, issue_token
from tests.ledger.driver import worked_example
from tests.payouts.test_payouts import DETAILS, _debtor

V = "/api/v1"


def test_finance_batches_payouts_and_imports_the_bank_status(
    session_factory: sessionmaker[Session], database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = f"k1:{new_key()}"
    monkeypatch.setenv("CLOUDSETTLE_PAYOUT_KEY", key)
    monkeypatch.setenv("CLOUDSETTLE_DATABASE_URL", database_url)
    driver = worked_example(session_factory, tmp_path)
    _debtor(driver)
    driver.do(
        set_payout_details, partner_id="P-ACME", details=DETAILS, actor="admin", ring=KeyRing.parse(key)
    )
    with session_factory() as session, session.begin():
        add_user(session, name="fin", roles="finance", password=None, actor="admin")
        add_user(session, name="ops", roles="operator", password=None, actor="admin")
        fin = issue_token(session, name="fin", actor="admin").secret
        ops = issue_token(session, name="ops", actor="admin").secret
    app = create_app(Settings(workspace=tmp_path / "ws"))
    with TestClient(app) as client:
        body = {"requested_date": date(2026, 11, 10).isoformat()}
        refused = client.post(f"{V}/payouts/batches", json=body, headers={"Authorization": f"Bearer {ops}"})
        assert refused.status_code == 403
        made = client.post(f"{V}/payouts/batches", json=body, headers={"Authorization": f"Bearer {fin}"})
        assert made.status_code == 201, made.text
        batches = made.json()["batches"]
        assert [(b["currency"], b["transactions"], b["control_sum"]) for b in batches] == [
            ("CNY", 2, "12474.00")
        ]
        assert (tmp_path / "ws" / "out" / "payouts" / batches[0]["pain001_file"]).is_file()
        with session_factory() as session:
            ids = list(session.scalars(select(PayoutRow.end_to_end_id)))
        status = "end_to_end_id,status,date\n" + "".join(f"{e},paid,2026-11-12\n" for e in ids)
        imported = client.post(
            f"{V}/payouts/status",
            content=status.encode(),
            headers={"Authorization": f"Bearer {fin}", "Content-Type": "text/csv"},
        )
        assert imported.status_code == 200, imported.text
        assert imported.json()["moved"] == {"paid": 2}
        again = client.post(f"{V}/payouts/batches", json=body, headers={"Authorization": f"Bearer {fin}"})
        assert again.json()["batches"] == []  # nothing payable twice
        gl = client.get(f"{V}/exports/gl", headers={"Authorization": f"Bearer {fin}"})
        assert gl.status_code == 200
        rows = list(csv.DictReader(io.StringIO(gl.text)))
        assert sum(Decimal(r["debit"] or "0") for r in rows) == sum(Decimal(r["credit"] or "0") for r in rows)
        assert {r["entry"] for r in rows} >= {"1", "2"}
        bean = client.get(
            f"{V}/exports/gl", params={"format": "beancount"}, headers={"Authorization": f"Bearer {fin}"}
        )
        assert "Liabilities:Payable:Partners" in bean.text
        focus = client.get(
            f"{V}/exports/focus", params={"period": "2026-10"}, headers={"Authorization": f"Bearer {ops}"}
        )
        assert focus.status_code == 200
        assert len(list(csv.DictReader(io.StringIO(focus.text)))) == 3
