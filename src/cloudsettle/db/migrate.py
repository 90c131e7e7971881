"""Run the Alembic migrations programmatically; no ``alembic.ini`` needed at runtime.

The script location is this package's ``migrations`` folder, so an installed
wheel migrates the same way as a checkout.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from cloudsettle.db.session import make_engine

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def alembic_config(url: str) -> Config:
    """An Alembic config pointing at the packaged migrations and at ``url``."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    # ConfigParser interpolates '%': a password like 'p%40ss' must be escaped.
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


@cache
def packaged_heads() -> tuple[str, ...]:
    """The newest revision(s) of the packaged migrations (read once per process)."""
    return tuple(ScriptDirectory.from_config(alembic_config("sqlite://")).get_heads())


def upgrade(url: str, revision: str = "head") -> None:
    """Migrate the database at ``url`` to ``revision`` (default: the newest). Idempotent.

    A database already at the newest revision is only asked its revision: every CLI command
    opens the store through here, and Alembic's full upgrade costs several times more."""
    engine = make_engine(url)
    try:
        if revision == "head":
            with engine.connect() as connection:
                current = MigrationContext.configure(connection).get_current_revision()
            if (current,) == packaged_heads():
                return
        with engine.begin() as connection:
            config = alembic_config(url)
            config.attributes["connection"] = connection
            command.upgrade(config, revision)
    finally:
        engine.dispose()


def current_revision(url: str) -> str | None:
    """The revision the database at ``url`` is at, or None when it was never migrated."""
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    finally:
        engine.dispose()
