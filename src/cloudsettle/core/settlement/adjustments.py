"""Step 8, Manual adjustments: a user's bonus, credit or agreed correction.

They belong to the partner, agreement and period (not to one calculation), so
settling again keeps them; ``manual_adjustment`` is their sum.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from cloudsettle.core.money import ZERO
from cloudsettle.core.settlement.model import ManualAdjustment


def manual_total(adjustments: Sequence[ManualAdjustment]) -> Decimal:
    """The ``manual_adjustment`` component."""
    return sum((a.amount for a in adjustments), ZERO)


def adjusters(adjustments: Sequence[ManualAdjustment]) -> frozenset[str]:
    """Users who added an adjustment: none of them may approve the statement."""
    return frozenset(a.created_by for a in adjustments)
