"""Step 9, Prior-period adjustments: late changes to a finalized period.

A finalized statement never changes. When its period's lines change, it is
recomputed with the version that governed it; ``earned_recomputed −
earned_finalized`` less what earlier adjustments already paid for that period
goes to the partner's next statement under the same agreement.
"""

from __future__ import annotations

from decimal import Decimal

from cloudsettle.core.settlement.model import PriorPeriodAdjustment


def prior_period_adjustment(
    corrects_period: str,
    *,
    earned_finalized: Decimal,
    earned_recomputed: Decimal,
    already_adjusted: Decimal,
) -> PriorPeriodAdjustment | None:
    """The adjustment still owed for ``corrects_period``, or None when nothing changed."""
    amount = earned_recomputed - earned_finalized - already_adjusted
    if amount == 0:
        return None
    return PriorPeriodAdjustment(
        corrects_period=corrects_period,
        earned_finalized=earned_finalized,
        earned_recomputed=earned_recomputed,
        already_adjusted=already_adjusted,
        amount=amount,
    )
