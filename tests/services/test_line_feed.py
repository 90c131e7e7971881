"""The bulk settle's line feed (``services/line_feed.py``): the lines go from the control store to
Parquet without becoming Python objects, and must be exactly the lines the reference engine reads.

- The feed holds ``load_book_as_of``'s lines, in its order, with its revisions and the batches they came from:
  with and without a grace cutoff, after a restatement, on SQLite and PostgreSQL, and with
  batches so small that a line's revisions straddle two of them.
- ``check_candidates`` is a superset of what the period checks flag: the core's completeness
  and time-window checks find the same findings on the candidates as on every line (a
  hypothesis test over lines near month ends, in every offset from UTC-12 to UTC+14).
- ``owners_of`` answers as ``owners_in`` over the same lines.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.orm import Session, sessionmaker

from benchmarks import bill_generator as gen
from cloudsettle.compute.arrow import lines_from_rows, lines_to_arrow
from cloudsettle.core.checks.completeness import check_completeness
from cloudsettle.core.checks.window import check_time_window
from cloudsettle.core.lines import BillingLine, BillingMode, ChargeCategory
from cloudsettle.core.periods import parse_period
from cloudsettle.ingest.raw_store import RawStore
from cloudsettle.services import line_feed
from cloudsettle.services.config_service import load_config_file
from cloudsettle.services.ingest_service import ingest_file
from cloudsettle.services.line_feed import check_candidates, owners_in, owners_of, write_line_feed
from cloudsettle.services.runs import load_book_as_of


def _ingest(sessions: sessionmaker[Session], month: gen.Month, raw: RawStore, first: bool) -> None:
    if first:
        with sessions() as session, session.begin():
            load_config_file(session, path=month.config, actor="admin")
    for fmt in gen.FILES:
        with sessions() as session, session.begin():
            ingest_file(session, raw_store=raw, path=month.files[fmt], provider=None, actor="loader")


@pytest.mark.parametrize("batch_rows", [None, 7])
def test_feed_is_the_reference_engines_lines(
    batch_rows: int | None, session_factory: sessionmaker[Session], tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    if batch_rows is not None:
        monkeypatch.setattr(line_feed, "BATCH_ROWS", batch_rows)
    raw = RawStore(tmp_path / "raw")
    _ingest(session_factory, gen.write_month(tmp_path / "bills", 240, customers=60, partners=12), raw, True)
    between = datetime.now(UTC)
    _ingest(session_factory, gen.write_revision(tmp_path / "bills", 240, customers=60, partners=12), raw,
            False)
    for n, cutoff in enumerate((None, between, datetime.now(UTC) + timedelta(days=1))):
        with session_factory() as session:
            want = load_book_as_of(session, cutoff)
            feed = write_line_feed(session, cutoff, tmp_path / f"feed-{n}.parquet")
        got = lines_from_rows(pq.read_table(feed.path).to_pylist())
        assert feed.lines == len(got) == len(want.book.lines) >= 240
        assert got == list(want.book.lines)  # the same lines, values and order
        assert feed.revisions == want.revisions
        assert sorted(feed.batches) == want.batch_ids() == sorted({b for b, _ in want.sources.values()})
        assert list(feed.revisions) == [(ln.provider, ln.line_id) for ln in want.book.lines]
    # The restatement is what separates the cutoffs: before it every line is at revision 1.
    with session_factory() as session:
        early = write_line_feed(session, between, tmp_path / "early.parquet")
        late = write_line_feed(session, None, tmp_path / "late.parquet")
    assert set(early.revisions.values()) == {1}
    assert max(late.revisions.values()) == 2


def test_an_empty_store_feeds_no_lines(session_factory: sessionmaker[Session], tmp_path: Path) -> None:
    with session_factory() as session:
        feed = write_line_feed(session, None, tmp_path / "feed.parquet")
    assert feed.lines == 0
    assert pq.read_table(feed.path).num_rows == 0
    assert check_candidates(feed.path, parse_period("2026-10")) == []
    assert owners_of(feed.path, {"x"}) == {}


# --- the period checks' candidates -------------------------------------------------------------

_PROVIDERS = ("tencent", "huawei", "aws")
_OCT = date(2026, 10, 1)


@st.composite
def _line(draw: st.DrawFn, n: int) -> BillingLine:
    """A line charged near a bill month's edges, sometimes with a required field left empty."""
    billing = draw(st.sampled_from([date(2026, 9, 1), _OCT, date(2026, 11, 1)]))
    edge = datetime(2026, draw(st.integers(9, 11)), 1, tzinfo=UTC)
    start = edge + timedelta(minutes=draw(st.integers(-3 * 24 * 60, 3 * 24 * 60)))
    # 0: an instant (the check then takes the start as the end too).
    end = start + timedelta(minutes=draw(st.sampled_from([0, 1, 60, 17 * 60, 24 * 60, 40 * 24 * 60])))
    empty = draw(st.sampled_from([None, "account_id", "currency", "service"]))
    return BillingLine(
        line_id=f"l{n}",
        provider=draw(st.sampled_from(_PROVIDERS)),
        account_id="" if empty == "account_id" else f"a{n % 3}",
        charge_start=start,
        charge_end=end,
        billing_period=billing,
        list_amount=Decimal("1.25"),
        currency="" if empty == "currency" else "USD",
        service="" if empty == "service" else "ECS",
        charge_category=draw(st.sampled_from(list(ChargeCategory))),
        billing_mode=BillingMode.OTHER,
        is_correction=draw(st.booleans()),
    )


@st.composite
def _lines(draw: st.DrawFn) -> list[BillingLine]:
    return [draw(_line(n)) for n in range(draw(st.integers(0, 30)))]


_ZONES = st.sampled_from(["UTC", "Asia/Shanghai", "Pacific/Kiritimati", "Etc/GMT+12", "America/St_Johns"])


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(lines=_lines(), zone=_ZONES)
def test_candidates_hold_every_finding(lines: list[BillingLine], zone: str, tmp_path: Path) -> None:
    path = tmp_path / "lines.parquet"
    pq.write_table(lines_to_arrow(lines), path)
    period = parse_period("2026-10")
    zones = dict.fromkeys(_PROVIDERS, zone)
    billed = [ln for ln in lines if period.contains(ln.billing_period)]
    candidates = check_candidates(path, period)
    assert [c.line_id for c in candidates] == [
        ln.line_id for ln in billed if ln.line_id in {c.line_id for c in candidates}]  # feed order
    assert check_completeness(candidates) == check_completeness(billed)
    assert check_time_window(candidates, zones=zones) == check_time_window(billed, zones=zones)


def test_candidates_leave_out_lines_safely_inside_their_month(tmp_path: Path) -> None:
    """The point of the filter: a month of ordinary lines yields no candidates at all."""
    lines = [BillingLine(line_id=f"l{d}", provider="tencent", account_id="a", currency="CNY", service="CVM",
                         charge_start=datetime(2026, 10, d, tzinfo=UTC),
                         charge_end=datetime(2026, 10, d, 1, tzinfo=UTC), billing_period=_OCT,
                         list_amount=Decimal(1), charge_category=ChargeCategory.USAGE,
                         billing_mode=BillingMode.OTHER) for d in range(2, 30)]
    edge = BillingLine(line_id="edge", provider="tencent", account_id="a", currency="CNY", service="CVM",
                       charge_start=datetime(2026, 9, 30, 20, tzinfo=UTC),
                       charge_end=datetime(2026, 9, 30, 21, tzinfo=UTC), billing_period=_OCT,
                       list_amount=Decimal(1), charge_category=ChargeCategory.USAGE,
                       billing_mode=BillingMode.OTHER)
    path = tmp_path / "lines.parquet"
    pq.write_table(lines_to_arrow([*lines, edge]), path)
    # 20:00 UTC on 30 September is 1 October in Shanghai: in the month, but only a check says so.
    assert [c.line_id for c in check_candidates(path, parse_period("2026-10"))] == ["edge"]
    assert check_time_window([edge]) == []


def test_owners_as_over_lines_in_memory(tmp_path: Path) -> None:
    owned = [("x", "huawei", "h1"), ("y", "aws", "w1"), ("x", "tencent", "t1"), ("z", "aws", "w2")]
    lines = [BillingLine(line_id=i, provider=p, account_id=a, currency="USD", service="s",
                         charge_start=datetime(2026, 10, 2, tzinfo=UTC),
                         charge_end=datetime(2026, 10, 3, tzinfo=UTC), billing_period=_OCT,
                         list_amount=Decimal(1), charge_category=ChargeCategory.USAGE,
                         billing_mode=BillingMode.OTHER)
             for i, p, a in owned]
    path = tmp_path / "lines.parquet"
    pq.write_table(lines_to_arrow(lines), path)
    wanted = {"x", "z", "missing"}
    assert owners_of(path, wanted) == owners_in(lines, wanted) == {
        "x": [("huawei", "h1"), ("tencent", "t1")], "z": [("aws", "w2")]}
