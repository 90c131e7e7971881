"""A small driver for the service layer: one unit of work per call, like the CLI."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from cloudsettle.db.models import StatementRow
from cloudsettle.ingest.raw_store import RawStore
from cloudsettle.services.config_service import load_config_file
from cloudsettle.services.ingest_service import ingest_file
from cloudsettle.services.settlement_service import approve, finalize, settle

CASES = Path(__file__).parents[1] / "golden" / "cases"
WORKED = CASES / "01-worked-example"


class Driver:
    """Runs service calls in their own transactions on one database."""

    def __init__(self, sessions: sessionmaker[Session], raw: RawStore) -> None:
        self.sessions, self.raw = sessions, raw

    def do(self, fn: Any, **kw: Any) -> Any:
        with self.sessions() as session, session.begin():
            return fn(session, **kw)

    def load(self, config: Path) -> None:
        self.do(load_config_file, path=config, actor="admin")

    def ingest(self, path: Path) -> None:
        self.do(ingest_file, raw_store=self.raw, path=path, provider="focus", actor="loader")

    def close(self, period: str, partner: str | None = None) -> None:
        self.do(settle, period=period, partner_id=partner, actor="alice")
        self.do(approve, period=period, partner_id=partner, actor="bob")
        self.do(finalize, period=period, partner_id=partner, actor="bob")

    def statements(self, period: str | None = None) -> list[StatementRow]:
        with self.sessions() as session:
            query = select(StatementRow).order_by(StatementRow.id)
            if period:
                query = query.where(StatementRow.period == period)
            return list(session.scalars(query))


def worked_example(sessions: sessionmaker[Session], tmp: Path, *, close_october: bool = True) -> Driver:
    """The spec's worked example: September closed, October settled (and closed)."""
    d = Driver(sessions, RawStore(tmp / "raw"))
    d.load(WORKED / "config.yaml")
    d.ingest(WORKED / "lines-2026-09.csv")
    d.close("2026-09")
    d.ingest(WORKED / "lines-2026-10.csv")
    if close_october:
        d.close("2026-10")
    return d
