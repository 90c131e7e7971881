"""Alembic environment: the models' metadata, batch mode for SQLite.

:func:`cloudsettle.db.migrate.upgrade` passes an open connection in
``config.attributes["connection"]``; the ``alembic`` command line (with an
``sqlalchemy.url``) works too, online or offline (``--sql``).
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from cloudsettle.db import models  # noqa: F401 - registers every table on the metadata
from cloudsettle.db.base import Base
from cloudsettle.db.session import make_engine

target_metadata = Base.metadata


def _configure_and_run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_offline() -> None:
    """Emit the SQL instead of running it."""
    url = context.config.get_main_option("sqlalchemy.url")
    context.configure(
        url=url,
        target_metadata=target_metadata,
        literal_binds=True,
        render_as_batch=url is not None and url.startswith("sqlite"),
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    """Run against the given connection, or a new engine for ``sqlalchemy.url``."""
    connection = context.config.attributes.get("connection")
    if isinstance(connection, Connection):
        _configure_and_run(connection)
        return
    url = context.config.get_main_option("sqlalchemy.url")
    if url is None:
        raise RuntimeError("no database: set sqlalchemy.url or pass a connection")
    engine = make_engine(url)
    try:
        with engine.begin() as new_connection:
            _configure_and_run(new_connection)
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
