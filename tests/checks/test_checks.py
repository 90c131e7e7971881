"""One test per check (core/checks): each finding appears exactly when it should."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cloudsettle.core.checks import (
    ReportedTotal,
    check_columns,
    check_completeness,
    check_duplicates,
    check_refunds,
    check_time_window,
    check_totals,
    check_volume,
)
from cloudsettle.core.checks.drift import trailing_average
from cloudsettle.core.findings import FindingKind
from cloudsettle.core.lines import BillingLine, ChargeCategory
from cloudsettle.core.money import D


def line(line_id: str = "L1", *, amount: str = "100.00", account: str = "A1", service: str = "CVM",
         start: datetime = datetime(2026, 10, 3, 2, tzinfo=UTC), month: date = date(2026, 10, 1),
         provider: str = "tencent", **kw: object) -> BillingLine:
    return BillingLine(line_id=line_id, provider=provider, account_id=account, charge_start=start,
                       charge_end=start, billing_period=month, list_amount=D(amount), currency="CNY",
                       service=service, **kw)  # type: ignore[arg-type]


def test_completeness_names_the_missing_fields() -> None:
    good = line("L1")
    no_service = line("L2", service="")
    no_account = line("L3", account="")
    credit = line("L4", service="", charge_category=ChargeCategory.CREDIT)  # a credit needs no service
    findings = check_completeness([good, no_service, no_account, credit])
    assert [(f.kind, f.line_id) for f in findings] == [
        (FindingKind.INCOMPLETE_LINE, "L2"), (FindingKind.INCOMPLETE_LINE, "L3")]
    assert "has no service" in findings[0].message
    assert "has no account_id" in findings[1].message


def test_completeness_rules_are_per_provider_and_category() -> None:
    rules = {("huawei", "usage"): ("region",)}
    assert check_completeness([line("L1", provider="huawei")], rules)[0].message.endswith("has no region")
    assert check_completeness([line("L1", provider="tencent")], rules) == []
    assert check_completeness([line("L1", provider="huawei", region="cn-north-4")], rules) == []


def test_totals_match_within_tolerance_and_name_the_difference() -> None:
    lines = [line("L1", amount="100.00"), line("L2", amount="50.01", service="COS"),
             line("L3", amount="7.00", account="A2")]
    month = date(2026, 10, 1)
    exact = ReportedTotal("tencent", month, "CNY", D("150.01"), account_id="A1")
    off = ReportedTotal("tencent", month, "CNY", D("100.05"), account_id="A1", service="CVM")
    assert check_totals(lines, [exact]) == []
    assert check_totals(lines, [off], tolerance=D("0.05")) == []
    [finding] = check_totals(lines, [off], tolerance=D("0.04"))
    assert finding.kind is FindingKind.TOTALS_MISMATCH
    assert "difference 0.05" in finding.message
    assert "customer A1 product CVM" in finding.message
    everyone = ReportedTotal("tencent", month, "CNY", D("150.00"))
    [short] = check_totals(lines, [everyone])
    assert "difference -7.01" in short.message


@given(st.lists(st.integers(min_value=-10**6, max_value=10**6), min_size=1, max_size=20))
def test_totals_equal_to_the_sum_never_mismatch(cents: list[int]) -> None:
    lines = [line(f"L{i}", amount=str(D(c).scaleb(-2))) for i, c in enumerate(cents)]
    total = sum((x.billed_amount for x in lines), D("0"))
    assert check_totals(lines, [ReportedTotal("tencent", date(2026, 10, 1), "CNY", total)]) == []


def test_time_window_reads_the_provider_home_zone() -> None:
    # 16:30 UTC on 31 October is 00:30 on 1 November in Beijing: not October's.
    late = line("L1", start=datetime(2026, 10, 31, 16, 30, tzinfo=UTC))
    inside = line("L2", start=datetime(2026, 10, 31, 15, 30, tzinfo=UTC))
    corrected = replace(late, line_id="L3", is_correction=True)
    focus = line("L4", provider="aws", start=datetime(2026, 10, 31, 16, 30, tzinfo=UTC))
    findings = check_time_window([late, inside, corrected, focus])
    assert [(f.kind, f.line_id) for f in findings] == [(FindingKind.OUTSIDE_BILL_MONTH, "L1")]
    assert "2026-11-01" in findings[0].message


def test_time_window_accepts_a_span_across_the_month_edge() -> None:
    start = datetime(2026, 9, 20, tzinfo=UTC)
    spans = replace(line("L1", start=start), charge_end=datetime(2026, 10, 20, tzinfo=UTC))
    before = replace(line("L2", start=start), charge_end=datetime(2026, 9, 25, tzinfo=UTC))
    # a purchase on the evening of 29 September (Beijing) is within the 3 days' slack
    eve = line("L3", start=datetime(2026, 9, 29, 12, tzinfo=UTC))
    assert [f.line_id for f in check_time_window([spans, before, eve])] == ["L2"]
    assert [f.line_id for f in check_time_window([eve], slack_days=0)] == ["L3"]


def test_columns_drift_names_added_and_removed_columns() -> None:
    assert check_columns("tencent file", ["a", "b"], None) == []
    assert check_columns("tencent file", ["a", "b"], ["b", "a"]) == []
    [finding] = check_columns("tencent file", ["a", "c"], ["a", "b"])
    assert finding.kind is FindingKind.SOURCE_DRIFT
    assert "new columns c" in finding.message
    assert "missing columns b" in finding.message


def test_volume_drift_by_factor_either_way() -> None:
    history = {"A1": [D("100"), D("200")], "A2": [D("100")], "A3": [D("0")], "A4": []}
    current = {"A1": D("451"), "A2": D("33"), "A3": D("1000"), "A4": D("5"), "A5": D("9")}
    findings = check_volume("tencent", current, history, factor=D("3"))
    assert [f.message.split(":")[0] for f in findings] == ["tencent customer A1", "tencent customer A2"]
    assert all(f.kind is FindingKind.VOLUME_DRIFT for f in findings)
    assert "3.01x" in findings[0].message
    # exactly at the factor is not drift
    assert check_volume("tencent", {"A1": D("450")}, history, factor=D("3")) == []
    assert check_volume("tencent", {"A2": D("100")}, history, factor=D("3"), min_periods=2) == []
    with pytest.raises(ValueError, match="above 1"):
        check_volume("tencent", current, history, factor=D("1"))
    assert trailing_average([D("1"), D("2")]) == D("1.5")


def test_duplicates_and_unlinked_refunds() -> None:
    a, b = line("L1"), line("L2")
    refund = line("R1", amount="-10.00", original_line_id="L1")
    orphan = line("R2", amount="-10.00", original_line_id="GONE")
    dupes = check_duplicates([a, b, a])
    assert [(f.kind, f.line_id) for f in dupes] == [(FindingKind.DUPLICATE_LINE, "L1")]
    known = {("tencent", "L1"), ("tencent", "L2")}
    assert [(f.kind, f.line_id) for f in check_refunds([a, refund, orphan], known)] == [
        (FindingKind.UNLINKED_REFUND, "R2")]
