"""Deal resolution: which partner and agreement a billing line belongs to (spec: Parties).

A line belongs to the deal whose customer matches, whose optional service scope
contains the line's service, and whose window contains the line's charge date
(local date in the deal agreement's time zone). With ``prorate`` the line is
split at the local midnights where deal windows begin or end, and each part
belongs to whichever deal covers it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from itertools import pairwise

from cloudsettle.core.agreements import Agreement, AgreementVersion, version_effective_on
from cloudsettle.core.findings import Finding, FindingKind
from cloudsettle.core.lines import BillingLine
from cloudsettle.core.money import EXACT
from cloudsettle.core.parties import Deal
from cloudsettle.core.periods import local_date, local_midnight

ONE = Decimal(1)


@dataclass(frozen=True, slots=True)
class LinePart:
    """A line, or the part of it that one deal covers.

    Attributes:
      line: the billing line.
      deal: the deal it belongs to, or None when no single deal covers it.
      start, end: the sub-interval of ``[charge_start, charge_end)`` it covers.
      fraction: its share of the line's duration (1 for a whole line).
    """

    line: BillingLine
    deal: Deal | None
    start: datetime
    end: datetime
    fraction: Decimal = ONE


def agreement_version_on(agreement: Agreement, instant: datetime) -> AgreementVersion:
    """The version in force at ``instant`` for reading its time zone and ``prorate``
    before a period is chosen: the newest effective on the instant's date in the
    first version's zone, else the first version."""
    ref = agreement.reference_version
    day = local_date(instant, ref.timezone)
    return version_effective_on(agreement.versions, day) or ref


class DealIndex:
    """Deals grouped by customer, for resolving many lines quickly."""

    def __init__(self, deals: Iterable[Deal], agreements: Mapping[str, Agreement]) -> None:
        self._by_customer: dict[tuple[str, str], list[Deal]] = defaultdict(list)
        for deal in deals:
            self._by_customer[(deal.provider, deal.account_id)].append(deal)
        self._agreements = agreements

    def candidates(self, line: BillingLine) -> list[Deal]:
        """Deals of the line's customer whose service scope admits the line."""
        return [d for d in self._by_customer.get(line.customer, ()) if d.covers_service(line.service)]

    def version_of(self, deal: Deal, instant: datetime) -> AgreementVersion | None:
        """The deal's agreement version in force at ``instant`` (None: unknown agreement)."""
        agreement = self._agreements.get(deal.agreement_id)
        return agreement_version_on(agreement, instant) if agreement else None

    def timezone_of(self, deal: Deal, instant: datetime) -> str:
        """The time zone in which the deal's window is tested."""
        version = self.version_of(deal, instant)
        return version.timezone if version else "UTC"

    def resolve(self, line: BillingLine) -> tuple[list[LinePart], list[Finding]]:
        """Split ``line`` into parts by deal; report a missing or ambiguous deal.

        Without proration the whole line follows its charge date. With it (when
        every candidate deal's agreement prorates) the line is cut at deal
        window boundaries; an uncovered part pays nobody.
        """
        candidates = self.candidates(line)
        prorate = bool(candidates) and all(
            (v := self.version_of(d, line.charge_start)) is not None and v.prorate for d in candidates
        )
        if prorate and line.charge_end > line.charge_start:
            return self._prorated(line, candidates)
        covering = [
            d for d in candidates
            if d.covers_day(local_date(line.charge_start, self.timezone_of(d, line.charge_start)))
        ]
        part = LinePart(line, None, line.charge_start, line.charge_end)
        if not covering:
            return [part], [_missing(line)]
        if len(covering) > 1:
            return [part], [_ambiguous(line, covering)]
        return [LinePart(line, covering[0], line.charge_start, line.charge_end)], []

    def _prorated(
        self, line: BillingLine, candidates: Sequence[Deal]
    ) -> tuple[list[LinePart], list[Finding]]:
        cuts = {line.charge_start, line.charge_end}
        for deal in candidates:
            tz = self.timezone_of(deal, line.charge_start)
            for day in (deal.valid_from, deal.valid_to):
                if day is not None:
                    cut = local_midnight(day, tz)
                    if line.charge_start < cut < line.charge_end:
                        cuts.add(cut)
        bounds = sorted(cuts)
        findings: list[Finding] = []
        segments: list[tuple[datetime, datetime, Deal | None]] = []
        for start, end in pairwise(bounds):
            covering = [d for d in candidates if d.covers_day(local_date(start, self.timezone_of(d, start)))]
            if len(covering) > 1:
                findings.append(_ambiguous(line, covering))
            owner: Deal | None = covering[0] if len(covering) == 1 else None
            if segments and segments[-1][2] == owner:
                segments[-1] = (segments[-1][0], end, owner)
            else:
                segments.append((start, end, owner))
        if all(seg[2] is None for seg in segments) and not findings:
            findings.append(_missing(line))
        total = line.duration_seconds
        fractions = fractions_summing_to(ONE, [(start, end) for start, end, _ in segments], total)
        parts = [
            LinePart(line, deal, start, end, fraction)
            for (start, end, deal), fraction in zip(segments, fractions, strict=True)
        ]
        return parts, _unique(findings)


def fraction_of(start: datetime, end: datetime, total_seconds: Decimal) -> Decimal:
    """``(end − start) / total`` in seconds, exact to 60 digits (spec: Proration)."""
    delta = end - start
    seconds = Decimal(delta.days * 86400 + delta.seconds) + Decimal(delta.microseconds).scaleb(-6)
    return EXACT.divide(seconds, total_seconds)


def fractions_summing_to(
    whole: Decimal, spans: Sequence[tuple[datetime, datetime]], total_seconds: Decimal
) -> list[Decimal]:
    """Each span's share of the line, the last one taking ``whole − Σ others`` so the
    shares add up to ``whole`` exactly even when a third is not a finite decimal."""
    shares = [fraction_of(start, end, total_seconds) for start, end in spans[:-1]]
    taken = Decimal(0)
    for share in shares:
        taken = EXACT.add(taken, share)
    return [*shares, EXACT.subtract(whole, taken)]


def deal_on(deals: Iterable[Deal], day: date) -> list[Deal]:
    """The deals whose window contains ``day`` (a helper for checks and the UI)."""
    return [d for d in deals if d.covers_day(day)]


def _missing(line: BillingLine) -> Finding:
    return Finding(
        FindingKind.MISSING_DEAL,
        f"no deal covers customer {line.provider}:{line.account_id} for service "
        f"{line.service or '-'} on line {line.line_id}",
        line_id=line.line_id,
    )


def _ambiguous(line: BillingLine, deals: Sequence[Deal]) -> Finding:
    names = ", ".join(sorted(d.id for d in deals))
    return Finding(
        FindingKind.AMBIGUOUS_DEAL,
        f"line {line.line_id} of {line.provider}:{line.account_id} is covered by several deals: {names}",
        line_id=line.line_id,
    )


def _unique(findings: list[Finding]) -> list[Finding]:
    seen: list[Finding] = []
    for f in findings:
        if f not in seen:
            seen.append(f)
    return seen
