"""Step 3, Rate: the first rule of the version whose ``match`` accepts the line.

A ``match`` accepts a line when every key it names holds; a rule may also carry
a ``[valid_from, valid_to)`` window on the line's charge date. With ``prorate``
a line crossing a rule window is split at the window's local midnight and each
part takes the rule that covers it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from itertools import pairwise

from cloudsettle.core.agreements import AgreementVersion, Rule
from cloudsettle.core.deals import LinePart, fractions_summing_to
from cloudsettle.core.lines import BillingLine
from cloudsettle.core.periods import local_date, local_midnight


@dataclass(frozen=True, slots=True)
class RatedSegment:
    """A piece of a line part with the rule that rates it.

    Attributes:
      fraction: its share of the whole line.
      rule: the rule, or None when no rule accepts it (rate 0, reason ``no_rule``).
      start: where the piece begins (orders pieces of one line).
    """

    fraction: Decimal
    rule: Rule | None
    start: datetime

    @property
    def rate(self) -> Decimal:
        """The rule's rate, 0 without a rule."""
        return self.rule.rate if self.rule else Decimal(0)


def line_attribute(line: BillingLine, key: str, segment: str) -> str:
    """The value of a match key on a line (``customer_segment`` comes from the customer)."""
    if key == "customer_segment":
        return segment
    return str(getattr(line, key))


def accepts(rule: Rule, line: BillingLine, segment: str) -> bool:
    """Whether every key of the rule's ``match`` holds for the line."""
    return all(line_attribute(line, key, segment) in values for key, values in rule.match.items())


def rule_for(version: AgreementVersion, line: BillingLine, segment: str, day: date) -> Rule | None:
    """The first rule accepting the line and valid on ``day``, or None."""
    return next((r for r in version.rules if r.valid_on(day) and accepts(r, line, segment)), None)


def rate_part(part: LinePart, version: AgreementVersion, segment: str) -> list[RatedSegment]:
    """Rate a line part: one segment, or several when ``prorate`` cuts it at rule windows.

    Without proration (or for a line of zero duration) the whole part follows the
    line's charge date.
    """
    line = part.line
    tz = version.timezone
    if not version.prorate or line.charge_end <= line.charge_start:
        rule = rule_for(version, line, segment, local_date(line.charge_start, tz))
        return [RatedSegment(part.fraction, rule, part.start)]
    cuts = {part.start, part.end}
    for rule in version.rules:
        for day in (rule.valid_from, rule.valid_to):
            if day is not None and part.start < (cut := local_midnight(day, tz)) < part.end:
                cuts.add(cut)
    bounds = sorted(cuts)
    pieces: list[tuple[datetime, datetime, Rule | None]] = []
    for start, end in pairwise(bounds):
        rule = rule_for(version, line, segment, local_date(start, tz))
        if pieces and pieces[-1][2] == rule:
            pieces[-1] = (pieces[-1][0], end, rule)
        else:
            pieces.append((start, end, rule))
    if len(pieces) == 1:
        return [RatedSegment(part.fraction, pieces[0][2], part.start)]
    total = line.duration_seconds
    fractions = fractions_summing_to(part.fraction, [(s, e) for s, e, _ in pieces], total)
    return [RatedSegment(f, rule, s) for (s, _, rule), f in zip(pieces, fractions, strict=True)]


def effective_rate(segments: list[RatedSegment]) -> Decimal:
    """``Σ fraction × rate`` over segments: the rate per unit of the whole line."""
    return sum((s.fraction * s.rate for s in segments), Decimal(0))
