"""Fixtures for the provider API tests: the fake servers, a fake clock, credentials."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from cloudsettle.ingest.api.credentials import ProviderCredentials, Secret
from cloudsettle.ingest.api.fake_huawei import FakeHuawei
from cloudsettle.ingest.api.fake_tencent import FakeTencent

SECRET = "Sup3r-Secret-Key-do-not-print"


class FakeTime:
    """A clock that only moves when ``sleep`` is called; records every sleep."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    def backoffs(self) -> list[float]:
        """Sleeps of a second or more: retries, not the 5/s rate limiter's short waits."""
        return [s for s in self.sleeps if s >= 1]


@pytest.fixture
def fake_time() -> FakeTime:
    return FakeTime()


def credentials(provider: str) -> ProviderCredentials:
    return ProviderCredentials(provider, "AKIDfake0001", Secret(SECRET), "fake-domain-id")


@pytest.fixture
def tencent_fake() -> Iterator[FakeTencent]:
    with FakeTencent(records=25) as fake:
        yield fake


@pytest.fixture
def huawei_fake() -> Iterator[FakeHuawei]:
    with FakeHuawei(records=25) as fake:
        yield fake
