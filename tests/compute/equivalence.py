"""Run both engines on the same book and lines and say exactly where they differ."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from cloudsettle.compute.arrow import lines_to_arrow
from cloudsettle.compute.engine import settle_period_bulk
from cloudsettle.core.settlement.book import Book, MappedBook
from cloudsettle.core.settlement.model import COMPONENT_NAMES, Statement, StatementLine
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
