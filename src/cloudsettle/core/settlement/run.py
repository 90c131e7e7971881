"""A settlement run: every statement of one period, and the findings around them.

The run decides which agreements a period applies to (those whose governing
version has the period's cycle), recomputes finalized statements for
prior-period adjustments (step 9), and reports the mapping findings.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from cloudsettle.core.agreements import AgreementVersion
from cloudsettle.core.findings import Finding, FindingKind
from cloudsettle.core.money import ZERO
from cloudsettle.core.periods import Cycle, Period, parse_period
from cloudsettle.core.settlement.base import counts
from cloudsettle.core.settlement.book import MappedBook
from cloudsettle.core.settlement.model import History, ManualAdjustment, PriorPeriodAdjustment, Statement
from cloudsettle.core.settlement.prior_period import prior_period_adjustment
from cloudsettle.core.settlement.select import Membership, membership
from cloudsettle.core.settlement.statement import settle_statement


@dataclass(frozen=True, slots=True)
class FinalizedStatement:
    """What step 9 needs to know of a finalized statement.

    Attributes:
      period: its period name.
      version: the agreement version number that governed it.
      earned: its finalized ``earned``.
      already_adjusted: prior-period adjustments already finalized for that period.
    """

    period: str
    version: int
    earned: Decimal
    already_adjusted: Decimal = ZERO


@dataclass(frozen=True)
class RunResult:
    """The statements of one period and every finding the run raised."""

    period_name: str
    statements: tuple[Statement, ...]
    findings: tuple[Finding, ...] = field(default_factory=tuple)


def period_for(version: AgreementVersion, period_name: str) -> Period | None:
    """The period ``period_name`` in the version's cycle, or None when the name is of
    another cycle (a weekly agreement is not settled by ``--period 2026-10``)."""
    try:
        period = parse_period(period_name, anchor=version.cycle_anchor)
    except ValueError:
        return None
    if period.cycle is not version.cycle:
        return None
    if version.cycle is Cycle.BIWEEKLY and version.cycle_anchor is None:
        return None
    return period


def applies(book: MappedBook, agreement_id: str, period_name: str) -> tuple[Period, AgreementVersion] | None:
    """The period and governing version when ``period_name`` is a period of this agreement."""
    agreement = book.agreement(agreement_id)
    period = period_for(agreement.reference_version, period_name)
    if period is None:
        return None
    version = agreement.version_for(period)
    if version is None:
        return None
    period = period_for(version, period_name)
    return (period, version) if period else None


def prior_period_adjustments(
    book: MappedBook, agreement_id: str, finalized: Sequence[FinalizedStatement]
) -> tuple[PriorPeriodAdjustment, ...]:
    """Step 9: recompute each finalized statement with the version that governed it and
    carry the difference not yet adjusted."""
    agreement = book.agreement(agreement_id)
    out: list[PriorPeriodAdjustment] = []
    for fin in finalized:
        version = agreement.version_numbered(fin.version)
        if version is None:
            continue
        period = parse_period(fin.period, anchor=version.cycle_anchor)
        again = settle_statement(book, agreement_id=agreement_id, period=period, version=version)
        recomputed = again.components.earned if again else ZERO
        ppa = prior_period_adjustment(fin.period, earned_finalized=fin.earned,
                                      earned_recomputed=recomputed, already_adjusted=fin.already_adjusted)
        if ppa is not None:
            out.append(ppa)
    return tuple(out)


def settle_period(
    book: MappedBook,
    period_name: str,
    *,
    partner_id: str | None = None,
    carried_in: Mapping[str, Decimal] | None = None,
    finalized: Mapping[str, Sequence[FinalizedStatement]] | None = None,
    adjustments: Mapping[str, Sequence[ManualAdjustment]] | None = None,
    skip: frozenset[str] = frozenset(),
) -> RunResult:
    """Every statement of ``period_name`` (optionally of one partner).

    ``carried_in``, ``finalized`` and ``adjustments`` are keyed by agreement id and
    come from the control store; ``skip`` names agreements whose statement for
    this period is already finalized (it never changes).
    """
    statements: list[Statement] = []
    findings: list[Finding] = mapping_findings(book, period_name)
    for agreement_id in sorted(book.book.agreements):
        agreement = book.agreement(agreement_id)
        if partner_id is not None and agreement.partner_id != partner_id:
            continue
        if agreement_id in skip:
            continue
        chosen = applies(book, agreement_id, period_name)
        if chosen is None:
            findings.extend(_no_version(book, agreement_id, period_name))
            continue
        period, version = chosen
        history = History(
            carried_in=(carried_in or {}).get(agreement_id, ZERO),
            prior_period_adjustments=prior_period_adjustments(
                book, agreement_id, (finalized or {}).get(agreement_id, ())),
        )
        statement = settle_statement(book, agreement_id=agreement_id, period=period, version=version,
                                     history=history, adjustments=(adjustments or {}).get(agreement_id, ()))
        if statement is not None:
            statements.append(statement)
            findings.extend(statement.findings)
    return RunResult(period_name, tuple(statements), tuple(dict.fromkeys(findings)))


def mapping_findings(book: MappedBook, period_name: str) -> list[Finding]:
    """The deal findings of the lines that belong to this period: billed in it, or charged
    in it (UTC date; an unmapped line has no agreement to lend it a time zone)."""
    try:
        period = parse_period(period_name, anchor=None)
    except ValueError:
        return list(book.findings)
    return [f for line, f in book.line_findings
            if period.contains(line.billing_period) or period.contains(line.charge_start.date())]


def _no_version(book: MappedBook, agreement_id: str, period_name: str) -> list[Finding]:
    """A ``no_agreement_version`` finding when the agreement has lines in a period of its
    cycle that no version governs yet."""
    agreement = book.agreement(agreement_id)
    ref = agreement.reference_version
    period = period_for(ref, period_name)
    if period is None or agreement.version_for(period) is not None:
        return []
    has_lines = any(
        p.deal is not None and p.deal.agreement_id == agreement_id and counts(p.line, ref)
        and membership(p.line, ref, period) is Membership.IN
        for p in book.parts
    )
    if not has_lines:
        return []
    return [Finding(FindingKind.NO_AGREEMENT_VERSION,
                    f"agreement {agreement_id} has no version effective on or before {period.start}: "
                    f"its lines of {period_name} pay nothing", partner_id=agreement.partner_id,
                    agreement_id=agreement_id)]
