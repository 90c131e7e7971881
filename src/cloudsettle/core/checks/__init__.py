"""Validation checks: small pure functions from lines (and the provider's own figures) to
findings, run on every ingest and every settle (issue 4; ``docs/validation.md``).

Each check reads only what it is given and returns :class:`~cloudsettle.core.findings.Finding`
values; the services decide where the inputs come from and what a finding becomes (a
recorded finding, a case).
"""

from __future__ import annotations

from cloudsettle.core.checks.completeness import DEFAULT_REQUIRED, check_completeness
from cloudsettle.core.checks.consistency import ReportedTotal, check_totals
from cloudsettle.core.checks.drift import check_columns, check_volume
from cloudsettle.core.checks.lines import check_duplicates, check_refunds
from cloudsettle.core.checks.window import check_time_window

__all__ = [
    "DEFAULT_REQUIRED",
    "ReportedTotal",
    "check_columns",
    "check_completeness",
    "check_duplicates",
    "check_refunds",
    "check_time_window",
    "check_totals",
    "check_volume",
]
