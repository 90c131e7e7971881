"""Summary mode's SQL rounding and allocation against the core's, on generated amounts.

``compute.summary`` re-implements step 10 (round each line by mode; largest
remainder with ties to the earlier line) in SQL; these properties pin it to
``core.money.allocate_largest_remainder`` and ``core.settlement.rounding``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cloudsettle.compute.arrow import lines_to_arrow
from cloudsettle.compute.backend import DuckDBBackend, Executor
from cloudsettle.compute.engine import settle_period_bulk, settle_period_summary
from cloudsettle.compute.summary import Rounding, Totals, line_units, register_rounding, register_totals, show
from cloudsettle.core.agreements import Rounding as AgreementRounding
from cloudsettle.core.agreements import RoundingLevel
from cloudsettle.core.money import ZERO, RoundingMode, allocate_largest_remainder, round_money
from cloudsettle.core.settlement.rounding import line_component, shown_amounts
from tests.compute.equivalence import assert_summary_same
from tests.compute.generated import seeded_month

AMOUNT_SCALE = 4
UPLIFT_SCALE = 6
START = datetime(2026, 10, 1, tzinfo=UTC)


def _tables(ex: Executor, amounts: list[Decimal], uplifts: list[Decimal], same_key: bool) -> None:
    """One statement (sid 0) of commission lines; ``same_key`` gives every line the same
    charge start and id so only the walk order (rid) orders them."""
    n = len(amounts)
    ex.register("l", pa.table({
        "ord": pa.array(range(n), pa.int64()),
        "charge_start": pa.array([START if same_key else START + timedelta(hours=i) for i in range(n)],
                                 pa.timestamp("us", tz="UTC")),
        "line_id": pa.array(["x" if same_key else f"L{i:03d}" for i in range(n)], pa.string()),
    }))
    money = pa.decimal128(38, AMOUNT_SCALE)
    ex.register("sl", pa.table({
        "sid": pa.array([0] * n, pa.int64()),
        "rid": pa.array(range(1, n + 1), pa.int64()),
        "ord": pa.array(range(n), pa.int64()),
        "role": pa.array(["commission"] * n, pa.string()),
        "frac": pa.array([Decimal(1)] * n, pa.decimal128(38, 0)),
        "deal_id": pa.array(["D"] * n, pa.string()),
        "base": pa.array(amounts, money),
        "fx_shown": pa.array([None] * n, pa.decimal128(38, 4)),
        "rule_id": pa.array(["r"] * n, pa.string()),
        "rate": pa.array([Decimal(1)] * n, pa.decimal128(38, 0)),
        "amount": pa.array(amounts, money),
        "reasons": pa.array([[]] * n, pa.list_(pa.string())),
        "measured": pa.array([True] * n, pa.bool_()),
        "billed": pa.array(amounts, money),
    }))
    ex.register("slu", pa.table({
        "rid": pa.array(range(1, n + 1), pa.int64()),
        "uplift": pa.array(uplifts, pa.decimal128(38, UPLIFT_SCALE)),
    }))


def _run(amounts: list[Decimal], uplifts: list[Decimal], currency_minor: int, mode: RoundingMode,
         level: RoundingLevel, same_key: bool) -> tuple[list[Decimal], list[Decimal], Decimal, Decimal]:
    """(shown per line, uplift shown per line, commission component, tier component) from the SQL."""
    currency = {0: "JPY", 2: "CNY", 3: "KWD"}[currency_minor]
    rounding = AgreementRounding(mode=mode, level=level)
    commission = line_component(amounts, rounding, currency)
    tier = round_money(sum(uplifts, ZERO), currency, mode)
    ex = DuckDBBackend().open()
    try:
        _tables(ex, amounts, uplifts, same_key)
        register_rounding(ex, [Rounding(0, currency_minor, mode.value, level is RoundingLevel.LINE)])
        line_units(ex, UPLIFT_SCALE)
        register_totals(ex, [Totals(0, commission, ZERO, tier)])
        show(ex)
        rows = ex.rows("SELECT shown, uplift_shown FROM slshow ORDER BY seq")
    finally:
        ex.close()
    return [r[0] for r in rows], [r[1] for r in rows], commission, tier


def _amounts(scale: int) -> st.SearchStrategy[Decimal]:
    return st.integers(-2_000_000, 2_000_000).map(lambda n: Decimal(n).scaleb(-scale))


#: Amounts that sit on half a minor unit often (ties), and repeat (equal remainders).
tie_heavy = st.one_of(
    _amounts(AMOUNT_SCALE),
    st.sampled_from([Decimal("0.3350"), Decimal("-0.3350"), Decimal("0.0050"), Decimal("1.2250"),
                     Decimal("0.3333"), Decimal("2.5000"), Decimal("-2.5000")]),
)


@settings(max_examples=150, deadline=None)
@given(
    amounts=st.lists(tie_heavy, min_size=1, max_size=12),
    minor=st.sampled_from([0, 2, 3]),
    mode=st.sampled_from(list(RoundingMode)),
    level=st.sampled_from(list(RoundingLevel)),
    same_key=st.booleans(),
)
def test_shown_amounts_match_the_core(amounts: list[Decimal], minor: int, mode: RoundingMode,
                                      level: RoundingLevel, same_key: bool) -> None:
    uplifts = [abs(a) / 7 for a in amounts]
    uplifts = [u.quantize(Decimal(1).scaleb(-UPLIFT_SCALE)) for u in uplifts]
    shown, uplift_shown, commission, tier = _run(amounts, uplifts, minor, mode, level, same_key)
    currency = {0: "JPY", 2: "CNY", 3: "KWD"}[minor]
    rounding = AgreementRounding(mode=mode, level=level)
    assert shown == shown_amounts(amounts, commission, rounding, currency)
    assert uplift_shown == allocate_largest_remainder(uplifts, tier, currency)
    assert sum(shown, ZERO) == commission


def test_ties_go_to_the_earlier_line() -> None:
    """Three equal remainders, two cents to give (0.99 floored of 1.01): the first two lines in the
    statement's order get them, also when only the walk order tells the lines apart."""
    amounts = [Decimal("0.3350")] * 3
    for same_key in (False, True):
        shown, _, commission, _ = _run(amounts, [ZERO] * 3, 2, RoundingMode.HALF_UP,
                                       RoundingLevel.STATEMENT, same_key)
        assert commission == Decimal("1.01")
        assert shown == [Decimal("0.34"), Decimal("0.34"), Decimal("0.33")]


def test_line_level_rounds_each_line_by_mode() -> None:
    amounts = [Decimal("0.1250"), Decimal("-0.1250"), Decimal("0.1350"), Decimal("0.1210")]
    expected = {
        RoundingMode.HALF_UP: ["0.13", "-0.13", "0.14", "0.12"],
        RoundingMode.HALF_EVEN: ["0.12", "-0.12", "0.14", "0.12"],
        RoundingMode.UP: ["0.13", "-0.13", "0.14", "0.13"],
        RoundingMode.DOWN: ["0.12", "-0.12", "0.13", "0.12"],
    }
    for mode, values in expected.items():
        shown, _, _, _ = _run(amounts, [ZERO] * 4, 2, mode, RoundingLevel.LINE, False)
        assert shown == [Decimal(v) for v in values], mode


def test_a_total_the_lines_cannot_reach_is_refused() -> None:
    ex = DuckDBBackend().open()
    try:
        _tables(ex, [Decimal("0.1000")], [ZERO], False)
        register_rounding(ex, [Rounding(0, 2, "half_up", False)])
        line_units(ex, UPLIFT_SCALE)
        register_totals(ex, [Totals(0, Decimal("0.50"), ZERO, ZERO)])
        with pytest.raises(ValueError, match="cannot be allocated"):
            show(ex)
    finally:
        ex.close()


def test_a_run_names_each_step_as_it_starts_and_summary_mode_gives_the_full_statements(
    tmp_path: Path,
) -> None:
    """``step_started`` hears every SQL step in order (the settle progress bar's feed), and a
    seeded busy month (FX, tiers, clawbacks, step 9) settles to the full mode's statements."""
    book, carried, finalized = seeded_month(7, lines=80)
    heard: list[str] = []
    full = settle_period_bulk(book, lines_to_arrow(book.lines), "2026-10", carried_in=carried,
                              finalized=finalized)
    summary = settle_period_summary(book, lines_to_arrow(book.lines), "2026-10", carried_in=carried,
                                    finalized=finalized, lines_out=tmp_path / "lines.parquet",
                                    step_started=heard.append)
    assert full.statements
    assert_summary_same(full, summary, "seeded month 7")
    for step in ("lsrc", "l", "rseg", "sl", "slu", "slm", "slshow", "results"):
        assert step in heard, step
    assert heard.index("rseg") < heard.index("slm") < heard.index("slshow") < heard.index("results")
