"""Test-wide guards: a float that reaches Decimal arithmetic fails the test."""

from __future__ import annotations

import decimal
from collections.abc import Iterator

import pytest

pytest_plugins = ["tests.db_fixtures"]


@pytest.fixture(autouse=True)
def _trap_float_operation() -> Iterator[None]:
    """Trap ``decimal.FloatOperation`` in every test (house rule: no floats near money)."""
    context = decimal.getcontext()
    before = context.traps[decimal.FloatOperation]
    context.traps[decimal.FloatOperation] = True
    try:
        yield
    finally:
        context.traps[decimal.FloatOperation] = before
