"""Partner agreements and their numbered versions (spec: Agreement versions).

A version is immutable once a statement used it; a change is a new version.
The governing version of a period is the newest whose ``effective_from`` is on
or before the period's first day.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from enum import StrEnum
from types import MappingProxyType

from cloudsettle.core.money import RoundingMode
from cloudsettle.core.periods import Cycle, Period


class Basis(StrEnum):
    """Which lines belong to a period."""

    BILLING_PERIOD = "billing_period"
    CHARGE = "charge"
    PAYMENT = "payment"


class Base(StrEnum):
    """Which amount of a line is commissionable."""

    LIST = "list"
    NET = "net"
    CASH = "cash"


class FxDate(StrEnum):
    """Which date picks the FX rate."""

    CHARGE = "charge"
    PERIOD_END = "period_end"


class TierMethod(StrEnum):
    """How tier bands pay their uplift (spec step 4)."""

    MARGINAL = "marginal"
    RETROACTIVE = "retroactive"


class RoundingLevel(StrEnum):
    """Where rounding happens (spec step 10)."""

    STATEMENT = "statement"
    LINE = "line"


class AgreementMode(StrEnum):
    """``live`` agreements pay; ``shadow`` ones are computed and compared, never paid."""

    LIVE = "live"
    SHADOW = "shadow"


#: The line attributes a rule's ``match`` may name (spec step 3).
MATCH_KEYS: tuple[str, ...] = (
    "service", "service_category", "region", "charge_category", "billing_mode",
    "project", "customer_segment",
)


@dataclass(frozen=True, slots=True)
class Rule:
    """One entry of a version's ordered ``rules``: first match wins.

    Attributes:
      id: stable name shown on statements.
      rate: commission fraction, e.g. ``0.08``.
      match: attribute name -> accepted values; empty accepts every line.
      valid_from, valid_to: optional half-open window on the line's charge date.
    """

    id: str
    rate: Decimal
    match: Mapping[str, frozenset[str]] = field(default_factory=lambda: MappingProxyType({}))
    valid_from: date | None = None
    valid_to: date | None = None

    def valid_on(self, day: date) -> bool:
        """Whether ``day`` lies in ``[valid_from, valid_to)``."""
        return (self.valid_from is None or self.valid_from <= day) and (
            self.valid_to is None or day < self.valid_to
        )


@dataclass(frozen=True, slots=True)
class Band:
    """A tier band: from ``start`` (the spec's ``from``) the rate earns ``uplift`` more."""

    start: Decimal
    uplift: Decimal


@dataclass(frozen=True, slots=True)
class Tiers:
    """Volume tiers: strictly ascending bands and how they pay."""

    method: TierMethod
    bands: tuple[Band, ...]


@dataclass(frozen=True, slots=True)
class Fee:
    """A deduction: ``percent`` of the capped amount, or a ``fixed`` amount."""

    id: str
    percent: Decimal | None = None
    fixed: Decimal | None = None


@dataclass(frozen=True, slots=True)
class Clawback:
    """How refunds of earlier periods are taken back (spec step 5)."""

    share: Decimal = Decimal(1)
    window_days: int | None = None


@dataclass(frozen=True, slots=True)
class Rounding:
    """Rounding mode and level (spec step 10)."""

    mode: RoundingMode = RoundingMode.HALF_UP
    level: RoundingLevel = RoundingLevel.STATEMENT


@dataclass(frozen=True, slots=True)
class AgreementVersion:
    """One numbered, immutable version of an agreement: everything a statement needs."""

    version: int
    effective_from: date
    currency: str
    rules: tuple[Rule, ...] = ()
    timezone: str = "UTC"
    cycle: Cycle = Cycle.MONTHLY
    cycle_anchor: date | None = None
    basis: Basis = Basis.BILLING_PERIOD
    base: Base = Base.NET
    include_tax: bool = False
    prorate: bool = False
    fx_date: FxDate = FxDate.CHARGE
    require_rule: bool = False
    exclude_services: frozenset[str] = frozenset()
    tiers: Tiers | None = None
    cap: Decimal | None = None
    floor: Decimal | None = None
    fees: tuple[Fee, ...] = ()
    clawback: Clawback = Clawback()
    rounding: Rounding = Rounding()


@dataclass(frozen=True, slots=True)
class Agreement:
    """A partner's commission contract with its versions, oldest first."""

    id: str
    partner_id: str
    versions: tuple[AgreementVersion, ...]
    mode: AgreementMode = AgreementMode.LIVE

    def version_for(self, period: Period) -> AgreementVersion | None:
        """The newest version effective on or before the period's first day, or None."""
        return version_effective_on(self.versions, period.start)

    def version_numbered(self, number: int) -> AgreementVersion | None:
        """The version with this number, or None."""
        return next((v for v in self.versions if v.version == number), None)

    @property
    def reference_version(self) -> AgreementVersion:
        """The first version: its time zone and cycle name the agreement's periods
        before any period is chosen (a decision recorded in docs/decisions)."""
        return min(self.versions, key=lambda v: v.effective_from)


def version_effective_on(versions: Sequence[AgreementVersion], day: date) -> AgreementVersion | None:
    """The newest of ``versions`` whose ``effective_from`` is on or before ``day``."""
    eligible = [v for v in versions if v.effective_from <= day]
    return max(eligible, key=lambda v: (v.effective_from, v.version)) if eligible else None
