"""Health, readiness and metrics as plain functions and mounted on a FastAPI app; JSON logs."""

from __future__ import annotations

import io
import json
import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, create_engine
from sqlalchemy.orm import Session, sessionmaker

from cloudsettle.db.models_ops import ScheduleRunRow
from cloudsettle.ops.health import healthz, mount, readyz
from cloudsettle.ops.logs import bind, configure
from cloudsettle.ops.metrics import metrics_text

T = datetime(2026, 11, 5, 6, 0, tzinfo=UTC)


def test_ready_on_a_migrated_database_and_not_on_an_empty_one(db_engine: Engine, tmp_path: Path) -> None:
    assert healthz() == (200, {"status": "ok"})
    status, body = readyz(db_engine, tmp_path / "raw")
    assert (status, body["checks"]) == (200, {"database": "ok", "migrations": "ok", "raw_store": "ok"})
    empty = create_engine(f"sqlite:///{tmp_path / 'empty.db'}")
    status, body = readyz(empty)
    assert status == 503
    assert body["checks"]["migrations"].startswith("at None")


def test_metrics_report_job_lag_and_duration(
    db_engine: Engine, session_factory: sessionmaker[Session]
) -> None:
    with session_factory.begin() as s:
        s.add(
            ScheduleRunRow(
                schedule="pull",
                kind="pull",
                due_at=T,
                missed=0,
                worker="w",
                status="succeeded",
                claimed_at=T + timedelta(seconds=90),
                finished_at=T + timedelta(seconds=92, microseconds=500000),
            )
        )
    with session_factory() as s:
        text = metrics_text(s, now=T)
    assert 'cloudsettle_job_lag_seconds{schedule="pull"} 90' in text
    assert 'cloudsettle_job_duration_seconds_sum{schedule="pull",status="succeeded"} 2.5' in text
    assert "# TYPE cloudsettle_ingested_lines_total counter" in text
    app = FastAPI()
    mount(app, lambda: db_engine)
    client = TestClient(app)
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/readyz").status_code == 200
    metrics = client.get("/metrics")
    assert metrics.headers["content-type"].startswith("text/plain")
    assert "cloudsettle_job_lag_seconds" in metrics.text


def test_json_logs_carry_the_job_id() -> None:
    stream = io.StringIO()
    handler = configure(logging.INFO, stream)
    try:
        with bind("job-42"):
            logging.getLogger("cloudsettle.test").info("pulled", extra={"lines": 7})
        logging.getLogger("cloudsettle.test").info("outside")
    finally:
        logging.getLogger().removeHandler(handler)
    first, second = (json.loads(line) for line in stream.getvalue().splitlines())
    assert (first["id"], first["message"], first["lines"], first["level"]) == ("job-42", "pulled", 7, "info")
    assert "id" not in second
