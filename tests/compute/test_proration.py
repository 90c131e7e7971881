"""Proration in the bulk engine: exact fractions, and what happens to a third.

A fraction that is a finite decimal (0.4, 0.0625) is exact in both engines and
every figure agrees. A third is not: the reference keeps 60 significant digits,
the bulk engine 12 decimals (docs/bulk-engine.md); the statement still agrees
to the cent, the line fraction to 12 decimals.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pyarrow.parquet as pq

from cloudsettle.compute.arrow import lines_to_arrow
from cloudsettle.compute.engine import settle_period_bulk
from cloudsettle.core.agreements import Agreement
from cloudsettle.core.money import D
from cloudsettle.core.parties import Deal
from cloudsettle.core.settlement.book import Book
from cloudsettle.core.settlement.model import COMPONENT_NAMES
from tests.compute.equivalence import assert_same, both
from tests.core.settlement.factories import book, line, rule, version


def _split_book(start: str, end: str, *, amount: str = "1000.00") -> Book:
    """One customer, P-ACME until 10-15 local, P-B from then; both prorate (Shanghai)."""
    v = version(rule("alpha", "0.08"), timezone="Asia/Shanghai", prorate=True)
    other = Agreement("b", "P-B", (version(rule("beta", "0.06"), timezone="Asia/Shanghai", prorate=True),))
    deals = [
        Deal("D-A", "P-ACME", "tencent", "100", "acme", date(2026, 1, 1), date(2026, 10, 15)),
        Deal("D-B", "P-B", "tencent", "100", "b", date(2026, 10, 15)),
    ]
    lines = [
        line("L1", amount, start=start, end=end),
        line("R1", "-" + amount, start="2026-10-20T00:00", original_line_id="L1"),
    ]
    return book(lines, [v], deals=deals, extra_agreements=[other]).book


def test_finite_fractions_are_exact_in_both_engines() -> None:
    bk = _split_book("2026-10-10T16:00", "2026-10-20T16:00")  # 10 local days, cut after 4
    reference, bulk = both(bk, "2026-10")
    assert_same(reference, bulk)
    fractions = sorted(sl.fraction for s in bulk.statements for sl in s.lines if sl.line.line_id == "L1")
    assert fractions == [D("0.4"), D("0.6")]


def test_a_third_agrees_to_the_cent_and_to_twelve_decimals() -> None:
    bk = _split_book("2026-10-13T16:00", "2026-10-16T16:00", amount="1234.57")  # 3 days, cut after 2
    reference, bulk = both(bk, "2026-10")
    assert len(reference.statements) == len(bulk.statements) == 2
    for ref, blk in zip(reference.statements, bulk.statements, strict=True):
        for name in COMPONENT_NAMES:
            assert getattr(ref.components, name) == getattr(blk.components, name), name
        assert (ref.base_total, ref.billed_total) == (blk.base_total, blk.billed_total)
        for a, b in zip(ref.lines, blk.lines, strict=True):
            assert abs(a.fraction - b.fraction) < Decimal("1e-12")
            assert abs(a.base - b.base) < Decimal("1e-8")
            assert (a.shown, a.rule_id, a.reasons) == (b.shown, b.rule_id, b.reasons)
    assert bulk.findings == reference.findings


def test_parquet_input_gives_the_same_run(tmp_path: Path) -> None:
    bk = _split_book("2026-10-10T16:00", "2026-10-20T16:00")
    path = tmp_path / "lines.parquet"
    pq.write_table(lines_to_arrow(bk.lines), path)
    from_arrow = settle_period_bulk(bk, lines_to_arrow(bk.lines), "2026-10")
    from_parquet = settle_period_bulk(bk, path, "2026-10")
    assert from_parquet == from_arrow
    assert len(from_parquet.statements) == 2
