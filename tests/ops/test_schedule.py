"""The pure schedule arithmetic: local times across daylight-saving changes, catch-up once."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cloudsettle.ops.schedule import (
    Deadline,
    Schedule,
    deadline_instant,
    deadline_states,
    due_instants,
    due_run,
    latest_due,
    next_due,
    resolve_month,
)

BERLIN = "Europe/Berlin"
NEW_YORK = "America/New_York"


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


def test_daily_local_time_moves_in_utc_across_spring_forward() -> None:
    s = Schedule("pull", "pull", BERLIN, at=(time(6, 0),))
    got = due_instants(s, utc(2026, 3, 27), utc(2026, 3, 31))
    assert got == [utc(2026, 3, 27, 5), utc(2026, 3, 28, 5), utc(2026, 3, 29, 4), utc(2026, 3, 30, 4)]
    assert {t.astimezone(ZoneInfo(BERLIN)).time() for t in got} == {time(6, 0)}


def test_a_time_in_the_spring_gap_fires_once_after_the_gap() -> None:
    s = Schedule("x", "settle", BERLIN, at=(time(2, 30),))
    got = due_instants(s, utc(2026, 3, 28, 12), utc(2026, 3, 29, 12))
    assert got == [utc(2026, 3, 29, 1, 30)]  # 03:30 CEST: the wall clock skipped 02:00-03:00


def test_a_repeated_time_in_the_fall_fires_once_at_its_first_occurrence() -> None:
    s = Schedule("x", "settle", NEW_YORK, at=(time(1, 30),))
    got = due_instants(s, utc(2026, 10, 31, 12), utc(2026, 11, 1, 12))
    assert got == [utc(2026, 11, 1, 5, 30)]  # 01:30 EDT, not again at 01:30 EST (06:30 UTC)


def test_every_minutes_keeps_local_midnight_grid_and_days_of_month_filter() -> None:
    s = Schedule("x", "alerts", "Asia/Shanghai", every_minutes=360, days=(5,))
    got = due_instants(s, utc(2026, 10, 1), utc(2026, 10, 31))
    assert [t.astimezone(ZoneInfo("Asia/Shanghai")).strftime("%d %H:%M") for t in got] == [
        "05 00:00",
        "05 06:00",
        "05 12:00",
        "05 18:00",
    ]


def test_missed_runs_are_caught_up_once() -> None:
    s = Schedule("pull", "pull", "Asia/Shanghai", at=(time(6, 0),))
    last = utc(2026, 10, 1, 22)  # 2026-10-02 06:00 Shanghai
    run = due_run(s, utc(2026, 10, 5, 3), last)  # 11:00 on the 5th: the 3rd, 4th, 5th went by
    assert run is not None
    assert run.due_at == utc(2026, 10, 4, 22)
    assert run.missed == 2
    assert due_run(s, utc(2026, 10, 5, 3), run.due_at) is None  # nothing more until tomorrow


def test_a_schedule_never_run_catches_up_its_newest_instant_only() -> None:
    s = Schedule("huawei", "pull", "Asia/Shanghai", at=(time(6, 0),), days=(5,))
    run = due_run(s, utc(2026, 10, 20), None)
    assert run is not None
    assert (run.due_at, run.missed) == (utc(2026, 10, 4, 22), 0)


def test_nothing_due_before_the_first_instant_of_the_day() -> None:
    s = Schedule("pull", "pull", BERLIN, at=(time(6, 0),))
    assert due_run(s, utc(2026, 3, 29, 3, 59), utc(2026, 3, 28, 5)) is None
    assert due_run(s, utc(2026, 3, 29, 4, 0), utc(2026, 3, 28, 5)) is not None


def test_bad_schedules_are_refused() -> None:
    with pytest.raises(ValueError, match="job"):
        Schedule("x", "reboot", "UTC", at=(time(1, 0),))
    with pytest.raises(ValueError, match="needs"):
        Schedule("x", "pull", "UTC")
    with pytest.raises(ValueError, match="days"):
        Schedule("x", "pull", "UTC", at=(time(1, 0),), days=(32,))


@settings(max_examples=60, deadline=None)
@given(
    zone=st.sampled_from([BERLIN, NEW_YORK, "Asia/Shanghai", "Australia/Lord_Howe"]),
    hour=st.integers(0, 23),
    minute=st.sampled_from([0, 15, 30, 45]),
    start=st.datetimes(datetime(2026, 1, 1), datetime(2027, 12, 1)),
)
def test_each_local_day_fires_exactly_once(zone: str, hour: int, minute: int, start: datetime) -> None:
    s = Schedule("x", "pull", zone, at=(time(hour, minute),))
    begin = start.replace(tzinfo=UTC)
    got = due_instants(s, begin, begin + timedelta(days=20))
    days = [t.astimezone(ZoneInfo(zone)).date() for t in got]
    assert len(days) == len(set(days))  # never twice a day, even on fall-back days
    assert 19 <= len(got) <= 21
    for t in got:
        assert latest_due(s, t) == t
        assert next_due(s, t - timedelta(microseconds=1)) == t


def test_deadlines_of_a_period_fall_in_the_next_month_and_states_follow_the_clock() -> None:
    zone = ZoneInfo("Asia/Shanghai")
    draft, approved = Deadline("draft", 3, time(18, 0)), Deadline("approved", 7)
    assert deadline_instant("2026-10", draft, zone) == utc(2026, 11, 3, 10)
    assert deadline_instant("2026-12", Deadline("paid", 31), zone).date().isoformat() == "2027-01-31"
    assert deadline_instant("2027-01", Deadline("paid", 31), zone).astimezone(zone).day == 28  # clamped

    def states(now: datetime, done: dict[str, bool]) -> list[str]:
        return [
            s.state for s in deadline_states("2026-10", [draft, approved], zone, now, done, timedelta(days=1))
        ]

    assert states(utc(2026, 11, 1), {}) == ["ok", "ok"]
    assert states(utc(2026, 11, 2, 12), {}) == ["at_risk", "ok"]
    assert states(utc(2026, 11, 3, 11), {}) == ["overdue", "ok"]
    assert states(utc(2026, 11, 3, 11), {"draft": True}) == ["met", "ok"]


def test_months_resolve_relative_to_the_local_day() -> None:
    assert resolve_month("previous", datetime(2026, 1, 5).date()) == "2025-12"
    assert resolve_month("current", datetime(2026, 1, 5).date()) == "2026-01"
    assert resolve_month("2026-07", datetime(2026, 1, 5).date()) == "2026-07"
