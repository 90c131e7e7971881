"""The worker with a controllable clock: pulls, drafts and deadline alerts at the right local
times across New York's fall-back, a missed run caught up once, failures alerted."""

from __future__ import annotations

import json
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from cloudsettle.db.models import RunRow
from cloudsettle.db.models_ops import AlertRow, ScheduleRunRow
from cloudsettle.ingest.api.fake_tencent import FakeTencent
from cloudsettle.ops.config import OpsConfig
from cloudsettle.ops.schedule import Deadline, Schedule
from cloudsettle.ops.worker import Worker

NY = ZoneInfo("America/New_York")
ENV = {"TENCENTCLOUD_SECRET_ID": "AKIDdemo", "TENCENTCLOUD_SECRET_KEY": "secret-for-tests"}


class Clock:
    """A clock the test moves."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now


def _config(endpoint: str) -> OpsConfig:
    zone = "America/New_York"
    return OpsConfig(
        zone=zone,
        schedules=(
            Schedule(
                "tencent-daily",
                "pull",
                zone,
                at=(time(6, 0),),
                params={"provider": "tencent", "month": "2026-10", "endpoint": endpoint},
            ),
            Schedule("draft", "settle", zone, at=(time(7, 0),), params={"period": "previous"}),
            Schedule("deadlines", "deadlines", zone, at=(time(9, 0),)),
            Schedule("night", "settle", zone, at=(time(1, 30),), params={"period": "2026-10"}),
        ),
        deadlines=(Deadline("draft", 3, time(18, 0)), Deadline("approved", 7, time(18, 0))),
        deadline_warning=timedelta(days=1),
    )


def _runs(sessions: sessionmaker[Session]) -> list[ScheduleRunRow]:
    with sessions() as s:
        return list(
            s.scalars(select(ScheduleRunRow).order_by(ScheduleRunRow.due_at, ScheduleRunRow.schedule))
        )


def _local(t: datetime) -> str:
    return t.astimezone(NY).strftime("%m-%d %H:%M %Z")


def test_jobs_run_at_local_times_across_fall_back_and_deadlines_alert(
    tmp_path: Path, session_factory: sessionmaker[Session]
) -> None:
    clock = Clock(datetime(2026, 10, 31, 0, 0, tzinfo=NY))
    with FakeTencent(records=5) as fake:
        worker = Worker(
            sessions=session_factory,
            config=_config(fake.endpoint),
            root=tmp_path,
            env=ENV,
            clock=clock,
            name="w1",
        )
        end = datetime(2026, 11, 4, 12, 0, tzinfo=NY)
        while clock.now < end:
            outcomes = worker.tick()
            assert all(o.status == "succeeded" for o in outcomes), outcomes
            clock.now += timedelta(minutes=20)
        assert worker.tick() == []  # nothing twice
    runs = _runs(session_factory)
    by_schedule: dict[str, list[str]] = {}
    for r in runs:
        assert r.status == "succeeded", (r.schedule, r.error)
        assert r.missed == 0
        by_schedule.setdefault(r.schedule, []).append(_local(r.due_at))
    # The first tick (10-31 00:00) catches up each schedule's newest instant once (10-30).
    assert by_schedule["tencent-daily"] == [
        "10-30 06:00 EDT",
        "10-31 06:00 EDT",
        "11-01 06:00 EST",
        "11-02 06:00 EST",
        "11-03 06:00 EST",
        "11-04 06:00 EST",
    ]
    pulls = [r.due_at for r in runs if r.schedule == "tencent-daily"]
    assert [t.hour for t in pulls] == [10, 10, 11, 11, 11, 11]  # UTC moved, local time did not
    assert by_schedule["draft"] == [
        "10-30 07:00 EDT",
        "10-31 07:00 EDT",
        "11-01 07:00 EST",
        "11-02 07:00 EST",
        "11-03 07:00 EST",
        "11-04 07:00 EST",
    ]
    # 01:30 happens twice on 1 November: run once, at the first (EDT) one.
    assert by_schedule["night"] == [
        "10-30 01:30 EDT",
        "10-31 01:30 EDT",
        "11-01 01:30 EDT",
        "11-02 01:30 EST",
        "11-03 01:30 EST",
        "11-04 01:30 EST",
    ]
    # The pull brought lines; each job ran in the tick right after its due time (20-minute ticks).
    results = [json.loads(r.result or "{}") for r in runs if r.schedule == "tencent-daily"]
    assert results[0]["new"] > 0
    assert all((x["new"], x["unchanged"]) == (0, results[0]["new"]) for x in results[1:])
    late = [r for r in runs if r.claimed_at > datetime(2026, 10, 31, 0, 0, tzinfo=NY)]
    assert len(late) == len(runs) - 4
    assert all(timedelta(0) <= r.claimed_at - r.due_at < timedelta(minutes=20) for r in late)
    with session_factory() as s:
        drafts = list(s.scalars(select(RunRow.period).order_by(RunRow.id)))
        alerts = list(s.scalars(select(AlertRow).order_by(AlertRow.id)))
    assert drafts.count("2026-09") == 2
    assert drafts.count("2026-10") == 10
    # Draft of October is due 3 Nov 18:00; nothing was drafted (no partners): at risk from the
    # 09:00 check on the 3rd (within a day of it), overdue at the 09:00 check on the 4th.
    # September (the open period until November) is overdue already at the first check.
    assert [(a.dedupe_key, _local(a.raised_at)) for a in alerts] == [
        ("deadline:2026-09:draft:overdue", "10-31 00:00 EDT"),
        ("deadline:2026-09:approved:overdue", "10-31 00:00 EDT"),
        ("deadline:2026-10:draft:at_risk", "11-03 09:00 EST"),
        ("deadline:2026-10:draft:overdue", "11-04 09:00 EST"),
    ]


def test_a_missed_run_is_caught_up_once(tmp_path: Path, session_factory: sessionmaker[Session]) -> None:
    calls: list[tuple[str, str]] = []

    def record(ctx, schedule, due_local):  # type: ignore[no-untyped-def]
        calls.append((schedule.name, due_local.strftime("%m-%d %H:%M")))
        return {"ok": True}

    zone = "Europe/Berlin"
    config = OpsConfig(zone=zone, schedules=(Schedule("pull", "pull", zone, at=(time(6, 0),)),))
    clock = Clock(datetime(2026, 3, 27, 6, 5, tzinfo=ZoneInfo(zone)))
    worker = Worker(
        sessions=session_factory, config=config, root=tmp_path, env={}, clock=clock, handlers={"pull": record}
    )
    worker.tick()
    clock.now = datetime(2026, 3, 30, 10, 0, tzinfo=ZoneInfo(zone))  # down from the 27th to the 30th
    outcomes = worker.tick()
    worker.tick()
    clock.now += timedelta(hours=1)
    worker.tick()
    assert calls == [("pull", "03-27 06:00"), ("pull", "03-30 06:00")]
    assert [(o.status, o.missed) for o in outcomes] == [("succeeded", 2)]
    assert [r.missed for r in _runs(session_factory)] == [0, 2]


def test_a_failed_job_is_recorded_and_alerted_once(
    tmp_path: Path, session_factory: sessionmaker[Session]
) -> None:
    def boom(ctx, schedule, due_local):  # type: ignore[no-untyped-def]
        raise RuntimeError("provider unreachable")

    config = OpsConfig(schedules=(Schedule("p", "pull", "UTC", every_minutes=60),))
    clock = Clock(datetime(2026, 10, 5, 6, 30, tzinfo=UTC))
    worker = Worker(
        sessions=session_factory, config=config, root=tmp_path, env={}, clock=clock, handlers={"pull": boom}
    )
    assert [o.status for o in worker.run(once=True)] == ["failed"]
    assert worker.tick() == []
    [row] = _runs(session_factory)
    assert (row.status, row.error) == ("failed", "RuntimeError: provider unreachable")
    with session_factory() as s:
        [alert] = list(s.scalars(select(AlertRow)))
    assert (alert.rule, alert.severity) == ("ingestion_failure", "critical")
    assert alert.dedupe_key == "job_failed:p:2026-10-05T06:00:00+00:00"


def test_run_until_stops_at_the_given_instant(tmp_path: Path, session_factory: sessionmaker[Session]) -> None:
    calls: list[str] = []
    config = OpsConfig(schedules=(Schedule("s", "settle", "UTC", every_minutes=15),))
    clock = Clock(datetime(2026, 10, 5, 0, 1, tzinfo=UTC))

    def sleep(seconds: float) -> None:
        clock.now += timedelta(seconds=int(seconds))

    worker = Worker(
        sessions=session_factory,
        config=config,
        root=tmp_path,
        env={},
        clock=clock,
        handlers={"settle": lambda c, s, d: calls.append(d.strftime("%H:%M")) or {}},
        sleep=sleep,
    )
    worker.run(until=datetime(2026, 10, 5, 1, 0, tzinfo=UTC), poll_seconds=60)
    assert calls == ["00:00", "00:15", "00:30", "00:45", "01:00"]
