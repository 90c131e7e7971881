"""pull_month: retries, waiting out "not ready", auth failures, rate limits and resuming."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cloudsettle.ingest.api.client import ProviderClient, bill_lines
from cloudsettle.ingest.api.errors import AuthFailed, NotReady, RetriesExhausted, Throttled, Transient
from cloudsettle.ingest.api.fake_common import FakeServer
from cloudsettle.ingest.api.fake_huawei import DETAIL_PATH, FakeHuawei
from cloudsettle.ingest.api.fake_tencent import FakeTencent
from cloudsettle.ingest.api.huawei import HuaweiClient
from cloudsettle.ingest.api.pull import (
    CheckpointStore,
    GuardedCalls,
    PullResult,
    RateLimiter,
    RetrySettings,
    pull_month,
)
from cloudsettle.ingest.api.tencent import TencentClient
from tests.ingest.api.conftest import SECRET, FakeTime, credentials

DETAIL = {"tencent": "DescribeBillDetail", "huawei": DETAIL_PATH}
ACTION = {"tencent": "DescribeBillDetail", "huawei": "list_sub_customer_bill_detail"}


def _client(provider: str, fake: FakeServer) -> ProviderClient:
    if provider == "tencent":
        return TencentClient(credentials("tencent"), endpoint=fake.endpoint, page_size=10)
    return HuaweiClient(credentials("huawei"), endpoint=fake.endpoint, page_size=10)


def _fake(provider: str) -> FakeServer:
    return FakeTencent(records=25) if provider == "tencent" else FakeHuawei(records=25)


def _pull(client: ProviderClient, root: Path, time: FakeTime, **kwargs: object) -> PullResult:
    return pull_month(
        client,
        month="2026-10",
        checkpoint=CheckpointStore(root),
        sleep=time.sleep,
        clock=time.clock,
        **kwargs,  # type: ignore[arg-type]
    )


@pytest.mark.parametrize("provider", ["tencent", "huawei"])
def test_a_full_pull_reconciles(provider: str, tmp_path: Path, fake_time: FakeTime) -> None:
    with _fake(provider) as fake:
        result = _pull(_client(provider, fake), tmp_path, fake_time)
    assert len(result.pages) == 3
    assert len(result.lines) == len({line.line_id for line in result.lines})
    assert result.mismatches() == []
    assert result.customers
    assert result.adjustments
    assert (len(result.rebates) == 1) is (provider == "tencent")
    assert len(result.raw_bodies()) == len(result.pages) + len(result.totals.bodies)
    assert result.resumed_pages == 0


@pytest.mark.parametrize("provider", ["tencent", "huawei"])
def test_throttling_and_server_errors_are_retried_with_exponential_backoff(
    provider: str, tmp_path: Path, fake_time: FakeTime
) -> None:
    with _fake(provider) as fake:
        fake.faults.throttle_calls = {2}
        fake.faults.server_error_calls = {3, 4}
        result = _pull(_client(provider, fake), tmp_path, fake_time)
        detail_requests = fake.count(DETAIL[provider])
    assert detail_requests == 3 + 3  # three pages, the second one tried four times
    assert result.calls[ACTION[provider]] == 6
    assert fake_time.backoffs() == [1.0, 2.0, 4.0]
    assert len(result.lines) > 0
    assert result.mismatches() == []


def test_backoff_is_capped_and_bounded(tmp_path: Path, fake_time: FakeTime) -> None:
    with FakeTencent(records=5) as fake:
        fake.faults.server_error_calls = set(range(1, 100))
        with pytest.raises(RetriesExhausted) as caught:
            _pull(
                _client("tencent", fake),
                tmp_path,
                fake_time,
                retry=RetrySettings(max_attempts=5, base_delay=2.0, max_delay=10.0),
            )
        assert fake.count("DescribeBillDetail") == 5
    assert fake_time.backoffs() == [2.0, 4.0, 8.0, 10.0]
    assert isinstance(caught.value.last, Transient)
    assert "gave up after 5 attempts" in str(caught.value)


def test_not_ready_is_waited_out(tmp_path: Path, fake_time: FakeTime) -> None:
    with FakeTencent(records=25) as fake:
        fake.faults.not_ready_first = 2
        result = _pull(_client("tencent", fake), tmp_path, fake_time)
        assert fake.count("DescribeBillDetail") == 5
    assert fake_time.backoffs() == [600.0, 600.0]
    assert result.mismatches() == []


def test_a_summary_that_is_not_ready_is_waited_out(fake_time: FakeTime) -> None:
    with FakeTencent(records=5) as fake:
        fake.faults.not_ready_first = 1
        policy = GuardedCalls(
            RateLimiter(clock=fake_time.clock, sleep=fake_time.sleep), RetrySettings(), fake_time.sleep
        )
        totals = _client("tencent", fake).summary("2026-10", policy=policy)
        assert fake.count("DescribeBillSummaryByProduct") == 2  # Ready=0 first, then the totals
    assert totals.items
    assert fake_time.backoffs() == [600.0]


def test_not_ready_is_bounded(tmp_path: Path, fake_time: FakeTime) -> None:
    with FakeTencent(records=5) as fake:
        fake.faults.not_ready_first = 1000
        with pytest.raises(RetriesExhausted) as caught:
            _pull(_client("tencent", fake), tmp_path, fake_time, retry=RetrySettings(not_ready_attempts=3))
        assert fake.count("DescribeBillDetail") == 3
    assert isinstance(caught.value.last, NotReady)


@pytest.mark.parametrize("provider", ["tencent", "huawei"])
def test_auth_errors_fail_at_once_without_the_secret(
    provider: str, tmp_path: Path, fake_time: FakeTime, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    with _fake(provider) as fake:
        fake.faults.auth_error = True
        client = _client(provider, fake)
        with pytest.raises(AuthFailed) as caught:
            _pull(client, tmp_path, fake_time)
        assert len(fake.requests) == 1
    message = str(caught.value)
    assert "authentication or permission refused" in message
    assert SECRET not in message
    assert SECRET not in repr(caught.value)
    assert SECRET not in caplog.text
    assert SECRET not in repr(client)
    assert fake_time.backoffs() == []


def test_huawei_throttling_is_recognized(fake_time: FakeTime) -> None:
    with FakeHuawei(records=5) as fake:
        fake.faults.throttle_calls = {1, 2, 3}
        client = _client("huawei", fake)
        with pytest.raises(Throttled):
            client.fetch_page("2026-10", None)
        policy = GuardedCalls(
            RateLimiter(clock=fake_time.clock, sleep=fake_time.sleep), RetrySettings(), fake_time.sleep
        )
        page = client.fetch_page("2026-10", None, policy=policy)
    assert len(page.lines) == 5
    assert fake_time.backoffs() == [1.0, 2.0]


@pytest.mark.parametrize("provider", ["tencent", "huawei"])
def test_an_interrupted_pull_resumes_where_it_stopped(
    provider: str, tmp_path: Path, fake_time: FakeTime
) -> None:
    with _fake(provider) as whole:
        uninterrupted = _pull(_client(provider, whole), tmp_path / "whole", fake_time)

    store = tmp_path / "cut"
    with _fake(provider) as fake:
        fake.faults.drop_after_page = 1
        with pytest.raises(RetriesExhausted) as caught:
            _pull(_client(provider, fake), store, fake_time, retry=RetrySettings(max_attempts=2))
        assert isinstance(caught.value.last, Transient)
        checkpoint = CheckpointStore(store).load(provider, "2026-10")
        assert checkpoint is not None
        assert checkpoint.pages == 1
        assert not checkpoint.complete

        fake.faults.drop_after_page = None
        before = fake.count(DETAIL[provider])
        resumed = _pull(_client(provider, fake), store, fake_time)
        assert fake.count(DETAIL[provider]) - before == 2  # only pages 2 and 3
    assert resumed.resumed_pages == 1
    assert resumed.lines == uninterrupted.lines
    assert [_records(p.payload()) for p in resumed.pages] == [
        _records(p.payload()) for p in uninterrupted.pages
    ]
    assert resumed.mismatches() == []


def test_a_finished_pull_is_not_fetched_again_until_cleared(tmp_path: Path, fake_time: FakeTime) -> None:
    with FakeTencent(records=25) as fake:
        first = _pull(_client("tencent", fake), tmp_path, fake_time)
        second = _pull(_client("tencent", fake), tmp_path, fake_time)
        assert fake.count("DescribeBillDetail") == 3
        CheckpointStore(tmp_path).clear("tencent", "2026-10")
        _pull(_client("tencent", fake), tmp_path, fake_time)
        assert fake.count("DescribeBillDetail") == 6
    assert second.lines == first.lines
    assert second.resumed_pages == 3


def test_bad_month_is_refused(tmp_path: Path) -> None:
    with FakeTencent(records=1) as fake, pytest.raises(ValueError, match="YYYY-MM"):
        pull_month(_client("tencent", fake), month="2026-13", checkpoint=CheckpointStore(tmp_path))


def _records(payload: dict[str, object]) -> object:
    """A page's records without the per-response RequestId."""
    response = payload.get("Response", payload)
    assert isinstance(response, dict)
    return response.get("DetailSet", response.get("fee_records"))


def _max_in_any_second(stamps: list[float]) -> int:
    return max(sum(1 for t in stamps if start <= t < start + 1.0 - 1e-9) for start in stamps)


@settings(max_examples=40, deadline=None)
@given(
    rate=st.integers(min_value=1, max_value=20),
    calls=st.integers(min_value=1, max_value=60),
    gaps=st.lists(st.sampled_from([0.0, 0.01, 0.05, 0.3, 1.5]), min_size=60, max_size=60),
)
def test_the_rate_limiter_never_exceeds_its_rate(rate: int, calls: int, gaps: list[float]) -> None:
    time = FakeTime()
    limiter = RateLimiter(float(rate), clock=time.clock, sleep=time.sleep)
    stamps: dict[str, list[float]] = {"a": [], "b": []}
    for n in range(calls):
        time.now += gaps[n]  # the caller's own work between calls
        action = "a" if n % 3 else "b"
        limiter.acquire(action)
        stamps[action].append(time.now)
    for action_stamps in stamps.values():
        if action_stamps:
            assert _max_in_any_second(action_stamps) <= rate


def test_the_rate_limiter_spaces_calls_per_action() -> None:
    time = FakeTime()
    limiter = RateLimiter(5.0, clock=time.clock, sleep=time.sleep)
    for _ in range(3):
        limiter.acquire("DescribeBillDetail")
    limiter.acquire("DescribeRebateInfos")  # another action has its own bucket: no wait
    assert time.sleeps == pytest.approx([0.2, 0.2])


def test_bill_lines_without_a_policy(tencent_fake: FakeTencent) -> None:
    assert len(list(bill_lines(_client("tencent", tencent_fake), "2026-10"))) == 3
