"""Chart geometry for the dashboard's SVG charts, computed with ``Decimal`` (never a float).

A chart is a value: its axis (a "nice" scale of 1, 2 or 5 × 10ⁿ steps that always
contains zero, so negative figures such as clawbacks hang below a visible zero line),
the pixel position of every mark as a string rounded to 0.01 px, the tick labels, and
the numbers themselves for the accessible data table. The template only places what
is computed here.

Worked example: values 0 and 38,801.23 over 4 ticks: raw step 9,700.31 → nice step
10,000 → axis 0…40,000; in a plot 170 px high, 38,801.23 sits at
``top + (40,000 − 38,801.23) × 170 / 40,000 = 14 + 5.09 = 19.09``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_EVEN, Decimal

from cloudsettle.core.money import EXACT, ZERO, format_money

WIDTH = 520
HEIGHT = 220
LEFT = 84
RIGHT = 12
TOP = 14
BOTTOM = 36
PX = Decimal("0.01")
#: Above this many periods every other x label is left out (the data table has them all).
CROWDED = 8
_NICE = (1, 2, 5, 10)


@dataclass(frozen=True)
class Axis:
    """The value range ``[lo, hi]`` of a chart, a whole number of ``step`` apart, zero included."""

    lo: Decimal
    hi: Decimal
    step: Decimal

    @property
    def ticks(self) -> tuple[Decimal, ...]:
        """``lo, lo + step, …, hi``."""
        out, v = [], self.lo
        while v <= self.hi:
            out.append(v)
            v = EXACT.add(v, self.step)
        return tuple(out)


def nice_step(span: Decimal, ticks: int = 4) -> Decimal:
    """The smallest 1, 2 or 5 × 10ⁿ at least ``span / ticks`` (``span`` > 0)."""
    if span <= 0:
        raise ValueError(f"span must be positive, not {span}")
    raw = EXACT.divide(span, Decimal(ticks))
    exponent = raw.adjusted()
    mantissa = raw.scaleb(-exponent, context=EXACT)
    nice = next(n for n in _NICE if Decimal(n) >= mantissa)
    return Decimal(nice).scaleb(exponent, context=EXACT)


def axis_for(values: Iterable[Decimal | None], ticks: int = 4) -> Axis:
    """A nice axis covering ``values`` and zero (None values are gaps and ignored)."""
    known = [v for v in values if v is not None]
    lo, hi = min([ZERO, *known]), max([ZERO, *known])
    if lo == hi:  # nothing but zeros: one unit above the zero line
        return Axis(ZERO, Decimal(1), Decimal(1))
    step = nice_step(hi - lo, ticks)
    low = EXACT.divide(lo, step).to_integral_value(rounding=ROUND_FLOOR) * step
    high = EXACT.divide(hi, step).to_integral_value(rounding=ROUND_CEILING) * step
    return Axis(_plain(low), _plain(high), _plain(step))


def _plain(value: Decimal) -> Decimal:
    """``4.0E+4`` as ``40000`` (the same number, spelled without an exponent)."""
    if value == value.to_integral_value():
        return value.quantize(Decimal(1), context=EXACT)
    return value.normalize(context=EXACT)


def px(value: Decimal) -> str:
    """A coordinate as SVG text: rounded to 0.01 px, no exponent, no ``-0``."""
    q = value.quantize(PX, rounding=ROUND_HALF_EVEN, context=EXACT)
    return f"{(q.copy_abs() if q.is_zero() else q):f}"


@dataclass(frozen=True)
class Mark:
    """One plotted value: a point (``width``/``height`` empty) or a bar."""

    series: int
    name: str
    label: str
    value: Decimal
    x: str
    y: str
    width: str = ""
    height: str = ""


@dataclass(frozen=True)
class Chart:
    """Everything an SVG chart and its data table need, coordinates as strings."""

    kind: str
    title: str
    desc: str
    currency: str
    labels: tuple[str, ...]
    names: tuple[str, ...]
    x_ticks: tuple[tuple[str, str], ...]
    y_ticks: tuple[tuple[str, str], ...]
    zero_y: str
    marks: tuple[Mark, ...]
    paths: tuple[tuple[int, str], ...]
    table: tuple[tuple[str, tuple[str, ...]], ...]
    width: int = WIDTH
    height: int = HEIGHT

    @property
    def empty(self) -> bool:
        """No value to plot (no period, or only gaps)."""
        return not self.marks

    @property
    def plot(self) -> tuple[str, str, str, str]:
        """The plot area's left, top, right and bottom edges."""
        return str(LEFT), str(TOP), str(self.width - RIGHT), str(self.height - BOTTOM)


def _y(value: Decimal, axis: Axis) -> Decimal:
    """Pixel row of ``value``: ``top + (hi − value) × plot height / (hi − lo)``."""
    plot = Decimal(HEIGHT - TOP - BOTTOM)
    return Decimal(TOP) + EXACT.divide(EXACT.multiply(axis.hi - value, plot), axis.hi - axis.lo)


def _band(count: int) -> Decimal:
    return EXACT.divide(Decimal(WIDTH - LEFT - RIGHT), Decimal(count))


def _center(i: int, count: int) -> Decimal:
    """Middle of the ``i``-th of ``count`` equal bands across the plot."""
    return Decimal(LEFT) + _band(count) * i + EXACT.divide(_band(count), Decimal(2))


def _tick_text(value: Decimal, step: Decimal) -> str:
    """A tick label with the step's decimals and thousands separators: ``40,000``, ``0.25``."""
    places = max(0, -step.normalize().as_tuple().exponent)  # type: ignore[operator]
    return f"{value.quantize(Decimal(1).scaleb(-places)):,f}"


def _describe(title: str, currency: str, labels: Sequence[str],
              series: Sequence[tuple[str, Sequence[Decimal | None]]]) -> str:
    """The ``<desc>``: what the chart covers and, per series, where it starts, ends and peaks."""
    if not labels:
        return f"{title}: no period yet."
    parts = [f"{title} in {currency}, {len(labels)} period{'s' if len(labels) != 1 else ''} "
             f"from {labels[0]} to {labels[-1]}."]
    for name, values in series:
        known = [(v, label) for v, label in zip(values, labels, strict=True) if v is not None]
        if not known:
            parts.append(f"{name}: no figure.")
            continue
        top = max(known, key=lambda k: k[0])
        low = min(known, key=lambda k: k[0])
        parts.append(f"{name}: {format_money(known[0][0], currency)} in {known[0][1]}, "
                     f"{format_money(known[-1][0], currency)} in {known[-1][1]}; highest "
                     f"{format_money(top[0], currency)} ({top[1]}), lowest {format_money(low[0], currency)} "
                     f"({low[1]}).")
    return " ".join(parts)


Ticks = tuple[tuple[str, str], ...]


def _frame(labels: Sequence[str], axis: Axis) -> tuple[Ticks, Ticks]:
    n = len(labels)
    x_ticks = tuple(
        (px(_center(i, n)), label) for i, label in enumerate(labels)
        if n <= CROWDED or i % 2 == (n - 1) % 2
    )
    y_ticks = tuple((px(_y(v, axis)), _tick_text(v, axis.step)) for v in axis.ticks)
    return x_ticks, y_ticks


def _table(labels: Sequence[str], series: Sequence[tuple[str, Sequence[Decimal | None]]],
           currency: str) -> tuple[tuple[str, tuple[str, ...]], ...]:
    return tuple(
        (label, tuple("—" if values[i] is None else format_money(values[i] or ZERO, currency)
                      for _, values in series))
        for i, label in enumerate(labels)
    )


def _check(labels: Sequence[str], series: Sequence[tuple[str, Sequence[Decimal | None]]]) -> None:
    for name, values in series:
        if len(values) != len(labels):
            raise ValueError(f"series {name!r} has {len(values)} values for {len(labels)} periods")


def line_chart(title: str, currency: str, labels: Sequence[str],
               series: Sequence[tuple[str, Sequence[Decimal | None]]]) -> Chart:
    """A line chart: one point per period and series, joined; a None value breaks the line."""
    _check(labels, series)
    axis = axis_for(v for _, values in series for v in values)
    n = len(labels)
    marks, paths = [], []
    for s, (name, values) in enumerate(series):
        d, pen_down = [], False
        for i, value in enumerate(values):
            if value is None:
                pen_down = False
                continue
            x, y = px(_center(i, n)), px(_y(value, axis))
            marks.append(Mark(s, name, labels[i], value, x, y))
            d.append(f"{'L' if pen_down else 'M'}{x} {y}")
            pen_down = True
        if d:
            paths.append((s, " ".join(d)))
    x_ticks, y_ticks = _frame(labels, axis)
    return Chart("line", title, _describe(title, currency, labels, series), currency, tuple(labels),
                 tuple(name for name, _ in series), x_ticks, y_ticks, px(_y(ZERO, axis)), tuple(marks),
                 tuple(paths), _table(labels, series, currency))


def bar_chart(title: str, currency: str, labels: Sequence[str],
              series: Sequence[tuple[str, Sequence[Decimal | None]]]) -> Chart:
    """A bar chart: per period one bar per series side by side, from the zero line up or down."""
    _check(labels, series)
    axis = axis_for(v for _, values in series for v in values)
    n, k = len(labels), max(len(series), 1)
    zero = _y(ZERO, axis)
    marks = []
    if n:
        group = EXACT.divide(_band(n) * 7, Decimal(10))  # bars fill 70% of their band
        width = EXACT.divide(group, Decimal(k))
        for s, (name, values) in enumerate(series):
            for i, value in enumerate(values):
                if value is None:
                    continue
                left = _center(i, n) - EXACT.divide(group, Decimal(2)) + width * s
                top = _y(value, axis)
                marks.append(Mark(s, name, labels[i], value, px(left), px(min(top, zero)), px(width),
                                  px(abs(zero - top))))
    x_ticks, y_ticks = _frame(labels, axis)
    return Chart("bar", title, _describe(title, currency, labels, series), currency, tuple(labels),
                 tuple(name for name, _ in series), x_ticks, y_ticks, px(zero), tuple(marks), (),
                 _table(labels, series, currency))
