"""Time window: a line whose charge date falls outside the bill month it claims.

Charge dates are read in the provider's home zone (a Tencent line charged at
00:30 on 1 November, Beijing time, is November's). A correction
(``is_correction``) restates an earlier period on purpose and is exempt; a
line whose ``[charge_start, charge_end)`` overlaps the claimed month at all (a
subscription that runs across the month's edge) is in it. Providers bill a charge
made in the last days before a month with that month (a Tencent prepaid purchase
on 30 September is October's bill), so a line that ends up to ``slack_days``
before the month's first day is in it too (default 3).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import timedelta

from cloudsettle.core.findings import Finding, FindingKind
from cloudsettle.core.lines import BillingLine
from cloudsettle.core.periods import local_date

#: Providers' home zones; any other provider's times are read in UTC.
HOME_ZONES: Mapping[str, str] = {"tencent": "Asia/Shanghai", "huawei": "Asia/Shanghai"}


def _month_key(year: int, month: int) -> int:
    return year * 12 + month - 1


def check_time_window(
    lines: Iterable[BillingLine], *, zones: Mapping[str, str] = HOME_ZONES, slack_days: int = 3
) -> list[Finding]:
    """An ``outside_bill_month`` finding per line whose charge falls outside its bill month."""
    findings: list[Finding] = []
    for line in lines:
        if line.is_correction:
            continue
        zone = zones.get(line.provider, "UTC")
        start = local_date(line.charge_start, zone)
        last_instant = line.charge_end - timedelta(microseconds=1)
        end = local_date(last_instant, zone) if line.charge_end > line.charge_start else start
        claimed = _month_key(line.billing_period.year, line.billing_period.month)
        first = _month_key(start.year, start.month)
        last = _month_key(end.year, end.month)
        if first <= claimed <= last:
            continue
        if last == claimed - 1 and (line.billing_period - end).days <= slack_days:
            continue
        findings.append(Finding(
            FindingKind.OUTSIDE_BILL_MONTH,
            f"line {line.provider}:{line.line_id} claims bill month {line.billing_period:%Y-%m} but was "
            f"charged {start.isoformat()}" + (f" to {end.isoformat()}" if end != start else "")
            + f" ({zone})",
            line_id=line.line_id,
        ))
    return findings
