"""Cheap argon2 parameters for the user tests (production keeps the library's defaults)."""

from __future__ import annotations

import pytest
from argon2 import PasswordHasher

from cloudsettle.services import users


@pytest.fixture(autouse=True)
def _fast_argon2(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(users, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
