"""The ``engine_memory`` setting: DuckDB's memory limit for a bulk settle (issue 6: a settle's peak
is that limit plus the Python side). It is checked when set, 1GB when unset, and a settle's
DuckDB connection really runs under it: with a limit far below the month's needs it spills to
the run's folder and still stores the statements the reference engine stores."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from benchmarks import bill_generator as gen
from cloudsettle.compute import engine as bulk_engine
from cloudsettle.db.models import StatementRow
from cloudsettle.ingest.raw_store import RawStore
from cloudsettle.services.config_service import load_config_file
from cloudsettle.services.errors import BadInput
from cloudsettle.services.ingest_service import ingest_file
from cloudsettle.services.runs import BULK, ENGINE, ENGINE_MEMORY, REFERENCE, engine_memory, set_setting
from cloudsettle.services.settlement_service import settle


@pytest.mark.parametrize("value", ["1GB", "512MiB", "1.5 gb", "64MB"])
def test_amounts_of_memory_are_taken(value: str, session_factory: sessionmaker[Session]) -> None:
    with session_factory() as session, session.begin():
        assert engine_memory(session) == "1GB"
        set_setting(session, key=ENGINE_MEMORY, value=f" {value} ", actor="admin")
        assert engine_memory(session) == value


@pytest.mark.parametrize("value", ["", "lots", "1", "-1GB", "1GB; SET threads=64", "GB"])
def test_anything_else_is_refused(value: str, session_factory: sessionmaker[Session]) -> None:
    with session_factory() as session, session.begin(), pytest.raises(BadInput, match="engine_memory"):
        set_setting(session, key=ENGINE_MEMORY, value=value, actor="admin")


def test_a_settle_runs_duckdb_under_the_setting(
    session_factory: sessionmaker[Session], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    month = gen.write_month(tmp_path / "bills", 200, customers=40, partners=8)
    raw = RawStore(tmp_path / "raw")
    with session_factory() as session, session.begin():
        load_config_file(session, path=month.config, actor="admin")
    for fmt in gen.FILES:
        with session_factory() as session, session.begin():
            ingest_file(session, raw_store=raw, path=month.files[fmt], provider=None, actor="loader")

    def payables(engine: str) -> list[tuple[str, str, object]]:
        with session_factory() as session, session.begin():
            set_setting(session, key=ENGINE, value=engine, actor="admin")
            settle(session, period=gen.PERIOD, partner_id=None, actor="preparer")
        with session_factory() as session:
            return [(r.partner_id, r.agreement_id, r.payable)
                    for r in session.scalars(select(StatementRow).order_by(StatementRow.partner_id))]

    seen: list[str] = []
    real = bulk_engine.settle_period_summary

    def watched(*args: Any, **kwargs: Any) -> Any:
        seen.append(kwargs["settings"].memory_limit)
        return real(*args, **kwargs)

    monkeypatch.setattr(bulk_engine, "settle_period_summary", watched)
    want = payables(REFERENCE)
    with session_factory() as session, session.begin():
        set_setting(session, key=ENGINE_MEMORY, value="48MB", actor="admin")
    assert payables(BULK) == want
    assert seen == ["48MB"]
    assert len(want) >= 4
