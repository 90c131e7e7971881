"""Consistency: the provider's own totals against the sum of the lines.

A provider's summary (an API's totals, or a summary file the user uploads) is
compared with the lines' billed amounts per customer, month and product. A
difference beyond the tolerance is a ``totals_mismatch`` finding that names it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from cloudsettle.core.findings import Finding, FindingKind
from cloudsettle.core.lines import BillingLine
from cloudsettle.core.money import ZERO


@dataclass(frozen=True, slots=True)
class ReportedTotal:
    """One figure of the provider's summary.

    Attributes:
      provider: whose summary it is.
      month: the bill month's first day.
      currency: ISO 4217.
      amount: billed after discounts (the lines' ``billed_amount``).
      account_id: the customer, or None when the total covers every customer.
      service: the product, or None when the total covers every product.
    """

    provider: str
    month: date
    currency: str
    amount: Decimal
    account_id: str | None = None
    service: str | None = None

    def covers(self, line: BillingLine) -> bool:
        """Whether the line is one of those this total adds up."""
        return (
            line.provider == self.provider
            and line.billing_period == self.month
            and line.currency == self.currency
            and (self.account_id is None or line.account_id == self.account_id)
            and (self.service is None or line.service == self.service)
        )

    def label(self) -> str:
        """``tencent 2026-10 CNY customer 100 product CVM``: what the total covers."""
        parts = [self.provider, self.month.strftime("%Y-%m"), self.currency]
        if self.account_id is not None:
            parts.append(f"customer {self.account_id}")
        if self.service is not None:
            parts.append(f"product {self.service}")
        return " ".join(parts)


def check_totals(
    lines: Iterable[BillingLine], totals: Sequence[ReportedTotal], *, tolerance: Decimal = ZERO
) -> list[Finding]:
    """A ``totals_mismatch`` finding for each reported total that the lines miss by more
    than ``tolerance`` (an absolute amount in the total's currency)."""
    sums = [ZERO] * len(totals)
    for line in lines:
        for i, total in enumerate(totals):
            if total.covers(line):
                sums[i] += line.billed_amount
    findings: list[Finding] = []
    for total, ours in zip(totals, sums, strict=True):
        difference = total.amount - ours
        if abs(difference) > tolerance:
            findings.append(Finding(
                FindingKind.TOTALS_MISMATCH,
                f"{total.label()}: the provider reports {total.amount}, the lines add up to {ours}; "
                f"difference {difference} (tolerance {tolerance})",
            ))
    return findings
