"""The spec's worked example through both engines (the quickest end-to-end check)."""

from __future__ import annotations

from cloudsettle.core.agreements import Band, Clawback, Fee, TierMethod, Tiers
from cloudsettle.core.money import D
from tests.compute.equivalence import assert_same, both
from tests.core.settlement.factories import book, line, rule, version


def test_worked_example() -> None:
    v = version(
        rule("compute", "0.08", service_category=["Compute"]),
        rule("rest", "0.05"),
        tiers=Tiers(TierMethod.MARGINAL, (Band(D(0), D(0)), Band(D(100000), D("0.02")))),
        fees=(Fee("f", percent=D("0.01")),),
        clawback=Clawback(D(1), 90),
    )
    lines = [
        line("s1", "20000", start="2026-09-13", month="2026-09-01"),
        line("o1", "90000"),
        line("o2", "30000", service="COS", service_category="Storage"),
        line("r1", "-5000", start="2026-10-03", original_line_id="s1"),
    ]
    mapped = book(lines, [v])
    ref, blk = both(mapped.book, "2026-10")
    assert ref.statements[0].components.payable == D("8514.00")
    assert_same(ref, blk)
