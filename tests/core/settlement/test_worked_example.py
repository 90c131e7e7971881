"""The spec's worked example, built in code: the engine's first contract."""

from __future__ import annotations

from cloudsettle.core.agreements import Band, Clawback, Fee, TierMethod, Tiers
from cloudsettle.core.money import D
from cloudsettle.core.periods import parse_period
from cloudsettle.core.settlement.model import LineRole
from cloudsettle.core.settlement.statement import settle_statement
from tests.core.settlement.factories import book, line, rule, version

V1 = version(
    rule("compute", "0.08", service_category=["Compute"]), rule("default", "0.05"),
    timezone="Asia/Shanghai",
    tiers=Tiers(TierMethod.MARGINAL, (Band(D(0), D(0)), Band(D(100000), D("0.02")))),
    fees=(Fee("platform", percent=D("0.01")),), clawback=Clawback(D(1), 90),
)


def test_worked_example_october() -> None:
    lines = [
        line("sep-cvm", "50000", start="2026-09-20T02:00", month="2026-09-01"),
        line("oct-cvm", "90000", start="2026-10-03T02:00"),
        line("oct-cos", "30000", start="2026-10-05T02:00", service="COS", service_category="Storage"),
        line("oct-refund", "-5000", start="2026-10-10T02:00", original_line_id="sep-cvm"),
    ]
    s = settle_statement(book(lines, [V1]), agreement_id="acme", period=parse_period("2026-10"))
    assert s is not None
    c = s.components
    assert (c.commission, c.tier_uplift, c.clawback, c.fees, c.payable) == (
        D("8700.00"), D("300.00"), D("-400.00"), D("-86.00"), D("8514.00"))
    assert s.base_total == D("115000.00")
    assert s.billed_total == D("115000.00")
    roles = {sl.line.line_id: sl.role for sl in s.lines}
    assert roles == {"oct-cvm": LineRole.COMMISSION, "oct-cos": LineRole.COMMISSION,
                     "oct-refund": LineRole.CLAWBACK}
    shown = {sl.line.line_id: sl.shown for sl in s.lines}
    assert shown == {"oct-cvm": D("7200.00"), "oct-cos": D("1500.00"), "oct-refund": D("-400.00")}
    assert sum(sl.tier_uplift_shown for sl in s.lines) == D("300.00")
