"""Findings: business problems as values.

A check or a settlement step returns findings instead of raising, so one run
reports every problem at once; the workflow turns each into a case.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class FindingKind(StrEnum):
    """The spec's names for what can be wrong."""

    MISSING_DEAL = "missing_deal"
    AMBIGUOUS_DEAL = "ambiguous_deal"
    NO_AGREEMENT_VERSION = "no_agreement_version"
    MISSING_FX_RATE = "missing_fx_rate"
    NO_RULE = "no_rule"
    UNLINKED_REFUND = "unlinked_refund"
    DUPLICATE_LINE = "duplicate_line"
    BAD_ROW = "bad_row"
    TOTALS_MISMATCH = "totals_mismatch"
    PAYEE_NOT_VERIFIED = "payee_not_verified"
    # Raised by the validation checks (core/checks, issue 4).
    INCOMPLETE_LINE = "incomplete_line"
    OUTSIDE_BILL_MONTH = "outside_bill_month"
    SOURCE_DRIFT = "source_drift"
    VOLUME_DRIFT = "volume_drift"


#: Findings that stop a statement from being approved until they are resolved.
BLOCKING: frozenset[FindingKind] = frozenset({
    FindingKind.AMBIGUOUS_DEAL,
    FindingKind.NO_AGREEMENT_VERSION,
    FindingKind.MISSING_FX_RATE,
    FindingKind.NO_RULE,
    FindingKind.UNLINKED_REFUND,
})


@dataclass(frozen=True, slots=True)
class Finding:
    """One problem, with enough context to find and fix it.

    Attributes:
      kind: what is wrong.
      message: a sentence for a person.
      line_id: the billing line concerned, if any.
      partner_id: the partner whose statement it holds back, if any.
      agreement_id: the agreement concerned, if any.
    """

    kind: FindingKind
    message: str
    line_id: str | None = None
    partner_id: str | None = None
    agreement_id: str | None = None

    @property
    def blocking(self) -> bool:
        """Whether it holds a statement back from approval."""
        return self.kind in BLOCKING
