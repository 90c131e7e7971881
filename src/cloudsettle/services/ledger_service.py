"""The journal in the control store: post entries, read them back, check the invariants.

Entries are appended in the caller's transaction (finalize and the payout
status import post in the same unit of work as the status change, so the
ledger and the statements never disagree after a crash). Nothing here edits
or deletes an entry; a correction is a reversal.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from cloudsettle.core import ledger
from cloudsettle.core.settlement.model import COMPONENT_NAMES, Components
from cloudsettle.db.models import (
    LedgerEntryRow,
    LedgerPostingRow,
    PayoutRow,
    StatementRow,
)
from cloudsettle.services.audit import now

FINALIZED = ("settled", "paid")


@dataclass(frozen=True)
class StoredEntry:
    """An entry read back with its id."""

    id: int
    entry: ledger.Entry


def post(session: Session, entry: ledger.Entry, *, actor: str) -> LedgerEntryRow:
    """Append a balanced entry and its postings (raises LedgerError if it does not balance)."""
    ledger.check_entry(entry)
    row = LedgerEntryRow(
        day=entry.day,
        kind=entry.kind.value,
        narration=entry.narration,
        partner_id=entry.partner_id,
        statement_id=entry.statement_id,
        run_id=entry.run_id,
        payout_id=entry.payout_id,
        reverses_id=entry.reverses,
        meta=json.dumps(dict(entry.meta), sort_keys=True),
        posted_at=now(),
        posted_by=actor,
    )
    session.add(row)
    session.flush()
    for seq, p in enumerate(entry.postings, start=1):
        session.add(
            LedgerPostingRow(
                entry_id=row.id,
                seq=seq,
                account=p.account,
                partner_id=p.partner_id,
                amount=p.amount,
                currency=p.currency,
            )
        )
    session.flush()
    return row


def components_of(s: StatementRow) -> Components:
    """The stored statement's components."""
    return Components(**{name: getattr(s, name) for name in COMPONENT_NAMES})


def post_statement(session: Session, s: StatementRow, *, actor: str, day: date) -> LedgerEntryRow | None:
    """Post a finalized statement's accrual (None when all its components are zero)."""
    figures = ledger.StatementFigures(
        s.id, s.run_id, s.partner_id, s.agreement_id, s.period, s.currency, components_of(s), day
    )
    entry = ledger.statement_entry(figures)
    return post(session, entry, actor=actor) if entry is not None else None


def entries(session: Session, *, on: date | None = None, partner_id: str | None = None) -> list[StoredEntry]:
    """Every entry (dated on or before ``on``), with its postings, in id order."""
    query = select(LedgerEntryRow).order_by(LedgerEntryRow.id)
    if on is not None:
        query = query.where(LedgerEntryRow.day <= on)
    rows = list(session.scalars(query))
    postings: dict[int, list[LedgerPostingRow]] = defaultdict(list)
    ids = [r.id for r in rows]
    for chunk in range(0, len(ids), 500):
        part = ids[chunk : chunk + 500]
        for p in session.scalars(
            select(LedgerPostingRow)
            .where(LedgerPostingRow.entry_id.in_(part))
            .order_by(LedgerPostingRow.entry_id, LedgerPostingRow.seq)
        ):
            postings[p.entry_id].append(p)
    out = []
    for r in rows:
        legs = tuple(ledger.Posting(p.account, p.amount, p.currency, p.partner_id) for p in postings[r.id])
        if partner_id is not None and not any(p.partner_id == partner_id for p in legs):
            continue
        out.append(
            StoredEntry(
                r.id,
                ledger.Entry(
                    day=r.day,
                    kind=ledger.EntryKind(r.kind),
                    narration=r.narration,
                    postings=legs,
                    partner_id=r.partner_id,
                    statement_id=r.statement_id,
                    run_id=r.run_id,
                    payout_id=r.payout_id,
                    reverses=r.reverses_id,
                    meta=json.loads(r.meta),
                ),
            )
        )
    return out


def trial_balance(session: Session, *, on: date | None = None) -> dict[tuple[str, str], Decimal]:
    """Each account's balance per currency at ``on`` (debit positive)."""
    return ledger.balances((e.entry for e in entries(session, on=on)), on=on)


def partner_balances(
    session: Session, partner_id: str, *, on: date | None = None
) -> dict[tuple[str, str], Decimal]:
    """The partner's payable, carried-forward and clawback-receivable balances at ``on``."""
    return ledger.partner_balances((e.entry for e in entries(session, on=on)), partner_id, on=on)


def check_invariants(session: Session, partner_ids: Iterable[str] | None = None) -> None:
    """Raise LedgerError unless every entry balances, the journal totals zero, and each
    partner's payable equals its finalized statements' payables minus net payments."""
    stored = entries(session)
    for e in stored:
        ledger.check_entry(e.entry)
    for currency, total in ledger.trial_balance_total(e.entry for e in stored).items():
        if total != 0:
            raise ledger.LedgerError(f"the journal does not balance in {currency}: {total}")
    query = select(StatementRow).where(StatementRow.status.in_(FINALIZED))
    statements = list(session.scalars(query))
    wanted = set(partner_ids) if partner_ids is not None else {s.partner_id for s in statements}
    payables: dict[tuple[str, str], list[Decimal]] = defaultdict(list)
    for s in statements:
        if s.partner_id in wanted:
            payables[(s.partner_id, s.currency)].append(s.payable)
    journal = [e.entry for e in stored]
    for (partner, currency), amounts in sorted(payables.items()):
        paid = _net_payments(session, partner, currency)
        ledger.check_payable_invariant(
            journal, partner_id=partner, currency=currency, statement_payables=amounts, payments=paid
        )


def _net_payments(session: Session, partner_id: str, currency: str) -> list[Decimal]:
    """What the payout records say was paid and not returned (independent of the journal)."""
    rows = session.scalars(
        select(PayoutRow).where(
            PayoutRow.partner_id == partner_id, PayoutRow.currency == currency, PayoutRow.status == "paid"
        )
    )
    return [r.amount for r in rows]


def statement_entry_ids(session: Session, statement_ids: Sequence[int]) -> dict[int, int]:
    """The accrual entry of each statement that has one."""
    if not statement_ids:
        return {}
    rows = session.scalars(
        select(LedgerEntryRow).where(
            LedgerEntryRow.statement_id.in_(statement_ids),
            LedgerEntryRow.kind == ledger.EntryKind.STATEMENT.value,
        )
    )
    return {r.statement_id: r.id for r in rows if r.statement_id is not None}
