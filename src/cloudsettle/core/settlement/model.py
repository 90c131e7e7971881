"""What the reference engine takes and returns: inputs, statement lines, statements.

All frozen; the steps of the spec (one module each) pass these along.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from cloudsettle.core.agreements import AgreementVersion
from cloudsettle.core.findings import Finding
from cloudsettle.core.lines import BillingLine
from cloudsettle.core.money import ZERO
from cloudsettle.core.periods import Period


class Reason(StrEnum):
    """Why a line earns what it earns; shown beside the line on a statement."""

    EXCLUDED = "excluded"
    NO_RULE = "no_rule"
    MISSING_FX_RATE = "missing_fx_rate"
    OUTSIDE_CLAWBACK_WINDOW = "outside_clawback_window"
    CLAWBACK = "clawback"
    SAME_PERIOD_REFUND = "same_period_refund"
    UNLINKED_REFUND = "unlinked_refund"
    CLAWBACK_ELSEWHERE = "clawback_elsewhere"
    CREDIT_IGNORED = "credit_ignored"
    PRORATED = "prorated"
    DEFERRED = "deferred"
    ORIGINAL_NOT_PAID = "original_not_paid"


class LineRole(StrEnum):
    """Which component a statement line feeds."""

    COMMISSION = "commission"
    CLAWBACK = "clawback"
    DEFERRED = "deferred"


@dataclass(frozen=True, slots=True)
class StatementLine:
    """One line's contribution to a statement, with everything ``explain`` needs.

    Attributes:
      line: the billing line.
      role: commission, clawback, or deferred (payment basis, not yet paid).
      fraction: the share of the line counted here (1 unless prorated).
      deal_id: the deal that maps it (for a clawback: the original's deal).
      base: commissionable amount in the statement currency, exact (after
        fraction and FX).
      fx_rate: the rate used, or None when no conversion was needed.
      rule_id: the rule that gave the rate (for a clawback: the original's rule).
      rate: the fraction applied (for a clawback: ``share × original_rate``).
      amount: exact commission or clawback of the line (before rounding).
      shown: the amount shown on the statement: rounded and allocated so the
        lines add up to their component (spec step 10).
      tier_uplift: exact uplift attributed to this line (step 4).
      tier_uplift_shown: the uplift shown, allocated like ``shown``.
      reasons: reason codes.
      original_line_id: for a refund, the original line.
    """

    line: BillingLine
    role: LineRole
    fraction: Decimal
    deal_id: str
    base: Decimal
    fx_rate: Decimal | None
    rule_id: str | None
    rate: Decimal
    amount: Decimal
    shown: Decimal = ZERO
    tier_uplift: Decimal = ZERO
    tier_uplift_shown: Decimal = ZERO
    reasons: tuple[Reason, ...] = ()
    original_line_id: str | None = None


@dataclass(frozen=True, slots=True)
class ManualAdjustment:
    """A user's adjustment to a statement that is not finalized (spec step 8)."""

    id: str
    amount: Decimal
    reason: str
    created_by: str
    created_at: datetime | None = None
    evidence: str | None = None


@dataclass(frozen=True, slots=True)
class PriorPeriodAdjustment:
    """A correction of a finalized period carried into this statement (spec step 9).

    Attributes:
      corrects_period: name of the period it corrects.
      earned_finalized: the finalized statement's earned amount.
      earned_recomputed: the same statement recomputed with today's lines.
      already_adjusted: what earlier prior-period adjustments paid for that period.
      amount: ``earned_recomputed − earned_finalized − already_adjusted``.
    """

    corrects_period: str
    earned_finalized: Decimal
    earned_recomputed: Decimal
    already_adjusted: Decimal
    amount: Decimal


@dataclass(frozen=True, slots=True)
class Components:
    """The statement components, each rounded as in spec step 10."""

    commission: Decimal = ZERO
    tier_uplift: Decimal = ZERO
    clawback: Decimal = ZERO
    cap_adjustment: Decimal = ZERO
    fees: Decimal = ZERO
    manual_adjustment: Decimal = ZERO
    prior_period_adjustment: Decimal = ZERO
    carried_in: Decimal = ZERO
    carried_out: Decimal = ZERO
    payable: Decimal = ZERO

    @property
    def earned(self) -> Decimal:
        """``commission + tier_uplift + clawback + cap_adjustment + fees`` (step 9)."""
        return self.commission + self.tier_uplift + self.clawback + self.cap_adjustment + self.fees

    @property
    def net(self) -> Decimal:
        """Everything before carry-forward is decided (step 11)."""
        return (self.earned + self.manual_adjustment + self.prior_period_adjustment
                + self.carried_in)


COMPONENT_NAMES: tuple[str, ...] = (
    "commission", "tier_uplift", "clawback", "cap_adjustment", "fees", "manual_adjustment",
    "prior_period_adjustment", "carried_in", "carried_out", "payable",
)


@dataclass(frozen=True, slots=True)
class History:
    """What the control store knows of earlier statements of one partner and agreement.

    Attributes:
      carried_in: ``carried_out`` of the latest finalized statement (step 11).
      prior_period_adjustments: corrections to carry into this statement (step 9).
    """

    carried_in: Decimal = ZERO
    prior_period_adjustments: tuple[PriorPeriodAdjustment, ...] = ()


@dataclass(frozen=True, slots=True)
class Statement:
    """One partner's statement for one agreement and period.

    Attributes:
      partner_id, agreement_id, period, version: what it covers and which
        agreement version governed it.
      currency: the statement currency.
      components: the rounded components.
      base_total: the tier measure.
      billed_total: what the provider billed for the selected lines after
        discounts, in the statement currency.
      lines: commission, clawback and deferred lines, in ``(charge_start, line_id)`` order.
      manual_adjustments, prior_period_adjustments: the entries behind those components.
      findings: problems that concern this statement.
      unrounded: the exact components before step 10, for explain.
    """

    partner_id: str
    agreement_id: str
    period: Period
    version: AgreementVersion
    currency: str
    components: Components
    base_total: Decimal
    billed_total: Decimal
    lines: tuple[StatementLine, ...] = ()
    manual_adjustments: tuple[ManualAdjustment, ...] = ()
    prior_period_adjustments: tuple[PriorPeriodAdjustment, ...] = ()
    findings: tuple[Finding, ...] = ()
    unrounded: dict[str, Decimal] = field(default_factory=dict)

    @property
    def blocked(self) -> bool:
        """Whether a finding holds it back from approval."""
        return any(f.blocking for f in self.findings)
