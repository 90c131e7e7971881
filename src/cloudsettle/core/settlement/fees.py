"""Step 7, Fees: deductions from the capped amount, only when it is positive.

``{percent: p}`` deducts ``p × capped``; ``{fixed: a}`` deducts ``a``.
Worked example: capped 8,600, fee 1% -> −86.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from cloudsettle.core.agreements import Fee
from cloudsettle.core.money import ZERO


def fee_amount(fee: Fee, capped: Decimal) -> Decimal:
    """One fee's (negative) amount for ``capped``."""
    if capped <= ZERO:
        return ZERO
    if fee.percent is not None:
        return -(fee.percent * capped)
    return -(fee.fixed or ZERO)


def fees_total(fees: Sequence[Fee], capped: Decimal) -> Decimal:
    """The ``fees`` component: the sum of every fee's amount."""
    return sum((fee_amount(f, capped) for f in fees), ZERO)
