"""Step 6, Cap and floor on ``pre = commission + tier_uplift + clawback``.

``cap_adjustment = cap − pre`` when ``pre > cap``; ``floor − pre`` when
``0 < pre < floor``; else 0. A floor never lifts a statement that earned
nothing or less than nothing.
"""

from __future__ import annotations

from decimal import Decimal

from cloudsettle.core.money import ZERO


def cap_adjustment(pre: Decimal, cap: Decimal | None, floor: Decimal | None) -> Decimal:
    """The adjustment that brings ``pre`` within the cap and up to the floor."""
    if cap is not None and pre > cap:
        return cap - pre
    if floor is not None and ZERO < pre < floor:
        return floor - pre
    return ZERO
