"""Completeness: the fields a line needs before it can be mapped and rated.

Which fields are required depends on the provider and the charge category: a
usage line without a service cannot be rated, a refund without the account
cannot be mapped. The rules are a plain mapping so a workspace can tighten them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from cloudsettle.core.findings import Finding, FindingKind
from cloudsettle.core.lines import BillingLine

#: ``(provider or "*", charge category or "*") -> required BillingLine fields``. The
#: entries that match a line (exact key or ``*``) add up.
DEFAULT_REQUIRED: Mapping[tuple[str, str], tuple[str, ...]] = {
    ("*", "*"): ("account_id", "currency"),
    ("*", "usage"): ("service",),
    ("*", "purchase"): ("service",),
    ("tencent", "*"): ("billing_period",),
    ("huawei", "*"): ("billing_period",),
}


def required_fields(
    line: BillingLine, rules: Mapping[tuple[str, str], tuple[str, ...]] = DEFAULT_REQUIRED
) -> tuple[str, ...]:
    """The fields ``rules`` require of this line, in a stable order without repeats."""
    out: list[str] = []
    for provider in ("*", line.provider):
        for category in ("*", line.charge_category.value):
            for name in rules.get((provider, category), ()):
                if name not in out:
                    out.append(name)
    return tuple(out)


def check_completeness(
    lines: Iterable[BillingLine], rules: Mapping[tuple[str, str], tuple[str, ...]] = DEFAULT_REQUIRED
) -> list[Finding]:
    """An ``incomplete_line`` finding per line that leaves a required field empty."""
    findings: list[Finding] = []
    for line in lines:
        missing = [name for name in required_fields(line, rules) if getattr(line, name) in ("", None)]
        if missing:
            findings.append(Finding(
                FindingKind.INCOMPLETE_LINE,
                f"line {line.provider}:{line.line_id} ({line.charge_category.value}) has no "
                + ", ".join(missing),
                line_id=line.line_id,
            ))
    return findings
