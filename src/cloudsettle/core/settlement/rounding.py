"""Step 10, Rounding: the currency's minor unit, the version's mode, once.

- ``statement`` level (default): each component is computed unrounded and
  rounded once; line amounts shown are then allocated by largest remainder
  (ties to the earlier line in ``(charge_start, line_id)`` order) so they add
  up to the component.
- ``line`` level: each line's commission and clawback is rounded and those
  components are the sums of the rounded lines; ``tier_uplift``,
  ``cap_adjustment`` and ``fees`` are rounded once as components.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from cloudsettle.core.agreements import Rounding, RoundingLevel
from cloudsettle.core.money import ZERO, allocate_largest_remainder, round_money


def line_component(amounts: Sequence[Decimal], rounding: Rounding, currency: str) -> Decimal:
    """A line-fed component (``commission``, ``clawback``) as step 10 rounds it."""
    if rounding.level is RoundingLevel.LINE:
        return sum((round_money(a, currency, rounding.mode) for a in amounts), ZERO)
    return round_money(sum(amounts, ZERO), currency, rounding.mode)


def shown_amounts(
    amounts: Sequence[Decimal], component: Decimal, rounding: Rounding, currency: str
) -> list[Decimal]:
    """The amounts shown per line, adding up to ``component`` exactly.

    At line level each line shows its own rounded amount; at statement level the
    rounded component is shared by largest remainder.
    """
    if rounding.level is RoundingLevel.LINE:
        return [round_money(a, currency, rounding.mode) for a in amounts]
    return allocate_largest_remainder(amounts, component, currency)
