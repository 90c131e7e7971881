"""The book: everything the engine reads, and every line mapped to its deal once.

The control store builds a :class:`Book` from its tables; the engine never
reads anything else, so a statement depends only on the book's contents.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from cloudsettle.core.agreements import Agreement
from cloudsettle.core.deals import DealIndex, LinePart
from cloudsettle.core.findings import Finding
from cloudsettle.core.fx import FxTable
from cloudsettle.core.lines import BillingLine
from cloudsettle.core.parties import Customer, Deal, Partner

LineKey = tuple[str, str]


@dataclass(frozen=True)
class Book:
    """Partners, customers, deals, agreements, FX rates and current billing lines."""

    partners: Mapping[str, Partner]
    agreements: Mapping[str, Agreement]
    deals: Sequence[Deal]
    lines: Sequence[BillingLine]
    customers: Mapping[tuple[str, str], Customer] = field(default_factory=dict)
    fx: FxTable = field(default_factory=FxTable)


class MappedBook:
    """A book whose lines are resolved to deal parts, with the mapping findings."""

    def __init__(self, book: Book) -> None:
        self.book = book
        index = DealIndex(book.deals, book.agreements)
        self.parts: list[LinePart] = []
        self.parts_by_line: dict[LineKey, list[LinePart]] = {}
        self.lines_by_key: dict[LineKey, BillingLine] = {}
        self.findings: list[Finding] = []
        self.line_findings: list[tuple[BillingLine, Finding]] = []
        for line in book.lines:
            key = (line.provider, line.line_id)
            self.lines_by_key[key] = line
            parts, findings = index.resolve(line)
            self.parts.extend(parts)
            self.parts_by_line[key] = parts
            self.findings.extend(findings)
            self.line_findings.extend((line, f) for f in findings)

    def original_of(self, line: BillingLine) -> BillingLine | None:
        """The line a refund names as its original, if it is known."""
        if line.original_line_id is None:
            return None
        return self.lines_by_key.get((line.provider, line.original_line_id))

    def segment_of(self, line: BillingLine) -> str:
        """The customer segment rules may match on (empty when unknown)."""
        customer = self.book.customers.get(line.customer)
        return customer.segment if customer else ""

    def agreement(self, agreement_id: str) -> Agreement:
        """The agreement with this id."""
        return self.book.agreements[agreement_id]
