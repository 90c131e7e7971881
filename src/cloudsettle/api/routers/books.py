"""The books: ledger entries and trial balance, payouts, and the audit log (read-only here)."""

from __future__ import annotations

import json
import tempfile
from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel

from cloudsettle.api.deps import PageDep, PrincipalDep, SessionDep, StateDep
from cloudsettle.api.errors import ERROR_RESPONSES
from cloudsettle.api.schemas import PageOf
from cloudsettle.core.money import format_money
from cloudsettle.exports.beancount import journal as beancount_journal
from cloudsettle.exports.gl import write_gl_csv
from cloudsettle.services import guarded
from cloudsettle.services.secrets import workspace_ring

router = APIRouter(tags=["books"], responses=ERROR_RESPONSES)


class PostingOut(BaseModel):
    """One leg: signed amount (debit positive) on one account."""

    account: str
    amount: str
    currency: str


class EntryOut(BaseModel):
    """One journal entry."""

    id: int
    day: date
    kind: str
    narration: str
    partner_id: str | None
    statement_id: int | None
    postings: list[PostingOut]


class BalanceOut(BaseModel):
    """An account's balance in one currency."""

    account: str
    currency: str
    balance: str


class PayoutOut(BaseModel):
    """One credit transfer."""

    id: int
    batch_id: int
    statement_id: int
    partner_id: str
    amount: str
    currency: str
    status: str
    status_at: datetime | None


class AuditEventOut(BaseModel):
    """Who did what to which subject, when, why, with before and after values."""

    id: int
    at: datetime
    actor: str
    action: str
    subject: str
    reason: str | None
    details: dict[str, Any]
    before: Any
    after: Any
    entry_hash: str


class AuditCheck(BaseModel):
    """The hash chain's state."""

    ok: bool
    checked: int
    head: str
    problem: str | None


@router.get("/ledger/entries", response_model=list[EntryOut])
def ledger_entries(
    session: SessionDep, who: PrincipalDep, partner_id: Annotated[str | None, Query(max_length=100)] = None
) -> list[EntryOut]:
    """Journal entries, optionally of one partner."""
    return [
        EntryOut(
            id=e.id,
            day=e.entry.day,
            kind=e.entry.kind.value,
            narration=e.entry.narration,
            partner_id=e.entry.partner_id,
            statement_id=e.entry.statement_id,
            postings=[
                PostingOut(account=p.account, amount=format_money(p.amount, p.currency), currency=p.currency)
                for p in e.entry.postings
            ],
        )
        for e in guarded.ledger_entries(session, who, partner_id=partner_id)
    ]


@router.get("/ledger/trial-balance", response_model=list[BalanceOut])
def trial_balance(session: SessionDep, who: PrincipalDep) -> list[BalanceOut]:
    """Each account's balance per currency."""
    return [
        BalanceOut(account=a, currency=c, balance=format_money(v, c))
        for (a, c), v in sorted(guarded.trial_balance(session, who).items())
    ]


@router.get("/payouts", response_model=PageOf[PayoutOut])
def list_payouts(
    session: SessionDep,
    who: PrincipalDep,
    page: PageDep,
    status: Annotated[str | None, Query(max_length=20)] = None,
) -> PageOf[PayoutOut]:
    """Payouts, newest first."""
    rows, total = guarded.payouts(session, who, page, status)
    items = [
        PayoutOut(
            id=p.id,
            batch_id=p.batch_id,
            statement_id=p.statement_id,
            partner_id=p.partner_id,
            amount=format_money(p.amount, p.currency),
            currency=p.currency,
            status=p.status,
            status_at=p.status_at,
        )
        for p in rows
    ]
    return PageOf(items=items, total=total, offset=page.offset, limit=page.limit)


@router.get("/audit", response_model=PageOf[AuditEventOut])
def audit_events(
    session: SessionDep,
    who: PrincipalDep,
    page: PageDep,
    subject: Annotated[str | None, Query(max_length=200, description="Subject prefix.")] = None,
    actor: Annotated[str | None, Query(max_length=64)] = None,
    action: Annotated[str | None, Query(max_length=64)] = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> PageOf[AuditEventOut]:
    """The audit log filtered by object, user, action and time, oldest first."""
    rows, total = guarded.audit_events(
        session, who, subject=subject, actor=actor, action=action, since=since, until=until, page=page
    )
    items = [
        AuditEventOut(
            id=r.id,
            at=r.at,
            actor=r.actor,
            action=r.action,
            subject=r.subject,
            reason=r.reason,
            details=json.loads(r.details or "{}"),
            before=json.loads(r.before_value) if r.before_value else None,
            after=json.loads(r.after_value) if r.after_value else None,
            entry_hash=r.entry_hash,
        )
        for r in rows
    ]
    return PageOf(items=items, total=total, offset=page.offset, limit=page.limit)


@router.get("/audit/verify", response_model=AuditCheck)
def audit_verify(session: SessionDep, who: PrincipalDep) -> AuditCheck:
    """Recompute the audit log's hash chain."""
    r = guarded.audit_verify(session, who)
    return AuditCheck(
        ok=r.ok, checked=r.checked, head=r.head, problem=r.problem.message if r.problem else None
    )


class BatchRequest(BaseModel):
    """Which payouts to batch: everything payable, or one partner's."""

    requested_date: date
    partner_id: str | None = None


class BatchOut(BaseModel):
    """A written payout batch: one currency, its pain.001 and CSV files."""

    id: int
    message_id: str
    currency: str
    transactions: int
    control_sum: str
    pain001_file: str
    csv_file: str


class BatchesOut(BaseModel):
    """The batches written and what was held back, with the reason."""

    batches: list[BatchOut]
    held: list[str]


class StatusImportOut(BaseModel):
    """How many payouts moved to each status, and how many were already there."""

    moved: dict[str, int]
    unchanged: int


@router.post("/payouts/batches", response_model=BatchesOut, status_code=201)
def create_batches(body: BatchRequest, session: SessionDep, who: PrincipalDep, state: StateDep) -> BatchesOut:
    """Write pain.001.001.09 and CSV payout files for the finalized, payable statements (finance)."""
    result = guarded.create_payout_batches(
        session,
        who,
        requested_date=body.requested_date,
        partner_id=body.partner_id,
        ring=workspace_ring(state.workspace.root),
        out_dir=state.workspace.out_dir,
    )
    session.flush()
    return BatchesOut(
        batches=[
            BatchOut(
                id=row.id,
                message_id=row.message_id,
                currency=row.currency,
                transactions=row.transactions,
                control_sum=format_money(row.control_sum, row.currency),
                pain001_file=xml.name,
                csv_file=csv_path.name,
            )
            for row, xml, csv_path in result.batches
        ],
        held=[f.message for f in result.held],
    )


@router.post(
    "/payouts/status",
    response_model=StatusImportOut,
    openapi_extra={
        "requestBody": {"required": True, "content": {"text/csv": {"schema": {"type": "string"}}}}
    },
)
async def import_status(request: Request, session: SessionDep, who: PrincipalDep) -> StatusImportOut:
    """Import the bank's status file (CSV: payout, status, ...) sent as the request body (finance)."""
    body = await request.body()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "payout-status.csv"
        path.write_bytes(body)
        summary = guarded.import_payout_status(session, who, path=path)
    return StatusImportOut(moved=dict(summary.moved), unchanged=summary.unchanged)


@router.get(
    "/exports/gl",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}, "text/plain": {}}, "description": "The journal"}},
)
def export_gl(
    session: SessionDep,
    who: PrincipalDep,
    start: Annotated[date | None, Query(alias="from")] = None,
    end: Annotated[date | None, Query(alias="to")] = None,
    fmt: Annotated[Literal["csv", "beancount"], Query(alias="format")] = "csv",
) -> Response:
    """The ledger for a date range as a general-ledger CSV (cloudsettle's columns) or Beancount."""
    stored = guarded.export_gl(session, who, start=start, end=end)
    if fmt == "beancount":
        return Response(beancount_journal(stored), media_type="text/plain; charset=utf-8")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "gl.csv"
        write_gl_csv(stored, path)
        return Response(
            path.read_bytes(),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": 'attachment; filename="gl.csv"'},
        )


@router.get(
    "/exports/focus",
    response_class=Response,
    responses={
        200: {"content": {"text/csv": {}, "application/vnd.apache.parquet": {}}, "description": "FOCUS"}
    },
)
def export_focus(
    session: SessionDep,
    who: PrincipalDep,
    period: Annotated[str, Query(pattern=r"^\d{4}-\d{2}$")],
    fmt: Annotated[Literal["csv", "parquet"], Query(alias="format")] = "csv",
) -> Response:
    """A bill month's normalized lines as FOCUS 1.2 (our extras as x_ columns)."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"focus-{period}.{fmt}"
        guarded.export_focus(session, who, period=period, output=path, fmt=fmt)
        media = "text/csv; charset=utf-8" if fmt == "csv" else "application/vnd.apache.parquet"
        return Response(
            path.read_bytes(),
            media_type=media,
            headers={"Content-Disposition": f'attachment; filename="focus-{period}.{fmt}"'},
        )
