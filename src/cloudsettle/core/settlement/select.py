"""Step 1, Select: which lines belong to a period, by the version's ``basis``.

- ``billing_period``: the provider's bill month falls in the period;
- ``charge``: the local charge date falls in the period;
- ``payment``: the local date of ``paid_at`` falls in the period; a line not
  yet paid whose charge date falls in the period waits as ``deferred``.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum

from cloudsettle.core.agreements import AgreementVersion, Basis
from cloudsettle.core.lines import BillingLine
from cloudsettle.core.periods import Period, local_date, period_containing


class Membership(StrEnum):
    """How a line relates to a period."""

    IN = "in"
    OUT = "out"
    DEFERRED = "deferred"


def charge_date(line: BillingLine, version: AgreementVersion) -> date:
    """The line's charge date: the local date of ``charge_start`` in the version's zone."""
    return local_date(line.charge_start, version.timezone)


def basis_date(line: BillingLine, version: AgreementVersion) -> date | None:
    """The date that places the line in a period under the version's basis (None: unpaid)."""
    if version.basis is Basis.BILLING_PERIOD:
        return line.billing_period
    if version.basis is Basis.CHARGE:
        return charge_date(line, version)
    return local_date(line.paid_at, version.timezone) if line.paid_at else None


def membership(line: BillingLine, version: AgreementVersion, period: Period) -> Membership:
    """Whether ``line`` is selected in ``period``, waits (``deferred``), or is out."""
    day = basis_date(line, version)
    if day is not None:
        return Membership.IN if period.contains(day) else Membership.OUT
    return Membership.DEFERRED if period.contains(charge_date(line, version)) else Membership.OUT


def line_period(line: BillingLine, version: AgreementVersion) -> Period:
    """The period of the version's cycle that the line belongs to (an unpaid line: by
    its charge date). Used to find the version that governed an original line."""
    day = basis_date(line, version) or charge_date(line, version)
    return period_containing(day, version.cycle, version.cycle_anchor)
