"""Schedules and deadlines as pure functions of an instant: what is due at T in zone Z.

A schedule fires at local wall-clock times (``06:00 Asia/Shanghai``) on every
day or on given days of the month, or every N minutes. Local times are turned
into UTC instants day by day, so a daylight-saving change moves the UTC
instant and never the local time. A local time that does not exist (spring
forward) fires once, shifted forward by the gap; one that happens twice (fall
back) fires once, at its first occurrence.

A worker that was down does not replay every missed instant: :func:`due_run`
names only the newest instant not yet run and how many older ones it stands
for (caught up once, not repeated).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

#: How far back :func:`latest_due` looks for a schedule's newest instant (covers "on the 31st").
LOOKBACK_DAYS = 62
JOB_KINDS: tuple[str, ...] = ("pull", "settle", "deadlines", "alerts")


@dataclass(frozen=True)
class Schedule:
    """One configured schedule.

    Attributes:
      name: unique; the lock key between workers.
      kind: the job: ``pull``, ``settle`` (re-validation and draft settlement),
        ``deadlines`` or ``alerts``.
      zone: IANA time zone of ``at``.
      at: local times of day.
      days: days of the month; empty means every day.
      every_minutes: instead of ``at``: every N minutes from local midnight.
      params: the job's parameters (provider, month, period, ...).
    """

    name: str
    kind: str
    zone: str
    at: tuple[time, ...] = ()
    days: tuple[int, ...] = ()
    every_minutes: int | None = None
    params: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.kind not in JOB_KINDS:
            kinds = ", ".join(JOB_KINDS)
            raise ValueError(f"schedule {self.name!r}: job {self.kind!r} is not one of {kinds}")
        if not self.at and not self.every_minutes:
            raise ValueError(f"schedule {self.name!r}: needs 'at' times or 'every_minutes'")
        if self.every_minutes is not None and not 0 < self.every_minutes <= 1440:
            raise ValueError(f"schedule {self.name!r}: every_minutes must be 1..1440")
        if any(not 1 <= d <= 31 for d in self.days):
            raise ValueError(f"schedule {self.name!r}: days must be 1..31")
        ZoneInfo(self.zone)  # raises for an unknown zone

    @property
    def tz(self) -> ZoneInfo:
        """The zone as an object."""
        return ZoneInfo(self.zone)

    def local_times(self) -> tuple[time, ...]:
        """The local times of day this schedule fires at."""
        if self.every_minutes:
            step = self.every_minutes
            return tuple(time(m // 60, m % 60) for m in range(0, 1440, step))
        return tuple(sorted(set(self.at)))


def local_instant(day: date, at: time, zone: ZoneInfo) -> datetime:
    """``at`` on ``day`` in ``zone`` as an aware UTC instant.

    ``fold=0`` gives the first of two repeated local times and, for a local time in a
    spring-forward gap, the offset before the change, which lands just after the gap.
    """
    return datetime.combine(day, at, tzinfo=zone).astimezone(UTC)


def instants_on(schedule: Schedule, day: date) -> list[datetime]:
    """The UTC instants ``schedule`` fires at on local ``day`` (none on a day not listed)."""
    if schedule.days and day.day not in schedule.days:
        return []
    zone = schedule.tz
    return sorted({local_instant(day, at, zone) for at in schedule.local_times()})


def due_instants(schedule: Schedule, start: datetime, end: datetime) -> list[datetime]:
    """Every instant of ``schedule`` in ``(start, end]``, oldest first (aware datetimes)."""
    zone = schedule.tz
    first = start.astimezone(zone).date() - timedelta(days=1)
    last = end.astimezone(zone).date() + timedelta(days=1)
    found: list[datetime] = []
    day = first
    while day <= last:
        found.extend(t for t in instants_on(schedule, day) if start < t <= end)
        day += timedelta(days=1)
    return sorted(set(found))


def latest_due(schedule: Schedule, now: datetime) -> datetime | None:
    """The newest instant of ``schedule`` at or before ``now`` (within :data:`LOOKBACK_DAYS`)."""
    zone = schedule.tz
    day = now.astimezone(zone).date() + timedelta(days=1)
    for _ in range(LOOKBACK_DAYS + 2):
        past = [t for t in instants_on(schedule, day) if t <= now]
        if past:
            return max(past)
        day -= timedelta(days=1)
    return None


def next_due(schedule: Schedule, after: datetime) -> datetime | None:
    """The first instant of ``schedule`` strictly after ``after``."""
    zone = schedule.tz
    day = after.astimezone(zone).date() - timedelta(days=1)
    for _ in range(LOOKBACK_DAYS + 2):
        later = [t for t in instants_on(schedule, day) if t > after]
        if later:
            return min(later)
        day += timedelta(days=1)
    return None


@dataclass(frozen=True)
class DueRun:
    """A run to claim: the schedule, its due instant, and the older instants it stands for."""

    schedule: Schedule
    due_at: datetime
    missed: int


def due_run(schedule: Schedule, now: datetime, last_due: datetime | None) -> DueRun | None:
    """What of ``schedule`` is due at ``now`` given the due instant of its last run.

    Only the newest instant not yet run is due; instants between ``last_due`` and it
    were missed (a worker was down) and are counted, not run again. A schedule never
    run catches up its newest instant once."""
    latest = latest_due(schedule, now)
    if latest is None or (last_due is not None and latest <= last_due):
        return None
    missed = 0 if last_due is None else len(due_instants(schedule, last_due, latest)) - 1
    return DueRun(schedule, latest, missed)


def due_runs(
    schedules: Iterable[Schedule], now: datetime, last: Mapping[str, datetime | None]
) -> list[DueRun]:
    """:func:`due_run` for each schedule, in the order given."""
    out = []
    for s in schedules:
        run = due_run(s, now, last.get(s.name))
        if run is not None:
            out.append(run)
    return out


# --- periods and deadlines -------------------------------------------------------------


def month_name(day: date, offset: int = 0) -> str:
    """The month of ``day`` moved by ``offset`` months, as ``YYYY-MM``."""
    index = day.year * 12 + day.month - 1 + offset
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def resolve_month(spec: str, local_day: date) -> str:
    """``current``, ``previous`` or an explicit ``YYYY-MM`` as of a local day."""
    if spec == "current":
        return month_name(local_day)
    if spec == "previous":
        return month_name(local_day, -1)
    return spec


@dataclass(frozen=True)
class Deadline:
    """A step of closing a period that must be done by a day of the month after it.

    Attributes:
      step: ``draft``, ``approved`` or ``paid``.
      day: day of the following month (clamped to its length).
      at: local time of that day.
    """

    step: str
    day: int
    at: time = time(23, 59)


DEADLINE_STEPS: tuple[str, ...] = ("draft", "approved", "paid")


def deadline_instant(period: str, deadline: Deadline, zone: ZoneInfo) -> datetime:
    """When ``deadline`` falls for monthly ``period`` (``YYYY-MM``), as a UTC instant."""
    year, month = (int(p) for p in period.split("-"))
    nxt = date(year + month // 12, month % 12 + 1, 1)
    last_day = (date(nxt.year + nxt.month // 12, nxt.month % 12 + 1, 1) - timedelta(days=1)).day
    return local_instant(nxt.replace(day=min(deadline.day, last_day)), deadline.at, zone)


@dataclass(frozen=True)
class DeadlineState:
    """Where a period stands against one deadline: ``met``, ``ok``, ``at_risk`` or ``overdue``."""

    period: str
    step: str
    due_at: datetime
    state: str


def deadline_states(
    period: str,
    deadlines: Iterable[Deadline],
    zone: ZoneInfo,
    now: datetime,
    done: Mapping[str, bool],
    warn: timedelta,
) -> list[DeadlineState]:
    """Each deadline's state at ``now``: met when ``done[step]``, else overdue past it,
    at risk within ``warn`` before it, else ok."""
    out = []
    for d in deadlines:
        due = deadline_instant(period, d, zone)
        if done.get(d.step, False):
            state = "met"
        elif now > due:
            state = "overdue"
        elif now >= due - warn:
            state = "at_risk"
        else:
            state = "ok"
        out.append(DeadlineState(period, d.step, due, state))
    return out
