"""Step 11, Carry-forward: a negative or too-small net waits for the next statement.

``net = commission + tier_uplift + clawback + cap_adjustment + fees +
manual_adjustment + prior_period_adjustment + carried_in``. When ``net < 0`` or
``net < minimum_payout``: ``payable = 0`` and ``carried_out = net``; otherwise
``payable = net`` and ``carried_out = 0``.
"""

from __future__ import annotations

from decimal import Decimal

from cloudsettle.core.money import ZERO


def carry_forward(net: Decimal, minimum_payout: Decimal) -> tuple[Decimal, Decimal]:
    """``(payable, carried_out)`` for a statement's ``net``."""
    if net < ZERO or net < minimum_payout:
        return ZERO, net
    return net, ZERO
