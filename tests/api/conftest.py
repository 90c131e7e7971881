"""Fixtures for the API tests: an app on a fresh control store, one user and token per role.

``world`` loads golden case 38 (partners P-A and P-B, one October statement
each, settled by the operator), and gives every role a bearer token; the
partner user belongs to P-A, and ``partner_b`` is P-B's user.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from cloudsettle.api.app import create_app
from cloudsettle.config import Settings
from cloudsettle.db.session import make_engine, session_factory
from cloudsettle.services import users
from cloudsettle.services.config_service import load_config_file
from cloudsettle.services.ingest_service import ingest_file
from cloudsettle.services.settlement_service import settle
from cloudsettle.services.workspace import Workspace

CASE = Path(__file__).parents[1] / "golden" / "cases" / "38-proration-deal-change"
ROLES = ("admin", "finance", "operator", "sales_ops", "auditor", "partner")
PASSWORD = "correct horse battery staple"


@dataclass
class World:
    """The app, its workspace, and a token per role."""

    client: TestClient
    ws: Workspace
    app: FastAPI
    tokens: dict[str, str] = field(default_factory=dict)

    def auth(self, role: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[role]}"}

    def session(self) -> Session:
        return self.ws.sessions()


def make_workspace(root: Path, url: str) -> Workspace:
    engine = make_engine(url)
    return Workspace(root=root, url=url, engine=engine, sessions=session_factory(engine))


@pytest.fixture(autouse=True)
def _fast_argon2(monkeypatch: pytest.MonkeyPatch) -> None:
    """Cheap argon2 parameters in tests (production keeps the library's defaults)."""
    from argon2 import PasswordHasher

    monkeypatch.setattr(users, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))


@pytest.fixture
def ws(database_url: str, tmp_path: Path) -> Iterator[Workspace]:
    workspace = make_workspace(tmp_path / "ws", database_url)
    (workspace.root / "raw").mkdir(parents=True)
    yield workspace
    workspace.close()


@pytest.fixture
def world(ws: Workspace) -> Iterator[World]:
    with ws.unit_of_work() as s:
        load_config_file(s, path=CASE / "config.yaml", actor="setup")
    with ws.unit_of_work() as s:
        ingest_file(
            s, raw_store=ws.raw_store, path=CASE / "lines-2026-10.csv", provider="focus", actor="setup"
        )
    with ws.unit_of_work() as s:
        settle(s, period="2026-10", partner_id=None, actor="operator")
    app = create_app(Settings(workspace=ws.root), workspace=ws)
    w = World(TestClient(app, raise_server_exceptions=False), ws, app)
    with ws.unit_of_work() as s:
        for role in ROLES:
            partner = "P-A" if role == "partner" else None
            users.add_user(s, name=role, roles=[role], password=PASSWORD, partner_id=partner, actor="setup")
            w.tokens[role] = users.issue_token(s, name=role, actor="setup").secret
        users.add_user(
            s, name="partner_b", roles=["partner"], password=PASSWORD, partner_id="P-B", actor="setup"
        )
        w.tokens["partner_b"] = users.issue_token(s, name="partner_b", actor="setup").secret
    with w.client:
        yield w
