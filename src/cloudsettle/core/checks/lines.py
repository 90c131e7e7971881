"""Checks across lines: repeats of one identity, and refunds whose original is unknown.

Ingestion already counts a repeated row once; these checks say so as
findings on any collection of lines (a batch, or a period's lines at settle).
"""

from __future__ import annotations

from collections.abc import Iterable

from cloudsettle.core.findings import Finding, FindingKind
from cloudsettle.core.lines import BillingLine


def check_duplicates(lines: Iterable[BillingLine]) -> list[Finding]:
    """A ``duplicate_line`` finding for each repeat of a line identity in ``lines``."""
    seen: set[tuple[str, str]] = set()
    findings: list[Finding] = []
    for line in lines:
        key = (line.provider, line.line_id)
        if key in seen:
            findings.append(Finding(FindingKind.DUPLICATE_LINE,
                                    f"line {line.provider}:{line.line_id} appears more than once",
                                    line_id=line.line_id))
        seen.add(key)
    return findings


def check_refunds(lines: Iterable[BillingLine], known: set[tuple[str, str]]) -> list[Finding]:
    """An ``unlinked_refund`` finding for each line naming an original that is not in
    ``known`` (keys ``(provider, line_id)``)."""
    findings: list[Finding] = []
    for line in lines:
        if line.original_line_id is None:
            continue
        if (line.provider, line.original_line_id) not in known:
            findings.append(Finding(
                FindingKind.UNLINKED_REFUND,
                f"refund {line.provider}:{line.line_id} names original {line.original_line_id}, "
                "which is not in the store",
                line_id=line.line_id,
            ))
    return findings
