"""Source drift: a provider file or API that changes shape or volume.

Before anything is settled on a new batch, its columns are compared with the
previous batch of the same source, and each customer's volume with its
trailing average: a column that appears or disappears, or a customer whose
volume moves by more than ``factor`` either way, is a finding.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal

from cloudsettle.core.findings import Finding, FindingKind
from cloudsettle.core.money import EXACT, ZERO


def check_columns(source: str, columns: Sequence[str], previous: Sequence[str] | None) -> list[Finding]:
    """A ``source_drift`` finding when ``columns`` differ from the previous batch's
    (None: the first batch of this source, nothing to compare)."""
    if previous is None:
        return []
    added = [c for c in columns if c not in previous]
    removed = [c for c in previous if c not in columns]
    if not added and not removed:
        return []
    parts = []
    if added:
        parts.append("new columns " + ", ".join(added))
    if removed:
        parts.append("missing columns " + ", ".join(removed))
    return [Finding(FindingKind.SOURCE_DRIFT, f"{source} changed shape since its previous batch: "
                    + "; ".join(parts))]


def trailing_average(history: Sequence[Decimal]) -> Decimal:
    """The plain mean of the earlier periods' volumes (exact)."""
    if not history:
        return ZERO
    total = ZERO
    for value in history:
        total += value
    return EXACT.divide(total, Decimal(len(history)))


def check_volume(
    source: str,
    current: Mapping[str, Decimal],
    history: Mapping[str, Sequence[Decimal]],
    *,
    factor: Decimal,
    min_periods: int = 1,
) -> list[Finding]:
    """A ``volume_drift`` finding for each customer whose volume this period is more than
    ``factor`` times its trailing average, or less than the average divided by ``factor``.

    ``current`` and ``history`` hold absolute volumes per account; a customer with fewer
    than ``min_periods`` earlier periods, or a zero average, has no baseline yet.
    """
    if factor <= 1:
        raise ValueError(f"drift factor must be above 1, not {factor}")
    findings: list[Finding] = []
    for account in sorted(current):
        past = history.get(account, ())
        if len(past) < min_periods:
            continue
        average = trailing_average(past)
        if average <= ZERO:
            continue
        now = current[account]
        if now > average * factor or now * factor < average:
            ratio = EXACT.divide(now, average).quantize(Decimal("0.01"))
            findings.append(Finding(
                FindingKind.VOLUME_DRIFT,
                f"{source} customer {account}: volume {now} is {ratio}x its trailing average "
                f"{average.quantize(Decimal('0.01'))} over {len(past)} period(s) (limit {factor}x)",
            ))
    return findings
