"""Step 2, Base: a line's commissionable amount, converted to the statement currency.

| base | amount |
| list | list_amount |
| net  | list_amount − discount_amount |
| cash | list_amount − discount_amount − voucher_amount |

Tax lines are ignored altogether; credit lines count only under ``cash``;
excluded services get base 0; ``include_tax`` adds the line's tax. Conversion
keeps full precision (nothing is rounded before step 10).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from cloudsettle.core.agreements import AgreementVersion, Base, FxDate
from cloudsettle.core.fx import FxTable
from cloudsettle.core.lines import BillingLine, ChargeCategory
from cloudsettle.core.money import ZERO
from cloudsettle.core.periods import Period
from cloudsettle.core.settlement.model import Reason
from cloudsettle.core.settlement.select import charge_date


@dataclass(frozen=True, slots=True)
class LineBase:
    """The base of one line (or part) in the statement currency.

    Attributes:
      base: commissionable amount, exact, after fraction and FX (0 when excluded
        or when no FX rate exists).
      billed: list − discount after fraction and FX (``billed_total``).
      fx_rate: the rate used; None when the line is already in the statement currency.
      missing_fx: no rate was found: the line pays nothing until one is added.
      reasons: ``excluded`` or ``missing_fx_rate`` when they apply.
    """

    base: Decimal
    billed: Decimal
    fx_rate: Decimal | None
    missing_fx: bool = False
    reasons: tuple[Reason, ...] = ()


def counts(line: BillingLine, version: AgreementVersion) -> bool:
    """Whether the line takes part at all: tax lines never, credit lines only under cash."""
    if line.charge_category is ChargeCategory.TAX:
        return False
    return line.charge_category is not ChargeCategory.CREDIT or version.base is Base.CASH


def raw_base(line: BillingLine, version: AgreementVersion) -> Decimal:
    """The base in the line's own currency, before fraction and FX (spec step 2 table)."""
    if version.base is Base.LIST:
        amount = line.list_amount
    elif version.base is Base.NET:
        amount = line.list_amount - line.discount_amount
    else:
        amount = line.list_amount - line.discount_amount - line.voucher_amount
    return amount + line.tax_amount if version.include_tax else amount


def fx_day(line: BillingLine, version: AgreementVersion, period: Period) -> date:
    """The date whose FX rate converts the line: its charge date or the period's last day."""
    return period.end if version.fx_date is FxDate.PERIOD_END else charge_date(line, version)


def line_base(
    line: BillingLine, version: AgreementVersion, period: Period, fx: FxTable, fraction: Decimal
) -> LineBase:
    """Base and billed amount of ``fraction`` of ``line`` in the statement currency."""
    rate = fx.rate(line.currency, version.currency, fx_day(line, version, period))
    shown_rate = None if line.currency == version.currency else rate
    if rate is None:
        return LineBase(ZERO, ZERO, None, missing_fx=True, reasons=(Reason.MISSING_FX_RATE,))
    billed = line.billed_amount * fraction * rate
    if line.service in version.exclude_services:
        return LineBase(ZERO, billed, shown_rate, reasons=(Reason.EXCLUDED,))
    return LineBase(raw_base(line, version) * fraction * rate, billed, shown_rate)
