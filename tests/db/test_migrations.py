"""Migrations create exactly the models' schema, idempotently, on both backends."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, inspect

from cloudsettle.db import models  # noqa: F401 - registers the tables
from cloudsettle.db.base import Base
from cloudsettle.db.migrate import MIGRATIONS_DIR, alembic_config, current_revision, packaged_heads, upgrade

IGNORED_TABLES = {"alembic_version"}


def test_migrations_create_exactly_the_models_tables(db_engine: Engine) -> None:
    inspector = inspect(db_engine)
    tables = set(inspector.get_table_names()) - IGNORED_TABLES
    assert tables == set(Base.metadata.tables)
    for name, table in Base.metadata.tables.items():
        columns = {c["name"]: c for c in inspector.get_columns(name)}
        assert set(columns) == set(table.columns.keys()), name
        for column in table.columns:
            assert columns[column.name]["nullable"] == column.nullable, (name, column.name)
        primary_key = inspector.get_pk_constraint(name)["constrained_columns"]
        assert primary_key == [c.name for c in table.primary_key.columns], name


def test_alembic_finds_no_difference_between_migrations_and_models(db_engine: Engine) -> None:
    with db_engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": False})
        differences = compare_metadata(context, Base.metadata)
    assert differences == []


def test_upgrade_twice_is_harmless(database_url: str, db_engine: Engine) -> None:
    assert current_revision(database_url) == _head()
    upgrade(database_url)
    assert current_revision(database_url) == _head()
    assert set(inspect(db_engine).get_table_names()) - IGNORED_TABLES == set(Base.metadata.tables)


def test_upgrade_of_an_empty_file_creates_the_schema(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    assert current_revision(url) is None
    upgrade(url)
    assert current_revision(url) == _head()


def test_constraint_names_fit_postgresql_identifiers() -> None:
    # PostgreSQL truncates names over 63 bytes; SQLite does not: keep them equal.
    names = [c.name for t in Base.metadata.tables.values() for c in t.constraints]
    names += [i.name for t in Base.metadata.tables.values() for i in t.indexes]
    assert all(isinstance(n, str) and len(n) <= 63 for n in names), names


def test_migration_files_sit_inside_the_package() -> None:
    assert (MIGRATIONS_DIR / "env.py").is_file()
    assert (MIGRATIONS_DIR / "script.py.mako").is_file()
    assert (MIGRATIONS_DIR / "versions" / "0001_initial.py").is_file()


def _head() -> str | None:
    return ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()


def test_downgrade_to_base_removes_everything_and_upgrade_restores_it(
    database_url: str, db_engine: Engine
) -> None:
    config = alembic_config(database_url)
    command.downgrade(config, "base")
    assert set(inspect(db_engine).get_table_names()) - IGNORED_TABLES == set()
    assert current_revision(database_url) is None
    upgrade(database_url)
    assert set(inspect(db_engine).get_table_names()) - IGNORED_TABLES == set(Base.metadata.tables)


def test_packaged_heads_are_the_scripts_heads() -> None:
    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    assert packaged_heads() == tuple(script.get_heads())
    assert len(packaged_heads()) == 1


def test_upgrade_at_head_only_reads_the_revision_and_below_head_migrates(
    database_url: str, db_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[str] = []
    real_upgrade = command.upgrade

    def counted(config: object, revision: str) -> None:
        calls.append(revision)
        real_upgrade(config, revision)  # type: ignore[arg-type]

    monkeypatch.setattr(command, "upgrade", counted)
    upgrade(database_url)
    assert calls == []  # at head already: Alembic's upgrade is not run
    previous = ScriptDirectory.from_config(alembic_config(database_url)).get_revision(packaged_heads()[0])
    assert previous is not None
    assert isinstance(previous.down_revision, str)
    command.downgrade(alembic_config(database_url), previous.down_revision)
    assert current_revision(database_url) == previous.down_revision
    upgrade(database_url)
    assert calls == ["head"]
    assert current_revision(database_url) == packaged_heads()[0]
