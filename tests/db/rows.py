"""Small builders of control-store rows for the db tests (exact values, fixed times)."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy.orm import Session

from cloudsettle.core.money import D
from cloudsettle.db.models import AuditEventRow, RunRow, StatementLineRow, StatementRow

AT = datetime(2026, 11, 3, 9, 30, tzinfo=UTC)


def add_run(session: Session) -> RunRow:
    run = RunRow(period="2026-10", partner_id=None, started_at=AT, started_by="alice",
                 finished_at=None, status="finished", summary="{}")
    session.add(run)
    session.flush()
    return run


def add_statement(session: Session, *, status: str = "calculated", finalized: bool = False,
                  period: str = "2026-10", partner_id: str = "p1") -> StatementRow:
    """A statement with one line; ``finalized`` sets finalized_by/at."""
    run = add_run(session)
    zero = D("0")
    statement = StatementRow(
        run_id=run.id, partner_id=partner_id, agreement_id="a1", period=period,
        period_start=date(2026, 10, 1), period_end=date(2026, 10, 31), cycle="monthly",
        agreement_version=1, currency="CNY", status=status, mode="live",
        commission=D("7200.00"), tier_uplift=zero, clawback=D("-12.50"), cap_adjustment=zero,
        fees=zero, manual_adjustment=zero, prior_period_adjustment=zero, carried_in=zero,
        carried_out=zero, payable=D("7187.50"), earned=D("7187.50"),
        base_total=D("90000.00"), billed_total=D("90000.00"), unrounded="{}",
        prepared_by="alice", prepared_at=AT, approved_by="bob" if finalized else None,
        approved_at=AT if finalized else None, finalized_by="carol" if finalized else None,
        finalized_at=AT if finalized else None,
    )
    session.add(statement)
    session.flush()
    session.add(StatementLineRow(
        statement_id=statement.id, seq=1, provider="tencent", line_id="L1", revision=1,
        role="commission", fraction=D("1"), deal_id="d1", base=D("90000.00"), fx_rate=None,
        rule_id="all", rate=D("0.08"), amount=D("7200.00"), shown=D("7200.00"),
        tier_uplift=zero, tier_uplift_shown=zero, reasons="", original_line_id=None,
    ))
    session.flush()
    return statement


def add_audit_event(session: Session) -> AuditEventRow:
    event = AuditEventRow(at=AT, actor="alice", action="statement.approve", subject="statement:1",
                          details='{"note":"ok"}')
    session.add(event)
    session.flush()
    return event
