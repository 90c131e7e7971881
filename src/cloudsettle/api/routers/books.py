"""The books: ledger entries and trial balance, payouts, and the audit log (read-only here)."""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel

from cloudsettle.api.deps import PageDep, PrincipalDep, SessionDep
from cloudsettle.api.errors import ERROR_RESPONSES
from cloudsettle.api.schemas import PageOf
from cloudsettle.core.money import format_money
from cloudsettle.services import guarded

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
