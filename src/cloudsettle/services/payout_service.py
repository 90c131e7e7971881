"""Payouts: sealed bank details, payout batches (pain.001 + CSV), and the bank's status.

- Details: a partner's bank details are stored sealed (:mod:`cloudsettle.services.secrets`)
  in ``payout_accounts`` and shown masked; ``seal_config_details`` moves details
  that ``config load`` left in ``partners.payout_details`` into sealed storage.
- Batches: finalized (``settled``) live statements with a positive payable and no
  pending or paid payout, of verified partners with details, grouped by
  currency: one pain.001.001.09 file (checked against the official XSD) and one
  CSV per batch, written before the rows that make them visible. Partners that
  are not verified are held with a ``payee_not_verified`` finding.
- Status import: a CSV ``end_to_end_id,status[,reason][,date]`` from the bank.
  ``paid`` posts the payment to the ledger and moves the statement to
  ``paid``; ``failed`` frees the statement for the next batch; ``returned``
  (after paid) posts a reversal and moves the statement back to ``settled``.
  The whole file is checked first: an unknown payout or an impossible move
  refuses the file and changes nothing.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from cloudsettle.core import ledger
from cloudsettle.core.findings import Finding, FindingKind
from cloudsettle.core.money import format_money
from cloudsettle.db.models import (
    LedgerEntryRow,
    PartnerRow,
    PayoutAccountRow,
    PayoutBatchRow,
    PayoutRow,
    StatementRow,
)
from cloudsettle.exports.pain001 import Account, Batch, Transfer, document, validate
from cloudsettle.exports.payout_csv import payout_csv
from cloudsettle.services.audit import now, record
from cloudsettle.services.errors import BadInput, NotFound, Refused
from cloudsettle.services.ledger_service import check_invariants, entries, post
from cloudsettle.services.runs import get_setting
from cloudsettle.services.secrets import KeyRing, masked_details, open_details, seal_details

PAYOUT_FIELDS = frozenset({"iban", "bic", "account_name", "account_number"})
STATUS_MOVES: dict[tuple[str, str], str] = {
    ("pending", "paid"): "paid",
    ("pending", "failed"): "failed",
    ("paid", "returned"): "returned",
}


# --- details ----------------------------------------------------------------------------


def _check_details(partner_id: str, details: dict[str, str]) -> dict[str, str]:
    unknown = set(details) - PAYOUT_FIELDS
    if unknown:
        raise BadInput(
            f"payout details of {partner_id}: unknown fields {sorted(unknown)}; "
            f"known: {sorted(PAYOUT_FIELDS)}"
        )
    clean = {k: v.strip() for k, v in details.items() if v and v.strip()}
    if not clean.get("account_name"):
        raise BadInput(f"payout details of {partner_id} need account_name")
    if not (clean.get("iban") or clean.get("account_number")):
        raise BadInput(f"payout details of {partner_id} need an iban or an account_number")
    return clean


def set_payout_details(
    session: Session, *, partner_id: str, details: dict[str, str], actor: str, ring: KeyRing
) -> PayoutAccountRow:
    """Seal and store a partner's bank details (audited masked, before and after)."""
    if session.get(PartnerRow, partner_id) is None:
        raise BadInput(f"unknown partner {partner_id!r}")
    clean = _check_details(partner_id, details)
    row = session.get(PayoutAccountRow, partner_id)
    before = row.masked if row else None
    sealed, masked = seal_details(ring, clean, partner_id=partner_id), masked_details(clean)
    if row is None:
        row = PayoutAccountRow(
            partner_id=partner_id,
            key_id=ring.current,
            sealed=sealed,
            masked=masked,
            updated_at=now(),
            updated_by=actor,
        )
        session.add(row)
    else:
        row.key_id, row.sealed, row.masked, row.updated_at, row.updated_by = (
            ring.current,
            sealed,
            masked,
            now(),
            actor,
        )
    record(
        session,
        actor=actor,
        action="payout.details",
        subject=f"partner:{partner_id}",
        before=before,
        after=masked,
    )
    return row


def seal_config_details(session: Session, *, actor: str, ring: KeyRing) -> list[str]:
    """Move plaintext details left by ``config load`` into sealed storage; clear the plaintext."""
    moved = []
    for partner in session.scalars(
        select(PartnerRow).where(PartnerRow.payout_details.is_not(None)).order_by(PartnerRow.id)
    ):
        details = {str(k): str(v) for k, v in json.loads(partner.payout_details or "{}").items()}
        set_payout_details(session, partner_id=partner.id, details=details, actor=actor, ring=ring)
        partner.payout_details = None
        moved.append(partner.id)
    return moved


def rekey(session: Session, *, actor: str, ring: KeyRing) -> int:
    """Re-seal every partner's details with the ring's current key (key rotation)."""
    count = 0
    for row in session.scalars(select(PayoutAccountRow).order_by(PayoutAccountRow.partner_id)):
        if row.key_id == ring.current:
            continue
        details = open_details(ring, row.sealed, partner_id=row.partner_id)
        before = row.key_id
        row.sealed, row.key_id = seal_details(ring, details, partner_id=row.partner_id), ring.current
        row.updated_at, row.updated_by = now(), actor
        record(
            session,
            actor=actor,
            action="payout.rekey",
            subject=f"partner:{row.partner_id}",
            before={"key_id": before},
            after={"key_id": ring.current},
        )
        count += 1
    return count


def details_of(session: Session, partner_id: str, ring: KeyRing) -> dict[str, str] | None:
    """A partner's opened details, or None when it has none."""
    row = session.get(PayoutAccountRow, partner_id)
    return open_details(ring, row.sealed, partner_id=partner_id) if row else None


# --- batches -----------------------------------------------------------------------------


@dataclass
class BatchResult:
    """The batches written and the statements held back."""

    batches: list[tuple[PayoutBatchRow, Path, Path]] = field(default_factory=list)
    held: list[Finding] = field(default_factory=list)


def payable_statements(session: Session, partner_id: str | None = None) -> list[StatementRow]:
    """Finalized live statements with a positive payable and no pending or paid payout."""
    query = select(StatementRow).where(StatementRow.status == "settled", StatementRow.mode == "live")
    if partner_id is not None:
        query = query.where(StatementRow.partner_id == partner_id)
    busy = set(
        session.scalars(select(PayoutRow.statement_id).where(PayoutRow.status.in_(("pending", "paid"))))
    )
    return [s for s in session.scalars(query.order_by(StatementRow.id)) if s.payable > 0 and s.id not in busy]


def _debtor(session: Session) -> Account:
    name = get_setting(session, "debtor.name")
    iban, number = get_setting(session, "debtor.iban"), get_setting(session, "debtor.account_number")
    if not name or not (iban or number):
        raise Refused(
            "set the paying account first: cloudsettle settings set debtor.name ... and "
            "debtor.iban (or debtor.account_number), optionally debtor.bic"
        )
    return Account(name, iban, number, get_setting(session, "debtor.bic"))


def create_batches(
    session: Session,
    *,
    actor: str,
    ring: KeyRing,
    out_dir: Path,
    requested_date: date,
    partner_id: str | None = None,
) -> BatchResult:
    """Write one pain.001 + CSV batch per currency for everything payable now."""
    if partner_id is not None:
        partner = session.get(PartnerRow, partner_id)
        if partner is None:
            raise BadInput(f"unknown partner {partner_id!r}")
        if partner.verification != "verified":
            raise Refused(
                f"{partner_id} is {partner.verification}, not verified: payee_not_verified; "
                "nothing is paid to it until its details are verified"
            )
    debtor = _debtor(session)
    result = BatchResult()
    by_currency: dict[str, list[tuple[StatementRow, Account]]] = defaultdict(list)
    for s in payable_statements(session, partner_id):
        partner = session.get(PartnerRow, s.partner_id)
        name = f"{s.partner_id}/{s.agreement_id} {s.period}"
        if partner is None or partner.verification != "verified":
            state = partner.verification if partner else "unknown"
            result.held.append(
                Finding(
                    FindingKind.PAYEE_NOT_VERIFIED,
                    f"{name}: payee {s.partner_id} is {state}; held from payout",
                    partner_id=s.partner_id,
                    agreement_id=s.agreement_id,
                )
            )
            continue
        details = details_of(session, s.partner_id, ring)
        if details is None:
            result.held.append(
                Finding(
                    FindingKind.PAYEE_NOT_VERIFIED,
                    f"{name}: {s.partner_id} has no payout details; held from payout",
                    partner_id=s.partner_id,
                    agreement_id=s.agreement_id,
                )
            )
            continue
        account = Account(
            details["account_name"], details.get("iban"), details.get("account_number"), details.get("bic")
        )
        by_currency[s.currency].append((s, account))
    stamp = now()
    folder = out_dir / "payouts"
    existing = len(session.scalars(select(PayoutBatchRow.id)).all())
    for n, (currency, items) in enumerate(sorted(by_currency.items()), start=existing + 1):
        message_id = f"CS{stamp:%Y%m%d%H%M%S}{currency}{n}"
        transfers = tuple(
            Transfer(
                f"{message_id}-{i}",
                s.payable,
                account,
                f"Commission {s.partner_id} {s.agreement_id} {s.period} statement {s.id}",
            )
            for i, (s, account) in enumerate(items, start=1)
        )
        batch = Batch(message_id, stamp, debtor.name, debtor, currency, requested_date, transfers)
        xml = document(batch)
        errors = validate(xml)
        if errors:
            raise RuntimeError(
                "the payout file does not validate against pain.001.001.09: " + "; ".join(errors)
            )
        text = payout_csv(batch)
        folder.mkdir(parents=True, exist_ok=True)
        xml_path, csv_path = folder / f"{message_id}.xml", folder / f"{message_id}.csv"
        xml_path.write_bytes(xml)  # files first, then the rows that make them visible
        csv_path.write_text(text, encoding="utf-8")
        row = PayoutBatchRow(
            message_id=message_id,
            currency=currency,
            requested_date=requested_date,
            transactions=len(transfers),
            control_sum=batch.control_sum,
            xml_sha256=hashlib.sha256(xml).hexdigest(),
            csv_sha256=hashlib.sha256(text.encode("utf-8")).hexdigest(),
            created_at=stamp,
            created_by=actor,
        )
        session.add(row)
        session.flush()
        for t, (s, _) in zip(transfers, items, strict=True):
            session.add(
                PayoutRow(
                    batch_id=row.id,
                    statement_id=s.id,
                    partner_id=s.partner_id,
                    amount=t.amount,
                    currency=currency,
                    end_to_end_id=t.end_to_end_id,
                    status="pending",
                    status_at=stamp,
                    status_reason=None,
                )
            )
        session.flush()
        record(
            session,
            actor=actor,
            action="payout.batch",
            subject=f"payout_batch:{message_id}",
            after={
                "transactions": len(transfers),
                "control_sum": format_money(batch.control_sum, currency),
                "currency": currency,
                "statements": [s.id for s, _ in items],
            },
        )
        result.batches.append((row, xml_path, csv_path))
    return result


# --- status import --------------------------------------------------------------------------


@dataclass(frozen=True)
class StatusRow:
    """One line of a bank status file."""

    line: int
    end_to_end_id: str
    status: str
    reason: str | None
    day: date | None


@dataclass
class StatusSummary:
    """How many payouts moved to each status, and how many were already there."""

    moved: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    unchanged: int = 0


def read_status_file(path: Path) -> list[StatusRow]:
    """Parse a status CSV strictly (BadInput naming the file, line and field)."""
    if not path.is_file():
        raise BadInput(f"{path}: no such file")
    rows: list[StatusRow] = []
    reader = csv.DictReader(io.StringIO(path.read_text(encoding="utf-8-sig")))
    missing = {"end_to_end_id", "status"} - set(reader.fieldnames or ())
    if missing:
        raise BadInput(
            f"{path}: missing columns {sorted(missing)} (expected end_to_end_id,status[,reason][,date])"
        )
    problems = []
    for i, r in enumerate(reader, start=2):
        status = (r.get("status") or "").strip().lower()
        if status not in ("paid", "failed", "returned"):
            problems.append(f"{path}:{i}: status {r.get('status')!r} is not paid, failed or returned")
            continue
        day = None
        if (r.get("date") or "").strip():
            try:
                day = date.fromisoformat((r.get("date") or "").strip())
            except ValueError:
                problems.append(f"{path}:{i}: date {r.get('date')!r} is not YYYY-MM-DD")
                continue
        rows.append(
            StatusRow(
                i,
                (r.get("end_to_end_id") or "").strip(),
                status,
                (r.get("reason") or "").strip() or None,
                day,
            )
        )
    if problems:
        raise BadInput("\n".join(problems))
    return rows


def import_status(session: Session, *, path: Path, actor: str) -> StatusSummary:
    """Apply a bank status file; all or nothing."""
    rows = read_status_file(path)
    payouts = {
        p.end_to_end_id: p
        for p in session.scalars(
            select(PayoutRow).where(PayoutRow.end_to_end_id.in_([r.end_to_end_id for r in rows]))
        )
    }
    problems = []
    for r in rows:
        p = payouts.get(r.end_to_end_id)
        if p is None:
            problems.append(f"{path}:{r.line}: unknown payout {r.end_to_end_id!r}")
        elif p.status != r.status and (p.status, r.status) not in STATUS_MOVES:
            problems.append(
                f"{path}:{r.line}: payout {r.end_to_end_id} is {p.status}; it cannot become {r.status}"
            )
    if problems:
        raise BadInput("payout status file refused, nothing changed:\n" + "\n".join(problems))
    summary = StatusSummary()
    stamp = now()
    touched: set[str] = set()
    for r in rows:
        p = payouts[r.end_to_end_id]
        if p.status == r.status:
            summary.unchanged += 1
            continue
        before = p.status
        statement = session.get(StatementRow, p.statement_id)
        if statement is None:  # pragma: no cover - a foreign key holds it
            raise NotFound(f"statement {p.statement_id} of payout {p.end_to_end_id}")
        day = r.day or stamp.date()
        if r.status == "paid":
            post(
                session,
                ledger.payment_entry(
                    partner_id=p.partner_id,
                    amount=p.amount,
                    currency=p.currency,
                    day=day,
                    payout_id=p.id,
                    statement_id=statement.id,
                    run_id=statement.run_id,
                    reference=p.end_to_end_id,
                ),
                actor=actor,
            )
            statement.status = "paid"
        elif r.status == "returned":
            payment = session.scalars(
                select(LedgerEntryRow).where(
                    LedgerEntryRow.payout_id == p.id, LedgerEntryRow.kind == ledger.EntryKind.PAYMENT.value
                )
            ).one()
            original = next(e.entry for e in entries(session, partner_id=p.partner_id) if e.id == payment.id)
            post(
                session,
                ledger.reversal(
                    original,
                    original_id=payment.id,
                    day=day,
                    reason=f"payout {p.end_to_end_id} returned" + (f": {r.reason}" if r.reason else ""),
                ),
                actor=actor,
            )
            statement.status = "settled"
        p.status, p.status_at, p.status_reason = r.status, stamp, r.reason
        summary.moved[r.status] += 1
        touched.add(p.partner_id)
        record(
            session,
            actor=actor,
            action=f"payout.{r.status}",
            subject=f"payout:{p.end_to_end_id}",
            reason=r.reason,
            before={"payout": before, "statement": statement.id},
            after={
                "payout": r.status,
                "statement_status": statement.status,
                "amount": format_money(p.amount, p.currency),
            },
        )
    session.flush()
    if touched:
        check_invariants(session, touched)
    return summary
