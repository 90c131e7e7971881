"""The deal tests share the case tests' small world."""

from __future__ import annotations

from tests.cases.conftest import world

__all__ = ["world"]
