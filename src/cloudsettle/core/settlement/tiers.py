"""Step 4, Tiers: an uplift on the rate that grows with the statement's measure.

The measure is the sum of the bases of the statement's selected lines.
- marginal: ``Σ uplift_i × max(0, min(measure, from_{i+1}) − from_i)``;
- retroactive: the uplift of the highest band whose ``from`` ≤ measure, times
  the whole measure.
Worked example: bands {0: 0, 100000: 0.02}, measure 115,000, marginal:
0.02 × (115,000 − 100,000) = 300.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from cloudsettle.core.agreements import TierMethod, Tiers
from cloudsettle.core.money import ZERO


def marginal_uplift(measure: Decimal, tiers: Tiers) -> Decimal:
    """Each band earns its uplift on the part of the measure inside it."""
    total = ZERO
    bands = tiers.bands
    for i, band in enumerate(bands):
        upper = bands[i + 1].start if i + 1 < len(bands) else None
        top = measure if upper is None else min(measure, upper)
        total += band.uplift * max(ZERO, top - band.start)
    return total


def retroactive_rate(measure: Decimal, tiers: Tiers) -> Decimal:
    """The uplift of the highest band whose ``from`` ≤ measure (0 when none)."""
    reached = [b.uplift for b in tiers.bands if b.start <= measure]
    return reached[-1] if reached else ZERO


def tier_uplift(measure: Decimal, tiers: Tiers | None) -> Decimal:
    """The statement's ``tier_uplift`` for ``measure`` (exact, unrounded)."""
    if tiers is None:
        return ZERO
    if tiers.method is TierMethod.MARGINAL:
        return marginal_uplift(measure, tiers)
    return retroactive_rate(measure, tiers) * measure


def attribute_uplift(bases: Sequence[Decimal], tiers: Tiers | None) -> list[Decimal]:
    """The uplift attributed to each line, lines given in ``(charge_start, line_id)`` order.

    Marginal: each line earns ``f(running measure after it) − f(before it)``, so the
    parts telescope to ``f(measure)`` exactly. Retroactive: ``uplift × base``.
    """
    if tiers is None:
        return [ZERO] * len(bases)
    if tiers.method is TierMethod.RETROACTIVE:
        rate = retroactive_rate(sum(bases, ZERO), tiers)
        return [rate * b for b in bases]
    shares: list[Decimal] = []
    running = ZERO
    before = marginal_uplift(running, tiers)
    for b in bases:
        running += b
        after = marginal_uplift(running, tiers)
        shares.append(after - before)
        before = after
    return shares
