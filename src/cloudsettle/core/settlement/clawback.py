"""Step 5, Refunds and clawback: taking back commission paid on an earlier line.

A line with a negative base that names an ``original_line_id``:
- original selected in the same statement: nets in ``commission`` at the
  original's rate;
- original paid earlier (or on another statement): a clawback of
  ``share × base × original_rate`` on the statement of the partner and agreement
  that were paid for the original, if the refund's charge date is within
  ``window_days`` of the original's; past it the refund carries nothing;
- original unknown: an ``unlinked_refund`` finding, and the refund nets at its
  own rule's rate.
Worked example: −5,000 × 0.08 = −400 (share 1, 20 days ≤ 90).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from enum import StrEnum

from cloudsettle.core.agreements import Clawback


class RefundKind(StrEnum):
    """How step 5 treats a negative line."""

    NOT_A_REFUND = "not_a_refund"
    SAME_STATEMENT = "same_statement"
    CLAWBACK_HERE = "clawback_here"
    CLAWBACK_ELSEWHERE = "clawback_elsewhere"
    ORIGINAL_NOT_PAID = "original_not_paid"
    UNLINKED = "unlinked"


def within_window(refund_day: date, original_day: date, clawback: Clawback) -> bool:
    """``refund charge date − original charge date ≤ window_days`` (no window: no limit)."""
    if clawback.window_days is None:
        return True
    return (refund_day - original_day).days <= clawback.window_days


def clawback_rate(original_rate: Decimal, clawback: Clawback) -> Decimal:
    """The rate a clawback line applies to the refund's base: ``share × original_rate``."""
    return clawback.share * original_rate
