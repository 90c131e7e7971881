"""The normalized billing line, aligned with FOCUS 1.2 (spec: provider-files.md).

Every provider format becomes this one shape; provider columns without a FOCUS
home stay in ``extras``. Amounts are exact, signed, in the line's ``currency``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from types import MappingProxyType

from cloudsettle.core.money import ZERO


class ChargeCategory(StrEnum):
    """FOCUS ``ChargeCategory``, in the spec's lower-case words."""

    USAGE = "usage"
    PURCHASE = "purchase"
    TAX = "tax"
    CREDIT = "credit"
    ADJUSTMENT = "adjustment"


class BillingMode(StrEnum):
    """How the line was priced (close to FOCUS ``PricingCategory``)."""

    SUBSCRIPTION = "subscription"
    ON_DEMAND = "on_demand"
    RESERVED = "reserved"
    SAVINGS_PLAN = "savings_plan"
    OTHER = "other"


_NO_EXTRAS: Mapping[str, str] = MappingProxyType({})


@dataclass(frozen=True, slots=True)
class BillingLine:
    """One billing line as cloudsettle understands it.

    Attributes:
      line_id: the provider's identity of the row (or a stable hash of its
        identifying columns, never of its amounts).
      provider: ``tencent``, ``huawei`` or a FOCUS provider key.
      account_id: the customer's account (owner UIN, Huawei customer id).
      charge_start: when use began (aware, UTC).
      charge_end: when use ended (aware, UTC); equal to start for a point charge.
      billing_period: first day of the provider's bill month.
      list_amount: list price cost.
      discount_amount: list minus the price after discounts.
      voucher_amount: vouchers, coupons and credits deducted.
      tax_amount: tax on the line.
      currency: ISO 4217 code.
      service: the provider's product code or name.
      service_category: FOCUS service category.
      charge_category: usage, purchase, tax, credit or adjustment.
      billing_mode: subscription, on_demand, ...
      region, project, resource_id, invoice_id, payer_account_id: as in FOCUS.
      is_correction: corrects an already invoiced period.
      paid_at: when it was paid or deducted (aware, UTC), if known.
      original_line_id: for a refund or correction, the line it reverses.
      extras: provider columns kept as they came (``x_`` columns in FOCUS).
    """

    line_id: str
    provider: str
    account_id: str
    charge_start: datetime
    charge_end: datetime
    billing_period: date
    list_amount: Decimal
    currency: str
    discount_amount: Decimal = ZERO
    voucher_amount: Decimal = ZERO
    tax_amount: Decimal = ZERO
    service: str = ""
    service_category: str = ""
    charge_category: ChargeCategory = ChargeCategory.USAGE
    billing_mode: BillingMode = BillingMode.OTHER
    region: str = ""
    project: str = ""
    resource_id: str = ""
    invoice_id: str = ""
    payer_account_id: str = ""
    is_correction: bool = False
    paid_at: datetime | None = None
    original_line_id: str | None = None
    # default_factory: Python 3.11 refuses an unhashable mappingproxy as a plain default.
    extras: Mapping[str, str] = field(default_factory=lambda: _NO_EXTRAS, compare=False)

    def __post_init__(self) -> None:
        for name in ("list_amount", "discount_amount", "voucher_amount", "tax_amount"):
            if not isinstance(getattr(self, name), Decimal):
                raise TypeError(f"BillingLine.{name} must be a Decimal")
        for name in ("charge_start", "charge_end"):
            if getattr(self, name).tzinfo is None:
                raise ValueError(f"BillingLine.{name} must be timezone-aware")
        if self.charge_end < self.charge_start:
            raise ValueError(f"line {self.line_id}: charge_end is before charge_start")

    @property
    def customer(self) -> tuple[str, str]:
        """The customer key ``(provider, account_id)``."""
        return (self.provider, self.account_id)

    @property
    def billed_amount(self) -> Decimal:
        """What the provider charged after discounts (FOCUS ``BilledCost``)."""
        return self.list_amount - self.discount_amount

    @property
    def duration_seconds(self) -> Decimal:
        """Length of ``[charge_start, charge_end)`` in seconds, exactly."""
        delta = self.charge_end - self.charge_start
        return Decimal(delta.days * 86400 + delta.seconds) + Decimal(delta.microseconds).scaleb(-6)

    def content_key(self) -> tuple[object, ...]:
        """Everything that makes two versions of this line differ (revision test)."""
        return tuple(getattr(self, name) for name in _CONTENT_FIELDS)


_CONTENT_FIELDS = tuple(
    name for name in BillingLine.__dataclass_fields__ if name not in ("extras",)
)
