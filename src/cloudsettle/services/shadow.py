"""Shadow mode: compare what the platform computes with what was actually paid.

A reseller imports what it paid in earlier periods (a CSV per partner and
period: ``partner,period,component,amount,currency[,agreement]``; component
defaults to ``payable``), settles those periods without finalizing, and gets
the differences per partner and component. Statements of agreements in
``mode: shadow`` are computed every period but can never be approved or paid
(:mod:`cloudsettle.services.settlement_service` refuses them), so partners move
to ``live`` one group at a time once the comparison is clean.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from cloudsettle.core.money import ZERO, D, quantum
from cloudsettle.core.settlement.model import COMPONENT_NAMES
from cloudsettle.db.models import ShadowActualRow, StatementRow
from cloudsettle.services.audit import now, record
from cloudsettle.services.errors import BadInput, NotFound
from cloudsettle.services.settlement_service import check_period, resolve_agreement


def import_actuals(session: Session, *, path: Path, actor: str) -> int:
    """Store the actual payments of a file (replacing earlier imports of the same keys); all or nothing."""
    if not path.is_file():
        raise BadInput(f"{path}: no such file")
    reader = csv.DictReader(io.StringIO(path.read_text(encoding="utf-8-sig")))
    missing = {"partner", "period", "amount", "currency"} - set(reader.fieldnames or ())
    if missing:
        raise BadInput(
            f"{path}: missing columns {sorted(missing)} "
            "(expected partner,period,component,amount,currency[,agreement])"
        )
    rows: list[ShadowActualRow] = []
    problems: list[str] = []
    stamp = now()
    for i, r in enumerate(reader, start=2):
        partner, period = (r.get("partner") or "").strip(), (r.get("period") or "").strip()
        component = (r.get("component") or "payable").strip() or "payable"
        currency = (r.get("currency") or "").strip().upper()
        try:
            check_period(period)
            agreement = resolve_agreement(session, partner, (r.get("agreement") or "").strip() or None)
            amount = D(r.get("amount") or "")
        except (BadInput, ValueError) as exc:
            problems.append(f"{path}:{i}: {exc}")
            continue
        if component not in COMPONENT_NAMES:
            problems.append(f"{path}:{i}: component {component!r} is not one of {', '.join(COMPONENT_NAMES)}")
            continue
        if amount != amount.quantize(quantum(currency)):
            problems.append(f"{path}:{i}: {amount} has more decimals than {currency} allows")
            continue
        rows.append(
            ShadowActualRow(
                partner_id=partner,
                agreement_id=agreement,
                period=period,
                component=component,
                amount=amount,
                currency=currency,
                source=path.name,
                imported_at=stamp,
                imported_by=actor,
            )
        )
    if problems:
        raise BadInput("shadow actuals refused, nothing stored:\n" + "\n".join(problems))
    for row in rows:
        session.execute(
            delete(ShadowActualRow).where(
                ShadowActualRow.partner_id == row.partner_id,
                ShadowActualRow.agreement_id == row.agreement_id,
                ShadowActualRow.period == row.period,
                ShadowActualRow.component == row.component,
            )
        )
        session.add(row)
    record(session, actor=actor, action="shadow.import", subject=f"shadow:{path.name}", rows=len(rows))
    return len(rows)


@dataclass(frozen=True)
class ShadowDifference:
    """One component of one statement: what the platform computed and what was paid."""

    partner_id: str
    agreement_id: str
    period: str
    component: str
    currency: str
    computed: Decimal
    actual: Decimal | None

    @property
    def difference(self) -> Decimal | None:
        """``computed − actual`` (None when nothing was imported for it)."""
        return None if self.actual is None else self.computed - self.actual


def compare(session: Session, *, period: str, partner_id: str | None = None) -> list[ShadowDifference]:
    """Per statement of ``period`` (as settled, not finalized), each imported component
    against the computed one; statements and actuals without a counterpart are listed too."""
    statements = list(
        session.scalars(
            select(StatementRow)
            .where(StatementRow.period == period)
            .order_by(StatementRow.partner_id, StatementRow.agreement_id)
        )
    )
    actuals = list(session.scalars(select(ShadowActualRow).where(ShadowActualRow.period == period)))
    if partner_id is not None:
        statements = [s for s in statements if s.partner_id == partner_id]
        actuals = [a for a in actuals if a.partner_id == partner_id]
    if not statements and not actuals:
        raise NotFound(f"nothing to compare for {period}: settle it and import what was paid")
    paid = {(a.partner_id, a.agreement_id, a.component): a for a in actuals}
    out: list[ShadowDifference] = []
    seen = set()
    for s in statements:
        components = sorted(
            {c for (p, ag, c) in paid if (p, ag) == (s.partner_id, s.agreement_id)} or {"payable"},
            key=COMPONENT_NAMES.index,
        )
        for c in components:
            a = paid.get((s.partner_id, s.agreement_id, c))
            seen.add((s.partner_id, s.agreement_id, c))
            out.append(
                ShadowDifference(
                    s.partner_id,
                    s.agreement_id,
                    period,
                    c,
                    s.currency,
                    getattr(s, c),
                    a.amount if a else None,
                )
            )
    for key, a in sorted(paid.items()):
        if key not in seen:  # paid, but the platform computed no statement
            out.append(
                ShadowDifference(
                    a.partner_id, a.agreement_id, period, a.component, a.currency, ZERO, a.amount
                )
            )
    return out
