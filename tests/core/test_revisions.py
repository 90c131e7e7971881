"""Line revisions: new, revised, unchanged, duplicate; content hashes."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from types import MappingProxyType

from hypothesis import given
from hypothesis import strategies as st

from cloudsettle.core.findings import FindingKind
from cloudsettle.core.lines import BillingLine
from cloudsettle.core.money import D
from cloudsettle.core.revisions import (
    LineKey,
    LineOutcome,
    canonical_decimal,
    classify,
    content_hash,
)


def _line(line_id: str = "l1", amount: str = "10.00", **changes: object) -> BillingLine:
    base = BillingLine(
        line_id=line_id,
        provider="tencent",
        account_id="100001",
        charge_start=datetime(2026, 10, 1, tzinfo=UTC),
        charge_end=datetime(2026, 10, 2, tzinfo=UTC),
        billing_period=date(2026, 10, 1),
        list_amount=D(amount),
        currency="CNY",
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def test_canonical_decimal() -> None:
    assert canonical_decimal(D("1.50")) == canonical_decimal(D("1.5")) == "15E-1"
    assert canonical_decimal(D("0.00")) == canonical_decimal(D("-0")) == "0"
    assert canonical_decimal(D("100")) == "1E2"
    assert canonical_decimal(D("-0.000001230")) == "-123E-8"
    long = "1234567890123456789012345678901234567890.123456789"
    assert canonical_decimal(D(long)) == "1234567890123456789012345678901234567890123456789E-9"


def test_content_hash_ignores_notation_but_not_values() -> None:
    base = content_hash(_line(amount="1.50"))
    assert content_hash(_line(amount="1.5")) == base
    shanghai = timezone(timedelta(hours=8))
    assert (
        content_hash(
            _line(
                amount="1.5",
                charge_start=datetime(2026, 10, 1, 8, tzinfo=shanghai),
                charge_end=datetime(2026, 10, 2, 8, tzinfo=shanghai),
            )
        )
        == base
    )
    assert content_hash(_line(amount="1.51")) != base
    assert content_hash(_line(amount="1.50", region="ap-guangzhou")) != base
    assert content_hash(_line(amount="1.50", extras=MappingProxyType({"x_A": "1"}))) != base
    assert content_hash(_line(amount="1.50", paid_at=None, original_line_id="")) != base
    assert len(base) == 64


def test_classify_outcomes() -> None:
    first = classify([_line("a"), _line("b")], {})
    assert [c.outcome for c in first.lines] == [LineOutcome.NEW, LineOutcome.NEW]
    current = dict(first.newest)
    second = classify([_line("a"), _line("b", "11.00"), _line("c")], current)
    assert [c.outcome for c in second.lines] == [
        LineOutcome.UNCHANGED,
        LineOutcome.REVISED,
        LineOutcome.NEW,
    ]
    assert second.counts == {
        LineOutcome.NEW: 1,
        LineOutcome.REVISED: 1,
        LineOutcome.UNCHANGED: 1,
        LineOutcome.DUPLICATE: 0,
    }
    assert [c.line.line_id for c in second.to_store()] == ["b", "c"]
    assert second.newest[("tencent", "b")] == content_hash(_line("b", "11.00"))


def test_revision_inside_a_batch_and_duplicates() -> None:
    batch = [_line("a", "1"), _line("a", "2"), _line("a", "1"), _line("a", "2")]
    result = classify(batch, {})
    assert [c.outcome for c in result.lines] == [
        LineOutcome.NEW,
        LineOutcome.REVISED,
        LineOutcome.DUPLICATE,
        LineOutcome.DUPLICATE,
    ]
    assert [f.kind for f in result.findings] == [FindingKind.DUPLICATE_LINE] * 2
    assert all(f.line_id == "a" for f in result.findings)
    assert result.newest == {("tencent", "a"): content_hash(_line("a", "2"))}
    again = classify(batch, result.newest)
    assert [c.outcome for c in again.lines] == [
        LineOutcome.UNCHANGED,
        LineOutcome.UNCHANGED,
        LineOutcome.DUPLICATE,
        LineOutcome.DUPLICATE,
    ]


def test_providers_are_separate_identities() -> None:
    result = classify([_line("a"), _line("a", provider="huawei")], {})
    assert [c.outcome for c in result.lines] == [LineOutcome.NEW, LineOutcome.NEW]


# --- properties ---------------------------------------------------------------------------

_amounts = st.decimals(min_value=-1000, max_value=1000, places=2, allow_nan=False)
_lines = st.builds(
    lambda line_id, amount, region: _line(line_id, str(amount), region=region),
    st.sampled_from(["a", "b", "c", "d"]),
    _amounts,
    st.sampled_from(["", "r1"]),
)
_batches = st.lists(_lines, max_size=12)


def _apply(current: dict[LineKey, str], batch: list[BillingLine]) -> dict[LineKey, str]:
    return {**current, **classify(batch, current).newest}


@given(_batches)
def test_rereading_an_applied_batch_is_unchanged(batch: list[BillingLine]) -> None:
    first = classify(batch, {})
    again = classify(batch, first.newest)
    assert {c.outcome for c in again.lines} <= {LineOutcome.UNCHANGED, LineOutcome.DUPLICATE}
    assert again.counts[LineOutcome.DUPLICATE] == first.counts[LineOutcome.DUPLICATE]
    assert again.newest == first.newest


@given(_batches, st.integers(min_value=1, max_value=3))
def test_repeated_rows_are_counted_once(batch: list[BillingLine], times: int) -> None:
    result = classify(batch * times, {})
    distinct = {(line.provider, line.line_id, content_hash(line)) for line in batch}
    counted = result.counts[LineOutcome.NEW] + result.counts[LineOutcome.REVISED]
    assert counted == len(distinct)
    assert result.counts[LineOutcome.DUPLICATE] == len(batch) * times - len(distinct)
    assert len(result.findings) == result.counts[LineOutcome.DUPLICATE]


@given(_batches, _amounts.filter(lambda d: d != 0))
def test_a_changed_amount_is_a_revision(batch: list[BillingLine], delta: Decimal) -> None:
    current = _apply({}, batch)
    for line in {line.line_id: line for line in batch}.values():  # newest of each id
        newest = next(
            li for li in reversed(batch)
            if li.line_id == line.line_id and content_hash(li) == current[("tencent", li.line_id)]
        )
        changed = dataclasses.replace(newest, list_amount=newest.list_amount + delta)
        (result,) = classify([changed], current).lines
        assert result.outcome is LineOutcome.REVISED


@given(st.lists(_batches, max_size=4), st.integers(min_value=1, max_value=3))
def test_applying_again_changes_nothing(batches: list[list[BillingLine]], times: int) -> None:
    once: dict[LineKey, str] = {}
    for batch in batches:
        once = _apply(once, batch)
    state = dict(once)
    for _ in range(times):
        for batch in batches:
            state = _apply(state, batch)
    # the last batch that holds an identity decides its newest content
    assert all(state[key] == once[key] for key in once)
    assert set(state) == set(once)
    assert once == _apply(once, batches[-1]) if batches else once == {}


@given(st.permutations(["a", "b", "c", "d"]), _amounts)
def test_order_of_disjoint_batches_does_not_matter(order: list[str], amount: Decimal) -> None:
    batches = {key: [_line(key, str(amount)), _line(key, str(amount + 1))] for key in "abcd"}
    forward: dict[LineKey, str] = {}
    for key in "abcd":
        forward = _apply(forward, batches[key])
    shuffled: dict[LineKey, str] = {}
    for key in order:
        shuffled = _apply(shuffled, batches[key])
    assert forward == shuffled
