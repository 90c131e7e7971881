"""``BatchChecks.watch`` gives the findings of the per-line checks, in their order (issue 6).

The watch works out each (provider, category)'s required fields once and remembers the
time-window verdict of each (provider, UTC start, UTC end, bill month); here it is held to
``check_completeness`` and ``check_time_window`` called line by line, over lines that miss
fields, lie outside their month, are corrections, and repeat times in other zones or folds.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from cloudsettle.core.checks import check_completeness, check_time_window
from cloudsettle.core.findings import Finding
from cloudsettle.core.lines import BillingLine, ChargeCategory
from cloudsettle.ingest.errors import RowError
from cloudsettle.services.validation_service import BatchChecks

_INSTANTS = st.sampled_from(
    [
        datetime(2026, 9, 30, 16, tzinfo=UTC),  # 1 October in Shanghai
        datetime(2026, 9, 28, tzinfo=UTC),
        datetime(2026, 10, 31, 23, tzinfo=UTC),
        datetime(2026, 11, 1, 5, 30, tzinfo=UTC),
        datetime(2026, 11, 1, 5, 30, tzinfo=UTC, fold=1),
        datetime(2026, 11, 1, 1, 30, tzinfo=ZoneInfo("America/New_York")),
        datetime(2026, 11, 1, 1, 30, tzinfo=ZoneInfo("America/New_York"), fold=1),
        datetime(2026, 10, 1, 8, tzinfo=timezone(timedelta(hours=8))),
    ]
)


@st.composite
def _lines(draw: st.DrawFn) -> BillingLine:
    start = draw(_INSTANTS)
    return BillingLine(
        line_id=draw(st.sampled_from(["a", "b", "c"])),
        provider=draw(st.sampled_from(["tencent", "huawei", "amazon-web-services"])),
        account_id=draw(st.sampled_from(["", "1"])),
        charge_start=start,
        charge_end=start + draw(st.sampled_from([timedelta(0), timedelta(hours=1), timedelta(days=40)])),
        billing_period=draw(st.sampled_from([date(2026, 10, 1), date(2026, 11, 1), date(2026, 9, 1)])),
        list_amount=Decimal("1"),
        currency=draw(st.sampled_from(["", "CNY"])),
        service=draw(st.sampled_from(["", "cvm"])),
        charge_category=draw(st.sampled_from(ChargeCategory)),
        is_correction=draw(st.booleans()),
    )


def _one_by_one(lines: list[BillingLine]) -> list[Finding]:
    """The definition: each line's completeness finding, then its time-window one."""
    return [f for line in lines for f in (*check_completeness((line,)), *check_time_window((line,)))]


@settings(max_examples=300, deadline=None)
@given(st.lists(_lines(), max_size=25))
def test_watch_finds_what_the_checks_find_line_by_line(lines: list[BillingLine]) -> None:
    checks = BatchChecks("tencent", "tencent:file:x")
    items: list[tuple[int, BillingLine | RowError]] = [(n, line) for n, line in enumerate(lines, start=2)]
    assert list(checks.watch(items)) == items  # passed on unchanged
    assert checks.findings == _one_by_one(lines)
    again = list(reversed(lines))  # the same lines, now with their verdicts remembered
    checks.findings.clear()
    list(checks.watch([(n, line) for n, line in enumerate(again, start=2)]))
    assert checks.findings == _one_by_one(again)


def test_a_remembered_verdict_is_not_reused_for_another_bill_month_or_provider() -> None:
    """Lines with the same UTC times but another month or home zone are judged anew."""
    start = datetime(2026, 10, 31, 23, tzinfo=UTC)  # 1 November in Shanghai, 31 October in UTC
    lines = [
        BillingLine(line_id, provider, "1", start, start, month, Decimal("1"), "CNY", service="cvm")
        for line_id, provider, month in [
            ("a", "tencent", date(2026, 11, 1)), ("c", "amazon-web-services", date(2026, 10, 1)),
            ("b", "tencent", date(2026, 10, 1)), ("d", "amazon-web-services", date(2026, 11, 1)),
        ]
    ]
    checks = BatchChecks("tencent", "tencent:file:x")
    list(checks.watch([(n, line) for n, line in enumerate(lines, start=2)]))
    assert [f.line_id for f in checks.findings] == ["b"]
    assert checks.findings == _one_by_one(lines)
