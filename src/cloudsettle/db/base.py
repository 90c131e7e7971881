"""The declarative base: one metadata, a constraint naming convention, exact type mapping.

Named constraints make Alembic migrations stable (the same name on SQLite and
PostgreSQL, and a name a later migration can drop). The type map makes every
``Mapped[Decimal]`` a :class:`~cloudsettle.db.types.Money` column and every
``Mapped[datetime]`` a :class:`~cloudsettle.db.types.UtcDateTime`, so no model
can get a float-backed ``NUMERIC`` or a naive timestamp by accident.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any, ClassVar

from sqlalchemy import MetaData, Text
from sqlalchemy.orm import DeclarativeBase

from cloudsettle.db.types import Money, UtcDateTime

NAMING_CONVENTION: dict[str, str] = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Base of every control-store table."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        Decimal: Money(),
        datetime: UtcDateTime(),
        str: Text(),
    }
