"""Engines, sessions and the one unit of work per command or request.

Services take a session and never commit; the CLI command, API request or job
opens :func:`unit_of_work`, which commits once on success and rolls back on
any error, so a use case spanning several domains is atomic.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from cloudsettle.db.guards import install_guards

#: The environment variable naming the production database.
DATABASE_URL_ENV = "CLOUDSETTLE_DATABASE_URL"
#: The SQLite file's name inside the workspace.
SQLITE_FILE_NAME = "cloudsettle.db"


def database_url(workspace: Path, env: Mapping[str, str]) -> str:
    """``CLOUDSETTLE_DATABASE_URL`` if set, else the workspace's SQLite file."""
    configured = env.get(DATABASE_URL_ENV, "").strip()
    if configured:
        return configured
    return f"sqlite:///{(workspace / SQLITE_FILE_NAME).resolve()}"


#: SQLite's page cache per connection, KiB. Its default, 2 MiB, is a few thousand pages: a settle
#: of a million lines inserts and deletes that many statement lines in the index on (provider,
#: line id) in no particular order, each a page read back through the OS (issue 6).
SQLITE_CACHE_KIB = 131_072


def _sqlite_pragmas(dbapi_connection: Any, connection_record: Any) -> None:
    """Per-connection SQLite settings: enforce foreign keys, WAL for concurrent readers."""
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=5000")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}")
    finally:
        cursor.close()


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine for ``url``; on SQLite with foreign keys enforced and WAL journaling."""
    engine = create_engine(url, **kwargs)
    if make_url(url).get_backend_name() == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions bound to ``engine`` with the append-only guards installed.

    ``expire_on_commit=False`` keeps loaded rows readable after the unit of
    work commits (the CLI prints them after committing).
    """
    factory = sessionmaker(bind=engine, expire_on_commit=False)
    install_guards(factory)
    return factory


@contextmanager
def unit_of_work(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One session and transaction: commit once on success, roll back on any error."""
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
