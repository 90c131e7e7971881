"""Settlement periods (monthly, quarterly, ISO weekly, biweekly) and local dates.

Every date test of the spec is made on the local date in the agreement's time
zone, so the one way to turn an instant into a date is :func:`local_date`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo


class Cycle(StrEnum):
    """How long a settlement period is (``cycle`` of an agreement version)."""

    MONTHLY = "monthly"
    QUARTERLY = "quarterly"
    WEEKLY = "weekly"
    BIWEEKLY = "biweekly"


@dataclass(frozen=True, slots=True, order=True)
class Period:
    """A settlement period: the local dates ``[start, end]``, both inclusive.

    Attributes:
      start: first local day.
      end: last local day (``2026-10-31`` for ``2026-10``).
      cycle: the cycle it belongs to.
      name: its spec name: ``2026-10``, ``2026-Q4``, ``2026-W43`` or ``2026-10-05``.
    """

    start: date
    end: date
    cycle: Cycle
    name: str

    def contains(self, day: date) -> bool:
        """Whether the local date ``day`` falls in this period."""
        return self.start <= day <= self.end

    def __str__(self) -> str:
        return self.name


_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_QUARTER = re.compile(r"^(\d{4})-Q([1-4])$")
_WEEK = re.compile(r"^(\d{4})-W(\d{2})$")
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def month_period(year: int, month: int) -> Period:
    """The calendar month ``year-month``."""
    start = date(year, month, 1)
    nxt = date(year + 1, 1, 1) if month == 12 else date(year, month + 1, 1)
    return Period(start, nxt - timedelta(days=1), Cycle.MONTHLY, f"{year:04d}-{month:02d}")


def quarter_period(year: int, quarter: int) -> Period:
    """The calendar quarter ``year-Qn``."""
    start = date(year, 3 * quarter - 2, 1)
    nxt = date(year + 1, 1, 1) if quarter == 4 else date(year, 3 * quarter + 1, 1)
    return Period(start, nxt - timedelta(days=1), Cycle.QUARTERLY, f"{year:04d}-Q{quarter}")


def week_period(year: int, week: int) -> Period:
    """The ISO week ``year-Www``, Monday to Sunday."""
    start = date.fromisocalendar(year, week, 1)
    return Period(start, start + timedelta(days=6), Cycle.WEEKLY, f"{year:04d}-W{week:02d}")


def biweekly_period(first_day: date, anchor: date) -> Period:
    """The two-week period that starts on ``first_day``; it must be a whole number of
    fortnights from ``anchor``."""
    if (first_day - anchor).days % 14:
        raise ValueError(f"{first_day} is not a biweekly period start for anchor {anchor}")
    return Period(first_day, first_day + timedelta(days=13), Cycle.BIWEEKLY, first_day.isoformat())


def parse_period(name: str, cycle: Cycle | None = None, anchor: date | None = None) -> Period:
    """Read a period name; the cycle is implied by the name's form unless given.

    A plain date names a biweekly period and needs the version's ``anchor``.
    """
    text = name.strip()
    if m := _MONTH.match(text):
        period = month_period(int(m[1]), int(m[2]))
    elif m := _QUARTER.match(text):
        period = quarter_period(int(m[1]), int(m[2]))
    elif m := _WEEK.match(text):
        period = week_period(int(m[1]), int(m[2]))
    elif _DAY.match(text):
        if anchor is None:
            raise ValueError(f"biweekly period {text!r} needs the agreement's cycle_anchor")
        period = biweekly_period(date.fromisoformat(text), anchor)
    else:
        raise ValueError(f"not a period name: {name!r} (expected 2026-10, 2026-Q4, 2026-W43 or a date)")
    if cycle is not None and period.cycle is not cycle:
        raise ValueError(f"period {text!r} is {period.cycle.value}, not {cycle.value}")
    return period


def period_containing(day: date, cycle: Cycle, anchor: date | None = None) -> Period:
    """The period of ``cycle`` that contains the local date ``day``."""
    if cycle is Cycle.MONTHLY:
        return month_period(day.year, day.month)
    if cycle is Cycle.QUARTERLY:
        return quarter_period(day.year, (day.month - 1) // 3 + 1)
    if cycle is Cycle.WEEKLY:
        iso = day.isocalendar()
        return week_period(iso.year, iso.week)
    if anchor is None:
        raise ValueError("a biweekly cycle needs a cycle_anchor")
    offset = (day - anchor).days // 14 * 14
    return biweekly_period(anchor + timedelta(days=offset), anchor)


def next_period(period: Period, anchor: date | None = None) -> Period:
    """The period right after ``period`` in the same cycle."""
    return period_containing(period.end + timedelta(days=1), period.cycle, anchor)


def local_date(instant: datetime, timezone: str) -> date:
    """The local date of an aware ``instant`` in the IANA ``timezone``."""
    if instant.tzinfo is None:
        raise ValueError(f"naive datetime {instant.isoformat()}: times are stored in UTC")
    return instant.astimezone(ZoneInfo(timezone)).date()


def local_midnight(day: date, timezone: str) -> datetime:
    """The instant at which the local date ``day`` begins in ``timezone``."""
    return datetime.combine(day, time(0), tzinfo=ZoneInfo(timezone))
