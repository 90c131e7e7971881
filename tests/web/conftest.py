"""Fixtures for the web UI tests: golden case 38 settled by ``operator``, one user per role.

Partners P-A and P-B each have one October 2026 statement; ``partner`` is a
P-A user, ``partner_b`` a P-B user; ``operator`` (who settled) is an admin, so only
the four-eyes rule stops it approving. Every user's password is :data:`PASSWORD`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from cloudsettle.api.app import create_app
from cloudsettle.config import Settings
from cloudsettle.db.models import StatementRow
from cloudsettle.db.session import make_engine, session_factory
from cloudsettle.services import users
from cloudsettle.services.config_service import load_config_file
from cloudsettle.services.ingest_service import ingest_file
from cloudsettle.services.settlement_service import settle
from cloudsettle.services.workspace import Workspace
from tests.web.accounts import PASSWORD
from tests.web.browser import browser, demo_template, page, server

__all__ = ["PASSWORD", "browser", "demo_template", "page", "server"]  # the browser fixtures, for every module

CASE = Path(__file__).parents[1] / "golden" / "cases" / "38-proration-deal-change"
USERS = {
    "admin": ("admin", None),
    "finance": ("finance", None),
    "operator": ("admin", None),  # settled the month, and may approve: the four-eyes case
    "partner": ("partner", "P-A"),
    "partner_b": ("partner", "P-B"),
}


@dataclass
class Site:
    """The app, its workspace, and the October statement id of each partner."""

    app: FastAPI
    ws: Workspace
    statement_ids: dict[str, int]

    def client(self, user: str | None = None) -> TestClient:
        """A browser-like client, logged in as ``user`` through the login form."""
        client = TestClient(self.app, raise_server_exceptions=True, follow_redirects=False)
        if user is not None:
            answer = client.post("/ui/login", data={"name": user, "password": PASSWORD, "next": "/ui/"})
            assert answer.status_code == 303, answer.text
        return client


@pytest.fixture(autouse=True)
def _fast_argon2(monkeypatch: pytest.MonkeyPatch) -> None:
    """Cheap argon2 parameters in tests (production keeps the library's defaults)."""
    from argon2 import PasswordHasher

    monkeypatch.setattr(users, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))


def prepare(root: Path, url: str) -> tuple[Workspace, dict[str, int]]:
    """A workspace with case 38 settled and the users created."""
    engine = make_engine(url)
    ws = Workspace(root=root, url=url, engine=engine, sessions=session_factory(engine))
    (root / "raw").mkdir(parents=True)
    with ws.unit_of_work() as s:
        load_config_file(s, path=CASE / "config.yaml", actor="setup")
    with ws.unit_of_work() as s:
        ingest_file(
            s, raw_store=ws.raw_store, path=CASE / "lines-2026-10.csv", provider="focus", actor="setup"
        )
    with ws.unit_of_work() as s:
        settle(s, period="2026-10", partner_id=None, actor="operator")
    with ws.unit_of_work() as s:
        for name, (role, partner) in USERS.items():
            users.add_user(s, name=name, roles=[role], password=PASSWORD, partner_id=partner, actor="setup")
        ids = {
            row.partner_id: row.id for row in s.query(StatementRow).filter(StatementRow.period == "2026-10")
        }
    return ws, ids


@pytest.fixture
def site(database_url: str, tmp_path: Path) -> Iterator[Site]:
    ws, ids = prepare(tmp_path / "ws", database_url)
    app = create_app(Settings(workspace=ws.root), workspace=ws)
    yield Site(app, ws, ids)
    ws.close()
