"""The workspace: the embedded database and the line and raw stores in one folder.

``cloudsettle init`` creates it (idempotent) and every command opens it, which
also runs the database migrations up to the current schema.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from cloudsettle.db.migrate import upgrade
from cloudsettle.db.session import database_url, make_engine, session_factory, unit_of_work
from cloudsettle.ingest.raw_store import RawStore
from cloudsettle.store.lines import LineStore

DEFAULT_WORKSPACE = "cloudsettle-data"
#: Turns the Parquet line store on: ``local`` (``<workspace>/lines``), a folder, or ``s3://bucket/prefix``.
LINE_STORE_ENV = "CLOUDSETTLE_LINE_STORE"


@dataclass(frozen=True)
class Workspace:
    """An opened workspace.

    Attributes:
      root: the folder.
      url: the control store's database URL.
      engine: the SQLAlchemy engine.
      sessions: the session factory (append-only guards installed).
      line_store_url: where ingest also writes lines as Parquet (None: off; issue 6).
    """

    root: Path
    url: str
    engine: Engine
    sessions: sessionmaker[Session]
    line_store_url: str | None = None

    @property
    def line_store(self) -> LineStore | None:
        """The Parquet line store, when ``CLOUDSETTLE_LINE_STORE`` turned it on."""
        return LineStore(self.line_store_url) if self.line_store_url else None

    @property
    def raw_store(self) -> RawStore:
        """Raw input, content-addressed and read-only."""
        return RawStore(self.root / "raw")

    @property
    def out_dir(self) -> Path:
        """Where commands write the files they produce."""
        path = self.root / "out"
        path.mkdir(parents=True, exist_ok=True)
        return path

    @contextmanager
    def unit_of_work(self) -> Iterator[Session]:
        """One transaction: commits once on success, rolls back on error."""
        with unit_of_work(self.sessions) as session:
            yield session

    def close(self) -> None:
        """Release the database connections."""
        self.engine.dispose()


def workspace_root(option: str | None, env: Mapping[str, str] | None = None) -> Path:
    """``--workspace``, else ``CLOUDSETTLE_WORKSPACE``, else ``./cloudsettle-data``."""
    environ = os.environ if env is None else env
    return Path(option or environ.get("CLOUDSETTLE_WORKSPACE") or DEFAULT_WORKSPACE)


def open_workspace(root: Path, env: Mapping[str, str] | None = None) -> Workspace:
    """Create the folder if needed, migrate the database to head and open it."""
    environ = os.environ if env is None else env
    root.mkdir(parents=True, exist_ok=True)
    (root / "raw").mkdir(exist_ok=True)
    url = database_url(root, environ)
    upgrade(url)
    engine = make_engine(url)
    return Workspace(
        root=root,
        url=url,
        engine=engine,
        sessions=session_factory(engine),
        line_store_url=line_store_url(root, environ),
    )


def line_store_url(root: Path, env: Mapping[str, str]) -> str | None:
    """``CLOUDSETTLE_LINE_STORE``: unset or empty is off, ``local`` is ``<workspace>/lines``,
    anything else a folder or an ``s3://`` URL."""
    chosen = env.get(LINE_STORE_ENV, "").strip()
    if not chosen:
        return None
    return str(root / "lines") if chosen == "local" else chosen
