"""Pytest plugin: a fresh, migrated, empty control store per test, on SQLite and PostgreSQL.

``database_url`` runs each test on SQLite, and on PostgreSQL too when
``CLOUDSETTLE_TEST_DATABASE_URL`` names a reachable server database. Both
migrate once per session into a template (a SQLite file that is copied; a
PostgreSQL ``TEMPLATE`` database that is cloned), so a test's database costs
a file copy or a ``CREATE DATABASE``, not a migration.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.orm import Session, sessionmaker

from cloudsettle.db import session as db_session
from cloudsettle.db.migrate import upgrade

TEST_DATABASE_URL_ENV = "CLOUDSETTLE_TEST_DATABASE_URL"


def _backends() -> list[object]:
    params: list[object] = [pytest.param("sqlite", id="sqlite")]
    if os.environ.get(TEST_DATABASE_URL_ENV):
        params.append(pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgres))
    return params


def _admin_engine(server_url: URL) -> Engine:
    """An autocommit engine on the configured database, for CREATE/DROP DATABASE."""
    return create_engine(server_url, isolation_level="AUTOCOMMIT")


@pytest.fixture(scope="session")
def _sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file, copied for each test."""
    path = tmp_path_factory.mktemp("db-template") / "template.db"
    upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def _postgres_template() -> Iterator[tuple[URL, str]]:
    """A migrated PostgreSQL template database, cloned for each test, dropped at the end."""
    configured = os.environ.get(TEST_DATABASE_URL_ENV)
    if not configured:
        pytest.skip(f"{TEST_DATABASE_URL_ENV} is not set")
    server_url = make_url(configured)
    name = f"cloudsettle_tmpl_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    admin = _admin_engine(server_url)
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        upgrade(server_url.set(database=name).render_as_string(hide_password=False))
        yield server_url, name
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


@pytest.fixture(params=_backends())
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The URL of a fresh, migrated, empty control store for this test."""
    if request.param == "sqlite":
        template: Path = request.getfixturevalue("_sqlite_template")
        path = tmp_path / "cloudsettle.db"
        shutil.copyfile(template, path)
        yield f"sqlite:///{path}"
        return
    server_url, template_name = request.getfixturevalue("_postgres_template")
    name = f"cloudsettle_test_{uuid.uuid4().hex[:16]}"
    admin = _admin_engine(server_url)
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template_name}"'))
        yield server_url.set(database=name).render_as_string(hide_password=False)
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


@pytest.fixture
def db_engine(database_url: str) -> Iterator[Engine]:
    """An engine on this test's database, disposed afterwards."""
    engine = db_session.make_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def session_factory(db_engine: Engine) -> sessionmaker[Session]:
    """Guarded sessions on this test's database."""
    return db_session.session_factory(db_engine)
