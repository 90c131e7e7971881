"""Deals and customers: the deal life cycle, CRM import, and suggested deals.

A deal moves ``registered -> active -> renewed -> terminated`` (``renewed`` may repeat;
``terminated`` is final); each step is a ``deal_states`` row with the deal's mapping as
it stood after it, so the mapping's whole history is kept. A CRM export (CSV) creates or
updates deals as registered/active steps. For an unmapped customer a deal is suggested
from the provider's hints (Tencent client remark or sales owner, Huawei association)
that name a partner; a user confirms it and it becomes a deal.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from cloudsettle.db.models import AgreementRow, CustomerRow, DealRow, PartnerRow
from cloudsettle.db.models_validation import DealStateRow, DealSuggestionRow
from cloudsettle.services.audit import now, record
from cloudsettle.services.errors import BadInput, NotFound, Refused

DEAL_STATUSES = ("registered", "active", "renewed", "terminated")
#: Which step may follow which.
TRANSITIONS: Mapping[str | None, tuple[str, ...]] = {
    None: ("registered", "active"),
    "registered": ("active", "terminated"),
    "active": ("renewed", "terminated"),
    "renewed": ("renewed", "terminated"),
    "terminated": (),
}
CRM_COLUMNS = ("deal_id", "partner_id", "provider", "account_id", "agreement_id", "valid_from", "valid_to",
               "status")
#: Provider customer fields that may name a partner (``CustomerInfo.extras``).
HINT_FIELDS = ("ClientRemark", "SalesName", "SalesUin", "association", "partner_hint")


def _mapping(row: DealRow) -> str:
    return json.dumps({"partner": row.partner_id, "provider": row.provider, "account_id": row.account_id,
                       "agreement": row.agreement_id, "valid_from": row.valid_from.isoformat(),
                       "valid_to": row.valid_to.isoformat() if row.valid_to else None,
                       "services": json.loads(row.services) if row.services else None}, sort_keys=True)


def status_of(session: Session, deal_id: str) -> str | None:
    """The deal's latest life-cycle step (None: none recorded)."""
    return session.scalars(select(DealStateRow.status).where(DealStateRow.deal_id == deal_id)
                           .order_by(DealStateRow.id.desc())).first()


def history(session: Session, deal_id: str) -> list[DealStateRow]:
    """Every step of the deal, oldest first."""
    return list(session.scalars(select(DealStateRow).where(DealStateRow.deal_id == deal_id)
                                .order_by(DealStateRow.id)))


def set_status(session: Session, *, deal_id: str, status: str, actor: str, note: str = "",
               valid_to: date | None = None) -> DealStateRow:
    """Move a deal to its next step; terminating may close its window at ``valid_to``."""
    row = session.get(DealRow, deal_id)
    if row is None:
        raise NotFound(f"no deal {deal_id}")
    if status not in DEAL_STATUSES:
        raise BadInput(f"deal status {status!r}: one of {', '.join(DEAL_STATUSES)}")
    current = status_of(session, deal_id)
    if status not in TRANSITIONS[current]:
        raise Refused(f"deal {deal_id} is {current or 'new'}; it cannot become {status}")
    before = _mapping(row)
    if valid_to is not None:
        if valid_to <= row.valid_from:
            raise BadInput(f"valid_to {valid_to} is not after valid_from {row.valid_from}")
        row.valid_to = valid_to
    state = DealStateRow(deal_id=deal_id, status=status, mapping=_mapping(row), note=note, actor=actor,
                         at=now())
    session.add(state)
    session.flush()
    record(session, actor=actor, action="deal.status", subject=f"deal:{deal_id}", reason=note or None,
           before={"status": current, "mapping": json.loads(before)},
           after={"status": status, "mapping": json.loads(state.mapping)})
    return state


def _check_refs(session: Session, partner_id: str, agreement_id: str) -> None:
    if session.get(PartnerRow, partner_id) is None:
        raise BadInput(f"unknown partner {partner_id!r}")
    agreement = session.get(AgreementRow, agreement_id)
    if agreement is None or agreement.partner_id != partner_id:
        raise BadInput(f"partner {partner_id} has no agreement {agreement_id!r}")


def add_deal(session: Session, *, deal_id: str, partner_id: str, provider: str, account_id: str,
             agreement_id: str, valid_from: date, valid_to: date | None = None, status: str = "active",
             actor: str, note: str = "") -> DealRow:
    """Create a deal and record its first step."""
    _check_refs(session, partner_id, agreement_id)
    if session.get(DealRow, deal_id) is not None:
        raise Refused(f"deal {deal_id} exists")
    row = DealRow(id=deal_id, partner_id=partner_id, provider=provider, account_id=account_id,
                  agreement_id=agreement_id, valid_from=valid_from, valid_to=valid_to, services=None)
    session.add(row)
    session.flush()
    set_status(session, deal_id=deal_id, status=status, actor=actor, note=note or "created")
    return row


def import_crm_csv(session: Session, *, text: str, actor: str) -> dict[str, int]:
    """Create or update deals from a CRM export with :data:`CRM_COLUMNS`; refused whole
    when a row is bad. Returns counts ``created``, ``updated``, ``unchanged``."""
    reader = csv.DictReader(io.StringIO(text))
    missing = [c for c in CRM_COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        raise BadInput("CRM export lacks columns: " + ", ".join(missing))
    counts = {"created": 0, "updated": 0, "unchanged": 0}
    for number, raw in enumerate(reader, start=2):
        try:
            start = date.fromisoformat(raw["valid_from"])
            end = date.fromisoformat(raw["valid_to"]) if raw["valid_to"] else None
        except ValueError as exc:
            raise BadInput(f"CRM export row {number}: {exc}") from exc
        status = raw["status"] or "active"
        row = session.get(DealRow, raw["deal_id"])
        if row is None:
            add_deal(session, deal_id=raw["deal_id"], partner_id=raw["partner_id"], provider=raw["provider"],
                     account_id=raw["account_id"], agreement_id=raw["agreement_id"], valid_from=start,
                     valid_to=end, status=status if status in ("registered", "active") else "active",
                     actor=actor, note=f"CRM import row {number}")
            counts["created"] += 1
            continue
        same = (row.partner_id, row.agreement_id, row.valid_from, row.valid_to) == (
            raw["partner_id"], raw["agreement_id"], start, end)
        if same and status == status_of(session, row.id):
            counts["unchanged"] += 1
            continue
        _check_refs(session, raw["partner_id"], raw["agreement_id"])
        row.partner_id, row.agreement_id, row.valid_from, row.valid_to = (
            raw["partner_id"], raw["agreement_id"], start, end)
        step = status if status != status_of(session, row.id) else "renewed"
        if step not in TRANSITIONS[status_of(session, row.id)]:
            raise Refused(f"CRM export row {number}: deal {row.id} is {status_of(session, row.id)}; "
                          f"it cannot become {step}")
        set_status(session, deal_id=row.id, status=step, actor=actor, note=f"CRM import row {number}")
        counts["updated"] += 1
    return counts


def open_suggestion(session: Session, provider: str, account_id: str) -> DealSuggestionRow | None:
    """The customer's pending suggestion, if any."""
    return session.scalars(select(DealSuggestionRow).where(
        DealSuggestionRow.provider == provider, DealSuggestionRow.account_id == account_id,
        DealSuggestionRow.status == "suggested").order_by(DealSuggestionRow.id.desc())).first()


def suggest(session: Session, *, provider: str, account_id: str, partner_id: str, agreement_id: str,
            source: str, hint: str, actor: str) -> DealSuggestionRow:
    """Propose a deal for a customer (replaces an earlier pending suggestion)."""
    _check_refs(session, partner_id, agreement_id)
    earlier = open_suggestion(session, provider, account_id)
    if earlier is not None:
        earlier.status = "replaced"
    row = DealSuggestionRow(provider=provider, account_id=account_id, partner_id=partner_id,
                            agreement_id=agreement_id, source=source, hint=hint, status="suggested",
                            deal_id=None, created_at=now(), decided_by=None, decided_at=None)
    session.add(row)
    session.flush()
    record(session, actor=actor, action="deal.suggest", subject=f"customer:{provider}:{account_id}",
           after={"partner": partner_id, "agreement": agreement_id, "source": source, "hint": hint})
    return row


def suggest_from_hints(session: Session, *, provider: str, account_id: str, hints: Mapping[str, str],
                       actor: str) -> DealSuggestionRow | None:
    """A suggestion from a provider's customer fields (:data:`HINT_FIELDS`) that name a
    partner by id or name; the partner's only live agreement is proposed."""
    partners = list(session.scalars(select(PartnerRow)))
    for field_name in HINT_FIELDS:
        text = hints.get(field_name, "").strip().lower()
        if not text:
            continue
        for partner in partners:
            if partner.id.lower() in text or (partner.name and partner.name.lower() in text):
                agreements = list(session.scalars(select(AgreementRow).where(
                    AgreementRow.partner_id == partner.id, AgreementRow.mode == "live")))
                if len(agreements) == 1:
                    return suggest(session, provider=provider, account_id=account_id, partner_id=partner.id,
                                   agreement_id=agreements[0].id, source=field_name,
                                   hint=hints[field_name], actor=actor)
    return None


def confirm(session: Session, *, suggestion_id: int, deal_id: str, valid_from: date, actor: str) -> DealRow:
    """A user confirms a suggestion: it becomes an active deal."""
    suggestion = session.get(DealSuggestionRow, suggestion_id)
    if suggestion is None:
        raise NotFound(f"no deal suggestion {suggestion_id}")
    if suggestion.status != "suggested":
        raise Refused(f"suggestion {suggestion_id} is {suggestion.status}")
    deal = add_deal(session, deal_id=deal_id, partner_id=suggestion.partner_id, provider=suggestion.provider,
                    account_id=suggestion.account_id, agreement_id=suggestion.agreement_id,
                    valid_from=valid_from, actor=actor, note=f"confirmed suggestion {suggestion_id}")
    suggestion.status, suggestion.deal_id = "confirmed", deal_id
    suggestion.decided_by, suggestion.decided_at = actor, now()
    return deal


def sync_customers(session: Session, *, customers: list[tuple[str, str, str, Mapping[str, str]]],
                   actor: str) -> dict[str, int]:
    """Customers from a provider's partner API ``(provider, account_id, name, extras)``:
    add the unknown ones, and suggest a deal for each customer without a current deal."""
    added = suggested = 0
    for provider, account_id, name, extras in customers:
        if session.get(CustomerRow, (provider, account_id)) is None:
            session.add(CustomerRow(provider=provider, account_id=account_id, name=name, segment=""))
            added += 1
        today = now().date()
        has_deal = session.scalars(select(DealRow.id).where(
            DealRow.provider == provider, DealRow.account_id == account_id,
            (DealRow.valid_to.is_(None)) | (DealRow.valid_to > today))).first()
        if has_deal is None and open_suggestion(session, provider, account_id) is None and \
                suggest_from_hints(session, provider=provider, account_id=account_id, hints=extras,
                                   actor=actor) is not None:
            suggested += 1
    session.flush()
    return {"added": added, "suggested": suggested}
