"""Fixtures of the case tests: the small world of ``world.py``, loaded."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from cloudsettle.ingest.raw_store import RawStore
from cloudsettle.services.users import add_user
from tests.cases.world import OCTOBER, World


@pytest.fixture
def world(session_factory: sessionmaker[Session], tmp_path: Path) -> World:
    w = World(session_factory, RawStore(tmp_path / "raw"), tmp_path)
    w.load()
    w.ingest("october.csv", OCTOBER)
    w.do(add_user, name="olga", roles=["operator"], password=None, actor="admin")
    return w
