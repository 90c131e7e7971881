"""One database primitive the operations need: insert a row unless its unique key exists.

``INSERT ... ON CONFLICT DO NOTHING`` on both PostgreSQL and SQLite: of several
workers inserting the same key at once exactly one gets the row, the others
get nothing back and no error (so their transaction stays usable).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from cloudsettle.db.base import Base


def insert_unless_exists(session: Session, model: type[Base], values: dict[str, Any]) -> int | None:
    """Insert ``values`` into ``model``'s table; the new id, or None when the unique key existed."""
    table = model.__table__
    dialect = session.get_bind().dialect.name
    module: Any = postgresql if dialect == "postgresql" else sqlite
    statement = module.insert(table).values(**values).on_conflict_do_nothing().returning(table.c.id)
    new_id = session.execute(statement).scalar_one_or_none()
    return None if new_id is None else int(new_id)
