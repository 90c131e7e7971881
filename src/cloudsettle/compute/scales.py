"""Decimal scales: how many decimals each kind of number needs, so products stay exact.

DuckDB multiplies ``DECIMAL(38, a) × DECIMAL(38, b)`` into ``DECIMAL(38, a + b)``
exactly and raises on overflow, so the bulk engine casts every input to the
smallest scale its values need (measured, not assumed): a rate of ``0.08`` is
``DECIMAL(38, 2)``, not ``(38, 12)``, and a line's base times a rate times an FX
rate keeps every digit with room to spare.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

#: Decimals kept for a proration fraction that is not a finite decimal (1/3):
#: the reference keeps 60 significant digits, the bulk engine 12 decimals.
NON_TERMINATING_SCALE = 12
#: The most decimals any per-line amount keeps; beyond it (only ever reached with
#: non-terminating fractions) values are rounded half-even at this scale.
MAX_VALUE_SCALE = 24


def scale_of(value: Decimal) -> int:
    """Decimals needed to write ``value`` exactly (``0.080`` needs 2, ``100`` needs 0)."""
    exponent = value.normalize().as_tuple().exponent
    assert isinstance(exponent, int)  # finite decimals only: D() refuses the others
    return max(0, -exponent)


def max_scale(values: Iterable[Decimal | None]) -> int:
    """The largest :func:`scale_of` among ``values`` (0 for none)."""
    return max((scale_of(v) for v in values if v is not None), default=0)


def dec(scale: int) -> str:
    """The SQL type of a number with ``scale`` decimals."""
    return f"DECIMAL(38, {scale})"


@dataclass(frozen=True, slots=True)
class Scales:
    """The scales of the reference data (measured on the book) and of the lines.

    Attributes:
      rate: rule rates. fx: FX rates. share: clawback shares. uplift: tier
      uplifts. band: tier band starts. line: line amounts (measured on the lines).
      fraction: proration fractions (measured on the split parts).
      terminating: every proration fraction is a finite decimal (then every
        per-line value is exact).
    """

    rate: int
    fx: int
    share: int
    uplift: int
    band: int
    line: int = 12
    fraction: int = 0
    terminating: bool = True

    @property
    def base(self) -> int:
        """Decimals of a line's base: amount × fraction × FX rate."""
        return min(self.line + self.fraction + self.fx, MAX_VALUE_SCALE)

    @property
    def effective_rate(self) -> int:
        """Decimals of a rate averaged over prorated segments (Σ fraction × rate)."""
        return min(self.fraction + self.rate, MAX_VALUE_SCALE)

    @property
    def amount(self) -> int:
        """Decimals of a line's commission or clawback (base × share × effective rate)."""
        return min(self.base + self.share + self.effective_rate, MAX_VALUE_SCALE)
