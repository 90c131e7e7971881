"""The audit log viewer: who may read it, filters, paging, hashes, and the chain banner turning red
when a row is edited behind the application's back."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import Connection, select, text

from cloudsettle.core.ledger_chain import ChainBreak
from cloudsettle.db.models import AuditEventRow
from cloudsettle.services import case_service, users
from cloudsettle.services.audit import VerifyResult, record
from cloudsettle.web.pages.audit import PAGE_SIZE, chain_banner
from tests.web.conftest import PASSWORD, Site


@pytest.fixture
def audited(site: Site) -> Site:
    """The site with an auditor and a few case events."""
    with site.ws.unit_of_work() as s:
        users.add_user(
            s, name="auditor", roles=["auditor"], password=PASSWORD, partner_id=None, actor="setup"
        )
        case = case_service.open_or_update(
            s, kind="missing_deal", dedupe_key="k", title="no deal", actor="operator", partner_id="P-A"
        )
        case_service.comment(s, case_id=case.id, text="looking", actor="finance")
    return site


def _ids(html: str) -> list[int]:
    return [int(n) for n in re.findall(r'<tr id="event-(\d+)"', html)]


def _as_attacker(connection: Connection, statement: str, **params: object) -> None:
    """Edit an audit row despite the append-only triggers, as someone with database access could."""
    if connection.dialect.name == "sqlite":
        connection.execute(text("DROP TRIGGER IF EXISTS audit_events_no_update"))
        connection.execute(text(statement), params)
    else:
        connection.execute(text("ALTER TABLE audit_events DISABLE TRIGGER USER"))
        connection.execute(text(statement), params)
        connection.execute(text("ALTER TABLE audit_events ENABLE TRIGGER USER"))


def test_only_auditors_and_admins_read_the_log(audited: Site) -> None:
    assert audited.client("auditor").get("/ui/audit").status_code == 200
    assert audited.client("admin").get("/ui/audit").status_code == 200
    for user in ("finance", "partner"):
        answer = audited.client(user).get("/ui/audit")
        assert answer.status_code == 403, user
        assert "case.comment" not in answer.text
    assert 'href="/ui/audit"' not in audited.client("finance").get("/ui/cases").text  # not in its navigation


def test_newest_first_with_hashes_and_a_green_banner(audited: Site) -> None:
    page = audited.client("auditor").get("/ui/audit")
    with audited.ws.unit_of_work() as s:
        rows = list(s.scalars(select(AuditEventRow).order_by(AuditEventRow.id.desc())))
    assert _ids(page.text) == [r.id for r in rows][:PAGE_SIZE]
    assert 'banner good" id="chain"' in page.text
    assert f"Audit chain verified: {len(rows)} events" in page.text
    assert f"{rows[0].entry_hash[:16]}…" in page.text  # each event shows its hash
    assert f'title="sha256 {rows[0].entry_hash} (previous {rows[0].prev_hash})"' in page.text


def test_filters_and_paging(audited: Site) -> None:
    client = audited.client("auditor")
    with audited.ws.unit_of_work() as s:
        all_rows = list(s.scalars(select(AuditEventRow).order_by(AuditEventRow.id.desc())))
        by_finance = [r.id for r in all_rows if r.actor == "finance"]
        case_events = [r.id for r in all_rows if r.action.startswith("case.")]
    assert _ids(client.get("/ui/audit?actor=finance").text) == by_finance
    assert _ids(client.get("/ui/audit?action=case.*").text) == case_events
    assert len(case_events) == 2
    assert _ids(client.get("/ui/audit?action=case.comment").text) == case_events[:1]
    assert _ids(client.get("/ui/audit?subject=case:").text) == case_events
    day = all_rows[0].at.date().isoformat()
    assert _ids(client.get(f"/ui/audit?since={day}&until={day}&action=case.*").text) == case_events
    assert _ids(client.get("/ui/audit?until=2000-01-01").text) == []
    assert client.get("/ui/audit?since=yesterday").status_code == 409
    # Paging: enough events for three pages, each newest first, no event twice.
    with audited.ws.unit_of_work() as s:
        for n in range(2 * PAGE_SIZE):
            record(s, actor="bulk", action="test.event", subject=f"thing:{n}")
    pages = [_ids(client.get(f"/ui/audit?actor=bulk&page={n}").text) for n in range(3)]
    assert [len(p) for p in pages] == [PAGE_SIZE, PAGE_SIZE, 0]
    flat = pages[0] + pages[1]
    assert flat == sorted(flat, reverse=True)
    first = client.get("/ui/audit?actor=bulk").text
    assert "page 1 of 2" in first
    assert 'href="/ui/audit?actor=bulk&amp;page=1" rel="next"' in first


def test_the_banner_turns_red_when_a_row_is_edited_in_the_database(audited: Site) -> None:
    with audited.ws.unit_of_work() as s:
        target = s.scalars(select(AuditEventRow.id).where(AuditEventRow.action == "case.comment")).one()
    with audited.ws.engine.begin() as connection:
        _as_attacker(connection, "UPDATE audit_events SET actor = 'mallory' WHERE id = :i", i=target)
    page = audited.client("auditor").get("/ui/audit")
    assert 'banner bad" id="chain"' in page.text
    assert 'role="alert"' in page.text
    assert f"audit entry {target} was altered" in page.text
    assert f'<tr id="event-{target}" class="selected">' in page.text


def test_chain_banner_logic() -> None:
    good = chain_banner(VerifyResult(3, "ab" * 32, None))
    assert good["ok"] is True
    assert "3 events" in good["text"]
    assert good["event"] is None
    bad = chain_banner(
        VerifyResult(9, "cd" * 32, ChainBreak(4, "missing_before", "audit entry 4 does not follow"))
    )
    assert bad["ok"] is False
    assert bad["event"] == 4
    assert "BROKEN" in bad["text"]
    assert "audit entry 4 does not follow" in bad["text"]
