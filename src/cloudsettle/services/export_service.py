"""``cloudsettle export focus``: the normalized lines of a bill month as FOCUS 1.2.

The current revision of every line billed in the month is written with its
source batch and row, so the file can be traced back like a statement.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from cloudsettle.core.lines import BillingLine
from cloudsettle.core.periods import Cycle, parse_period
from cloudsettle.db.models import BillingLineRow, LineRevisionRow
from cloudsettle.exports.focus import write_focus
from cloudsettle.services.errors import BadInput
from cloudsettle.services.records import line_of


def export_focus(session: Session, *, period: str, output: Path, fmt: Literal["csv", "parquet"]) -> int:
    """Write the lines billed in ``period`` (a month, ``2026-10``) to ``output``; the row count."""
    try:
        month = parse_period(period, Cycle.MONTHLY)
    except ValueError as exc:
        raise BadInput(f"--period {period!r}: {exc}") from exc
    query = (
        select(LineRevisionRow)
        .join(
            BillingLineRow,
            (BillingLineRow.provider == LineRevisionRow.provider)
            & (BillingLineRow.line_id == LineRevisionRow.line_id)
            & (BillingLineRow.current_revision == LineRevisionRow.revision),
        )
        .where(LineRevisionRow.billing_period == month.start)
        .order_by(LineRevisionRow.provider, LineRevisionRow.charge_start, LineRevisionRow.line_id)
        .execution_options(yield_per=2000)
    )
    sources: dict[tuple[str, str], tuple[str, int]] = {}

    def lines() -> Iterator[BillingLine]:
        for row in session.scalars(query):
            sources[(row.provider, row.line_id)] = (str(row.batch_id), row.source_row)
            yield line_of(row)

    output.parent.mkdir(parents=True, exist_ok=True)
    return write_focus(lines(), output, fmt=fmt, source=lambda line: sources[(line.provider, line.line_id)])
