"""Run both engines on the same book and lines and say exactly where they differ."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from cloudsettle.compute.arrow import lines_to_arrow
from cloudsettle.compute.engine import (
    RESULT_COLUMNS,
    SummaryResult,
    settle_period_bulk,
    settle_period_summary,
)
from cloudsettle.core.settlement.book import Book, MappedBook
from cloudsettle.core.settlement.model import COMPONENT_NAMES, LineRole, Reason, Statement, StatementLine
from cloudsettle.core.settlement.run import FinalizedStatement, RunResult, settle_period

LINE_FIELDS = (
    "role",
    "fraction",
    "deal_id",
    "base",
    "fx_rate",
    "rule_id",
    "rate",
    "amount",
    "shown",
    "tier_uplift",
    "tier_uplift_shown",
    "reasons",
    "original_line_id",
)


def both(
    book: Book,
    period: str,
    *,
    carried_in: Mapping[str, Decimal] | None = None,
    finalized: Mapping[str, Sequence[FinalizedStatement]] | None = None,
    **kw: Any,
) -> tuple[RunResult, RunResult]:
    """The reference run and the bulk run of ``period`` over the book's lines."""
    reference = settle_period(MappedBook(book), period, carried_in=carried_in, finalized=finalized, **kw)
    bulk = settle_period_bulk(
        book, lines_to_arrow(book.lines), period, carried_in=carried_in, finalized=finalized, **kw
    )
    return reference, bulk


def line_view(sl: StatementLine) -> tuple[object, ...]:
    return (sl.line.provider, sl.line.line_id, sl.line, *(getattr(sl, f) for f in LINE_FIELDS))


def statement_view(s: Statement) -> dict[str, object]:
    return {
        "key": (s.partner_id, s.agreement_id, s.period, s.version, s.currency),
        "components": {n: getattr(s.components, n) for n in COMPONENT_NAMES},
        "base_total": s.base_total,
        "billed_total": s.billed_total,
        "unrounded": s.unrounded,
        "findings": s.findings,
        "manual": s.manual_adjustments,
        "ppa": s.prior_period_adjustments,
        "lines": [line_view(sl) for sl in s.lines],
    }


def assert_same(reference: RunResult, bulk: RunResult, where: str = "") -> None:
    """Every statement, component, line field and finding equal (Decimals by value), and
    components and shown amounts also equal as text (same exponent: same JSON)."""
    assert [statement_view(s)["key"] for s in bulk.statements] == [
        statement_view(s)["key"] for s in reference.statements
    ], where
    for ref, blk in zip(reference.statements, bulk.statements, strict=True):
        a, b = statement_view(ref), statement_view(blk)
        for key in a:
            if key == "lines":
                assert len(a[key]) == len(b[key]), (where, ref.agreement_id, "line count")  # type: ignore[arg-type]
                for la, lb in zip(a[key], b[key], strict=True):  # type: ignore[call-overload]
                    assert la == lb, (where, ref.agreement_id, "\n ref ", la, "\n bulk", lb)
            else:
                assert a[key] == b[key], (where, ref.agreement_id, key, a[key], b[key])
        for name in COMPONENT_NAMES:
            assert str(getattr(ref.components, name)) == str(getattr(blk.components, name)), (where, name)
        for la, lb in zip(ref.lines, blk.lines, strict=True):
            assert (str(la.shown), str(la.tier_uplift_shown)) == (str(lb.shown), str(lb.tier_uplift_shown))
    assert bulk.findings == reference.findings, (where, reference.findings, bulk.findings)


def summary_run(book: Book, period: str, out: Path, **kw: Any) -> SummaryResult:
    """The summary mode's run of ``period``, its per-line results written to ``out``."""
    return settle_period_summary(book, lines_to_arrow(book.lines), period, lines_out=out, **kw)


def assert_summary_same(full: RunResult, summary: SummaryResult, where: str = "") -> None:
    """Summary mode gives the full mode's statements (without lines) and, in its Parquet,
    exactly the full mode's lines: same statements, order, fields and shown amounts."""
    assert all(not s.lines for s in summary.result.statements), where
    assert summary.result.findings == full.findings, where
    assert [s.agreement_id for s in summary.result.statements] == [s.agreement_id for s in full.statements]
    for a, b in zip(full.statements, summary.result.statements, strict=True):
        va, vb = statement_view(a), statement_view(b)
        va.pop("lines")
        vb.pop("lines")
        assert va == vb, (where, a.agreement_id, va, vb)
    expected = [
        (s.partner_id, s.agreement_id, full.period_name, seq, sl.line.provider, sl.line.line_id,
         sl.line.charge_start, *(getattr(sl, f) for f in LINE_FIELDS))
        for s in full.statements for seq, sl in enumerate(s.lines, start=1)
    ]
    assert summary.lines_written == len(expected), where
    if summary.lines_out is None:
        return
    table = pq.read_table(summary.lines_out)  # a file (DuckDB) or a folder of parts (Spark)
    got = []
    for row in table.to_pylist():
        values = [row[c] for c in RESULT_COLUMNS[:7]]
        for f in LINE_FIELDS:
            value = row[f]
            if f == "role":
                value = LineRole(value)
            elif f == "reasons":
                value = tuple(Reason(r) for r in value)
            values.append(value)
        got.append(tuple(values))
    # By statement and seq: the file's order, while the parts of a folder need not come in order.
    got.sort(key=lambda v: (v[0], v[1], v[3]))
    expected.sort(key=lambda v: (v[0], v[1], v[3]))
    assert len(got) == len(expected), where
    for e, g in zip(expected, got, strict=True):
        assert e == g, (where, "\n full   ", e, "\n summary", g)
    # Shown amounts are whole minor units that add up to each statement's components.
    for s in full.statements:
        rows = [r for r in table.to_pylist() if r["agreement_id"] == s.agreement_id]
        commission = sum((r["shown"] for r in rows if r["role"] == "commission"), Decimal(0))
        clawback = sum((r["shown"] for r in rows if r["role"] == "clawback"), Decimal(0))
        uplift = sum((r["tier_uplift_shown"] for r in rows), Decimal(0))
        assert (commission, clawback, uplift) == (
            s.components.commission, s.components.clawback, s.components.tier_uplift), (where, s.agreement_id)
