"""The statement as a document: the JSON of spec/config.md, read from the store.

A finalized statement is shown exactly as it was stored; nothing is recomputed
here. Amounts are strings with exactly the currency's decimals; rates and FX
rates are exact decimal strings.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from cloudsettle.config_file.codec import version_from_dict
from cloudsettle.core.money import format_money, round_money
from cloudsettle.core.settlement.model import COMPONENT_NAMES
from cloudsettle.db.models import (
    AgreementVersionRow,
    FindingRow,
    LineRevisionRow,
    PriorPeriodAdjustmentRow,
    StatementLineRow,
    StatementRow,
)
from cloudsettle.services.settlement_service import manual_adjustments


def exact(value: Decimal | None) -> str | None:
    """An exact decimal as plain text without trailing zeros (``0.080000`` -> ``0.08``)."""
    if value is None:
        return None
    text = format(value.normalize(), "f")
    return "0" if text in ("-0", "0") else text


def rate_text(value: Decimal) -> str:
    """A rate with at least two decimals, as contracts write them (``0.1`` -> ``0.10``)."""
    text = exact(value) or "0"
    decimals = len(text.partition(".")[2])
    return text if decimals >= 2 else f"{value:.2f}"


def statement_document(session: Session, row: StatementRow) -> dict[str, Any]:
    """The statement JSON for one stored statement."""
    cur = row.currency
    version_row = session.get(AgreementVersionRow, (row.agreement_id, row.agreement_version))
    version = version_from_dict(json.loads(version_row.definition)) if version_row else None
    tz = ZoneInfo(version.timezone if version else "UTC")
    mode = version.rounding.mode if version else None

    def money(value: Decimal) -> str:
        return format_money(round_money(value, cur, mode) if mode else value, cur)

    lines = []
    query = (
        select(StatementLineRow, LineRevisionRow)
        .join(
            LineRevisionRow,
            (LineRevisionRow.provider == StatementLineRow.provider)
            & (LineRevisionRow.line_id == StatementLineRow.line_id)
            & (LineRevisionRow.revision == StatementLineRow.revision),
            isouter=True,
        )
        .where(StatementLineRow.statement_id == row.id)
        .order_by(StatementLineRow.seq)
    )
    for sl, rev in session.execute(query).all():
        item: dict[str, Any] = {
            "line_id": sl.line_id,
            "role": sl.role,
            "provider": sl.provider,
            "account_id": rev.account_id if rev else None,
            "service": rev.service if rev else None,
            "charge_start": rev.charge_start.astimezone(tz).date().isoformat() if rev else None,
            "revision": sl.revision,
            "deal": sl.deal_id or None,
            "fraction": exact(sl.fraction),
            "base": money(sl.base),
            "rate": rate_text(sl.rate),
            "rule": sl.rule_id,
            "fx_rate": exact(sl.fx_rate),
        }
        if sl.role == "clawback":
            item["clawback"] = format_money(sl.shown, cur)
        else:
            item["commission"] = format_money(sl.shown, cur)
        item["tier_uplift"] = format_money(sl.tier_uplift_shown, cur)
        item["reasons"] = [r for r in sl.reasons.split(",") if r]
        item["original_line_id"] = sl.original_line_id
        lines.append(item)
    ppas = [
        {
            "corrects_period": p.corrects_period,
            "amount": format_money(p.amount, cur),
            "earned_finalized": format_money(p.earned_finalized, cur),
            "earned_recomputed": format_money(p.earned_recomputed, cur),
            "already_adjusted": format_money(p.already_adjusted, cur),
        }
        for p in session.scalars(
            select(PriorPeriodAdjustmentRow)
            .where(PriorPeriodAdjustmentRow.statement_id == row.id)
            .order_by(PriorPeriodAdjustmentRow.id)
        )
    ]
    adjustments = [
        {
            "id": a.id,
            "amount": format_money(a.amount, cur),
            "reason": a.reason,
            "created_by": a.created_by,
            "evidence": a.evidence,
        }
        for a in manual_adjustments(session, row.partner_id, row.agreement_id, row.period)
    ]
    exceptions = [
        {"kind": f.kind, "message": f.message, "line_id": f.line_id}
        for f in session.scalars(
            select(FindingRow)
            .where(
                FindingRow.run_id == row.run_id,
                FindingRow.partner_id == row.partner_id,
                FindingRow.agreement_id == row.agreement_id,
            )
            .order_by(FindingRow.id)
        )
    ]
    return {
        "partner": row.partner_id,
        "period": row.period,
        "currency": cur,
        "agreement": row.agreement_id,
        "period_start": row.period_start.isoformat(),
        "period_end": row.period_end.isoformat(),
        "agreement_version": row.agreement_version,
        "status": row.status,
        "mode": row.mode,
        "components": {name: format_money(getattr(row, name), cur) for name in COMPONENT_NAMES},
        "base_total": format_money(row.base_total, cur),
        "billed_total": format_money(row.billed_total, cur),
        "adjustments": adjustments,
        "prior_period_adjustments": ppas,
        "lines": lines,
        "exceptions": exceptions,
        "prepared_by": row.prepared_by,
        "approved_by": row.approved_by,
        "finalized_by": row.finalized_by,
    }
