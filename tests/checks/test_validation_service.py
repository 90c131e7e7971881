"""The checks run on every ingest and every settle, and what they record."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import select

from cloudsettle.core.checks import ReportedTotal
from cloudsettle.core.money import D
from cloudsettle.db.models import FindingRow, LineRevisionRow, SettingRow
from cloudsettle.db.models_workflow import CaseRow
from cloudsettle.services import validation_service
from cloudsettle.services.settlement_service import settle
from tests.cases.world import HEADER, World, row


def _findings(world: World, kind: str) -> list[FindingRow]:
    with world.sessions() as session:
        query = select(FindingRow).where(FindingRow.kind == kind).order_by(FindingRow.id)
        return list(session.scalars(query))


def _month_rows(month: int, amount: str) -> list[str]:
    return [row(f"V-{month}", "C1", amount).replace("2026-10-", f"2026-{month:02d}-")
            .replace("2026-11-01T00", f"2026-{month + 1:02d}-01T00")]


def test_ingest_raises_column_drift_and_opens_a_case(world: World) -> None:
    extra = HEADER + ",x_NewColumn"
    path = world.write("changed.csv", extra + "\n" + row("N-1", "C1", "10.00") + ",\n")
    from cloudsettle.services.ingest_service import ingest_file

    world.do(ingest_file, raw_store=world.raw, path=path, provider="focus", actor="loader")
    [finding] = _findings(world, "source_drift")
    assert "new columns x_NewColumn" in finding.message
    assert finding.batch_id is not None
    with world.sessions() as session:
        case = session.scalars(select(CaseRow).where(CaseRow.kind == "source_drift")).one()
        assert (case.status, case.blocking) == ("open", False)


def test_ingest_raises_volume_drift_against_the_trailing_average(world: World) -> None:
    world.ingest("jul.csv", _month_rows(7, "100.00"))
    world.ingest("aug.csv", _month_rows(8, "110.00"))
    world.ingest("sep.csv", _month_rows(9, "120.00"))
    assert _findings(world, "volume_drift") == []
    # October: C1 has A-1 (1000.00) against an average of 110 over three months
    world.ingest("oct-more.csv", [row("A-2", "C1", "5.00")])
    [finding] = _findings(world, "volume_drift")
    assert "customer C1" in finding.message
    assert "volume 1005 is 9.14x its trailing average 110.00 over 3 period(s)" in finding.message


def test_ingest_and_settle_record_time_window_and_completeness(world: World) -> None:
    late = row("W-1", "C1", "5.00").replace("2026-10-03T10:00:00+08:00", "2026-11-10T10:00:00+08:00") \
        .replace("2026-10-04T10:00:00+08:00", "2026-11-11T10:00:00+08:00")
    world.ingest("late.csv", [late, row("S-1", "C1", "5.00", service="")])
    assert [f.line_id for f in _findings(world, "outside_bill_month")] == ["W-1"]
    assert [f.line_id for f in _findings(world, "incomplete_line")] == ["S-1"]
    world.do(settle, period="2026-10", partner_id=None, actor="alice")
    on_run = [f for f in _findings(world, "outside_bill_month") if f.run_id is not None]
    assert [(f.line_id, f.period) for f in on_run] == [("W-1", "2026-10")]


def test_provider_totals_within_the_tolerance_setting(world: World) -> None:
    from cloudsettle.services.book_loader import load_book

    with world.sessions() as session, session.begin():
        lines = load_book(session).book.lines
        total = ReportedTotal("tencent", date(2026, 10, 1), "CNY", D("1000.02"), account_id="C1")
        found = validation_service.check_provider_totals(session, provider="tencent", totals=[total],
                                                         lines=lines, batch_id=1, actor="loader")
        assert [f.message.split(";")[1].strip() for f in found] == ["difference 0.02 (tolerance 0)"]
        session.add(SettingRow(key="totals_tolerance", value="0.05", updated_at=datetime.now(UTC),
                               updated_by="admin"))
        session.flush()
        assert validation_service.check_provider_totals(session, provider="tencent", totals=[total],
                                                        lines=lines, batch_id=1, actor="loader") == []
    assert len(_findings(world, "totals_mismatch")) == 1
    summary = validation_service.read_summary_csv("month,account_id,service,currency,amount\n"
                                                  "2026-10,C1,,CNY,1000.00\n2026-10,,CVM,CNY,7\n", "tencent")
    assert summary[0].account_id == "C1"
    assert summary[0].service is None
    assert summary[1].account_id is None


def test_monthly_volumes_are_exact_sums_of_the_current_revisions(world: World) -> None:
    """Read back as stored text and summed as Decimals (issue 6): twelve places kept, refunds
    netted, a revised line counted at its newest revision only, other customers left out."""
    from cloudsettle.services.ingest_service import ingest_file

    rows = [row("E-1", "Z1", "0.000000000001"), row("E-2", "Z1", "100.10"), row("E-3", "Z2", "5"),
            row("E-4", "Z1", "-0.100000000001")]
    path = world.write("exact.csv", HEADER + "\n" + "\n".join(rows) + "\n")
    world.do(ingest_file, raw_store=world.raw, path=path, provider="focus", actor="loader")
    revised = world.write("revised.csv", HEADER + "\n" + row("E-2", "Z1", "200.20") + "\n")
    world.do(ingest_file, raw_store=world.raw, path=revised, provider="focus", actor="loader")
    with world.sessions() as session:
        provider = session.scalar(select(LineRevisionRow.provider).where(LineRevisionRow.line_id == "E-1"))
        assert provider is not None
        got = validation_service.monthly_volumes(session, provider, {"Z1"}, date(2026, 9, 1),
                                                 date(2026, 10, 1))
    assert got == {("Z1", date(2026, 10, 1)): D("200.1")}
    assert [v.as_tuple() for v in got.values()] == [D("200.1").as_tuple()]  # one spelling on both stores
