"""Partners, customers and deals pages, and the mapping history behind them (golden case 38:
customer tencent:100000000001 moves from P-A to P-B on 2026-10-15)."""

from __future__ import annotations

import re
from datetime import date

import pytest

from cloudsettle.services import deal_service, guarded, party_history, users
from cloudsettle.services.access import Forbidden, Principal, Role
from cloudsettle.services.errors import NotFound
from tests.web.conftest import PASSWORD, Site

CUSTOMER = "/ui/customers/tencent/100000000001"


def test_the_service_says_who_owned_the_customer_when(site: Site) -> None:
    reader = Principal("sales", frozenset({Role.SALES_OPS}))
    with site.ws.unit_of_work() as s:
        deal_service.set_status(s, deal_id="D-B", status="active", actor="sales", note="signed")
        history = guarded.customer_history(s, reader, provider="tencent", account_id="100000000001")
    assert [(o.deal_id, o.partner_id, o.valid_from, o.valid_to) for o in history.ownership] == [
        ("D-A", "P-A", date(2026, 1, 1), date(2026, 10, 15)),
        ("D-B", "P-B", date(2026, 10, 15), None),
    ]
    assert [o.status for o in history.ownership] == [None, "active"]
    assert history.overlaps == []  # the windows meet, they do not overlap
    # Who changed what, when: the configuration load of both deals and the customer, then the status.
    assert [(c.action, c.subject, c.actor) for c in history.changes] == [
        ("config.customers", "customers:tencent:100000000001", "setup"),
        ("config.deals", "deals:D-A", "setup"),
        ("config.deals", "deals:D-B", "setup"),
        ("deal.status", "deal:D-B", "sales"),
    ]
    assert history.changes[1].after["valid_to"] == "2026-10-15"
    assert history.changes[3].reason == "signed"
    mapping = party_history.CustomerMapping(history.customer, history.ownership)
    assert mapping.owner_on(date(2026, 10, 14)) == ["P-A"]
    assert mapping.owner_on(date(2026, 10, 15)) == ["P-B"]
    assert mapping.owner_on(date(2025, 12, 31)) == []


def test_overlapping_windows_are_named() -> None:
    def deal(deal_id: str, start: str, end: str | None) -> party_history.Ownership:
        return party_history.Ownership(
            deal_id,
            "P",
            "a",
            "tencent",
            "1",
            date.fromisoformat(start),
            date.fromisoformat(end) if end else None,
            None,
        )

    assert (
        party_history.overlaps([deal("x", "2026-01-01", "2026-02-01"), deal("y", "2026-02-01", None)]) == []
    )
    assert party_history.overlaps([deal("y", "2026-01-31", None), deal("x", "2026-01-01", "2026-02-01")]) == [
        ("x", "y")
    ]


def test_partner_users_and_unknown_customers_are_refused(site: Site) -> None:
    partner = Principal("partner", frozenset({Role.PARTNER}), partner_id="P-A")
    with site.ws.unit_of_work() as s:
        with pytest.raises(Forbidden):
            guarded.customer_history(s, partner, provider="tencent", account_id="100000000001")
        with pytest.raises(Forbidden):
            guarded.customer_mappings(s, partner)
        with pytest.raises(Forbidden):
            guarded.deal_views(s, partner)
        with pytest.raises(NotFound):
            guarded.customer_history(
                s, Principal("a", frozenset({Role.ADMIN})), provider="tencent", account_id="nope"
            )
    client = site.client("partner")
    for path in ("/ui/partners", "/ui/partners/P-A", "/ui/customers", CUSTOMER, "/ui/deals"):
        assert client.get(path).status_code == 403, path
    assert site.client("finance").get("/ui/customers/tencent/nope").status_code == 404
    assert site.client("finance").get("/ui/partners/P-Z").status_code == 404


def test_partner_list_and_detail(site: Site) -> None:
    client = site.client("finance")
    listing = client.get("/ui/partners")
    assert listing.status_code == 200
    assert 'href="/ui/partners/P-A"' in listing.text
    assert "Alpha Partners" in listing.text
    detail = client.get("/ui/partners/P-A")
    assert detail.status_code == 200
    assert 'href="/ui/agreements/a-2026"' in detail.text
    assert "v1 from 2026-01-01 (CNY)" in detail.text
    # Its customer, with both owners over time, and its own deal only in the deals table.
    assert f'href="{CUSTOMER}"' in detail.text
    assert "P-A 2026-01-01 → 2026-10-15" in detail.text
    assert "P-B from 2026-10-15" in detail.text
    deals = detail.text[detail.text.index('id="deals"') :]
    assert "<td>D-A</td>" in deals
    assert "<td>D-B</td>" not in deals
    assert f'href="/ui/statements/{site.statement_ids["P-A"]}"' in detail.text
    assert f'href="/ui/statements/{site.statement_ids["P-B"]}"' not in detail.text


def test_customers_list_and_history_page(site: Site) -> None:
    with site.ws.unit_of_work() as s:
        users.add_user(
            s, name="auditor", roles=["auditor"], password=PASSWORD, partner_id=None, actor="setup"
        )
    client = site.client("finance")
    listing = client.get("/ui/customers")
    assert listing.status_code == 200
    assert "Blue River Games" in listing.text
    assert "moved" in listing.text  # two partners over time
    assert "1 mapped" in listing.text
    page = client.get(CUSTOMER)
    assert page.status_code == 200
    ownership = page.text[page.text.index('id="ownership"') : page.text.index('id="changes-h"')]
    assert ownership.index("D-A") < ownership.index("D-B")
    assert "2026-01-01 → 2026-10-15" in ownership
    changes = page.text[page.text.index('id="changes-h"') :]
    assert changes.count("config.deals") == 2
    assert "setup" in changes
    assert "/ui/audit?subject=" not in changes  # finance may not read the audit log
    audited = site.client("auditor").get(CUSTOMER)
    assert "/ui/audit?subject=deals%3AD-A" in audited.text


def test_deals_page_filters(site: Site) -> None:
    client = site.client("finance")

    def ids(query: str) -> list[str]:
        page = client.get(f"/ui/deals{query}")
        assert page.status_code == 200
        return re.findall(r"<td>(D-[A-Z])</td>", page.text)

    assert ids("") == ["D-A", "D-B"]
    assert ids("?partner=P-B") == ["D-B"]
    assert ids("?current=true") == ["D-B"]  # D-A ended on 2026-10-15
