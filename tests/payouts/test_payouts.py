"""Payout batches (pain.001.001.09 + CSV), status import, and sealed payout details."""

from __future__ import annotations

import base64
import json
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session, sessionmaker

from cloudsettle.core import ledger
from cloudsettle.core.findings import FindingKind
from cloudsettle.core.money import D
from cloudsettle.db.models import PayoutAccountRow, PayoutRow
from cloudsettle.exports.pain001 import schema_path, totals, validate
from cloudsettle.ingest.raw_store import RawStore
from cloudsettle.services.errors import BadInput, Refused
from cloudsettle.services.ledger_service import check_invariants, entries, partner_balances
from cloudsettle.services.payout_service import create_batches, import_status, set_payout_details
from cloudsettle.services.runs import set_setting
from cloudsettle.services.secrets import KeyRing, new_key
from tests.ledger.driver import WORKED, Driver, worked_example

RING = KeyRing.parse(f"k1:{new_key()}")
PAYABLE = ("Liabilities:Payable:Partners:P-ACME", "CNY")
DETAILS = {"iban": "DE89370400440532013000", "bic": "COBADEFFXXX", "account_name": "Acme Cloud Services GmbH"}


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def _debtor(d: Driver) -> None:
    for key, value in (
        ("debtor.name", "Reseller Ltd"),
        ("debtor.iban", "DE75512108001245126199"),
        ("debtor.bic", "SOGEDEFFXXX"),
    ):
        d.do(set_setting, key=key, value=value, actor="admin")


@pytest.fixture
def ready(session_factory: sessionmaker[Session], tmp_path: Path) -> Driver:
    d = worked_example(session_factory, tmp_path)
    _debtor(d)
    d.do(set_payout_details, partner_id="P-ACME", details=DETAILS, actor="admin", ring=RING)
    return d


def _batch(d: Driver, out: Path, partner: str | None = None):
    return d.do(
        create_batches,
        actor="treasurer",
        ring=RING,
        out_dir=out,
        requested_date=date(2026, 11, 10),
        partner_id=partner,
    )


def _status_file(tmp: Path, rows: list[tuple[str, str]], name: str = "status.csv") -> Path:
    path = tmp / name
    body = "".join(f"{e},{s},\n" for e, s in rows)
    path.write_text("end_to_end_id,status,reason\n" + body, encoding="utf-8")
    return path


def test_the_payout_file_validates_and_its_control_sum_is_the_sum_of_payables(
    ready: Driver, tmp_path: Path
) -> None:
    assert schema_path().name == "pain.001.001.09.xsd"
    result = _batch(ready, tmp_path / "out")
    assert result.held == []
    [(batch, xml_path, csv_path)] = result.batches
    xml = xml_path.read_bytes()
    assert validate(xml) == []  # the official ISO 20022 XSD shipped by sepaxml
    payables = [s.payable for s in ready.statements()]
    assert payables == [D("3960"), D("8514")]
    count, control, summed = totals(xml)
    assert (count, control, summed) == (2, sum(payables), sum(payables))
    assert batch.control_sum == D("12474")
    assert b"<CtrlSum>12474.00</CtrlSum>" in xml
    assert b'<InstdAmt Ccy="CNY">8514.00</InstdAmt>' in xml
    assert b"DE89370400440532013000" in xml
    lines = csv_path.read_text(encoding="utf-8").splitlines()
    assert lines[-1].startswith("TOTAL,2 transfers,,,,12474.00,CNY")
    assert _batch(ready, tmp_path / "out").batches == []  # pending payouts are not paid twice


def test_a_broken_payout_file_fails_the_xsd(ready: Driver, tmp_path: Path) -> None:
    [(_, xml_path, _)] = _batch(ready, tmp_path / "out").batches
    broken = xml_path.read_bytes().replace(b'Ccy="CNY"', b'Ccy="YUAN"', 1)
    assert any("Ccy" in e for e in validate(broken))


def test_status_import_pays_posts_and_returns(
    ready: Driver, tmp_path: Path, session_factory: sessionmaker[Session]
) -> None:
    _batch(ready, tmp_path / "out")
    with session_factory() as session:
        ids = [p.end_to_end_id for p in session.scalars(select(PayoutRow).order_by(PayoutRow.id))]
    summary = ready.do(
        import_status, path=_status_file(tmp_path, [(ids[0], "paid"), (ids[1], "paid")]), actor="treasurer"
    )
    assert dict(summary.moved) == {"paid": 2}
    assert [s.status for s in ready.statements()] == ["paid", "paid"]
    with session_factory() as session:
        assert partner_balances(session, "P-ACME")[PAYABLE] == 0
        check_invariants(session)
    again = ready.do(import_status, path=_status_file(tmp_path, [(ids[0], "paid")], "again.csv"), actor="t")
    assert again.unchanged == 1  # re-importing the same status changes nothing
    ready.do(import_status, path=_status_file(tmp_path, [(ids[1], "returned")], "ret.csv"), actor="treasurer")
    assert [s.status for s in ready.statements()] == ["paid", "settled"]
    with session_factory() as session:
        assert partner_balances(session, "P-ACME")[PAYABLE] == D("-8514")
        check_invariants(session)
        kinds = [e.entry.kind for e in entries(session)]
    assert kinds[-1] is ledger.EntryKind.REVERSAL
    [(batch, _, _)] = _batch(ready, tmp_path / "out2").batches  # the returned one can be paid again
    assert batch.control_sum == D("8514")


def test_an_unknown_payout_in_a_status_file_is_refused_and_nothing_changes(
    ready: Driver, tmp_path: Path, session_factory: sessionmaker[Session]
) -> None:
    _batch(ready, tmp_path / "out")
    with session_factory() as session:
        known = session.scalars(select(PayoutRow.end_to_end_id)).first()
    path = _status_file(tmp_path, [(str(known), "paid"), ("NOPE-1", "paid")])
    with pytest.raises(BadInput, match=r"status.csv:3: unknown payout 'NOPE-1'"):
        ready.do(import_status, path=path, actor="treasurer")
    with session_factory() as session:
        assert set(session.scalars(select(PayoutRow.status))) == {"pending"}
        assert session.scalar(text("SELECT count(*) FROM ledger_entries WHERE kind = 'payment'")) == 0
    with pytest.raises(BadInput, match="cannot become returned"):
        ready.do(import_status, path=_status_file(tmp_path, [(str(known), "returned")], "r.csv"), actor="t")


def test_unverified_partner_is_refused_or_held(
    session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    config = tmp_path / "pending.yaml"
    config.write_text(
        (WORKED / "config.yaml")
        .read_text(encoding="utf-8")
        .replace("verification: verified", "verification: pending"),
        encoding="utf-8",
    )
    d = Driver(session_factory, RawStore(tmp_path / "raw"))
    d.load(config)
    d.ingest(WORKED / "lines-2026-09.csv")
    d.close("2026-09")
    _debtor(d)
    d.do(set_payout_details, partner_id="P-ACME", details=DETAILS, actor="admin", ring=RING)
    with pytest.raises(Refused, match="payee_not_verified"):
        _batch(d, tmp_path / "out", partner="P-ACME")
    result = _batch(d, tmp_path / "out")
    assert result.batches == []
    assert [f.kind for f in result.held] == [FindingKind.PAYEE_NOT_VERIFIED]
    with session_factory() as session:
        assert session.scalars(select(PayoutRow)).all() == []
    assert not (tmp_path / "out" / "payouts").exists()


def test_payout_details_are_sealed_masked_and_rotatable(
    ready: Driver, session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    from cloudsettle.services.payout_service import details_of, rekey

    with session_factory() as session:
        row = session.get(PayoutAccountRow, "P-ACME")
        assert row is not None
        assert "DE89" not in row.sealed
        assert row.key_id == "k1"
        assert "iban=******************3000" in row.masked
        assert details_of(session, "P-ACME", RING) == DETAILS
        wrong = KeyRing.parse(f"k1:{new_key()}")
        with pytest.raises(BadInput, match="do not open with key 'k1'"):
            details_of(session, "P-ACME", wrong)
    k2 = new_key()
    rotated = KeyRing.parse(f"k2:{k2},k1:{_b64(RING.keys['k1'])}")
    assert rotated.current == "k2"
    assert ready.do(rekey, actor="admin", ring=rotated) == 1
    assert ready.do(rekey, actor="admin", ring=rotated) == 0  # already on the current key
    only_new = KeyRing.parse(f"k2:{k2}")
    with session_factory() as session:
        assert details_of(session, "P-ACME", only_new) == DETAILS
        with pytest.raises(BadInput, match="sealed with key 'k2'"):
            details_of(session, "P-ACME", RING)
    # a wrong key refuses the batch and writes nothing
    with pytest.raises(BadInput):
        ready.do(
            create_batches, actor="t", ring=RING, out_dir=tmp_path / "o", requested_date=date(2026, 11, 10)
        )
    assert not (tmp_path / "o").exists()


def test_key_configuration_errors_are_clear(tmp_path: Path) -> None:
    with pytest.raises(BadInput, match="no payout key"):
        KeyRing.from_env({})
    with pytest.raises(BadInput, match="does not exist"):
        KeyRing.from_env({"CLOUDSETTLE_PAYOUT_KEY_FILE": str(tmp_path / "missing.json")})
    bad = tmp_path / "bad.json"
    bad.write_text("not json", encoding="utf-8")
    with pytest.raises(BadInput, match="not readable JSON"):
        KeyRing.from_file(bad)
    short = tmp_path / "short.json"
    short.write_text(json.dumps({"current": "k1", "keys": {"k1": "c2hvcnQ="}}), encoding="utf-8")
    with pytest.raises(BadInput, match="must be 32 bytes"):
        KeyRing.from_file(short)
    good = tmp_path / "good.json"
    doc = {"current": "k2", "keys": {"k1": new_key(), "k2": new_key()}}
    good.write_text(json.dumps(doc), encoding="utf-8")
    ring = KeyRing.from_env({"CLOUDSETTLE_PAYOUT_KEY_FILE": str(good)})
    assert ring.current == "k2"
    assert doc["keys"]["k1"] not in repr(ring)  # never print key material


def test_the_command_line_refuses_missing_keys_and_unknown_payouts(tmp_path: Path, database_url: str) -> None:
    from typer.testing import CliRunner

    from cloudsettle.cli.main import app

    def cli(*args: str, **env: str):
        base = {
            "CLOUDSETTLE_DATABASE_URL": database_url,
            "CLOUDSETTLE_USER": "admin",
            "CLOUDSETTLE_PAYOUT_KEY": "",
            "CLOUDSETTLE_PAYOUT_KEY_FILE": "",
        }
        return CliRunner().invoke(app, [*args, "--workspace", str(tmp_path / "ws")], env={**base, **env})

    assert cli("config", "load", str(WORKED / "config.yaml")).exit_code == 0
    details = (
        "payout",
        "details",
        "set",
        "--partner",
        "P-ACME",
        "--account-name",
        "Acme",
        "--iban",
        "DE89370400440532013000",
    )
    none = cli(*details)
    assert none.exit_code == 2
    assert "no payout key" in none.stderr
    missing = cli(*details, CLOUDSETTLE_PAYOUT_KEY_FILE=str(tmp_path / "nope.json"))
    assert missing.exit_code == 2
    assert "does not exist" in missing.stderr
    ok = cli(*details, CLOUDSETTLE_PAYOUT_KEY=f"k1:{new_key()}")
    assert ok.exit_code == 0, ok.output
    assert "******************3000" in ok.stdout
    assert "DE89370400440532013000" not in cli("payout", "details", "show").stdout
    wrong = cli("payout", "create", CLOUDSETTLE_PAYOUT_KEY=f"k1:{new_key()}")
    assert wrong.exit_code == 1
    assert "set the paying account first" in wrong.stderr
    status = tmp_path / "s.csv"
    status.write_text("end_to_end_id,status\nNOPE-1,paid\n", encoding="utf-8")
    unknown = cli("payout", "status", str(status))
    assert unknown.exit_code == 2
    assert "unknown payout 'NOPE-1'" in unknown.stderr
