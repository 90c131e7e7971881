"""What the statement documents show beyond the JSON, gathered once from the store.

The JSON statement (:func:`cloudsettle.services.statement_view.statement_document`)
is the truth every format must agree with; this module only adds what a
person needs to read it: the partner's and customers' names, each line's
service category and source file and row, the lines grouped by service
category and customer, and the FX rates used with the day each was dated.
Nothing is recomputed: group totals are sums of the document's own line
amounts, so they add up to the components exactly.

Memory stays linear in the number of lines with a small constant: one
:class:`LineSource` tuple per line, read column by column in ``seq`` order.
"""

from __future__ import annotations

import bisect
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any, NamedTuple

from sqlalchemy import select
from sqlalchemy.orm import Session

from cloudsettle.config_file.codec import version_from_dict
from cloudsettle.core.agreements import AgreementVersion, FxDate
from cloudsettle.core.money import D
from cloudsettle.db.models import (
    AgreementRow,
    AgreementVersionRow,
    CustomerRow,
    FxRateRow,
    IngestBatchRow,
    LineRevisionRow,
    PartnerRow,
    StatementLineRow,
    StatementRow,
)
from cloudsettle.db.models_workflow import CaseLinkRow, CaseRow

ZERO = D("0")


class LineSource(NamedTuple):
    """Where one statement line came from (aligned with ``doc["lines"]`` by position).

    Attributes:
      service_category: the provider's category, mapped at ingest (``Compute``).
      customer: the customer's name, or ``""`` when the account is not configured.
      currency: the line's own currency (before FX).
      batch_id: the ingest batch that brought this revision, or None.
      source_file: that batch's file name (``""`` when unknown).
      source_row: the row in that file (1 = the first data row's line number as ingest counts).
    """

    service_category: str
    customer: str
    currency: str
    batch_id: int | None
    source_file: str
    source_row: int | None


@dataclass(frozen=True, slots=True)
class Group:
    """The lines of one service category and customer, summed from the document's amounts.

    Attributes:
      service_category, provider, account_id, customer: the group's key and the customer's name.
      lines: how many statement lines.
      base, commission, clawback, tier_uplift: sums of the lines' amounts.
    """

    service_category: str
    provider: str
    account_id: str
    customer: str
    lines: int
    base: Decimal
    commission: Decimal
    clawback: Decimal
    tier_uplift: Decimal

    @property
    def total(self) -> Decimal:
        """What the group earns on this statement: commission + clawback + tier uplift."""
        return self.commission + self.clawback + self.tier_uplift


@dataclass(frozen=True, slots=True)
class FxUse:
    """One FX rate the statement used.

    Attributes:
      day: the date of the rate in the FX table (None when no stored rate matches).
      from_currency, to_currency: the pair; ``to`` is the statement currency.
      rate: units of ``to`` per unit of ``from``.
      lines: how many lines it converted.
      base: the sum of those lines' bases, in the statement currency.
    """

    day: date | None
    from_currency: str
    to_currency: str
    rate: Decimal
    lines: int
    base: Decimal


@dataclass(frozen=True, slots=True)
class SourceFile:
    """An ingest batch whose lines the statement used."""

    batch_id: int
    file_name: str
    provider: str
    sha256: str
    received_at: datetime
    received_by: str
    lines: int


@dataclass(frozen=True)
class StatementData:
    """A statement document plus what people need to read it (see the module docstring)."""

    doc: dict[str, Any]
    partner_name: str
    agreement_mode: str
    version: AgreementVersion | None
    version_fingerprint: str | None
    sources: list[LineSource]
    groups: list[Group]
    fx: list[FxUse]
    files: list[SourceFile]
    statement_id: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    cases: list[dict[str, str]] = field(default_factory=list)

    @property
    def currency(self) -> str:
        """The statement currency."""
        return str(self.doc["currency"])

    def lines_with_sources(self) -> Iterator[tuple[dict[str, Any], LineSource]]:
        """Each document line with its source, in statement order."""
        return zip(self.doc["lines"], self.sources, strict=True)


def line_amount(line: dict[str, Any]) -> Decimal:
    """A line's commission or clawback (whichever its role has), as a Decimal."""
    return D(line.get("commission") or line.get("clawback") or "0")


def gather(session: Session, doc: dict[str, Any]) -> StatementData:
    """The :class:`StatementData` of a statement document read from ``session``."""
    partner = session.get(PartnerRow, doc["partner"])
    agreement = session.get(AgreementRow, doc["agreement"])
    version_row = session.get(AgreementVersionRow, (doc["agreement"], doc["agreement_version"]))
    version = version_from_dict(json.loads(version_row.definition)) if version_row else None
    statement_id = session.scalar(
        select(StatementRow.id).where(
            StatementRow.partner_id == doc["partner"],
            StatementRow.agreement_id == doc["agreement"],
            StatementRow.period == doc["period"],
        )
    )
    sources = _sources(session, statement_id, doc) if statement_id is not None else []
    if len(sources) != len(doc["lines"]):  # a document not from this store: no sources to show
        sources = [LineSource("", "", doc["currency"], None, "", None) for _ in doc["lines"]]
    return StatementData(
        doc=doc,
        partner_name=partner.name if partner else doc["partner"],
        agreement_mode=agreement.mode if agreement else str(doc.get("mode", "live")),
        version=version,
        version_fingerprint=version_row.fingerprint if version_row else None,
        sources=sources,
        groups=_groups(doc, sources),
        fx=_fx(session, doc, sources, version),
        files=_files(session, sources),
        statement_id=statement_id,
        cases=_cases(session, doc),
    )


def _cases(session: Session, doc: dict[str, Any]) -> list[dict[str, str]]:
    """The cases that concern this statement (exceptions that held it, disputes about it), with
    their status and resolution, oldest first."""
    ref = f"{doc['partner']}/{doc['agreement']}/{doc['period']}"
    query = (
        select(CaseRow)
        .join(CaseLinkRow, CaseLinkRow.case_id == CaseRow.id)
        .where(CaseLinkRow.kind == "statement", CaseLinkRow.ref == ref)
        .order_by(CaseRow.id)
    )
    return [
        {
            "id": str(c.id),
            "kind": c.kind,
            "status": c.status,
            "title": c.title,
            "owner": c.owner or "",
            "resolution": c.resolution or "",
        }
        for c in session.scalars(query).unique()
    ]


def _sources(session: Session, statement_id: int, doc: dict[str, Any]) -> list[LineSource]:
    """One :class:`LineSource` per statement line, in ``seq`` order like the document."""
    customers = {(c.provider, c.account_id): c.name for c in session.scalars(select(CustomerRow))}
    query = (
        select(
            StatementLineRow.line_id,
            LineRevisionRow.provider,
            LineRevisionRow.account_id,
            LineRevisionRow.service_category,
            LineRevisionRow.currency,
            LineRevisionRow.batch_id,
            LineRevisionRow.source_row,
            IngestBatchRow.file_name,
        )
        .select_from(StatementLineRow)
        .join(
            LineRevisionRow,
            (LineRevisionRow.provider == StatementLineRow.provider)
            & (LineRevisionRow.line_id == StatementLineRow.line_id)
            & (LineRevisionRow.revision == StatementLineRow.revision),
            isouter=True,
        )
        .join(IngestBatchRow, IngestBatchRow.id == LineRevisionRow.batch_id, isouter=True)
        .where(StatementLineRow.statement_id == statement_id)
        .order_by(StatementLineRow.seq)
    )
    out: list[LineSource] = []
    names: dict[str, str] = {}  # interned so 100,000 lines share a few strings
    for line_id, provider, account, category, currency, batch_id, row, file_name in session.execute(
        query
    ).yield_per(5000):
        del line_id
        customer = customers.get((provider, account), "") if provider else ""
        out.append(
            LineSource(
                service_category=names.setdefault(category or "", category or ""),
                customer=names.setdefault(customer, customer),
                currency=names.setdefault(currency or doc["currency"], currency or doc["currency"]),
                batch_id=batch_id,
                source_file=names.setdefault(file_name or "", file_name or ""),
                source_row=row,
            )
        )
    return out


def _groups(doc: dict[str, Any], sources: list[LineSource]) -> list[Group]:
    """Lines summed by (service category, customer), ordered by category then customer."""
    sums: dict[tuple[str, str, str], list[Any]] = {}
    for line, src in zip(doc["lines"], sources, strict=True):
        key = (src.service_category, line["provider"], line["account_id"] or "")
        acc = sums.setdefault(key, [src.customer, 0, ZERO, ZERO, ZERO, ZERO])
        acc[1] += 1
        acc[2] += D(line["base"])
        if line["role"] == "clawback":
            acc[4] += line_amount(line)
        else:
            acc[3] += line_amount(line)
        acc[5] += D(line["tier_uplift"])
    groups = [
        Group(
            service_category=category,
            provider=provider,
            account_id=account,
            customer=acc[0],
            lines=acc[1],
            base=acc[2],
            commission=acc[3],
            clawback=acc[4],
            tier_uplift=acc[5],
        )
        for (category, provider, account), acc in sums.items()
    ]
    groups.sort(key=lambda g: (g.service_category, g.customer or g.account_id, g.provider, g.account_id))
    return groups


def _fx(
    session: Session, doc: dict[str, Any], sources: list[LineSource], version: AgreementVersion | None
) -> list[FxUse]:
    """The FX rates the lines used, each with the FX table's day it was dated (spec: Currency)."""
    to = doc["currency"]
    used: dict[tuple[str, Decimal, str], list[Any]] = {}  # (from, rate, lookup day) -> [lines, base]
    period_end = doc["period_end"]
    by_period_end = version is not None and version.fx_date is FxDate.PERIOD_END
    for line, src in zip(doc["lines"], sources, strict=True):
        if line["fx_rate"] is None:
            continue
        day = period_end if by_period_end else (line["charge_start"] or period_end)
        acc = used.setdefault((src.currency, D(line["fx_rate"]), day), [0, ZERO])
        acc[0] += 1
        acc[1] += D(line["base"])
    if not used:
        return []
    pairs = {f for f, _, _ in used}
    table: dict[str, list[tuple[date, Decimal]]] = {}
    for r in session.scalars(
        select(FxRateRow)
        .where(FxRateRow.to_currency == to, FxRateRow.from_currency.in_(pairs))
        .order_by(FxRateRow.day)
    ):
        table.setdefault(r.from_currency, []).append((r.day, r.rate))
    merged: dict[tuple[date | None, str, Decimal], list[Any]] = {}
    for (from_currency, rate, lookup), (count, base) in used.items():
        rows = table.get(from_currency, [])
        i = bisect.bisect_right([d for d, _ in rows], date.fromisoformat(lookup))
        day = rows[i - 1][0] if i and rows[i - 1][1] == rate else None
        acc = merged.setdefault((day, from_currency, rate), [0, ZERO])
        acc[0] += count
        acc[1] += base
    return sorted(
        (
            FxUse(day=day, from_currency=f, to_currency=to, rate=rate, lines=acc[0], base=acc[1])
            for (day, f, rate), acc in merged.items()
        ),
        key=lambda u: (u.from_currency, u.day or date.min, u.rate),
    )


def _files(session: Session, sources: list[LineSource]) -> list[SourceFile]:
    """The ingest batches the lines came from, with how many lines each gave."""
    counts: dict[int, int] = {}
    for s in sources:
        if s.batch_id is not None:
            counts[s.batch_id] = counts.get(s.batch_id, 0) + 1
    if not counts:
        return []
    return [
        SourceFile(
            batch_id=b.id,
            file_name=b.file_name,
            provider=b.provider,
            sha256=b.sha256,
            received_at=b.received_at,
            received_by=b.received_by,
            lines=counts[b.id],
        )
        for b in session.scalars(
            select(IngestBatchRow).where(IngestBatchRow.id.in_(counts)).order_by(IngestBatchRow.id)
        )
    ]
