"""Who owned a customer when: the mapping history behind partners, customers and deals.

A customer's spend goes to a partner through deals, each valid over a window of
days; over time a customer moves between partners (one deal ends, the next
begins). This module lays that out for people: each customer's deals in time
order (:class:`Ownership`, with the deal's life-cycle status from
``deal_states``), windows that overlap (two partners claiming the same days),
and every recorded change to the customer or its deals with who made it and
when (the audit log's ``config.deals``, ``deal.status``, ``deal.suggest``
events). Permission checks stay in :mod:`cloudsettle.services.guarded`.
"""

from __future__ import annotations

import itertools
import json
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from cloudsettle.db.models import AuditEventRow, CustomerRow, DealRow
from cloudsettle.db.models_validation import DealStateRow, DealSuggestionRow
from cloudsettle.services.errors import NotFound


@dataclass(frozen=True)
class Ownership:
    """One deal of a customer: which partner and agreement, over which days, in which state.

    ``valid_to`` is exclusive (the day the next owner starts); ``None`` is open-ended.
    ``status`` is the deal's latest life-cycle step, ``None`` when none is recorded
    (deals loaded from a configuration file).
    """

    deal_id: str
    partner_id: str
    agreement_id: str
    provider: str
    account_id: str
    valid_from: date
    valid_to: date | None
    status: str | None
    customer_name: str | None = None

    def covers(self, day: date) -> bool:
        """Whether the deal's window contains ``day``."""
        return self.valid_from <= day and (self.valid_to is None or day < self.valid_to)


@dataclass(frozen=True)
class Change:
    """One recorded change to a customer or one of its deals."""

    id: int
    at: datetime
    actor: str
    action: str
    subject: str
    reason: str | None
    before: Any
    after: Any


@dataclass(frozen=True)
class CustomerHistory:
    """A customer, its deals over time, overlapping windows, and every recorded change."""

    customer: CustomerRow
    ownership: list[Ownership]
    overlaps: list[tuple[str, str]]
    changes: list[Change]
    suggestions: list[DealSuggestionRow]


def _latest_status(session: Session, deal_ids: list[str] | None = None) -> dict[str, str]:
    """Each deal's latest ``deal_states`` step."""
    query = select(DealStateRow.deal_id, DealStateRow.status).order_by(DealStateRow.id)
    if deal_ids is not None:
        query = query.where(DealStateRow.deal_id.in_(deal_ids))
    return dict(session.execute(query).all())


def _ownership(row: DealRow, status: str | None, name: str | None = None) -> Ownership:
    return Ownership(
        deal_id=row.id,
        partner_id=row.partner_id,
        agreement_id=row.agreement_id,
        provider=row.provider,
        account_id=row.account_id,
        valid_from=row.valid_from,
        valid_to=row.valid_to,
        status=status,
        customer_name=name,
    )


def _in_time_order(items: list[Ownership]) -> list[Ownership]:
    return sorted(items, key=lambda o: (o.valid_from, o.valid_to or date.max, o.deal_id))


def overlaps(ownership: list[Ownership]) -> list[tuple[str, str]]:
    """Pairs of deals whose windows share a day (the customer's spend would be ambiguous)."""
    out = []
    for a, b in itertools.combinations(_in_time_order(ownership), 2):
        a_end, b_end = a.valid_to or date.max, b.valid_to or date.max
        if a.valid_from < b_end and b.valid_from < a_end:
            out.append((a.deal_id, b.deal_id))
    return out


def _loads(text: str | None) -> Any:
    return None if text is None else json.loads(text)


def customer_history(session: Session, provider: str, account_id: str) -> CustomerHistory:
    """Everything about who owned ``provider:account_id`` when, and who changed it."""
    customer = session.get(CustomerRow, (provider, account_id))
    if customer is None:
        raise NotFound(f"no customer {provider}:{account_id}")
    rows = list(
        session.scalars(select(DealRow).where(DealRow.provider == provider, DealRow.account_id == account_id))
    )
    status = _latest_status(session, [r.id for r in rows])
    ownership = _in_time_order([_ownership(r, status.get(r.id), customer.name) for r in rows])
    subjects = [f"customers:{provider}:{account_id}", f"customer:{provider}:{account_id}"]
    for r in rows:
        subjects += [f"deals:{r.id}", f"deal:{r.id}"]
    events = session.scalars(
        select(AuditEventRow).where(AuditEventRow.subject.in_(subjects)).order_by(AuditEventRow.id)
    )
    changes = [
        Change(
            e.id, e.at, e.actor, e.action, e.subject, e.reason, _loads(e.before_value), _loads(e.after_value)
        )
        for e in events
    ]
    suggestions = list(
        session.scalars(
            select(DealSuggestionRow)
            .where(DealSuggestionRow.provider == provider, DealSuggestionRow.account_id == account_id)
            .order_by(DealSuggestionRow.id)
        )
    )
    return CustomerHistory(customer, ownership, overlaps(ownership), changes, suggestions)


@dataclass(frozen=True)
class CustomerMapping:
    """A customer with its deals in time order (the customers list)."""

    customer: CustomerRow
    ownership: list[Ownership]

    def owner_on(self, day: date) -> list[str]:
        """The partners whose deals cover ``day`` (more than one: ambiguous; none: unmapped)."""
        return sorted({o.partner_id for o in self.ownership if o.covers(day)})


def customer_mappings(session: Session, partner_id: str | None = None) -> list[CustomerMapping]:
    """Every customer (or those a partner ever had a deal for) with its deals over time."""
    names = {(c.provider, c.account_id): c for c in session.scalars(select(CustomerRow))}
    status = _latest_status(session)
    by_customer: dict[tuple[str, str], list[Ownership]] = defaultdict(list)
    for row in session.scalars(select(DealRow)):
        known = names.get((row.provider, row.account_id))
        by_customer[(row.provider, row.account_id)].append(
            _ownership(row, status.get(row.id), known.name if known else None)
        )
    out = []
    for key in sorted(names):
        deals = _in_time_order(by_customer.get(key, []))
        if partner_id is not None and all(o.partner_id != partner_id for o in deals):
            continue
        out.append(CustomerMapping(names[key], deals))
    return out


def deal_views(session: Session, partner_id: str | None = None) -> list[Ownership]:
    """Deals (optionally of one partner) with their status and customer's name, by customer and time."""
    names = {(c.provider, c.account_id): c.name for c in session.scalars(select(CustomerRow))}
    status = _latest_status(session)
    query = select(DealRow)
    if partner_id is not None:
        query = query.where(DealRow.partner_id == partner_id)
    rows = [
        _ownership(r, status.get(r.id), names.get((r.provider, r.account_id))) for r in session.scalars(query)
    ]
    return sorted(rows, key=lambda o: (o.provider, o.account_id, o.valid_from, o.deal_id))
