"""Partners, customers and deals, with the mapping history: who owned which customer when.

Reads only (configuration is changed by loading a file, or on the Agreements
pages): the partner list, one partner (agreements, customers, deals with their
windows, statements), the customers with their owners over time, one customer's
full history (deals, overlaps, every recorded change with who and when), and
the deals. Configuration readers only; a partner user is refused (403).
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from cloudsettle.api.deps import app_state
from cloudsettle.core.money import format_money
from cloudsettle.services import guarded
from cloudsettle.services.access import Permission
from cloudsettle.services.audit import now
from cloudsettle.services.errors import ServiceError
from cloudsettle.services.party_history import CustomerMapping, Ownership
from cloudsettle.web.common import ALL, error_page, render, who_is

router = APIRouter()


def _window(o: Ownership) -> str:
    """A deal's days for people: ``2026-01-01 → 2026-10-15`` (end exclusive) or ``from 2026-10-15``."""
    return f"{o.valid_from} → {o.valid_to}" if o.valid_to else f"from {o.valid_from}"


def _deal(o: Ownership, today: Any) -> dict[str, Any]:
    return {
        "id": o.deal_id,
        "partner": o.partner_id,
        "agreement": o.agreement_id,
        "provider": o.provider,
        "account": o.account_id,
        "customer": o.customer_name,
        "from": o.valid_from.isoformat(),
        "to": o.valid_to.isoformat() if o.valid_to else None,
        "window": _window(o),
        "status": o.status or "loaded",
        "current": o.covers(today),
    }


def _mapping(m: CustomerMapping, today: Any) -> dict[str, Any]:
    owners = m.owner_on(today)
    return {
        "provider": m.customer.provider,
        "account": m.customer.account_id,
        "name": m.customer.name,
        "segment": m.customer.segment,
        "deals": [_deal(o, today) for o in m.ownership],
        "owners": owners,
        "state": "unmapped" if not owners else "ambiguous" if len(owners) > 1 else "mapped",
        "moves": len({o.partner_id for o in m.ownership}) > 1,
    }


@router.get("/partners", response_class=HTMLResponse)
def partners(request: Request) -> Response:
    """Every partner with its agreements, current deals and customers counted."""
    today = now().date()
    try:
        who, data = who_is(request)
        with app_state(request).workspace.unit_of_work() as session:
            rows, _ = guarded.partners(session, who, ALL)
            agreements, _ = guarded.agreements(session, who, ALL)
            deals = guarded.deal_views(session, who)
            per_agreement = Counter(a.partner_id for a, _ in agreements)
            current = Counter(d.partner_id for d in deals if d.covers(today))
            customers = {
                p.id: len({(d.provider, d.account_id) for d in deals if d.partner_id == p.id}) for p in rows
            }
            items = [
                {
                    "id": p.id,
                    "name": p.name,
                    "currency": p.currency,
                    "verification": p.verification,
                    "minimum": format_money(p.minimum_payout, p.currency),
                    "agreements": per_agreement[p.id],
                    "deals": current[p.id],
                    "customers": customers[p.id],
                }
                for p in rows
            ]
    except ServiceError as exc:
        return error_page(request, exc)
    return render(request, "partners.html", who, data, items=items, tab="partners")


@router.get("/partners/{partner_id}", response_class=HTMLResponse)
def partner(request: Request, partner_id: str) -> Response:
    """One partner: agreements and versions, customers over time, deals, statements."""
    today = now().date()
    try:
        who, data = who_is(request)
        with app_state(request).workspace.unit_of_work() as session:
            row = guarded.partner(session, who, partner_id)
            info = {
                "id": row.id,
                "name": row.name,
                "currency": row.currency,
                "verification": row.verification,
                "minimum": format_money(row.minimum_payout, row.currency),
                "payout_on_file": row.payout_details is not None,
            }
            agreements, _ = guarded.agreements(session, who, ALL, partner_id=partner_id)
            agreement_items = [
                {
                    "id": a.id,
                    "mode": a.mode,
                    "versions": [
                        {"version": v.version, "from": v.effective_from.isoformat(), "currency": v.currency}
                        for v in versions
                    ],
                }
                for a, versions in agreements
            ]
            deals = [_deal(o, today) for o in guarded.deal_views(session, who, partner_id=partner_id)]
            customers = [
                _mapping(m, today) for m in guarded.customer_mappings(session, who, partner_id=partner_id)
            ]
            statements = []
            if who.can(Permission.STATEMENT_READ):
                rows, _ = guarded.statements(session, who, ALL, partner_id=partner_id)
                statements = [
                    {
                        "id": s.id,
                        "period": s.period,
                        "agreement": s.agreement_id,
                        "status": s.status,
                        "currency": s.currency,
                        "payable": format_money(s.payable, s.currency),
                    }
                    for s in rows
                ]
    except ServiceError as exc:
        return error_page(request, exc)
    return render(
        request,
        "partner.html",
        who,
        data,
        p=info,
        agreements=agreement_items,
        deals=deals,
        customers=customers,
        statements=statements,
        tab="partners",
    )


@router.get("/customers", response_class=HTMLResponse)
def customers(request: Request) -> Response:
    """Every customer with its owners over time (unmapped and ambiguous ones flagged)."""
    today = now().date()
    try:
        who, data = who_is(request)
        with app_state(request).workspace.unit_of_work() as session:
            items = [_mapping(m, today) for m in guarded.customer_mappings(session, who)]
    except ServiceError as exc:
        return error_page(request, exc)
    states = Counter(i["state"] for i in items)
    return render(
        request,
        "customers.html",
        who,
        data,
        items=items,
        states=states,
        today=today.isoformat(),
        tab="customers",
    )


@router.get("/customers/{provider}/{account_id}", response_class=HTMLResponse)
def customer(request: Request, provider: str, account_id: str) -> Response:
    """One customer's mapping history: deals in time order, overlaps, every change with who and when."""
    today = now().date()
    try:
        who, data = who_is(request)
        with app_state(request).workspace.unit_of_work() as session:
            history = guarded.customer_history(session, who, provider=provider, account_id=account_id)
            mapping = _mapping(CustomerMapping(history.customer, history.ownership), today)
            changes = [
                {
                    "id": c.id,
                    "at": c.at.strftime("%Y-%m-%d %H:%M:%S"),
                    "actor": c.actor,
                    "action": c.action,
                    "subject": c.subject,
                    "reason": c.reason,
                    "before": c.before,
                    "after": c.after,
                }
                for c in history.changes
            ]
            suggestions = [
                {
                    "partner": s.partner_id,
                    "agreement": s.agreement_id,
                    "source": s.source,
                    "hint": s.hint,
                    "status": s.status,
                    "at": s.created_at.strftime("%Y-%m-%d %H:%M"),
                    "decided_by": s.decided_by,
                }
                for s in history.suggestions
            ]
    except ServiceError as exc:
        return error_page(request, exc)
    return render(
        request,
        "customer.html",
        who,
        data,
        c=mapping,
        overlaps=history.overlaps,
        changes=changes,
        suggestions=suggestions,
        can_audit=who.can(Permission.AUDIT_READ),
        tab="customers",
    )


@router.get("/deals", response_class=HTMLResponse)
def deals(request: Request, partner: str = "", current: bool = False) -> Response:
    """Deals with their windows and life-cycle status, by customer and time."""
    today = now().date()
    try:
        who, data = who_is(request)
        with app_state(request).workspace.unit_of_work() as session:
            rows = [_deal(o, today) for o in guarded.deal_views(session, who, partner_id=partner or None)]
            ids = [p.id for p in guarded.partners(session, who, ALL)[0]]
    except ServiceError as exc:
        return error_page(request, exc)
    if current:
        rows = [r for r in rows if r["current"]]
    return render(
        request,
        "deals.html",
        who,
        data,
        deals=rows,
        partners=ids,
        partner=partner,
        current=current,
        tab="deals",
    )
