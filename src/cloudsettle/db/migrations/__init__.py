"""Alembic migrations of the control store (``env.py`` and ``versions/``)."""

from __future__ import annotations
