"""Two workers against one PostgreSQL database for a bounded time run each due job exactly once."""

from __future__ import annotations

import threading
import time as wall
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.engine import make_url

from cloudsettle.db import session as db_session
from cloudsettle.db.models_ops import ScheduleRunRow
from cloudsettle.ops.config import OpsConfig
from cloudsettle.ops.schedule import Schedule, due_instants, latest_due
from cloudsettle.ops.worker import Worker


def test_two_workers_run_each_due_job_exactly_once(database_url: str, tmp_path: Path) -> None:
    if make_url(database_url).get_backend_name() != "postgresql":
        pytest.skip("needs PostgreSQL (set CLOUDSETTLE_TEST_DATABASE_URL)")
    schedules = (
        Schedule("every-5", "pull", "Europe/Berlin", every_minutes=5),
        Schedule("every-15", "settle", "America/New_York", every_minutes=15),
        Schedule("hourly", "alerts", "Asia/Shanghai", every_minutes=60),
    )
    start = datetime(2026, 3, 29, 0, 2, tzinfo=UTC)  # Berlin's spring-forward night
    steps = [start + timedelta(minutes=m) for m in range(0, 181, 1)]
    executed: list[tuple[str, datetime]] = []
    lock = threading.Lock()

    def handler(ctx, schedule, due_local):  # type: ignore[no-untyped-def]
        with lock:
            executed.append((schedule.name, due_local.astimezone(UTC)))
        wall.sleep(0.002)  # widen the window in which the other worker could race
        return {}

    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def work(name: str) -> None:
        engine = db_session.make_engine(database_url)
        try:
            index = {"i": 0}
            worker = Worker(
                sessions=db_session.session_factory(engine),
                config=OpsConfig(schedules=schedules),
                root=tmp_path,
                env={},
                clock=lambda: steps[index["i"]],
                name=name,
                handlers={"pull": handler, "settle": handler, "alerts": handler},
            )
            for i in range(len(steps)):
                index["i"] = i
                barrier.wait(timeout=30)  # both workers tick the same instant together
                worker.tick()
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
            barrier.abort()
        finally:
            engine.dispose()

    threads = [threading.Thread(target=work, args=(f"w{i}",)) for i in (1, 2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors
    expected = {(s.name, latest_due(s, start)) for s in schedules}  # each catches up once
    expected |= {(s.name, t) for s in schedules for t in due_instants(s, start, steps[-1])}
    counts = Counter(executed)
    assert all(n == 1 for n in counts.values()), [k for k, n in counts.items() if n > 1]
    assert set(counts) == set(expected)
    engine = db_session.make_engine(database_url)
    try:
        with db_session.session_factory(engine)() as s:
            rows = list(s.scalars(select(ScheduleRunRow)))
    finally:
        engine.dispose()
    assert len(rows) == len(executed)
    assert len(rows) == len(expected) > 40
    assert {r.worker for r in rows} == {"w1", "w2"}  # both did some of the work
    assert all(r.status == "succeeded" for r in rows)
