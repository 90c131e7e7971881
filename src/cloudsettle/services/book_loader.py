"""Builds the engine's :class:`~cloudsettle.core.settlement.book.Book` from the control store."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from cloudsettle.core.fx import FxTable
from cloudsettle.core.settlement.book import Book, LineKey
from cloudsettle.db.models import (
    AgreementRow,
    AgreementVersionRow,
    BillingLineRow,
    CustomerRow,
    DealRow,
    FxRateRow,
    LineRevisionRow,
    PartnerRow,
)
from cloudsettle.services.records import agreement_of, customer_of, deal_of, fx_rate_of, line_of, partner_of


@dataclass(frozen=True)
class LoadedBook:
    """The book and, for every line, the revision it holds and where that came from
    (``sources``: its batch and row; a book fed to the bulk engine keeps only the set of
    batches, ``batches``, which is all a run records of them)."""

    book: Book
    revisions: dict[LineKey, int]
    sources: dict[LineKey, tuple[int, int]]
    batches: frozenset[int] | None = None

    def batch_ids(self) -> list[int]:
        """The batches the lines' revisions came from, ascending."""
        if self.batches is not None:
            return sorted(self.batches)
        return sorted({batch for batch, _ in self.sources.values()})


def load_book(session: Session) -> LoadedBook:
    """Everything the engine reads: reference data and the newest revision of every line."""
    partners = {r.id: partner_of(r) for r in session.scalars(select(PartnerRow))}
    customers = {(r.provider, r.account_id): customer_of(r) for r in session.scalars(select(CustomerRow))}
    versions: dict[str, list[AgreementVersionRow]] = defaultdict(list)
    for v in session.scalars(select(AgreementVersionRow)):
        versions[v.agreement_id].append(v)
    agreements = {
        r.id: agreement_of(r, versions[r.id]) for r in session.scalars(select(AgreementRow)) if versions[r.id]
    }
    deals = [deal_of(r) for r in session.scalars(select(DealRow).order_by(DealRow.id))]
    fx = FxTable(fx_rate_of(r) for r in session.scalars(select(FxRateRow)))
    current = (
        select(LineRevisionRow)
        .join(
            BillingLineRow,
            (BillingLineRow.provider == LineRevisionRow.provider)
            & (BillingLineRow.line_id == LineRevisionRow.line_id)
            & (BillingLineRow.current_revision == LineRevisionRow.revision),
        )
        .order_by(LineRevisionRow.provider, LineRevisionRow.line_id)
    )
    lines = []
    revisions: dict[LineKey, int] = {}
    sources: dict[LineKey, tuple[int, int]] = {}
    for row in session.scalars(current):
        lines.append(line_of(row))
        revisions[(row.provider, row.line_id)] = row.revision
        sources[(row.provider, row.line_id)] = (row.batch_id, row.source_row)
    book = Book(
        partners=partners, agreements=agreements, deals=deals, lines=lines, customers=customers, fx=fx
    )
    return LoadedBook(book, revisions, sources)
