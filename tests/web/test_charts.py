"""Chart geometry: nice scales, the zero line with negative values, one period, no data."""

from __future__ import annotations

from decimal import Decimal

import pytest

from cloudsettle.core.money import D
from cloudsettle.web import charts
from cloudsettle.web.charts import (
    BOTTOM,
    HEIGHT,
    LEFT,
    RIGHT,
    TOP,
    WIDTH,
    Axis,
    axis_for,
    bar_chart,
    line_chart,
)

PLOT_H = HEIGHT - TOP - BOTTOM  # 170 px
PLOT_W = WIDTH - LEFT - RIGHT  # 424 px


def test_nice_steps_and_axes() -> None:
    assert charts.nice_step(D("38801.23")) == D("10000")  # 9,700.31 per tick -> 10,000
    assert charts.nice_step(D("600"), 4) == D("200")  # 150 -> 200
    assert charts.nice_step(D("0.4"), 4) == D("0.1")
    assert axis_for([D("38801.23"), D("39305.60")]) == Axis(D("0"), D("40000"), D("10000"))
    # Negatives only: zero stays the top of the axis.
    assert axis_for([D("-410.94"), D("0")]) == Axis(D("-600"), D("0"), D("200"))
    # Both signs: the axis spans them on whole steps.
    axis = axis_for([D("5"), D("-3"), None])
    assert axis == Axis(D("-4"), D("6"), D("2"))
    assert axis.ticks == (D("-4"), D("-2"), D("0"), D("2"), D("4"), D("6"))
    assert axis_for([]) == Axis(D("0"), D("1"), D("1"))
    assert axis_for([D("0"), None]) == Axis(D("0"), D("1"), D("1"))
    with pytest.raises(ValueError, match="positive"):
        charts.nice_step(D("0"))


def test_line_chart_coordinates_are_exact_strings() -> None:
    c = line_chart(
        "Commission", "CNY", ["2026-09", "2026-10"], [("Commission", [D("38801.23"), D("39305.60")])]
    )
    first, second = c.marks
    # Bands of 212 px: centres at 84 + 106 = 190 and 84 + 318 = 402.
    assert (first.x, second.x) == ("190.00", "402.00")
    # 14 + (40,000 − 38,801.23) × 170 / 40,000 = 19.0947… -> 19.09
    assert first.y == "19.09"
    worked = Decimal(TOP) + (D("40000") - D("38801.23")) * PLOT_H / D("40000")
    assert Decimal(first.y) == worked.quantize(D("0.01"))
    assert second.y == "16.95"
    assert c.paths == ((0, "M190.00 19.09 L402.00 16.95"),)
    assert c.zero_y == str(HEIGHT - BOTTOM) + ".00"
    assert [t for _, t in c.y_ticks] == ["0", "10,000", "20,000", "30,000", "40,000"]
    assert c.table == (("2026-09", ("38801.23",)), ("2026-10", ("39305.60",)))
    assert "38801.23 in 2026-09, 39305.60 in 2026-10" in c.desc
    assert all(isinstance(v, str) for m in c.marks for v in (m.x, m.y))


def test_bars_hang_below_the_zero_line() -> None:
    c = bar_chart("Clawbacks", "CNY", ["2026-09", "2026-10"], [("Clawbacks", [D("0"), D("-410.94")])])
    zero, low = c.marks
    # Axis −600…0: zero is the top of the plot; −410.94 ends at 14 + 410.94 × 170 / 600 = 130.43.
    assert c.zero_y == "14.00"
    assert (zero.y, zero.height) == ("14.00", "0.00")
    assert (low.y, low.height) == ("14.00", "116.43")
    # Mixed signs: a positive bar ends at the zero line, a negative one starts there.
    mixed = bar_chart("Margin", "USD", ["a", "b"], [("Margin", [D("5"), D("-3")])])
    up, down = mixed.marks
    assert mixed.zero_y == "116.00"  # 14 + 6 × 170 / 10 = 116
    assert Decimal(up.y) + Decimal(up.height) == Decimal(mixed.zero_y)
    assert down.y == mixed.zero_y
    assert down.height == "51.00"  # 3 × 17 px


def test_grouped_bars_and_gaps() -> None:
    c = bar_chart(
        "Margin",
        "CNY",
        ["2026-09", "2026-10"],
        [
            ("Provider rebate", [None, D("100")]),
            ("Partner cost", [D("80"), D("80")]),
            ("Margin", [None, D("20")]),
        ],
    )
    assert [(m.name, m.label) for m in c.marks] == [
        ("Provider rebate", "2026-10"),
        ("Partner cost", "2026-09"),
        ("Partner cost", "2026-10"),
        ("Margin", "2026-10"),
    ]
    widths = {m.width for m in c.marks}
    assert widths == {"49.47"}  # 70% of a 212 px band, shared by three series
    assert c.table[0] == ("2026-09", ("—", "80.00", "—"))
    gap = line_chart("Margin", "CNY", ["a", "b", "c"], [("Margin", [D("1"), None, D("3")])])
    assert gap.paths[0][1].count("M") == 2  # the line breaks at the gap
    assert len(gap.marks) == 2


def test_one_period_and_empty() -> None:
    one = line_chart("Commission", "USD", ["2026-10"], [("Commission", [D("861.91")])])
    (mark,) = one.marks
    assert mark.x == str(LEFT + PLOT_W // 2) + ".00"  # the middle of the only band
    assert one.y_ticks[-1][1] == "1,000"
    empty = line_chart("Commission", "USD", [], [("Commission", [])])
    assert empty.empty
    assert empty.desc == "Commission: no period yet."
    gaps = bar_chart("Margin", "USD", ["2026-10"], [("Margin", [None])])
    assert gaps.empty
    assert gaps.table == (("2026-10", ("—",)),)
    with pytest.raises(ValueError, match="values for"):
        line_chart("x", "USD", ["a"], [("x", [D("1"), D("2")])])


def test_crowded_axis_keeps_the_last_label() -> None:
    labels = [f"2026-{m:02d}" for m in range(1, 13)]
    c = line_chart("Commission", "CNY", labels, [("Commission", [D(m) for m in range(12)])])
    shown = [label for _, label in c.x_ticks]
    assert len(shown) == 6
    assert shown[-1] == "2026-12"
    assert len(c.marks) == 12
