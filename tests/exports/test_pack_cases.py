"""The explanation pack lists the cases about the statement with their resolutions."""

from __future__ import annotations

import csv
import io
import zipfile
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from cloudsettle.db.models import StatementRow
from cloudsettle.exports.statement_data import gather
from cloudsettle.exports.statement_pack import render_pack
from cloudsettle.services.case_service import open_dispute, resolve
from cloudsettle.services.statement_view import statement_document
from tests.ledger.driver import worked_example


def test_pack_lists_a_resolved_dispute(session_factory: sessionmaker[Session], tmp_path: Path) -> None:
    worked_example(session_factory, tmp_path)
    with session_factory() as session, session.begin():
        case = open_dispute(
            session,
            partner_id="P-ACME",
            agreement_id="acme-2026",
            period="2026-10",
            text="the COS line looks low",
            actor="acme-user",
        )
        resolve(session, case_id=case.id, note="checked: rate 5% is right", actor="bob")
    with session_factory() as session:
        row = session.scalars(select(StatementRow).where(StatementRow.period == "2026-10")).one()
        data = gather(session, statement_document(session, row))
    target = render_pack(data, tmp_path / "pack.zip")
    with zipfile.ZipFile(target) as zf:
        rows = list(csv.DictReader(io.StringIO(zf.read("cases.csv").decode("utf-8"))))
    assert [(r["kind"], r["status"]) for r in rows] == [("dispute", "resolved")]
    assert rows[0]["resolution"] == "checked: rate 5% is right"
