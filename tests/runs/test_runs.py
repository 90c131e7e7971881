"""Runs record their inputs and reproduce; approvals: four eyes, second approver,
rejection, changed inputs; grace window; shadow mode."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from cloudsettle.cli.main import app
from cloudsettle.core.money import D
from cloudsettle.db.models import RunInputRow, StatementRow
from cloudsettle.ingest.raw_store import RawStore
from cloudsettle.services import case_service, records
from cloudsettle.services.errors import BadInput, Refused
from cloudsettle.services.runs import get_setting, rerun, set_setting
from cloudsettle.services.settlement_service import approve, finalize, reject, settle
from cloudsettle.services.shadow import compare, import_actuals
from tests.ledger.driver import WORKED, Driver, worked_example

LATE_LINE = (
    "T-2610-LATE-1,Tencent Cloud,100012345678,reseller-001,INV-2026-10,COS,Storage,ap-guangzhou,,"
    "res-late,on_demand,Usage,,2026-10-20T10:00:00+08:00,2026-10-21T10:00:00+08:00,"
    "2026-10-01T00:00:00+08:00,2026-11-01T00:00:00+08:00,,10000.00,10000.00,0.00,0.00,CNY,\n"
)


def _late_file(tmp: Path) -> Path:
    header = (WORKED / "lines-2026-10.csv").read_text(encoding="utf-8").splitlines()[0]
    path = tmp / "late-2026-10.csv"
    path.write_text(header + "\n" + LATE_LINE, encoding="utf-8")
    return path


def _october(session_factory: sessionmaker[Session], tmp: Path) -> Driver:
    d = worked_example(session_factory, tmp, close_october=False)
    d.do(settle, period="2026-10", partner_id=None, actor="alice")
    return d


def _cli(database_url: str, workspace: Path, *args: str, user: str = "alice"):
    env = {"CLOUDSETTLE_DATABASE_URL": database_url, "CLOUDSETTLE_USER": user}
    return CliRunner().invoke(app, [*args, "--workspace", str(workspace)], env=env)


def test_rerun_reproduces_every_run_even_after_inputs_change(
    session_factory: sessionmaker[Session], tmp_path: Path, database_url: str
) -> None:
    d = _october(session_factory, tmp_path)
    with session_factory() as session:
        runs = list(session.scalars(select(RunInputRow).order_by(RunInputRow.run_id)))
        assert len(runs) == 2
        inputs = json.loads(runs[1].inputs)
        assert [line[1] for line in inputs["lines"]] == [
            "T-2609-CVM-1",
            "T-2610-COS-1",
            "T-2610-CVM-1",
            "T-2610-CVM-R1",
        ]
        assert inputs["finalized"]["acme-2026"][0][:3] == ["2026-09", 1, "3960"]
        assert inputs["agreement_versions"][0]["fingerprint"]
    for run in runs:
        with session_factory() as session:
            result = rerun(session, run_id=run.run_id)
        assert result.differences == ()
        assert result.statements == 1
    d.ingest(_late_file(tmp_path))  # inputs change afterwards; the recorded run still reproduces
    with session_factory() as session:
        assert rerun(session, run_id=runs[1].run_id).differences == ()
    out = _cli(database_url, tmp_path / "ws", "rerun", str(runs[1].run_id), "--compare")
    assert out.exit_code == 0, out.output
    assert "0 difference(s)" in out.stdout
    assert _cli(database_url, tmp_path / "ws", "rerun", "999", "--compare").exit_code == 2


def test_rerun_names_differences_when_the_record_disagrees(
    session_factory: sessionmaker[Session], tmp_path: Path, db_engine: object
) -> None:
    _october(session_factory, tmp_path)
    with session_factory() as session:
        run_id = session.scalars(select(RunInputRow.run_id).order_by(RunInputRow.run_id.desc())).first()
        results = json.loads(session.get(RunInputRow, run_id).results)  # type: ignore[union-attr]
    key = "P-ACME/acme-2026/2026-10"
    results["statements"][key]["components"]["payable"] = "9999"
    with db_engine.begin() as connection:  # type: ignore[attr-defined]
        connection.execute(
            text("UPDATE run_inputs SET results = :r WHERE run_id = :i"),
            {"r": json.dumps(results), "i": run_id},
        )
    with session_factory() as session:
        diffs = rerun(session, run_id=run_id).differences  # type: ignore[arg-type]
    assert diffs == (f'statements.{key}.components.payable: recorded "9999" rerun "8514"',)


def test_four_eyes_on_the_command_line(tmp_path: Path, database_url: str) -> None:
    ws = tmp_path / "ws"
    assert _cli(database_url, ws, "config", "load", str(WORKED / "config.yaml")).exit_code == 0
    assert _cli(database_url, ws, "ingest", str(WORKED / "lines-2026-09.csv")).exit_code == 0
    assert _cli(database_url, ws, "settle", "--period", "2026-09").exit_code == 0
    same = _cli(database_url, ws, "approve", "--period", "2026-09")
    assert same.exit_code == 1
    assert "alice settled it; four eyes need another approver" in same.stderr
    other = _cli(database_url, ws, "approve", "--period", "2026-09", user="bob")
    assert other.exit_code == 0, other.output
    assert _cli(database_url, ws, "finalize", "--period", "2026-09", user="bob").exit_code == 0
    tb = _cli(database_url, ws, "ledger", "trial-balance")
    assert tb.exit_code == 0
    assert "-3960.00" in tb.stdout
    assert _cli(database_url, ws, "ledger", "check").exit_code == 0
    export = _cli(database_url, ws, "ledger", "export", "--output", str(tmp_path / "j.beancount"))
    assert export.exit_code == 0
    assert "Liabilities:Payable:Partners:P-ACME  -3960.00 CNY" in (tmp_path / "j.beancount").read_text()


def test_a_second_approver_is_needed_above_the_threshold(
    session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    d = _october(session_factory, tmp_path)
    d.do(set_setting, key="second_approval_above", value="5000", actor="admin")
    [first] = d.do(approve, period="2026-10", partner_id=None, actor="bob")
    assert (first.status, first.approved_by) == ("calculated", "bob")  # 8,514.00 > 5,000: one more
    with pytest.raises(Refused, match="needs approved statements"):
        d.do(finalize, period="2026-10", partner_id=None, actor="bob")
    with pytest.raises(Refused, match="bob already approved it"):
        d.do(approve, period="2026-10", partner_id=None, actor="bob")
    with pytest.raises(Refused, match="alice settled it"):
        d.do(approve, period="2026-10", partner_id=None, actor="alice")
    [second] = d.do(approve, period="2026-10", partner_id=None, actor="carol")
    assert (second.status, second.approved_by, second.second_approved_by) == ("approved", "bob", "carol")
    d.do(set_setting, key="second_approval_above.CNY", value="10000", actor="admin")
    with pytest.raises(BadInput, match="unknown setting"):
        d.do(set_setting, key="second_approval", value="1", actor="admin")
    with pytest.raises(BadInput, match="unknown setting"):
        d.do(set_setting, key="no_such_family.x", value="1", actor="admin")
    d.do(set_setting, key="sla_days.dispute", value="7", actor="admin")
    d.do(set_setting, key="freshness_hours.api", value=" 24 ", actor="admin")
    with pytest.raises(BadInput, match="whole number"):
        d.do(set_setting, key="freshness_hours.file", value="1.5", actor="admin")
    with pytest.raises(BadInput, match="above 1"):
        d.do(set_setting, key="drift_factor", value="1", actor="admin")
    assert d.do(get_setting, key="freshness_hours.api") == "24"
    assert d.do(case_service.sla_days, kind="dispute") == 7


def test_rejection_sends_the_statement_back_until_settled_again(
    session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    d = _october(session_factory, tmp_path)
    d.do(approve, period="2026-10", partner_id=None, actor="bob")
    with pytest.raises(BadInput, match="needs a reason"):
        d.do(reject, period="2026-10", partner_id="P-ACME", agreement_id=None, reason=" ", actor="carol")
    [s] = d.do(
        reject,
        period="2026-10",
        partner_id="P-ACME",
        agreement_id=None,
        reason="COS rate looks off",
        actor="carol",
    )
    assert (s.status, s.approved_by, s.rejected_by, s.rejection_reason) == (
        "calculated",
        None,
        "carol",
        "COS rate looks off",
    )
    with pytest.raises(Refused, match=r"rejected by carol \(COS rate looks off\)"):
        d.do(approve, period="2026-10", partner_id=None, actor="bob")
    d.do(settle, period="2026-10", partner_id=None, actor="alice")
    [again] = d.do(approve, period="2026-10", partner_id=None, actor="bob")
    assert again.status == "approved"
    with pytest.raises(Refused, match="finalized"):
        d.do(reject, period="2026-09", partner_id="P-ACME", agreement_id=None, reason="late", actor="carol")


def test_approval_is_refused_when_inputs_changed_since_calculation(
    session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    d = _october(session_factory, tmp_path)
    d.ingest(_late_file(tmp_path))
    with pytest.raises(Refused, match="inputs changed since it was calculated"):
        d.do(approve, period="2026-10", partner_id=None, actor="bob")
    [s] = d.statements("2026-10")
    assert (s.status, s.approved_by, s.payable) == ("calculated", None, D("8514"))  # nothing changed
    d.do(settle, period="2026-10", partner_id=None, actor="alice")
    [approved] = d.do(approve, period="2026-10", partner_id=None, actor="bob")
    assert approved.payable == D("8514") + D("10000") * D("0.05") * D("0.99") + D("0.02") * D("10000") * D(
        "0.99"
    )


def test_late_lines_after_the_grace_window_stay_out_of_the_period(
    session_factory: sessionmaker[Session], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = {"now": datetime(2026, 9, 20, tzinfo=UTC)}
    monkeypatch.setattr(records, "now", lambda: clock["now"])
    d = Driver(session_factory, RawStore(tmp_path / "raw"))
    d.load(WORKED / "config.yaml")
    d.do(set_setting, key="grace_days", value="3", actor="admin")
    clock["now"] = datetime(2026, 11, 2, 12, tzinfo=UTC)  # inside October's grace window
    d.ingest(WORKED / "lines-2026-09.csv")
    d.ingest(WORKED / "lines-2026-10.csv")
    clock["now"] = datetime(2026, 11, 9, tzinfo=UTC)  # after it (cutoff 2026-11-04 00:00 UTC)
    d.ingest(_late_file(tmp_path))
    summary = d.do(settle, period="2026-10", partner_id=None, actor="alice")
    [s] = summary.statements
    assert s.base_total == D("115000")  # the late 10,000.00 line is not in October
    with session_factory() as session:
        row = session.get(RunInputRow, summary.run_id)
        assert row is not None
        assert row.cutoff == datetime(2026, 11, 4, tzinfo=UTC)
        assert "T-2610-LATE-1" not in row.inputs
    d.do(set_setting, key="grace_days", value="30", actor="admin")
    [wider] = d.do(settle, period="2026-10", partner_id=None, actor="alice").statements
    assert wider.base_total == D("125000")


def test_shadow_agreements_are_compared_never_approved_or_paid(
    session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    config = tmp_path / "shadow.yaml"
    config.write_text(
        (WORKED / "config.yaml").read_text(encoding="utf-8").replace("mode: live", "mode: shadow"),
        encoding="utf-8",
    )
    d = Driver(session_factory, RawStore(tmp_path / "raw"))
    d.load(config)
    d.ingest(WORKED / "lines-2026-09.csv")
    d.do(settle, period="2026-09", partner_id=None, actor="alice")
    [s] = d.statements("2026-09")
    assert s.mode == "shadow"
    with pytest.raises(Refused, match="never approved"):
        d.do(approve, period="2026-09", partner_id=None, actor="bob")
    with pytest.raises(Refused, match="never finalized or paid"):
        d.do(finalize, period="2026-09", partner_id=None, actor="bob")
    actual = tmp_path / "paid-2026-09.csv"
    actual.write_text(
        "partner,period,component,amount,currency\n"
        "P-ACME,2026-09,commission,4000.00,CNY\nP-ACME,2026-09,payable,3950.00,CNY\n",
        encoding="utf-8",
    )
    assert d.do(import_actuals, path=actual, actor="analyst") == 2
    rows = {r.component: r for r in d.do(compare, period="2026-09")}
    assert rows["commission"].difference == 0
    assert rows["payable"].difference == D("10")  # computed 3,960.00, paid 3,950.00
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "partner,period,component,amount,currency\nP-ACME,2026-09,bonus,1.00,CNY\n", encoding="utf-8"
    )
    with pytest.raises(BadInput, match="component 'bonus'"):
        d.do(import_actuals, path=bad, actor="analyst")
    with session_factory() as session:
        assert session.scalars(select(StatementRow.status)).all() == ["calculated"]
