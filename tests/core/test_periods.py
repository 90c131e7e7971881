"""periods.py: monthly, quarterly, ISO-week and biweekly periods, and local dates."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from cloudsettle.core.periods import (
    Cycle,
    biweekly_period,
    local_date,
    local_midnight,
    month_period,
    next_period,
    parse_period,
    period_containing,
    quarter_period,
    week_period,
)


def test_month_period_bounds() -> None:
    p = month_period(2026, 2)
    assert (p.start, p.end, p.cycle, p.name) == (date(2026, 2, 1), date(2026, 2, 28), Cycle.MONTHLY,
                                                 "2026-02")
    assert month_period(2024, 2).end == date(2024, 2, 29)
    assert month_period(2026, 12).end == date(2026, 12, 31)
    assert p.contains(date(2026, 2, 1))
    assert p.contains(date(2026, 2, 28))
    assert not p.contains(date(2026, 3, 1))
    assert not p.contains(date(2026, 1, 31))


def test_quarter_period_bounds() -> None:
    q4 = quarter_period(2026, 4)
    assert (q4.start, q4.end, q4.name) == (date(2026, 10, 1), date(2026, 12, 31), "2026-Q4")
    q1 = quarter_period(2026, 1)
    assert (q1.start, q1.end) == (date(2026, 1, 1), date(2026, 3, 31))


def test_iso_week_period() -> None:
    w43 = week_period(2026, 43)
    assert (w43.start, w43.end, w43.name) == (date(2026, 10, 19), date(2026, 10, 25), "2026-W43")
    assert w43.start.weekday() == 0
    assert w43.end.weekday() == 6
    # ISO week 1 of 2026 begins on Monday 2025-12-29.
    assert week_period(2026, 1).start == date(2025, 12, 29)
    assert period_containing(date(2025, 12, 31), Cycle.WEEKLY).name == "2026-W01"


def test_week_53_exists_only_in_long_years() -> None:
    assert week_period(2020, 53).start == date(2020, 12, 28)
    assert parse_period("2020-W53").end == date(2021, 1, 3)
    # 2026 begins on a Thursday, so it has a week 53 too; 2025 (begins Wednesday) has not.
    assert parse_period("2026-W53").start == date(2026, 12, 28)
    with pytest.raises(ValueError, match="week"):
        parse_period("2025-W53")
    assert period_containing(date(2021, 1, 1), Cycle.WEEKLY).name == "2020-W53"


def test_biweekly_by_anchor() -> None:
    anchor = date(2026, 10, 5)
    p = biweekly_period(date(2026, 10, 19), anchor)
    assert (p.start, p.end, p.name) == (date(2026, 10, 19), date(2026, 11, 1), "2026-10-19")
    assert period_containing(date(2026, 11, 1), Cycle.BIWEEKLY, anchor).name == "2026-10-19"
    assert period_containing(date(2026, 11, 2), Cycle.BIWEEKLY, anchor).name == "2026-11-02"
    # Days before the anchor fall in earlier fortnights of the same grid.
    assert period_containing(date(2026, 10, 4), Cycle.BIWEEKLY, anchor).name == "2026-09-21"
    with pytest.raises(ValueError, match="not a biweekly period start"):
        biweekly_period(date(2026, 10, 12), anchor)
    with pytest.raises(ValueError, match="anchor"):
        period_containing(date(2026, 10, 12), Cycle.BIWEEKLY)


def test_parse_period_names() -> None:
    assert parse_period("2026-10") == month_period(2026, 10)
    assert parse_period(" 2026-Q4 ") == quarter_period(2026, 4)
    assert parse_period("2026-W43") == week_period(2026, 43)
    assert parse_period("2026-10-19", anchor=date(2026, 10, 5)).cycle is Cycle.BIWEEKLY
    with pytest.raises(ValueError, match="cycle_anchor"):
        parse_period("2026-10-19")
    with pytest.raises(ValueError, match="not monthly"):
        parse_period("2026-Q4", Cycle.MONTHLY)
    for bad in ("2026/10", "2026-Q5", "Oct 2026", "2026-13"):
        with pytest.raises(ValueError):  # noqa: PT011 - messages differ by form (regex, calendar)
            parse_period(bad)


@pytest.mark.parametrize(("name", "anchor", "expected"), [
    ("2026-12", None, "2027-01"),
    ("2026-01", None, "2026-02"),
    ("2026-Q4", None, "2027-Q1"),
    ("2026-W52", None, "2026-W53"),
    ("2026-W53", None, "2027-W01"),
    ("2020-W53", None, "2021-W01"),
    ("2025-W52", None, "2026-W01"),
    ("2026-10-19", date(2026, 10, 5), "2026-11-02"),
])
def test_next_period(name: str, anchor: date | None, expected: str) -> None:
    p = parse_period(name, anchor=anchor)
    nxt = next_period(p, anchor)
    assert nxt.name == expected
    assert nxt.start == p.end + timedelta(days=1)
    assert nxt.cycle is p.cycle


def test_periods_tile_the_calendar() -> None:
    for cycle, anchor in ((Cycle.MONTHLY, None), (Cycle.QUARTERLY, None), (Cycle.WEEKLY, None),
                          (Cycle.BIWEEKLY, date(2026, 1, 5))):
        p = period_containing(date(2025, 12, 1), cycle, anchor)
        for _ in range(30):
            nxt = next_period(p, anchor)
            assert nxt.start == p.end + timedelta(days=1)
            assert nxt.start <= nxt.end
            p = nxt


def test_local_date_shanghai() -> None:
    # 16:00 UTC on Sep 30 is midnight Oct 1 in Shanghai (UTC+8, no DST).
    assert local_date(datetime(2026, 9, 30, 15, 59, 59, tzinfo=UTC), "Asia/Shanghai") == date(2026, 9, 30)
    assert local_date(datetime(2026, 9, 30, 16, 0, tzinfo=UTC), "Asia/Shanghai") == date(2026, 10, 1)
    assert local_date(datetime(2026, 10, 1, 0, 0, tzinfo=timezone(timedelta(hours=8))),
                      "UTC") == date(2026, 9, 30)


def test_local_date_across_new_york_dst() -> None:
    # EDT (UTC-4) until 2026-11-01 06:00 UTC, then EST (UTC-5).
    assert local_date(datetime(2026, 11, 1, 3, 59, tzinfo=UTC), "America/New_York") == date(2026, 10, 31)
    assert local_date(datetime(2026, 11, 1, 4, 0, tzinfo=UTC), "America/New_York") == date(2026, 11, 1)
    assert local_date(datetime(2026, 11, 2, 4, 59, tzinfo=UTC), "America/New_York") == date(2026, 11, 1)
    assert local_date(datetime(2026, 11, 2, 5, 0, tzinfo=UTC), "America/New_York") == date(2026, 11, 2)
    # Spring forward 2026-03-08: before it midnight is 05:00 UTC, after it 04:00 UTC.
    assert local_date(datetime(2026, 3, 8, 4, 59, tzinfo=UTC), "America/New_York") == date(2026, 3, 7)
    assert local_date(datetime(2026, 3, 9, 4, 0, tzinfo=UTC), "America/New_York") == date(2026, 3, 9)


def test_local_date_refuses_naive() -> None:
    with pytest.raises(ValueError, match="naive"):
        local_date(datetime(2026, 10, 1), "UTC")


def test_local_midnight() -> None:
    assert local_midnight(date(2026, 10, 1), "Asia/Shanghai") == datetime(2026, 9, 30, 16, tzinfo=UTC)
    assert local_midnight(date(2026, 11, 1), "America/New_York") == datetime(2026, 11, 1, 4, tzinfo=UTC)
    assert local_midnight(date(2026, 11, 2), "America/New_York") == datetime(2026, 11, 2, 5, tzinfo=UTC)
    # The day of the change is 25 hours long in New York.
    day = local_midnight(date(2026, 11, 2), "America/New_York").astimezone(UTC) - local_midnight(
        date(2026, 11, 1), "America/New_York").astimezone(UTC)
    assert day == timedelta(hours=25)
